"""Accessible bar charts as server-rendered SVG: no script, no third party, a table beside each.

`draw_chart` draws rows of labelled bars, each made of one or more marks (a plain bar,
the parts of a stacked bar, or a thin bar drawn over a wider one). `bar_chart` is the
common case of one number per row.
"""

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
PLOT_WIDTH = WIDTH - LABEL_WIDTH - VALUE_WIDTH
TOP = 8
LEGEND_LINE = 16


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


@dataclass(frozen=True)
class Mark:
    """A rectangle in a row. `start` and `share` are fractions of the plot's width (0 to 1)."""

    css: str  # the class that colours it
    start: float
    share: float
    tooltip: str
    thin: bool = False  # half height, drawn over the marks before it


@dataclass(frozen=True)
class Row:
    label: str
    marks: tuple[Mark, ...]
    value: str | None = None  # written after the row's longest mark


@dataclass(frozen=True)
class LegendEntry:
    css: str
    label: str


def _plain(value: float) -> str:
    """The number as the reader writes it: "1,234.5" in English, "1 234,5" in French."""
    return format_decimal(value, "#,##0" if float(value).is_integer() else "#,##0.0")


def _units(value: float) -> str:
    """An SVG length: whole numbers without a decimal point."""
    value = round(float(value), 2)
    return str(int(value)) if value.is_integer() else str(value)


def _width(mark: Mark) -> float:
    # A value above zero always shows, however small next to the largest.
    width = round(PLOT_WIDTH * max(mark.share, 0), 2)
    return max(width, 1) if mark.share > 0 else 0


def draw_chart(
    chart_id: str,
    title: str,
    rows: Sequence[Row],
    *,
    description: str | None = None,
    legend: Sequence[LegendEntry] = (),
) -> Markup:
    """An SVG of horizontal bars; labels and numbers are drawn as text so screen readers read them.

    The SVG is labelled by its <title> (and <desc>); the caller shows the same data
    as a table for anyone who cannot use the picture.
    """
    pitch = BAR_HEIGHT + GAP
    legend_top = TOP + max(len(rows), 1) * pitch
    legend_lines = (len(legend) + 1) // 2
    height = legend_top + legend_lines * LEGEND_LINE + TOP
    title_id, desc_id = f"{chart_id}-title", f"{chart_id}-desc"
    labelled_by = f"{title_id} {desc_id}" if description is not None else title_id
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="{escape(chart_id)}" '
        f'viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" role="img" '
        f'aria-labelledby="{escape(labelled_by)}">',
        f'<title id="{escape(title_id)}">{escape(title)}</title>',
    ]
    if description is not None:
        parts.append(f'<desc id="{escape(desc_id)}">{escape(description)}</desc>')
    if not rows:
        parts.append(f'<text class="chart-label" x="0" y="{TOP + BAR_HEIGHT - 6}">–</text>')
    for i, row in enumerate(rows):
        y = TOP + i * pitch
        text_y = y + BAR_HEIGHT - 6
        parts.append(
            f'<text class="chart-label" x="{LABEL_WIDTH - 8}" y="{text_y}" '
            f'text-anchor="end">{escape(row.label)}</text>'
        )
        end = 0.0
        for mark in row.marks:
            x = LABEL_WIDTH + round(PLOT_WIDTH * mark.start, 2)
            width = _width(mark)
            end = max(end, x + width)
            top, tall = (y + BAR_HEIGHT / 4, BAR_HEIGHT / 2) if mark.thin else (y, BAR_HEIGHT)
            parts.append(
                f'<rect class="{escape(mark.css)}" x="{_units(x)}" y="{_units(top)}" '
                f'width="{_units(width)}" height="{_units(tall)}">'
                f"<title>{escape(mark.tooltip)}</title></rect>"
            )
        if row.value is not None:
            parts.append(
                f'<text class="chart-value" x="{_units(max(end, LABEL_WIDTH) + 6)}" '
                f'y="{text_y}">{escape(row.value)}</text>'
            )
    if legend:
        parts.append(f'<g class="chart-legend" transform="translate({LABEL_WIDTH} {legend_top})">')
        # Two columns, so that longer words (French) do not run into each other.
        for i, entry in enumerate(legend):
            x, y = (i % 2) * PLOT_WIDTH // 2, (i // 2) * LEGEND_LINE
            parts.append(
                f'<rect class="{escape(entry.css)}" x="{x}" y="{y}" width="10" height="10"></rect>'
                f'<text x="{x + 14}" y="{y + 10}">{escape(entry.label)}</text>'
            )
        parts.append("</g>")
    parts.append("</svg>")
    # Every value interpolated into `parts` was escaped as it was added.
    return Markup("".join(parts))  # noqa: S704  # nosec B704


def bar_chart(
    chart_id: str,
    title: str,
    description: str,
    bars: Sequence[Bar],
    *,
    value_header: str,
    formatter: Callable[[float], str] = _plain,
) -> Chart:
    """One bar per number, scaled to the largest, with the number written after it."""
    bars = tuple(bars)
    top = max((b.value for b in bars), default=0) or 1
    rows = [
        Row(
            bar.label,
            (
                Mark(
                    "chart-bar",
                    0,
                    bar.value / top,
                    gettext("%(label)s: %(value)s", label=bar.label, value=formatter(bar.value)),
                ),
            ),
            formatter(bar.value),
        )
        for bar in bars
    ]
    return Chart(
        id=chart_id,
        title=title,
        description=description,
        bars=bars,
        svg=draw_chart(chart_id, title, rows, description=description),
        value_header=value_header,
    )
