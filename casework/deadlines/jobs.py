"""Deadline jobs: handle a deadline, send a reminder, sweep, check removals, draft a letter.

Each job takes ids, reloads its rows, returns quietly when they are gone or already
handled, commits once, and is safe to run twice. Jobs compare times with the real
clock; the functions they call take `now`, so tests and the command line pass one in.

schedule_deadline_jobs and schedule_missing put committed deadlines and reminders on
RQ's schedule, one job each at its due time. The rows are the truth: if Redis is down,
nothing is scheduled and the periodic sweep handles each row when it comes due.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from flask import current_app
from redis import Redis
from redis.exceptions import RedisError
from rq import Retry
from rq.job import Job
from sqlalchemy import func, select, update

from casework.actors import SYSTEM, Actor
from casework.cases.models import Case, Item, RemovalState
from casework.deadlines import handling, host_limiter, removals, x_endpoints
from casework.deadlines.handling import Effects
from casework.deadlines.models import Deadline, DeadlineState, Escalation, Reminder
from casework.deadlines.removal_outcomes import CheckMethod, CheckOutcome, CheckReason
from casework.deadlines.scheduling import (
    FINAL_CHECK_BEFORE,
    RESCHEDULE_BATCH,
    deadline_job_id,
    job_retry,
    reminder_job_id,
    removal_check_job_id,
)
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
from casework.notices.models import Letter, Notice, NoticeItem
from casework.notifications.jobs import deliver_soon
from casework.orm import DbSession, utcnow

log = logging.getLogger(__name__)

# RQ's scheduler works in whole seconds and may release a job up to a second early;
# a job that early waits for the due time rather than going round the queue again.
MAX_EARLY_WAIT_SECONDS = 3.0


class LetterDrafter(Protocol):
    def __call__(
        self, session: DbSession, *, case: Case, route_key: str, actor: Actor
    ) -> Letter: ...


_draft_letter: LetterDrafter | None = None


def use_letter_drafter(draft: LetterDrafter) -> None:
    """How escalation letters are drafted: notices, above this package, hands its own over
    when the app starts."""
    global _draft_letter
    _draft_letter = draft


def _grace() -> int:
    return int(current_app.config.get("SWEEP_EMAIL_GRACE_SECONDS", 120))


def dispatch(effects: Effects) -> None:
    """Hand committed follow-up work to the queues (a lost job is re-found by the sweep)."""
    deliver_soon(effects.email_ids)
    for escalation_id in effects.escalation_ids:
        enqueue(
            QUEUE_LETTERS,
            draft_escalation_letter,
            escalation_id,
            job_id=f"escalation-letter-{escalation_id}",
            retry=Retry(max=3, interval=[10, 60, 300]),
        )
    if current_app.config.get("REMOVAL_CHECKS_ENABLED"):
        for notice_id, reason in dict.fromkeys(effects.removal_checks):
            enqueue(QUEUE_DEADLINES, check_removals, notice_id, reason)
        now = utcnow()
        for item_id in effects.follow_up_item_ids:
            # Scheduled for now under the day's job id: a sweep a minute later replaces
            # it instead of queueing the same check twice.
            enqueue(
                QUEUE_DEADLINES,
                check_post,
                item_id,
                CheckReason.FOLLOW_UP.value,
                at=now,
                job_id=follow_up_job_id(item_id, now),
            )


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
        removal_follow_up_days=int(current_app.config.get("REMOVAL_CHECK_FOLLOW_UP_DAYS", 30)),
        email_grace_seconds=_grace(),
        after_commit=dispatch,
        on_backlog=_call_for_help,
    )
    connection = redis_connection()
    record_run(db.session, report, started_at=started, redis=connection)
    if report.deadlines or report.reminders:
        log.info("%s", report.summary())
    try:
        rescheduled = schedule_missing(connection, now=utcnow())
    except RedisError as exc:
        log.warning("sweep: could not check the schedule (%s)", type(exc).__name__)
        rescheduled = 0
    if rescheduled:
        log.info("sweep: %s deadline and reminder jobs put back on the schedule", rescheduled)
    return {**report.counts(), "rescheduled": rescheduled}


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


# A check whose slot on the host is this close waits for it in place; a later slot goes
# back to RQ's scheduler, which releases the job at its slot (possibly a second early).
MAX_SLOT_WAIT_SECONDS = 3.0
# An unknown answer is asked again after these waits (or the host's Retry-After, if
# longer), with up to a fifth more at random so retries do not arrive together.
UNKNOWN_RETRY_SECONDS = (15, 60, 300, 1800)


@app_job
def check_removals(notice_id: int, reason: str = CheckReason.BEFORE_DEADLINE.value) -> int:
    """Queue a check of each post of a notice that is out with the platform."""
    if not current_app.config.get("REMOVAL_CHECKS_ENABLED"):
        return 0
    item_ids = removals.item_ids_of_notice(db.session, notice_id)
    db.session.rollback()
    for item_id in item_ids:
        enqueue(QUEUE_DEADLINES, check_post, item_id, reason)
    log.info("removal checks of notice %s (%s): %d posts", notice_id, reason, len(item_ids))
    return len(item_ids)


def _at(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, UTC)


def _slot(host: str, slot_at: float | None) -> float | None:
    """Take this job's turn on the host: None once it has come (after a short wait in
    place), else the time of a turn too far off to wait for here."""
    if slot_at is None:
        try:
            slot_at = host_limiter.reserve(
                redis_connection(),
                host,
                interval=float(current_app.config["REMOVAL_CHECK_HOST_INTERVAL"]),
                now=time.time(),
            )
        except RedisError as exc:
            # No shared limiter to ask: one request now is better than no check at all.
            log.warning("removal check: no slot from redis (%s)", type(exc).__name__)
            return None
    wait = slot_at - time.time()
    if wait > MAX_SLOT_WAIT_SECONDS:
        return slot_at
    if wait > 0:
        time.sleep(wait)
    return None


def _endpoints() -> removals.Endpoints:
    config = current_app.config
    return removals.Endpoints(
        oembed_url=config["REMOVAL_CHECK_OEMBED_URL"],
        syndication_url=config["REMOVAL_CHECK_SYNDICATION_URL"],
        timeout=float(config["REMOVAL_CHECK_TIMEOUT"]),
    )


@app_job
def check_post(
    item_id: int,
    reason: str,
    method: str = CheckMethod.OEMBED.value,
    attempt: int = 0,
    slot_at: float | None = None,
) -> str | None:
    """Ask X whether one post is still up, in this job's turn on the host, and record it.

    oEmbed first; where it cannot tell (403: protected or suspended), syndication. An
    unknown answer is asked again with backoff; a post seen gone is checked again daily
    for the follow-up period, since posts are reinstated.
    """
    if not current_app.config.get("REMOVAL_CHECKS_ENABLED"):
        return None
    item = db.session.get(Item, item_id)
    if item is None:
        return None
    endpoints = _endpoints()
    how = CheckMethod(method)
    url = removals.request_url(endpoints, item, how)
    host = x_endpoints.host_of(url)
    # No transaction stays open while waiting for a turn or for X's answer.
    db.session.rollback()
    later = _slot(host, slot_at)
    if later is not None:
        enqueue(QUEUE_DEADLINES, check_post, item_id, reason, method, attempt, later, at=_at(later))
        return "spread"
    asked = removals.ask(endpoints, url, how, x_endpoints.fetch)
    retry_after = asked.answer.retry_after
    if retry_after:
        _push_back(host, retry_after)
    if asked.outcome is None:
        return check_post(item_id, reason, CheckMethod.SYNDICATION.value, attempt)
    now = utcnow()
    item = db.session.get(Item, item_id)
    if item is None:  # deleted with its case while X was asked
        return None
    removals.record_check(
        db.session,
        item,
        method=how,
        http_status=asked.answer.status,
        outcome=asked.outcome,
        reason=CheckReason(reason),
        now=now,
    )
    removed_since = item.removal_checked_at if item.removal_state is RemovalState.REMOVED else None
    db.session.commit()
    log.info(
        "removal check of item %s (%s, %s): %s %s",
        item_id,
        reason,
        how.value,
        asked.answer.status,
        asked.outcome.value,
    )
    if asked.outcome is CheckOutcome.UNKNOWN:
        _retry_unknown(item_id, reason, attempt, retry_after)
    elif removed_since is not None:
        _follow_up(item_id, removed_since, now)
    return asked.outcome.value


def _push_back(host: str, seconds: float) -> None:
    now = time.time()
    try:
        host_limiter.push_back(redis_connection(), host, until=now + seconds, now=now)
    except RedisError:
        return


def _retry_unknown(item_id: int, reason: str, attempt: int, retry_after: float | None) -> None:
    if attempt >= len(UNKNOWN_RETRY_SECONDS):
        return
    delay = max(UNKNOWN_RETRY_SECONDS[attempt], retry_after or 0)
    delay *= 1 + random.random() / 5  # noqa: S311  # nosec B311  (spreading, not secrecy)
    args: tuple[Any, ...] = (item_id, reason, CheckMethod.OEMBED.value, attempt + 1)
    enqueue(
        QUEUE_DEADLINES,
        check_post,
        *args,
        at=utcnow() + timedelta(seconds=delay),
        job_id=f"removal-retry-{item_id}-{attempt + 1}",
    )


def _follow_up(item_id: int, removed_since: datetime, now: datetime) -> None:
    """The next daily check of a removed post, while the follow-up period lasts."""
    days = int(current_app.config.get("REMOVAL_CHECK_FOLLOW_UP_DAYS", 30))
    next_at = now + removals.FOLLOW_UP_EVERY
    if next_at > removed_since + timedelta(days=days):
        return
    # One job per item and day: checks seeing it gone the same day schedule the same job.
    enqueue(
        QUEUE_DEADLINES,
        check_post,
        item_id,
        CheckReason.FOLLOW_UP.value,
        at=next_at,
        job_id=follow_up_job_id(item_id, next_at),
    )


def follow_up_job_id(item_id: int, at: datetime) -> str:
    return f"removal-follow-up-{item_id}-{at:%Y-%m-%d}"


@app_job
def draft_escalation_letter(escalation_id: int) -> int | None:
    """Draft the escalation letter a missed deadline calls for (a new letter version)."""
    escalation = db.session.get(Escalation, escalation_id)
    if escalation is None or escalation.letter_id is not None or escalation.route_key is None:
        return None
    draft = _draft_letter
    if draft is None:
        # Never skipped quietly: the job fails, is retried, and shows on the failed-jobs page.
        raise RuntimeError("no letter drafter: the app registers notices' create_letter")
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
    notice = db.session.get(Notice, escalation.notice_id)
    case = notice.case if notice is not None else None
    if case is None:
        db.session.rollback()
        return None
    # The escalation route's letter is a draft on the case: it finds the missed notice
    # itself, covers its items and attaches a copy of it.
    letter = draft(db.session, case=case, route_key=escalation.route_key, actor=SYSTEM)
    db.session.refresh(escalation)
    escalation.letter_id = letter.id
    db.session.commit()
    log.info("escalation %s: letter %s drafted", escalation_id, letter.id)
    return int(letter.id)


def schedule_deadline_jobs(deadline_ids: Iterable[int]) -> int:
    """Schedule a job at each pending deadline's due time and each unsent reminder's time,
    and, when removal checks are on, a check of the notice's posts now (the notice has
    just gone out) and a last one a minute before each due time.

    Call after the transaction that wrote the rows has committed. Returns how many jobs
    were scheduled (0 when Redis is unreachable: the sweep takes over).
    """
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


def schedule_missing(connection: Redis, *, now: datetime) -> int:
    """Put back on RQ's schedule each pending deadline and unsent reminder still to come
    whose job Redis does not hold: written while Redis was down, or lost when Redis was
    flushed or restarted. Returns how many jobs were scheduled.

    The nearest RESCHEDULE_BATCH of each are checked (one EXISTS each, pipelined); rows
    further ahead are taken by a later sweep. Rows already due are the sweep's own work.
    Only reads rows: the caller has nothing to commit.
    """
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
