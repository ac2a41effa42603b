"""Fuzzing the deadline computation over every route of the shipped registry.

For any aware receipt time in 2020-2035, in any UTC offset or named zone: nothing
but the documented ValueErrors escapes, no due time is before receipt, reminders fall
strictly inside the window, and India's rule switches from 24 to 2 hours on the UTC
date 2026-02-20.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from casework.deadlines.rules import (
    compute_due,
    reminder_times,
    stage_due_dates,
    to_utc,
    with_extension,
)
from casework.deadlines.services import FOLLOW_UP, RESPONSE, due_times
from casework.registry import DEFAULT_REMINDERS, Route, default_registry

ROUTES = default_registry().routes
INDIA = default_registry().route("in.grievance.ncii")
INDIA_CHANGEOVER = date(2026, 2, 20)
# The longest window any shipped route allows: 1 month + a 2-month extension, or 30 days
# after a 7-day stage; nothing should ever be due further out than this.
LONGEST_WINDOW = timedelta(days=100)

offsets = st.builds(
    timezone,
    st.integers(min_value=-(23 * 60 + 59), max_value=23 * 60 + 59).map(
        lambda minutes: timedelta(minutes=minutes)
    ),
)
named_zones = st.sampled_from(
    [
        "Asia/Kolkata",
        "Europe/Paris",
        "America/Los_Angeles",
        "Australia/Sydney",
        "Pacific/Kiritimati",
        "Pacific/Pago_Pago",
        "Europe/London",
        "Asia/Kathmandu",
    ]
).map(ZoneInfo)
receipts = st.datetimes(
    min_value=datetime(2020, 1, 1),
    max_value=datetime(2035, 12, 31, 23, 59, 59),
    timezones=st.one_of(offsets, named_zones),
)
# Receipts around India's changeover, where a wrong comparison would show.
near_changeover = st.datetimes(
    min_value=datetime(2026, 2, 18),
    max_value=datetime(2026, 2, 22),
    timezones=st.one_of(offsets, named_zones),
)

# No example database (nothing written into the tree); no deadline, so a loaded CI machine
# cannot make these flaky.
FAST = settings(max_examples=150, deadline=None, database=None)


def reminders_of(route: Route) -> tuple[object, ...]:
    return route.reminders or DEFAULT_REMINDERS


@FAST
@given(received=receipts)
@example(received=datetime(2026, 1, 31, 23, 30, tzinfo=timezone(timedelta(hours=-11))))
@example(received=datetime(2028, 2, 29, 0, 0, tzinfo=timezone(timedelta(hours=14))))
def test_every_route_gives_due_times_never_before_receipt(received: datetime) -> None:
    start = to_utc(received)
    for route in ROUTES:
        dues = due_times(route, received)
        kind = route.deadline.kind
        if kind == "fixed":
            assert list(dues) == [RESPONSE]
        elif kind == "staged":
            assert list(dues) == [stage.name for stage in route.deadline.stages]
        elif route.follow_up_days:
            assert dues == {FOLLOW_UP: start + timedelta(days=route.follow_up_days)}
        else:
            assert dues == {}
        for stage, due in dues.items():
            assert due.utcoffset() == timedelta(0), (route.key, stage)
            assert start < due <= start + LONGEST_WINDOW, (route.key, stage, received, due)


@FAST
@given(received=receipts)
def test_reminders_fall_strictly_inside_each_window(received: datetime) -> None:
    start = to_utc(received)
    for route in ROUTES:
        for due in due_times(route, received).values():
            times = reminder_times(received, due, reminders_of(route))  # type: ignore[arg-type]
            assert times == sorted(set(times))
            assert all(start < at < due for at in times), (route.key, received, times)
            assert all(at.microsecond == 0 for at in times)


@FAST
@given(received=receipts, delay=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=60)))
def test_a_stage_starts_no_earlier_than_the_one_it_follows(
    received: datetime, delay: timedelta
) -> None:
    for route in ROUTES:
        rule = route.deadline
        if rule.kind != "staged":
            continue
        latest = stage_due_dates(received, rule)
        for stage in rule.stages:
            if stage.after is None:
                continue
            # Completed on time or late, or even stamped before receipt (a data error).
            for completed in (received + delay, received - delay):
                dues = stage_due_dates(received, rule, {stage.after: completed})
                assert dues[stage.name] >= to_utc(received)
                anchor = max(to_utc(completed), to_utc(received))
                assert dues[stage.name] == compute_due(anchor, stage)
            assert latest[stage.name] >= latest[stage.after]


@FAST
@given(received=receipts)
def test_an_extension_only_ever_pushes_the_due_time_later(received: datetime) -> None:
    for route in ROUTES:
        rule = route.deadline
        if rule.kind != "fixed" or rule.extension is None:
            continue
        extended = with_extension(received, rule)
        assert extended > compute_due(received, rule)


@FAST
@given(received=st.one_of(near_changeover, receipts))
@example(received=datetime(2026, 2, 20, 0, 0, tzinfo=UTC))
@example(received=datetime(2026, 2, 19, 23, 59, 59, tzinfo=UTC))
@example(received=datetime(2026, 2, 20, 4, 0, tzinfo=ZoneInfo("Asia/Kolkata")))
def test_india_switches_from_24_to_2_hours_on_20_february_2026(received: datetime) -> None:
    window = due_times(INDIA, received)[RESPONSE] - to_utc(received)
    if to_utc(received).date() >= INDIA_CHANGEOVER:
        assert window == timedelta(hours=2)
    else:
        assert window == timedelta(hours=24)


@FAST
@given(first=receipts, gap=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=400)))
@example(first=datetime(2020, 1, 29, 23, 56, tzinfo=UTC), gap=timedelta(minutes=4))
def test_a_later_receipt_is_never_due_earlier_under_one_rule(
    first: datetime, gap: timedelta
) -> None:
    second = first + gap
    for route in ROUTES:
        if route.deadline.kind != "fixed" or route.deadline.superseded:
            continue  # a rule change may legitimately shorten the window
        assert compute_due(second, route.deadline) >= compute_due(first, route.deadline)


@settings(max_examples=50, deadline=None, database=None)
@given(naive=st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2035, 12, 31)))
def test_a_naive_time_is_refused_with_the_documented_error(naive: datetime) -> None:
    for route in ROUTES:
        with pytest.raises(ValueError, match="must be timezone-aware"):
            due_times(route, naive)


@FAST
@given(
    received=receipts,
    before=st.timedeltas(min_value=timedelta(seconds=1), max_value=timedelta(days=30)),
)
def test_a_due_time_before_receipt_is_refused(received: datetime, before: timedelta) -> None:
    # Subtract in UTC: wall-clock arithmetic on a time in a DST gap can land later in real time.
    with pytest.raises(ValueError, match="before received_at"):
        reminder_times(received, received.astimezone(UTC) - before)
