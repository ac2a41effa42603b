"""Failed background jobs and failed emails: list them, and put them back to work."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from redis import Redis
from rq import Queue
from rq.exceptions import InvalidJobOperation, NoSuchJobError
from rq.job import Job
from rq.registry import FailedJobRegistry
from sqlalchemy import select
from sqlalchemy.orm import Session

from casework.actors import Actor
from casework.audit.services import SYSTEM_CHAIN, record_event
from casework.jobs import QUEUES
from casework.notifications.email import retry_failed
from casework.notifications.models import EmailState, OutgoingEmail


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


def failed_jobs(connection: Redis, limit: int = 200) -> list[FailedJob]:
    """Jobs that failed after their retries, newest first, with the error they ended on."""
    found: list[FailedJob] = []
    for name in QUEUES:
        registry = FailedJobRegistry(queue=Queue(name, connection=connection))
        ids = registry.get_job_ids(0, limit - 1)
        for job in Job.fetch_many(ids, connection=connection):
            if job is None:
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


def retry_job(session: Session, connection: Redis, job_id: str, actor: Actor) -> str:
    """Put a failed job back on its queue. Writes the audit event; the caller commits."""
    for name in QUEUES:
        registry = FailedJobRegistry(queue=Queue(name, connection=connection))
        if job_id in registry.get_job_ids():
            try:
                registry.requeue(job_id)
            except (NoSuchJobError, InvalidJobOperation) as exc:
                raise OpsError(f"job {job_id} can no longer be retried") from exc
            record_event(
                session,
                "job.retried",
                actor,
                chain_id=SYSTEM_CHAIN,
                object_type="job",
                details={"job": job_id[:64], "queue": name},
            )
            return name
    raise OpsError(f"no failed job {job_id}")


def outbox_problems(
    session: Session, organisation_id: int, limit: int = 200
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
    session: Session, email_id: int, organisation_id: int, actor: Actor, *, now: datetime
) -> None:
    """Put a failed email of the organisation back in the outbox. The caller commits."""
    email = session.get(OutgoingEmail, email_id)
    if email is None or email.organisation_id != organisation_id:
        raise OpsNotFound(f"no email {email_id} in this organisation")
    if not retry_failed(session, email_id, now=now):
        raise OpsError(f"email {email_id} is not a failed email")
    record_event(
        session,
        "email.retried",
        actor,
        chain_id=organisation_id,
        object_type="email",
        object_id=email_id,
    )
