"""Deadline jobs: handle a deadline, send a reminder, sweep, check removals, draft a letter.

Each job takes ids, reloads its rows, returns quietly when they are gone or already
handled, commits once, and is safe to run twice. Jobs compare times with the real
clock; the functions they call take `now`, so tests and the command line pass one in.
"""

from __future__ import annotations

import importlib.util
import logging
import time
from collections.abc import Callable
from datetime import datetime

from flask import current_app
from redis.exceptions import RedisError
from rq import Retry
from sqlalchemy import update

from casework.actors import SYSTEM
from casework.deadlines import handling, removals
from casework.deadlines.handling import Effects
from casework.deadlines.models import Deadline, DeadlineState, Escalation, Reminder
from casework.deadlines.sweep import record_run, sweep
from casework.extensions import db
from casework.jobs import (
    QUEUE_DEADLINES,
    QUEUE_LETTERS,
    app_job,
    enqueue,
    redis_connection,
    runner_label,
)
from casework.notices.models import Notice
from casework.orm import utcnow

log = logging.getLogger(__name__)

# RQ's scheduler works in whole seconds and may release a job up to a second early;
# a job that early waits for the due time rather than going round the queue again.
MAX_EARLY_WAIT_SECONDS = 3.0
LETTERS_MODULE = "casework.notices.letters"


def letters_available() -> bool:
    return importlib.util.find_spec(LETTERS_MODULE) is not None


def _grace() -> int:
    return int(current_app.config.get("SWEEP_EMAIL_GRACE_SECONDS", 120))


def dispatch(effects: Effects) -> None:
    """Hand committed follow-up work to the queues (a lost job is re-found by the sweep)."""
    from casework.notifications.jobs import deliver_soon

    deliver_soon(effects.email_ids)
    if letters_available():
        for escalation_id in effects.escalation_ids:
            enqueue(
                QUEUE_LETTERS,
                draft_escalation_letter,
                escalation_id,
                job_id=f"escalation-letter-{escalation_id}",
                retry=Retry(max=3, interval=[10, 60, 300]),
            )
    if current_app.config.get("REMOVAL_CHECKS_ENABLED"):
        for notice_id in set(effects.removal_check_notice_ids):
            enqueue(QUEUE_DEADLINES, check_removals, notice_id)


def _wait_until(moment: datetime, job: Callable[[int], object], row_id: int) -> bool:
    """True once `moment` has come: waits briefly if released early, else re-schedules."""
    early = (moment - utcnow()).total_seconds()
    if early <= 0:
        return True
    if early <= MAX_EARLY_WAIT_SECONDS:
        db.session.rollback()
        time.sleep(early)
        return True
    enqueue(QUEUE_DEADLINES, job, row_id, at=moment)
    return False


@app_job
def handle_deadline(deadline_id: int) -> str | None:
    """Act on one deadline at its due time; the sweep does the same for any job lost."""
    deadline = db.session.get(Deadline, deadline_id)
    if deadline is None or deadline.state != DeadlineState.PENDING:
        return None
    if not _wait_until(deadline.due_at, handle_deadline, deadline_id):
        return "rescheduled"
    handled = handling.handle_deadline(
        db.session,
        deadline_id,
        now=utcnow(),
        by=runner_label("job"),
        email_grace_seconds=_grace(),
    )
    db.session.commit()
    if handled is None:
        return None
    log.info("deadline %s of case %s: %s", deadline_id, handled.case_id, handled.outcome)
    dispatch(handled.effects)
    return handled.outcome


@app_job
def send_reminder(reminder_id: int) -> str | None:
    """Tell staff a deadline is coming, at the reminder's time."""
    reminder = db.session.get(Reminder, reminder_id)
    if reminder is None or reminder.sent_at is not None:
        return None
    if not _wait_until(reminder.remind_at, send_reminder, reminder_id):
        return "rescheduled"
    handled = handling.send_reminder(
        db.session,
        reminder_id,
        now=utcnow(),
        removal_checks=bool(current_app.config.get("REMOVAL_CHECKS_ENABLED")),
        email_grace_seconds=_grace(),
    )
    db.session.commit()
    if handled is None:
        return None
    log.info("reminder %s of case %s: %s", reminder_id, handled.case_id, handled.outcome)
    dispatch(handled.effects)
    return handled.outcome


@app_job
def sweep_job() -> dict[str, int]:
    """The periodic sweep, as RQ's cron runs it every minute."""
    started = utcnow()
    report = sweep(
        db.session,
        now=started,
        by=runner_label("sweep"),
        batch_size=int(current_app.config.get("SWEEP_BATCH_SIZE", 500)),
        removal_checks=bool(current_app.config.get("REMOVAL_CHECKS_ENABLED")),
        email_grace_seconds=_grace(),
        after_commit=dispatch,
        letters_available=letters_available(),
        on_backlog=_call_for_help,
    )
    record_run(db.session, report, started_at=started, redis=redis_connection())
    if report.deadlines or report.reminders:
        log.info("%s", report.summary())
    return report.counts()


def _call_for_help() -> None:
    """A backlog: queue one more sweep so an idle worker joins in (one per ten seconds)."""
    try:
        first = redis_connection().set(
            f"casework:sweep-helper:{int(time.time() // 10)}", "1", nx=True, ex=30
        )
    except RedisError:
        return
    if first:
        enqueue(QUEUE_DEADLINES, sweep_job)


@app_job
def check_removals(notice_id: int, at_deadline: bool = False) -> int:
    """Request each post of a notice and record whether it still resolves."""
    config = current_app.config
    if not config.get("REMOVAL_CHECKS_ENABLED"):
        return 0
    results = removals.check_notice(
        db.session,
        notice_id,
        base_url=config["REMOVAL_CHECK_BASE_URL"],
        timeout=float(config["REMOVAL_CHECK_TIMEOUT"]),
        now=utcnow(),
    )
    db.session.commit()
    gone = sum(1 for r in results if r.state.value == "removed")
    log.info(
        "removal check of notice %s%s: %d of %d gone",
        notice_id,
        " at its deadline" if at_deadline else "",
        gone,
        len(results),
    )
    return len(results)


@app_job
def draft_escalation_letter(escalation_id: int) -> int | None:
    """Draft the escalation letter a missed deadline calls for (a new letter version)."""
    escalation = db.session.get(Escalation, escalation_id)
    if escalation is None or escalation.letter_id is not None or escalation.route_key is None:
        return None
    if not letters_available():
        return None
    # Claim it first: a second job waits on this row, then finds it drafted.
    claimed = db.session.execute(
        update(Escalation)
        .where(Escalation.id == escalation_id, Escalation.drafted_at.is_(None))
        .values(drafted_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        db.session.rollback()
        return None
    letters = importlib.import_module(LETTERS_MODULE)
    notice = db.session.get(Notice, escalation.notice_id)
    case = notice.case if notice is not None else None
    if case is None:
        db.session.rollback()
        return None
    # The escalation route's letter is a draft on the case: it finds the missed notice
    # itself, covers its items and attaches a copy of it.
    letter = letters.create_letter(
        db.session, case=case, route_key=escalation.route_key, actor=SYSTEM
    )
    db.session.refresh(escalation)
    escalation.letter_id = letter.id
    db.session.commit()
    log.info("escalation %s: letter %s drafted", escalation_id, letter.id)
    return int(letter.id)
