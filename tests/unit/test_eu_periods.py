"""Periods of EU acts counted by Regulation 1182/71: the event's day does not count, a
period ends as its last day ends where the act is done, and a weekend or public holiday
of that country moves the end to the next working day."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from casework.deadlines.rules import compute_due, eu_period_end, with_extension
from casework.notices.rendering import render_letter_html
from casework.notices.snapshot import deadline_snapshot, sample_snapshot
from casework.registry import default_registry

DUBLIN = ZoneInfo("Europe/Dublin")
PARIS = ZoneInfo("Europe/Paris")


def at(day: date, hour: int, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=zone)


def last_instant(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time.max, tzinfo=zone).astimezone(UTC)


def in_ireland(received: datetime, amount: int, unit: str = "months") -> datetime:
    return eu_period_end(received, amount, unit, country="IE", zone="Europe/Dublin")  # type: ignore[arg-type]


def in_france(received: datetime, amount: int, unit: str = "months") -> datetime:
    return eu_period_end(received, amount, unit, country="FR", zone="Europe/Paris")  # type: ignore[arg-type]


def test_a_month_ends_as_the_same_date_ends_next_month() -> None:
    # Tuesday 13 January gives Friday 13 February; 14 and 15 February are a weekend, so
    # a request of 14 or of 15 January is due as Monday 16 February ends.
    assert in_ireland(at(date(2026, 1, 13), 9, DUBLIN), 1) == last_instant(
        date(2026, 2, 13), DUBLIN
    )
    assert in_ireland(at(date(2026, 1, 14), 9, DUBLIN), 1) == last_instant(
        date(2026, 2, 16), DUBLIN
    )
    assert in_ireland(at(date(2026, 1, 15), 9, DUBLIN), 1) == last_instant(
        date(2026, 2, 16), DUBLIN
    )


def test_a_month_ending_on_a_weekend_runs_to_monday() -> None:
    # 28 February 2026 is a Saturday; 31 January has no 31 February.
    received = at(date(2026, 1, 31), 18, DUBLIN)
    assert in_ireland(received, 1) == last_instant(date(2026, 3, 2), DUBLIN)


def test_a_month_ending_on_an_irish_public_holiday_runs_to_the_next_working_day() -> None:
    # Saint Patrick's Day, Tuesday 17 March 2026.
    assert in_ireland(at(date(2026, 2, 17), 11, DUBLIN), 1) == last_instant(
        date(2026, 3, 18), DUBLIN
    )
    # Saturday 30 May, then the June Bank Holiday on Monday 1 June.
    assert in_ireland(at(date(2026, 4, 30), 11, DUBLIN), 1) == last_instant(
        date(2026, 6, 2), DUBLIN
    )


def test_a_month_ending_on_a_french_public_holiday_runs_to_the_next_working_day() -> None:
    # Ascension, Thursday 14 May 2026: Friday 15 May.
    assert in_france(at(date(2026, 4, 14), 11, PARIS), 1) == last_instant(date(2026, 5, 15), PARIS)
    # 8 May (Friday) is a holiday in France, not in Ireland.
    received = at(date(2026, 4, 8), 11, PARIS)
    assert in_france(received, 1) == last_instant(date(2026, 5, 11), PARIS)
    assert in_ireland(received, 1) == last_instant(date(2026, 5, 8), DUBLIN)


def test_the_day_of_the_event_is_the_day_where_the_act_is_done() -> None:
    # 23:30 UTC on 30 January is still 30 January in Dublin but 31 January in Paris.
    received = datetime(2026, 1, 30, 23, 30, tzinfo=UTC)
    assert in_ireland(received, 10, "days") == last_instant(date(2026, 2, 9), DUBLIN)
    assert in_france(received, 10, "days") == last_instant(date(2026, 2, 10), PARIS)


def test_a_period_of_two_days_holds_two_working_days() -> None:
    # Good Friday 3 April 2026 is a working day in Ireland; Easter Monday is not. Two days
    # end on Sunday, move to Tuesday (one working day), and so run to Wednesday.
    received = at(date(2026, 4, 3), 10, DUBLIN)
    assert in_ireland(received, 2, "days") == last_instant(date(2026, 4, 8), DUBLIN)


def test_hours_are_not_counted_this_way() -> None:
    with pytest.raises(ValueError, match="days or months"):
        in_ireland(at(date(2026, 1, 5), 9, DUBLIN), 48, "hours")


def test_the_erasure_request_to_x_is_counted_by_the_eu_rule() -> None:
    rule = default_registry().route("eu.gdpr.erasure_x").deadline
    assert rule.counting is not None and rule.counting.holidays == "IE"
    received = at(date(2026, 2, 17), 11, DUBLIN)
    assert compute_due(received, rule) == last_instant(date(2026, 3, 18), DUBLIN)
    # With the two-month extension, three months from receipt: Sunday 17 May 2026.
    assert with_extension(received, rule) == last_instant(date(2026, 5, 18), DUBLIN)


def test_the_erasure_letter_names_the_last_day_not_a_minute_in_utc() -> None:
    registry = default_registry()
    route = registry.route("eu.gdpr.erasure_x")
    received = at(date(2026, 2, 17), 11, DUBLIN)
    deadline = deadline_snapshot(
        route, as_of=received, received=True, clock_started_at=None, follow_up_from=received
    )
    assert deadline["due"] == "2026-03-18"
    assert deadline["extension"]["due"] == "2026-05-18"
    snapshot = sample_snapshot(route, registry)
    snapshot["deadline"] = deadline
    text = " ".join(render_letter_html(snapshot, route.templates[0]).split())
    assert "18 March 2026." in text and "18 May 2026" in text
    # A time would read "18 March 2026, 23:59 UTC".
    assert re.search(r"\d{4}, \d{2}:\d{2}", text) is None
