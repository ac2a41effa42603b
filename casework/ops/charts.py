"""Geometry for the compliance report's SVG charts, drawn on the server (no script needed)."""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import LazyString
from flask_babel import lazy_gettext as _l

from casework.deadlines.compliance import ComplianceRow

BAR_WIDTH = 400  # SVG user units for 100 %
ROW_HEIGHT = 28


@dataclass(frozen=True)
class Segment:
    css: str  # class that sets the fill colour in casework.css
    label: LazyString
    count: int
    x: float
    width: float


@dataclass(frozen=True)
class OutcomeBar:
    label: str
    y: int
    segments: tuple[Segment, ...]


@dataclass(frozen=True)
class TimeBar:
    label: str
    y: int
    median: float | None
    p90: float | None
    median_width: float
    p90_width: float


@dataclass(frozen=True)
class Charts:
    outcomes: tuple[OutcomeBar, ...]
    times: tuple[TimeBar, ...]
    height: int
    max_hours: float
    bar_width: int = BAR_WIDTH


def compliance_charts(rows: list[ComplianceRow]) -> Charts:
    outcomes: list[OutcomeBar] = []
    times: list[TimeBar] = []
    max_hours = max((r.p90_response_hours or 0 for r in rows), default=0) or 1.0
    for index, row in enumerate(rows):
        label = f"{row.platform} · {row.jurisdiction}"
        y = index * ROW_HEIGHT
        parts = (
            ("in-time", _l("in time"), row.removed_in_time),
            ("late", _l("late"), row.removed_late),
            ("no-deadline", _l("no legal deadline"), row.removed_no_legal_deadline),
            ("not-removed", _l("not removed"), row.not_removed),
        )
        x = 0.0
        segments = []
        for css, text, count in parts:
            width = BAR_WIDTH * count / row.notices_sent if row.notices_sent else 0
            if count:
                segments.append(Segment(css, text, count, round(x, 2), round(width, 2)))
            x += width
        outcomes.append(OutcomeBar(label, y, tuple(segments)))
        median, p90 = row.median_response_hours, row.p90_response_hours
        times.append(
            TimeBar(
                label,
                y,
                median,
                p90,
                round(BAR_WIDTH * (median or 0) / max_hours, 2),
                round(BAR_WIDTH * (p90 or 0) / max_hours, 2),
            )
        )
    return Charts(tuple(outcomes), tuple(times), max(len(rows), 1) * ROW_HEIGHT, max_hours)
