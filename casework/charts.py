"""Accessible bar charts as server-rendered SVG: no script, no third party, a table beside each."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from flask_babel import format_decimal, gettext
from markupsafe import Markup, escape

WIDTH = 640
BAR_HEIGHT = 22
GAP = 8
LABEL_WIDTH = 200
VALUE_WIDTH = 90
TOP = 8


@dataclass(frozen=True)
class Bar:
    label: str
    value: float


@dataclass(frozen=True)
class Chart:
    """A chart and the data behind it; templates show `svg` and a table of `bars`."""

    id: str
    title: str
    description: str
    bars: tuple[Bar, ...]
    svg: Markup
    value_header: str


def _plain(value: float) -> str:
    """The number as the reader writes it: "1,234.5" in English, "1 234,5" in French."""
    return format_decimal(value, "#,##0" if float(value).is_integer() else "#,##0.0")


def bar_chart(
    chart_id: str,
    title: str,
    description: str,
    bars: Sequence[Bar],
    *,
    value_header: str,
    formatter: Callable[[float], str] = _plain,
) -> Chart:
    """A horizontal bar chart; labels and numbers are drawn as text so screen readers read them.

    The SVG is labelled by its <title> and <desc>; the caller shows the same data
    as a table for anyone who cannot use the picture.
    """
    bars = tuple(bars)
    top = max((b.value for b in bars), default=0) or 1
    plot = WIDTH - LABEL_WIDTH - VALUE_WIDTH
    height = TOP * 2 + max(len(bars), 1) * (BAR_HEIGHT + GAP)
    title_id, desc_id = f"{chart_id}-title", f"{chart_id}-desc"
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="{escape(chart_id)}" '
        f'viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" role="img" '
        f'aria-labelledby="{escape(title_id)} {escape(desc_id)}">',
        f'<title id="{escape(title_id)}">{escape(title)}</title>',
        f'<desc id="{escape(desc_id)}">{escape(description)}</desc>',
    ]
    if not bars:
        parts.append(f'<text class="chart-label" x="0" y="{TOP + BAR_HEIGHT - 6}">–</text>')
    for i, bar in enumerate(bars):
        y = TOP + i * (BAR_HEIGHT + GAP)
        width = max(round(plot * max(bar.value, 0) / top), 1 if bar.value > 0 else 0)
        text_y = y + BAR_HEIGHT - 6
        parts.append(
            f'<text class="chart-label" x="{LABEL_WIDTH - 8}" y="{text_y}" '
            f'text-anchor="end">{escape(bar.label)}</text>'
        )
        tooltip = gettext("%(label)s: %(value)s", label=bar.label, value=formatter(bar.value))
        parts.append(
            f'<rect class="chart-bar" x="{LABEL_WIDTH}" y="{y}" width="{width}" '
            f'height="{BAR_HEIGHT}"><title>{escape(tooltip)}</title></rect>'
        )
        parts.append(
            f'<text class="chart-value" x="{LABEL_WIDTH + width + 6}" y="{text_y}">'
            f"{escape(formatter(bar.value))}</text>"
        )
    parts.append("</svg>")
    # Every value interpolated into `parts` was escaped as it was added.
    svg = Markup("".join(parts))  # noqa: S704  # nosec B704
    return Chart(
        id=chart_id,
        title=title,
        description=description,
        bars=bars,
        svg=svg,
        value_header=value_header,
    )
