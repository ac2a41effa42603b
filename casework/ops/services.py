"""Failed background jobs and failed emails: list them, and put them back to work."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from redis import Redis
from rq import Queue
from rq.exceptions import DeserializationError, InvalidJobOperation, NoSuchJobError
from rq.job import Job
from rq.registry import FailedJobRegistry
from sqlalchemy import select

from casework.actors import Actor
from casework.audit.events import email_event, job_event
from casework.jobs import QUEUES
from casework.notifications.email import retry_failed
from casework.notifications.models import EmailState, OutgoingEmail
from casework.ops.job_owners import organisation_of
from casework.orm import DbSession


class OpsError(Exception):
    """An operations action that cannot be done; the message says why."""


class OpsNotFound(OpsError):
    """The row is not this organisation's (or does not exist): answered as 404."""


@dataclass(frozen=True)
class FailedJob:
    id: str
    queue: str
    function: str
    ended_at: datetime | None
    error: str


def _failure_text(job: Job) -> str | None:
    """The traceback RQ recorded for the job's latest failed run."""
    result = job.latest_result()
    return result.exc_string if result is not None else None


def _last_line(exc_info: str | None) -> str:
    lines = [line for line in (exc_info or "").strip().splitlines() if line.strip()]
    return (lines[-1] if lines else "")[:300]


def failed_jobs(
    session: DbSession, connection: Redis, organisation_id: int, limit: int = 200
) -> list[FailedJob]:
    """The organisation's jobs that failed after their retries, newest first, with their error.

    A job's traceback can name another organisation's rows, so only jobs working for
    this organisation are listed (see casework.ops.job_owners).
    """
    found: list[FailedJob] = []
    for name in QUEUES:
        registry = FailedJobRegistry(queue=Queue(name, connection=connection))
        ids = registry.get_job_ids(0, limit - 1)
        for job in Job.fetch_many(ids, connection=connection):
            if job is None or not _belongs_to(session, job, organisation_id):
                continue
            found.append(
                FailedJob(
                    id=job.id,
                    queue=name,
                    function=job.func_name or "?",
                    ended_at=job.ended_at,
                    error=_last_line(_failure_text(job)),
                )
            )
    found.sort(key=lambda j: j.ended_at or datetime.min, reverse=True)
    return found[:limit]


def _belongs_to(session: DbSession, job: Job, organisation_id: int) -> bool:
    try:
        func_name, args = job.func_name, job.args
    except DeserializationError:
        return False
    return organisation_of(session, func_name, args) == organisation_id


def retry_job(
    session: DbSession, connection: Redis, job_id: str, actor: Actor, organisation_id: int
) -> str:
    """Put the organisation's failed job back on its queue. Writes the audit event; the caller
    commits. Another organisation's job is refused exactly as a job that does not exist."""
    for name in QUEUES:
        registry = FailedJobRegistry(queue=Queue(name, connection=connection))
        if job_id not in registry.get_job_ids():
            continue
        try:
            job = Job.fetch(job_id, connection=connection)
        except NoSuchJobError as exc:
            raise OpsError(f"job {job_id} can no longer be retried") from exc
        if not _belongs_to(session, job, organisation_id):
            break
        try:
            registry.requeue(job_id)
        except (NoSuchJobError, InvalidJobOperation) as exc:
            raise OpsError(f"job {job_id} can no longer be retried") from exc
        job_event(session, actor, "job.retried", job=job_id[:64], queue=name)
        return name
    raise OpsError(f"no failed job {job_id}")


def outbox_problems(
    session: DbSession, organisation_id: int, limit: int = 200
) -> list[OutgoingEmail]:
    """The organisation's emails that failed for good or are being retried, oldest first."""
    return list(
        session.scalars(
            select(OutgoingEmail)
            .where(OutgoingEmail.organisation_id == organisation_id)
            .where(
                (OutgoingEmail.state == EmailState.FAILED)
                | ((OutgoingEmail.state == EmailState.PENDING) & (OutgoingEmail.attempts > 0))
            )
            .order_by(OutgoingEmail.created_at)
            .limit(limit)
        )
    )


def retry_email(
    session: DbSession, email_id: int, organisation_id: int, actor: Actor, *, now: datetime
) -> None:
    """Put a failed email of the organisation back in the outbox. The caller commits."""
    email = session.get(OutgoingEmail, email_id)
    if email is None or email.organisation_id != organisation_id:
        raise OpsNotFound(f"no email {email_id} in this organisation")
    if not retry_failed(session, email_id, now=now):
        raise OpsError(f"email {email_id} is not a failed email")
    email_event(session, actor, email, "email.retried")
