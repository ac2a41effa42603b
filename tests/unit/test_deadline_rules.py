"""Deadline arithmetic: due times from registry rules, extensions, stages and reminders."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from casework.deadlines.rules import (
    add_period,
    compute_due,
    reminder_times,
    stage_due_dates,
    with_extension,
)
from casework.registry import (
    DeadlineRule,
    DeadlineStage,
    Period,
    default_registry,
    iter_periods,
)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def deadline(key: str) -> DeadlineRule:
    return default_registry().route(key).deadline


def test_tida_is_48_exact_hours() -> None:
    assert compute_due(utc(2026, 5, 20, 10, 15), deadline("us.tida.removal")) == utc(
        2026, 5, 22, 10, 15
    )


def test_esafety_removal_notice_is_24_hours() -> None:
    assert compute_due(utc(2026, 7, 1, 23, 30), deadline("au.esafety.iba_complaint")) == utc(
        2026, 7, 2, 23, 30
    )


def test_india_ncii_is_2_hours_since_20_february_2026() -> None:
    rule = deadline("in.grievance.ncii")
    assert compute_due(utc(2026, 3, 1, 23, 0), rule) == utc(2026, 3, 2, 1, 0)
    assert compute_due(utc(2025, 12, 31, 23, 0), rule) == utc(2026, 1, 1, 23, 0)


def test_thirty_calendar_days() -> None:
    rule = DeadlineRule(
        kind="fixed", verified=True, amount=30, unit="days", clock_starts="platform_receipt"
    )
    assert compute_due(utc(2026, 1, 10, 8, 0), rule) == utc(2026, 2, 9, 8, 0)


def end_of_day(year: int, month: int, day: int) -> datetime:
    return datetime(year, month, day, 23, 59, 59, 999_999, tzinfo=UTC)


@pytest.mark.parametrize(
    ("received", "due"),
    [
        (utc(2026, 1, 31, 12, 0), end_of_day(2026, 2, 28)),
        (utc(2028, 1, 31, 12, 0), end_of_day(2028, 2, 29)),  # leap year
        (utc(2026, 3, 31, 12, 0), end_of_day(2026, 4, 30)),
        (utc(2026, 12, 31, 12, 0), utc(2027, 1, 31, 12, 0)),
        (utc(2026, 2, 15, 0, 0), utc(2026, 3, 15, 0, 0)),
    ],
)
def test_one_month_ends_with_a_shorter_month(received: datetime, due: datetime) -> None:
    # A route whose month no counting rule governs: plain calendar arithmetic in UTC.
    assert compute_due(received, deadline("eu.gdpr.erasure_generator")) == due


def test_leap_day_in_hours_and_months() -> None:
    assert add_period(utc(2028, 2, 28, 12, 0), 24, "hours") == utc(2028, 2, 29, 12, 0)
    # 2029 has no 29 February: the year ends as 28 February ends.
    assert add_period(utc(2028, 2, 29, 12, 0), 12, "months") == end_of_day(2029, 2, 28)


def test_a_month_without_the_start_day_ends_with_its_last_day() -> None:
    late_on_the_29th = add_period(utc(2020, 1, 29, 23, 56), 1, "months")
    start_of_the_30th = add_period(utc(2020, 1, 30, 0, 0), 1, "months")
    assert late_on_the_29th == utc(2020, 2, 29, 23, 56)
    assert start_of_the_30th > late_on_the_29th
    assert start_of_the_30th == add_period(utc(2020, 1, 31, 18, 0), 1, "months")
    assert start_of_the_30th.date().isoformat() == "2020-02-29"
    assert add_period(utc(2028, 2, 29, 12, 0), 1, "days") == utc(2028, 3, 1, 12, 0)


def test_gdpr_extension_counts_three_months_from_receipt() -> None:
    rule = deadline("eu.gdpr.erasure_generator")
    assert with_extension(utc(2026, 1, 31, 9, 0), rule) == end_of_day(2026, 4, 30)
    assert with_extension(utc(2026, 1, 15, 9, 0), rule) == utc(2026, 4, 15, 9, 0)
    with pytest.raises(ValueError, match="no extension"):
        with_extension(utc(2026, 1, 15), deadline("us.tida.removal"))


def test_daylight_saving_changes_nothing_because_clocks_run_in_utc() -> None:
    london = ZoneInfo("Europe/London")
    # Clocks go forward in London on 29 March 2026: still exactly 48 hours.
    received = datetime(2026, 3, 28, 12, 0, tzinfo=london)
    due = compute_due(received, deadline("us.tida.removal"))
    assert due.tzinfo is UTC
    assert due - received == timedelta(hours=48)
    assert due.astimezone(london).hour == 13
    # One calendar day across the US change on 8 March 2026 is 24 hours, not 23.
    la = ZoneInfo("America/Los_Angeles")
    start = datetime(2026, 3, 7, 9, 0, tzinfo=la)
    assert add_period(start, 1, "days") - start == timedelta(hours=24)


def test_aware_input_in_any_zone_comes_back_in_utc() -> None:
    india = timezone(timedelta(hours=5, minutes=30))
    due = compute_due(datetime(2026, 3, 2, 10, 0, tzinfo=india), deadline("in.grievance.ncii"))
    assert due == utc(2026, 3, 2, 6, 30) and due.tzinfo is UTC


def test_naive_datetimes_are_refused() -> None:
    naive = datetime(2026, 5, 20, 10, 0)  # naive on purpose
    with pytest.raises(ValueError, match="timezone-aware"):
        compute_due(naive, deadline("us.tida.removal"))
    with pytest.raises(ValueError, match="timezone-aware"):
        reminder_times(naive, utc(2026, 5, 22))
    with pytest.raises(ValueError, match="timezone-aware"):
        stage_due_dates(naive, deadline("us-ca.bpc22671.report"))


def test_business_days_skip_weekends() -> None:
    friday = utc(2026, 6, 26, 10, 0)
    saturday = utc(2026, 6, 27, 10, 0)
    assert add_period(friday, 1, "business_days") == utc(2026, 6, 29, 10, 0)
    assert add_period(saturday, 1, "business_days") == utc(2026, 6, 29, 10, 0)
    assert add_period(friday, 5, "business_days") == utc(2026, 7, 3, 10, 0)
    stage = DeadlineStage("feedback", 1, "business_days", "request", verified=True)
    assert compute_due(friday, stage) == utc(2026, 6, 29, 10, 0)


def test_routes_without_a_single_due_time_refuse_compute_due() -> None:
    with pytest.raises(ValueError, match="no legal deadline"):
        compute_due(utc(2026, 1, 1), deadline("eu.dsa.notice"))
    with pytest.raises(ValueError, match="stage_due_dates"):
        compute_due(utc(2026, 1, 1), deadline("us-ca.bpc22671.report"))


def test_california_stages_chain_from_the_acknowledgment() -> None:
    rule = deadline("us-ca.bpc22671.report")
    received = utc(2026, 6, 1, 9, 0)
    dues = stage_due_dates(received, rule)
    assert dues == {
        "acknowledge": utc(2026, 6, 3, 9, 0),
        # Not acknowledged yet: the update is due 7 days after the latest acknowledgment.
        "status_update": utc(2026, 6, 10, 9, 0),
        # The decision: 30 days from the confirmation of receipt, not from the report.
        "decision": utc(2026, 7, 3, 9, 0),
    }
    early = stage_due_dates(received, rule, {"acknowledge": utc(2026, 6, 1, 14, 0)})
    assert early["status_update"] == utc(2026, 6, 8, 14, 0)
    assert early["decision"] == utc(2026, 7, 1, 14, 0)
    decision = next(s for s in rule.stages if s.name == "decision")
    assert decision.after == "acknowledge"
    # Circumstances beyond its control: at most 60 days after the material was first reported.
    assert with_extension(received, decision) == utc(2026, 7, 31, 9, 0)


def test_reminders_at_half_ninety_percent_and_two_hours_before() -> None:
    received = utc(2026, 5, 20, 10, 0)
    due = compute_due(received, deadline("us.tida.removal"))
    assert reminder_times(received, due, [0.5, 0.9, "PT2H"]) == [
        utc(2026, 5, 21, 10, 0),
        utc(2026, 5, 22, 5, 12),
        utc(2026, 5, 22, 8, 0),
    ]


def test_a_two_hour_offset_before_a_two_hour_window_is_dropped() -> None:
    received = utc(2026, 3, 2, 10, 0)
    due = compute_due(received, deadline("in.grievance.ncii"))
    reminders = default_registry().route("in.grievance.ncii").reminders
    assert reminder_times(received, due, reminders) == [
        utc(2026, 3, 2, 11, 0),
        utc(2026, 3, 2, 11, 48),
    ]


def test_reminders_are_sorted_and_unique() -> None:
    received, due = utc(2026, 5, 20), utc(2026, 5, 22)
    assert reminder_times(received, due, ["PT24H", 0.5, 0.5, "P3D", 0.9]) == [
        utc(2026, 5, 21),
        utc(2026, 5, 21, 19, 12),
    ]
    with pytest.raises(ValueError, match="before"):
        reminder_times(due, received)
    with pytest.raises(ValueError, match="between 0 and 1"):
        reminder_times(received, due, [1.5])


# --- property: every period in the shipped registry -------------------------------

PERIODS: list[tuple[str, Period]] = list(iter_periods(default_registry()))
STAGED: list[DeadlineRule] = [
    r.deadline for r in default_registry().routes if r.deadline.kind == "staged"
]
ZONES = st.sampled_from(
    [
        UTC,
        timezone(timedelta(hours=5, minutes=30)),
        timezone(timedelta(hours=-8)),
        ZoneInfo("Europe/Paris"),
        ZoneInfo("Australia/Sydney"),
    ]
)
RECEIVED = st.datetimes(
    min_value=datetime(2020, 1, 1),  # hypothesis takes naive bounds
    max_value=datetime(2035, 12, 31, 23, 59, 59),
    timezones=ZONES,
)


def test_the_registry_has_periods_of_every_shape() -> None:
    names = [name for name, _ in PERIODS]
    assert any(".stages." in n for n in names) and any("superseded" in n for n in names)
    assert any("filing_window" in n for n in names) and STAGED


@settings(max_examples=300, deadline=None)
@given(received=RECEIVED, item=st.sampled_from(PERIODS))
def test_due_is_never_before_receipt_and_reminders_fall_inside(
    received: datetime, item: tuple[str, Period]
) -> None:
    _, period = item
    due = compute_due(received, period)
    assert due.tzinfo is UTC
    assert due >= received
    reminders = reminder_times(received, due)
    assert reminders == sorted(set(reminders))
    assert all(received < r < due for r in reminders)
    if isinstance(period, DeadlineRule | DeadlineStage) and period.extension is not None:
        assert with_extension(received, period) >= due


@settings(max_examples=100, deadline=None)
@given(received=RECEIVED, rule=st.sampled_from(STAGED))
def test_every_stage_is_due_after_receipt(received: datetime, rule: DeadlineRule) -> None:
    for due in stage_due_dates(received, rule).values():
        assert due >= received
