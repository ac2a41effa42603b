"""The ratio table of `make bench`: medians, pair-by-pair ratios, targets and verdicts."""

from __future__ import annotations

from bench.ratios import Measure, figure, table


def test_the_ratio_is_the_median_of_the_pairs_not_the_ratio_of_the_medians() -> None:
    m = Measure("page", "pages/s", True, 0.6, casework=[100, 50, 90], floor=[200, 50, 300])
    assert m.ratios() == [0.5, 1.0, 0.3]
    assert m.ratio() == 0.5
    assert m.met() is False


def test_a_rate_must_reach_its_target_and_a_time_stay_under_it() -> None:
    rate = Measure("jobs", "jobs/s", True, 0.9, casework=[95.0], floor=[100.0])
    time = Measure("letter", "ms", False, 1.15, casework=[120.0], floor=[100.0])
    assert rate.met() is True
    assert time.met() is False
    time.casework = [114.0]
    assert time.met() is True


def test_errors_miss_the_target_whatever_the_figures() -> None:
    m = Measure("page", "pages/s", True, 0.6, casework=[100], floor=[100], errors=2)
    assert m.met() is False
    assert "| missed (errors) | 2 |" in table([m])


def test_a_measure_without_floor_is_judged_by_its_limit() -> None:
    memory = Measure("memory", "MiB", False, casework=[0.4], limit=10.0)
    assert memory.met() is True
    row = table([memory]).splitlines()[2]
    assert row == "| memory | 0.400 MiB | – | – | ≤ 10.0 MiB | met | 0 |"


def test_the_table_shows_medians_ratio_spread_target_and_verdict() -> None:
    m = Measure(
        "landing page /", "pages/s", True, 0.6, casework=[900, 880, 1200], floor=[1000, 2200, 1500]
    )
    lines = table([m]).splitlines()
    assert lines[0] == (
        "| measure | Casework | floor | ratio (min–max) | target | verdict | errors |"
    )
    assert lines[1] == "|---|---|---|---|---|---|---|"
    assert lines[2] == (
        "| landing page / | 900 pages/s | 1,500 pages/s | 0.800 (0.40–0.90) | ≥ 0.60 | met | 0 |"
    )


def test_a_measure_without_target_has_no_verdict() -> None:
    m = Measure("pdq", "ms", False, casework=[0.5], floor=[5.0])
    assert m.met() is None
    assert table([m]).splitlines()[2].endswith("| 0.100 | – | – | 0 |")


def test_figures_keep_three_significant_digits() -> None:
    assert [figure(v) for v in (2190.6, 174.49, 11.886, 1.06, 0.3934, 0)] == [
        "2,191", "174", "11.9", "1.06", "0.393", "0",
    ]  # fmt: skip
