"""Start a notice's legal clock: Deadline and Reminder rows, computed from the registry."""

from __future__ import annotations

from datetime import datetime, timedelta

from casework.cases.models import Case
from casework.cases.worklists import refresh_sort_deadline
from casework.deadlines.models import Deadline, Reminder
from casework.deadlines.rules import compute_due, reminder_times, stage_due_dates, to_utc
from casework.notices.models import Notice
from casework.orm import DbSession
from casework.registry import DEFAULT_REMINDERS, Route

# Stage name of the product's own follow-up for routes the law gives no deadline;
# it prompts a caseworker but is never counted as a platform missing the law's deadline.
FOLLOW_UP = "follow_up"
RESPONSE = "response"


def due_times(route: Route, clock_started_at: datetime) -> dict[str, datetime]:
    """Each stage's due time for a route whose clock started at the given moment (UTC)."""
    start = to_utc(clock_started_at, "clock_started_at")
    rule = route.deadline
    if rule.kind == "fixed":
        return {RESPONSE: compute_due(start, rule)}
    if rule.kind == "staged":
        return stage_due_dates(start, rule)
    if route.follow_up_days:
        return {FOLLOW_UP: start + timedelta(days=route.follow_up_days)}
    return {}


def start_clock(
    session: DbSession, notice: Notice, route: Route, *, clock_started_at: datetime
) -> list[Deadline]:
    """Write the notice's Deadline rows and their reminders. The caller commits.

    Rows come first so that a sweep can find them even if scheduling the jobs
    afterwards fails; call this in the same transaction that records the notice.
    """
    start = to_utc(clock_started_at, "clock_started_at")
    deadlines: list[Deadline] = []
    for stage, due in due_times(route, start).items():
        deadline = Deadline(notice_id=notice.id, case_id=notice.case_id, stage=stage, due_at=due)
        deadline.reminders = [
            Reminder(remind_at=at)
            for at in reminder_times(start, due, route.reminders or DEFAULT_REMINDERS)
        ]
        session.add(deadline)
        deadlines.append(deadline)
    session.flush()
    case = session.get(Case, notice.case_id)
    if case is not None:
        refresh_sort_deadline(session, case)
    return deadlines
