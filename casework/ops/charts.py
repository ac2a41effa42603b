"""The compliance report's charts: how notices ended, and how long removals took."""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import format_decimal, gettext
from markupsafe import Markup

from casework.charts import LegendEntry, Mark, Row, draw_chart
from casework.deadlines.compliance import ComplianceRow


@dataclass(frozen=True)
class ComplianceCharts:
    outcomes: Markup
    times: Markup


def _hours(value: float | None) -> str:
    return format_decimal(value, "#,##0.#") if value is not None else "–"


def _label(row: ComplianceRow) -> str:
    return f"{row.platform} · {row.jurisdiction}"


def _outcomes(rows: list[ComplianceRow]) -> Markup:
    """Each row's notices as one bar, split by outcome."""
    kinds = (
        ("seg-in-time", gettext("in time")),
        ("seg-late", gettext("late")),
        ("seg-no-deadline", gettext("no legal deadline")),
        ("seg-not-removed", gettext("not removed")),
    )
    bars = []
    for row in rows:
        counts = (
            row.removed_in_time,
            row.removed_late,
            row.removed_no_legal_deadline,
            row.not_removed,
        )
        marks = []
        start = 0.0
        for (css, text), count in zip(kinds, counts, strict=True):
            share = count / row.notices_sent if row.notices_sent else 0
            if count:
                tooltip = gettext("%(label)s: %(count)d", label=text, count=count)
                marks.append(Mark(css, start, share, tooltip))
            start += share
        bars.append(Row(_label(row), tuple(marks)))
    return draw_chart(
        "outcomes",
        gettext("Share of notices removed in time, late, without a legal deadline, or not removed"),
        bars,
        legend=[LegendEntry(css, text) for css, text in kinds],
    )


def _times(rows: list[ComplianceRow]) -> Markup:
    """Each row's 90th-percentile hours as a bar, with the median drawn inside it."""
    longest = max((r.p90_response_hours or 0 for r in rows), default=0) or 1.0
    bars = []
    for row in rows:
        median, p90 = row.median_response_hours, row.p90_response_hours
        p90_text = gettext("90th percentile: %(hours)s h", hours=_hours(p90))
        median_text = gettext("median: %(hours)s h", hours=_hours(median))
        marks = (
            Mark("seg-p90", 0, (p90 or 0) / longest, p90_text),
            Mark("seg-median", 0, (median or 0) / longest, median_text, thin=True),
        )
        bars.append(Row(_label(row), marks, f"{_hours(median)} / {_hours(p90)}"))
    return draw_chart(
        "times", gettext("Median and 90th-percentile hours from receipt to removal"), bars
    )


def compliance_charts(rows: list[ComplianceRow]) -> ComplianceCharts:
    return ComplianceCharts(outcomes=_outcomes(rows), times=_times(rows))
