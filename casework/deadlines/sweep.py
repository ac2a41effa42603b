"""The periodic sweep: everything due in the database, handled once, whatever Redis forgot.

It reads due reminders and deadlines from their partial indexes in batches, claims each
row (FOR UPDATE SKIP LOCKED on PostgreSQL, so several sweeps and jobs share the work
without waiting on each other; on SQLite writers take turns and the compare-and-set
claim in casework.deadlines.handling decides), commits each batch, and only then hands
follow-up work (emails, letters) to the queues. It also re-queues outbox emails whose
job was lost, escalation letters not drafted yet and the daily checks of removed posts
that did not run, and records its own last run in the database and in Redis.
"""

from __future__ import annotations

import json
import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from redis.exceptions import RedisError
from sqlalchemy import func, select

from casework.deadlines.handling import Effects, handle_deadlines, send_reminder
from casework.deadlines.models import Deadline, DeadlineState, Escalation, Reminder, SweepRun
from casework.deadlines.removals import FOLLOW_UP_EVERY, due_follow_ups
from casework.notifications.email import due_email_ids
from casework.orm import DbSession, utcnow
from casework.sqlutil import insert_ignoring_conflict

log = logging.getLogger(__name__)

SWEEP_NAME = "deadlines"
REDIS_LAST_RUN_KEY = "casework:sweep:last"


@dataclass
class SweepReport:
    as_of: datetime
    reminders: Counter[str] = field(default_factory=Counter)
    deadlines: Counter[str] = field(default_factory=Counter)
    emails_requeued: int = 0
    escalations_requeued: int = 0
    duration_ms: int = 0
    handled_ids: list[int] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        out = {f"reminders_{k}": v for k, v in sorted(self.reminders.items())}
        out |= {f"deadlines_{k}": v for k, v in sorted(self.deadlines.items())}
        out["emails_requeued"] = self.emails_requeued
        out["escalations_requeued"] = self.escalations_requeued
        return out

    def summary(self) -> str:
        deadlines = ", ".join(f"{n} {k}" for k, n in sorted(self.deadlines.items())) or "none"
        reminders = ", ".join(f"{n} {k}" for k, n in sorted(self.reminders.items())) or "none"
        return (
            f"sweep as of {self.as_of.isoformat()}: deadlines {deadlines}; reminders "
            f"{reminders}; emails re-queued {self.emails_requeued}; escalation letters "
            f"re-queued {self.escalations_requeued}; {self.duration_ms} ms"
        )


def _due_ids(
    session: DbSession,
    model: type[Deadline] | type[Reminder],
    *,
    now: datetime,
    batch_size: int,
    skip: set[int],
) -> list[int]:
    if model is Deadline:
        query = (
            select(Deadline.id)
            .where(Deadline.state == DeadlineState.PENDING, Deadline.due_at <= now)
            .order_by(Deadline.due_at)
        )
    else:
        query = (
            select(Reminder.id)
            .where(Reminder.sent_at.is_(None), Reminder.remind_at <= now)
            .order_by(Reminder.remind_at)
        )
    if skip:
        query = query.where(model.id.not_in(skip))
    query = query.limit(batch_size)
    if session.get_bind().dialect.name == "postgresql":
        # Rows another sweep or job is handling are skipped, not waited for.
        query = query.with_for_update(skip_locked=True)
    return list(session.scalars(query))


def sweep(
    session: DbSession,
    *,
    now: datetime,
    by: str,
    batch_size: int = 500,
    removal_checks: bool = False,
    removal_follow_up_days: int = 30,
    email_grace_seconds: int = 120,
    after_commit: Callable[[Effects], None] | None = None,
    on_backlog: Callable[[], None] | None = None,
) -> SweepReport:
    """Handle every reminder and deadline due at `now`, in batches. Commits each batch.

    `after_commit` receives each batch's follow-up work once it is committed (the worker
    enqueues it; the command line does the same). Reminders go first, so a reminder due
    before its deadline is never overtaken by it. `on_backlog` is called once when a full
    batch of deadlines is found, so the worker can ask another worker to help: with SKIP
    LOCKED, sweeps running side by side share the rows without waiting on each other.
    """
    started = time.perf_counter()
    report = SweepReport(as_of=now)
    for model in (Reminder, Deadline):
        seen: set[int] = set()
        while True:
            ids = _due_ids(session, model, now=now, batch_size=batch_size, skip=seen)
            if not ids:
                break
            seen.update(ids)
            if on_backlog is not None and model is Deadline and len(ids) == batch_size:
                on_backlog()
                on_backlog = None
            effects = Effects()
            if model is Deadline:
                for handled in handle_deadlines(
                    session, ids, now=now, by=by, email_grace_seconds=email_grace_seconds
                ):
                    report.deadlines[handled.outcome] += 1
                    report.handled_ids.append(handled.id)
                    effects.extend(handled.effects)
            else:
                for row_id in ids:
                    reminder = send_reminder(
                        session,
                        row_id,
                        now=now,
                        removal_checks=removal_checks,
                        email_grace_seconds=email_grace_seconds,
                    )
                    if reminder is not None:
                        report.reminders[reminder.outcome] += 1
                        effects.extend(reminder.effects)
            session.commit()
            if after_commit is not None:
                after_commit(effects)

    leftovers = Effects()
    leftovers.email_ids = due_email_ids(session, now=now)
    report.emails_requeued = len(leftovers.email_ids)
    leftovers.escalation_ids = list(
        session.scalars(
            select(Escalation.id).where(
                Escalation.drafted_at.is_(None),
                Escalation.route_key.is_not(None),
                Escalation.created_at <= now - timedelta(seconds=email_grace_seconds),
            )
        )
    )
    report.escalations_requeued = len(leftovers.escalation_ids)
    if removal_checks:
        leftovers.follow_up_item_ids = due_follow_ups(
            session,
            now=now,
            days=removal_follow_up_days,
            every=FOLLOW_UP_EVERY,
            limit=batch_size,
        )
    session.rollback()
    if after_commit is not None:
        after_commit(leftovers)
    report.duration_ms = int((time.perf_counter() - started) * 1000)
    return report


def record_run(
    session: DbSession, report: SweepReport, *, started_at: datetime, redis: Any = None
) -> None:
    """Keep the sweep's last run in the database (commits) and, when reachable, in Redis."""
    finished = utcnow()
    values = {
        "name": SWEEP_NAME,
        "started_at": started_at,
        "finished_at": finished,
        "as_of": report.as_of,
        "duration_ms": report.duration_ms,
        "counts": report.counts(),
    }
    insert_ignoring_conflict(session, SweepRun.__table__, values)
    row = session.get(SweepRun, SWEEP_NAME)
    if row is not None:
        session.refresh(row)
        row.started_at = started_at
        row.finished_at = finished
        row.as_of = report.as_of
        row.duration_ms = report.duration_ms
        row.counts = report.counts()
    session.commit()
    if redis is not None:
        payload = {
            "finished_at": finished.isoformat(),
            "as_of": report.as_of.isoformat(),
            "duration_ms": report.duration_ms,
            "counts": report.counts(),
        }
        try:
            redis.set(REDIS_LAST_RUN_KEY, json.dumps(payload))
        except RedisError as exc:
            log.warning("sweep last run not written to Redis (%s)", type(exc).__name__)


def last_run(session: DbSession) -> SweepRun | None:
    return session.get(SweepRun, SWEEP_NAME)


def overdue_unhandled(session: DbSession, *, now: datetime, grace_seconds: int) -> int:
    """Pending deadlines more than `grace_seconds` past due: zero when the worker is healthy."""
    return int(
        session.scalar(
            select(func.count(Deadline.id)).where(
                Deadline.state == DeadlineState.PENDING,
                Deadline.due_at <= now - timedelta(seconds=grace_seconds),
            )
        )
        or 0
    )
