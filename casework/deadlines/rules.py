"""Pure deadline arithmetic: due times, multi-stage chains, extensions and reminder times."""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

from casework.registry import (
    DEFAULT_REMINDERS,
    Counting,
    DeadlineRule,
    DeadlineStage,
    Extension,
    FilingWindow,
    Period,
    ReminderAt,
    SupersededRule,
    Unit,
    parse_iso_duration,
)

__all__ = [
    "add_period",
    "compute_due",
    "counted_period",
    "eu_period_end",
    "reminder_times",
    "rule_in_force",
    "stage_due_dates",
    "to_utc",
    "with_extension",
]


def to_utc(moment: datetime, name: str = "datetime") -> datetime:
    """Return `moment` in UTC; a naive datetime is refused because its zone is a guess."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got naive {moment.isoformat()}")
    return moment.astimezone(UTC)


def _add_months(moment: datetime, months: int) -> datetime:
    day = _same_date_months_on(moment.date(), months)
    if day.day == moment.day:
        return moment.replace(year=day.year, month=day.month)
    # The month has no such day (31 January + 1 month): the period ends when the month's
    # last day ends (Reg. 1182/71 Art. 3(2)(c)), so a later start is never due earlier.
    return datetime.combine(day, time.max, tzinfo=moment.tzinfo)


def _add_business_days(moment: datetime, days: int) -> datetime:
    current = moment
    remaining = days
    while remaining > 0:
        current += timedelta(days=1)
        if current.weekday() < 5:  # Monday to Friday; public holidays are not modelled
            remaining -= 1
    return current


def add_period(start: datetime, amount: int, unit: Unit) -> datetime:
    """`start` plus a period, in UTC: exact hours, calendar days, months, weekdays."""
    if amount < 0:
        raise ValueError(f"a period cannot be negative: {amount} {unit}")
    moment = to_utc(start, "start")
    if unit == "hours":
        return moment + timedelta(hours=amount)
    if unit == "days":
        # In UTC a calendar day is always 24 hours: no daylight-saving jumps.
        return moment + timedelta(days=amount)
    if unit == "months":
        return _add_months(moment, amount)
    if unit == "business_days":
        return _add_business_days(moment, amount)
    raise ValueError(f"unknown unit {unit!r}")


def counted_period(
    start: datetime, amount: int, unit: Unit, counting: Counting | None = None
) -> datetime:
    """`start` plus a period, counted as the law of the deadline says (add_period if it
    names no counting rule)."""
    if counting is None:
        return add_period(start, amount, unit)
    if counting.rule == "eu_1182_71":
        return eu_period_end(start, amount, unit, country=counting.holidays, zone=counting.zone)
    raise ValueError(f"unknown counting rule {counting.rule!r}")


def eu_period_end(start: datetime, amount: int, unit: Unit, *, country: str, zone: str) -> datetime:
    """The end of a period in days or months under Regulation (EEC, Euratom) No 1182/71.

    Art. 3(1): the day of the event does not count. Art. 3(2)(b)-(c): the period ends as
    its last day ends, the same date `amount` months on (or the month's last day if it has
    no such date). Art. 3(4): a last day that is a Saturday, Sunday or public holiday
    (Art. 2(1): of the country where the act is to be done) gives way to the next working
    day. Art. 3(5): a period of two days or more holds at least two working days. Dates are
    those of `zone`, the place of the act; the result is the last instant of the day, in UTC.
    """
    if amount < 0:
        raise ValueError(f"a period cannot be negative: {amount} {unit}")
    local = ZoneInfo(zone)
    event_day = to_utc(start, "start").astimezone(local).date()
    if unit == "days":
        last = event_day + timedelta(days=amount)
    elif unit == "months":
        last = _same_date_months_on(event_day, amount)
    else:
        raise ValueError(f"Reg. 1182/71 counting here is for days or months, not {unit}")
    public_holidays = _public_holidays(country)

    def working(day: date) -> bool:
        return day.weekday() < 5 and day not in public_holidays

    while not working(last):
        last += timedelta(days=1)
    if amount >= 2:
        while (
            sum(
                working(event_day + timedelta(days=n))
                for n in range(1, (last - event_day).days + 1)
            )
            < 2
        ):
            last += timedelta(days=1)
    return datetime.combine(last, time.max, tzinfo=local).astimezone(UTC)


def _same_date_months_on(day: date, months: int) -> date:
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


@lru_cache(maxsize=16)
def _public_holidays(country: str) -> holidays.HolidayBase:
    return holidays.country_holidays(country)


def rule_in_force(deadline: DeadlineRule, received_at: datetime) -> DeadlineRule | SupersededRule:
    """The version of a fixed deadline that applied when the request was received.

    The changeover is compared on the UTC date, so a request received on the changeover
    day in a zone ahead of UTC (India) may need a lawyer's look.
    """
    if deadline.kind != "fixed":
        raise ValueError(f"a {deadline.kind} deadline has no single period")
    when: date = to_utc(received_at, "received_at").date()
    if deadline.in_force_from is None or when >= deadline.in_force_from:
        return deadline
    for old in deadline.superseded:
        if when < old.until:
            return old
    raise ValueError(
        f"no rule recorded for {when.isoformat()}: this one starts "
        f"{deadline.in_force_from.isoformat()}"
    )


def compute_due(received_at: datetime, deadline: Period) -> datetime:
    """When a fixed deadline, stage, superseded rule or filing window runs out, in UTC.

    A fixed deadline with history uses the rule in force on the day of receipt. A staged
    deadline has no single due time (use stage_due_dates) and "none" has none at all.
    """
    start = to_utc(received_at, "received_at")
    amount: int | None
    if isinstance(deadline, DeadlineRule):
        if deadline.kind == "none":
            raise ValueError("this route has no legal deadline")
        if deadline.kind == "staged":
            raise ValueError("a staged deadline has one due time per stage: use stage_due_dates")
        rule = rule_in_force(deadline, start)
        amount, unit = rule.amount, rule.unit
    elif isinstance(deadline, DeadlineStage | SupersededRule | FilingWindow):
        amount, unit = deadline.amount, deadline.unit
    else:
        raise TypeError(f"not a deadline: {deadline!r}")
    if amount is None or unit is None:
        raise ValueError("the deadline has no amount or unit")
    counting = deadline.counting if isinstance(deadline, DeadlineRule) else None
    due = counted_period(start, amount, unit, counting)
    if due < start:  # pragma: no cover - guarded by add_period refusing negative amounts
        raise AssertionError("a due time can never be before receipt")
    return due


def stage_due_dates(
    received_at: datetime,
    deadline: DeadlineRule,
    completed: Mapping[str, datetime] | None = None,
) -> dict[str, datetime]:
    """Due time of each stage of a staged deadline, in order.

    A stage that runs `after` another starts when that one was actually completed (from
    `completed`), or otherwise at that stage's own due time, the latest it could start.
    """
    if deadline.kind != "staged":
        raise ValueError(f"a {deadline.kind} deadline has no stages")
    done = {name: to_utc(at, f"completed[{name!r}]") for name, at in (completed or {}).items()}
    start = to_utc(received_at, "received_at")
    dues: dict[str, datetime] = {}
    for stage in deadline.stages:
        anchor = start
        if stage.after is not None:
            anchor = done.get(stage.after, dues[stage.after])
            # A completion stamped before receipt is a data error; never count from before it.
            anchor = max(anchor, start)
        dues[stage.name] = compute_due(anchor, stage)
    return dues


def with_extension(
    received_at: datetime,
    deadline: DeadlineRule | DeadlineStage,
    extension: Extension | None = None,
) -> datetime:
    """The due time once an allowed extension is used (GDPR: 1 month + 2 months).

    With the same unit the period is counted once from receipt (a 3-month period), so
    31 January gives 30 April rather than the 28 April that chaining clamped months gives.
    """
    ext = extension if extension is not None else deadline.extension
    if ext is None:
        raise ValueError("this deadline has no extension")
    start = to_utc(received_at, "received_at")
    if isinstance(deadline, DeadlineRule):
        base: DeadlineRule | DeadlineStage | SupersededRule = rule_in_force(deadline, start)
    else:
        base = deadline
    if base.amount is None or base.unit is None:
        raise ValueError("the deadline has no amount or unit")
    counting = deadline.counting if isinstance(deadline, DeadlineRule) else None
    if base.unit == ext.unit:
        return counted_period(start, base.amount + ext.amount, ext.unit, counting)
    return add_period(add_period(start, base.amount, base.unit), ext.amount, ext.unit)


def _as_reminder(spec: ReminderAt | str) -> ReminderAt:
    if isinstance(spec, str):
        return parse_iso_duration(spec)
    if isinstance(spec, bool):
        raise TypeError("a reminder is a fraction or a duration, not a boolean")
    if isinstance(spec, timedelta):
        return spec
    if isinstance(spec, int | float) and 0 < spec < 1:
        return float(spec)
    raise ValueError(f"a reminder fraction must be between 0 and 1, got {spec!r}")


def reminder_times(
    received_at: datetime,
    due_at: datetime,
    reminders: Iterable[ReminderAt | str] = DEFAULT_REMINDERS,
) -> list[datetime]:
    """Reminder times, sorted and unique, strictly between receipt and the due time.

    A fraction is a share of the window from receipt; a duration ("PT2H") is that long
    before the due time. One that would fall outside the window is dropped, so a 2-hour
    offset before a 2-hour deadline produces nothing rather than a reminder at receipt.
    """
    start = to_utc(received_at, "received_at")
    end = to_utc(due_at, "due_at")
    if end < start:
        raise ValueError("due_at is before received_at")
    window = end - start
    times: set[datetime] = set()
    for spec in reminders:
        reminder = _as_reminder(spec)
        at = end - reminder if isinstance(reminder, timedelta) else start + window * reminder
        # Whole seconds keep reminder rows stable when recomputed by the sweep.
        at = at.replace(microsecond=0)
        if start < at < end:
            times.add(at)
    return sorted(times)
