"""Notification jobs: deliver one outbox email."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from flask import current_app
from rq import Retry

from casework.extensions import db
from casework.jobs import QUEUE_NOTIFICATIONS, app_job, enqueue
from casework.notifications.email import (
    Delivery,
    DeliveryFailed,
    MailSettings,
    claim,
    send_claimed,
)
from casework.orm import DbSession, utcnow

log = logging.getLogger(__name__)


def email_retry() -> Retry:
    """RQ retries for a delivery job, spaced like the outbox row's own backoff."""
    settings = MailSettings.from_config(current_app.config)
    intervals = settings.retry_intervals()
    return Retry(max=len(intervals), interval=intervals)


def deliver(
    session: DbSession, email_id: int, *, now: datetime, settings: MailSettings, send: Any = None
) -> Delivery:
    """Send one outbox email once. Commits twice: the claim before the SMTP server hears of
    it, so no other sender takes the row meanwhile, then the result."""
    if not claim(session, email_id, now=now, settings=settings):
        session.rollback()
        return Delivery(email_id, "skipped")
    session.commit()
    result = send_claimed(session, email_id, now=now, settings=settings, send=send)
    session.commit()
    return result


@app_job
def deliver_email(email_id: int) -> str:
    """Send one outbox email once; raise on a temporary failure so RQ retries it later."""
    settings = MailSettings.from_config(current_app.config)
    result = deliver(db.session, email_id, now=utcnow(), settings=settings)
    log.info(
        "email %s: %s%s", email_id, result.outcome, f" ({result.error})" if result.error else ""
    )
    if result.outcome == "retry":
        raise DeliveryFailed(f"email {email_id}: {result.error}; will retry")
    return result.outcome


def deliver_soon(email_ids: Iterable[int]) -> None:
    """Queue committed outbox emails for delivery now; the sweep sends any a lost job missed."""
    retry = email_retry()
    for email_id in email_ids:
        enqueue(
            QUEUE_NOTIFICATIONS, deliver_email, email_id, job_id=f"email-{email_id}", retry=retry
        )
