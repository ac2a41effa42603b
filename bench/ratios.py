"""Casework against the floor of its own stack: paired runs, median ratios, one table.

Each measure is run as pairs, Casework then its floor, so that both see the same machine
at nearly the same moment; the ratio is taken pair by pair and the median quoted. On a
shared machine the absolute figures drift between runs; the ratio of a pair does much less.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field


@dataclass
class Measure:
    """One row of the table: Casework's figures and its floor's, run by run, in pairs.

    higher_is_better: a rate (pages/s), where the target is the least ratio Casework must
    reach; otherwise a time, where the target is the most it may take as a multiple of the
    floor. A measure without a floor (`floor` empty) is judged by `limit`, an absolute
    bound on Casework's own figure in the same direction.
    """

    name: str
    unit: str
    higher_is_better: bool
    target: float | None = None
    casework: list[float] = field(default_factory=list)
    floor: list[float] = field(default_factory=list)
    errors: int = 0
    limit: float | None = None

    def ratios(self) -> list[float]:
        return [c / f for c, f in zip(self.casework, self.floor, strict=False) if f]

    def ratio(self) -> float | None:
        ratios = self.ratios()
        return statistics.median(ratios) if ratios else None

    def met(self) -> bool | None:
        """Whether the target (or the limit) is met; None when there is nothing to judge."""
        if self.errors:
            return False
        if self.floor:
            value, bound = self.ratio(), self.target
        else:
            value = statistics.median(self.casework) if self.casework else None
            bound = self.limit
        if value is None or bound is None:
            return None
        return value >= bound if self.higher_is_better else value <= bound


def figure(value: float) -> str:
    """A figure with three significant digits at most, thousands separated."""
    if value == 0:
        return "0"
    magnitude = abs(value)
    decimals = 0 if magnitude >= 100 else 1 if magnitude >= 10 else 2 if magnitude >= 1 else 3
    return f"{value:,.{decimals}f}"


def _median(values: list[float], unit: str) -> str:
    if not values:
        return "–"
    return f"{figure(statistics.median(values))} {unit}"


def _ratio(measure: Measure) -> str:
    ratios = measure.ratios()
    if not ratios:
        return "–"
    spread = f" ({min(ratios):.2f}–{max(ratios):.2f})" if len(ratios) > 1 else ""
    return f"{statistics.median(ratios):.3f}{spread}"


def _target(measure: Measure) -> str:
    sign = "≥" if measure.higher_is_better else "≤"
    if measure.floor and measure.target is not None:
        return f"{sign} {measure.target:.2f}"
    if not measure.floor and measure.limit is not None:
        return f"{sign} {figure(measure.limit)} {measure.unit}"
    return "–"


def _verdict(measure: Measure) -> str:
    met = measure.met()
    if met is None:
        return "–"
    if not met and measure.errors:
        return "missed (errors)"
    return "met" if met else "missed"


def table(measures: Iterable[Measure]) -> str:
    """The measures as a Markdown table: medians, median ratio (min–max), target, verdict."""
    rows = [
        "| measure | Casework | floor | ratio (min–max) | target | verdict | errors |",
        "|---|---|---|---|---|---|---|",
    ]
    for m in measures:
        rows.append(
            f"| {m.name} | {_median(m.casework, m.unit)} | {_median(m.floor, m.unit)} | "
            f"{_ratio(m)} | {_target(m)} | {_verdict(m)} | {m.errors} |"
        )
    return "\n".join(rows)
