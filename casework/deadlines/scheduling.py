"""Put committed deadlines and reminders on RQ's schedule, one job each at its due time.

Job ids are derived from row ids, so scheduling the same rows again replaces their
jobs instead of adding more. The rows are the truth: if Redis is down here, nothing
is scheduled and the periodic sweep handles each row when it comes due.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from flask import current_app
from redis import Redis
from rq import Retry
from rq.job import Job
from sqlalchemy import func, select

from casework.deadlines.models import Deadline, DeadlineState, Reminder
from casework.deadlines.removal_outcomes import CheckReason
from casework.extensions import db
from casework.jobs import QUEUE_DEADLINES, enqueue
from casework.notices.models import NoticeItem


def job_retry() -> Retry:
    """A deadline job that fails (database restarting, say) is tried again with backoff."""
    return Retry(max=4, interval=[5, 30, 120, 600])


def deadline_job_id(deadline_id: int) -> str:
    return f"deadline-{deadline_id}"


def reminder_job_id(reminder_id: int) -> str:
    return f"reminder-{reminder_id}"


# The last removal check runs this long before the due time (plus one turn on the host
# per post), so its answers can still prove the content was gone in time.
FINAL_CHECK_BEFORE = timedelta(seconds=60)


def removal_check_job_id(deadline_id: int) -> str:
    return f"removal-check-{deadline_id}"


def schedule_deadline_jobs(deadline_ids: Iterable[int]) -> int:
    """Schedule a job at each pending deadline's due time and each unsent reminder's time,
    and, when removal checks are on, a check of the notice's posts now (the notice has
    just gone out) and a last one a minute before each due time.

    Call after the transaction that wrote the rows has committed. Returns how many jobs
    were scheduled (0 when Redis is unreachable: the sweep takes over).
    """
    from casework.deadlines.jobs import check_removals, handle_deadline, send_reminder

    ids = list(deadline_ids)
    if not ids:
        return 0
    session = db.session
    deadlines = session.execute(
        select(Deadline.id, Deadline.due_at, Deadline.notice_id).where(
            Deadline.id.in_(ids), Deadline.state == DeadlineState.PENDING
        )
    ).all()
    reminders = session.execute(
        select(Reminder.id, Reminder.remind_at).where(
            Reminder.deadline_id.in_(ids), Reminder.sent_at.is_(None)
        )
    ).all()
    scheduled = 0
    checks = bool(current_app.config.get("REMOVAL_CHECKS_ENABLED"))
    for reminder_id, remind_at in reminders:
        job = enqueue(
            QUEUE_DEADLINES,
            send_reminder,
            reminder_id,
            at=remind_at,
            job_id=reminder_job_id(reminder_id),
            retry=job_retry(),
        )
        scheduled += job is not None
    posts: dict[int, int] = {}
    if checks:
        notice_ids = list(dict.fromkeys(notice_id for _, _, notice_id in deadlines))
        posts = dict(
            session.execute(
                select(NoticeItem.notice_id, func.count())
                .where(NoticeItem.notice_id.in_(notice_ids))
                .group_by(NoticeItem.notice_id)
            )
            .tuples()
            .all()
        )
        for notice_id in notice_ids:
            enqueue(QUEUE_DEADLINES, check_removals, notice_id, CheckReason.SENT.value)
    interval = float(current_app.config.get("REMOVAL_CHECK_HOST_INTERVAL", 0))
    for deadline_id, due_at, notice_id in deadlines:
        job = enqueue(
            QUEUE_DEADLINES,
            handle_deadline,
            deadline_id,
            at=due_at,
            job_id=deadline_job_id(deadline_id),
            retry=job_retry(),
        )
        scheduled += job is not None
        if checks:
            enqueue(
                QUEUE_DEADLINES,
                check_removals,
                notice_id,
                # Earlier by one turn on the host per post, so the last post is
                # asked before the due time too.
                at=due_at
                - FINAL_CHECK_BEFORE
                - timedelta(seconds=interval * posts.get(notice_id, 0)),
                job_id=removal_check_job_id(deadline_id),
            )
    return scheduled


# How many of the nearest pending deadlines and unsent reminders each sweep checks.
RESCHEDULE_BATCH = 1000


def schedule_missing(connection: Redis, *, now: datetime) -> int:
    """Put back on RQ's schedule each pending deadline and unsent reminder still to come
    whose job Redis does not hold: written while Redis was down, or lost when Redis was
    flushed or restarted. Returns how many jobs were scheduled.

    The nearest RESCHEDULE_BATCH of each are checked (one EXISTS each, pipelined); rows
    further ahead are taken by a later sweep. Rows already due are the sweep's own work.
    Only reads rows: the caller has nothing to commit.
    """
    from casework.deadlines.jobs import handle_deadline, send_reminder

    session = db.session
    deadlines = session.execute(
        select(Deadline.id, Deadline.due_at)
        .where(Deadline.state == DeadlineState.PENDING, Deadline.due_at > now)
        .order_by(Deadline.due_at)
        .limit(RESCHEDULE_BATCH)
    ).all()
    reminders = session.execute(
        select(Reminder.id, Reminder.remind_at)
        .join(Deadline, Deadline.id == Reminder.deadline_id)
        .where(
            Reminder.sent_at.is_(None),
            Deadline.state == DeadlineState.PENDING,
            Reminder.remind_at > now,
        )
        .order_by(Reminder.remind_at)
        .limit(RESCHEDULE_BATCH)
    ).all()
    wanted = [(deadline_job_id(i), handle_deadline, i, at) for i, at in deadlines] + [
        (reminder_job_id(i), send_reminder, i, at) for i, at in reminders
    ]
    if not wanted:
        return 0
    with connection.pipeline(transaction=False) as pipe:
        for job_id, *_ in wanted:
            pipe.exists(Job.key_for(job_id))
        held = pipe.execute()
    scheduled = 0
    for (job_id, job_function, row_id, at), exists in zip(wanted, held, strict=True):
        if exists:
            continue
        job = enqueue(
            QUEUE_DEADLINES, job_function, row_id, at=at, job_id=job_id, retry=job_retry()
        )
        scheduled += job is not None
    return scheduled
