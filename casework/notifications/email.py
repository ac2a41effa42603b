"""Deliver outbox emails over SMTP: claim, send, mark sent; back off and keep what fails.

Delivery is at-least-once. A sender claims a row (pending → sending, with a lease),
commits, talks to the SMTP server, then marks it sent and commits again (the commits
are the delivery job's: casework.notifications.jobs.deliver). If the process dies after
the server accepted the message but before that last commit, the lease runs out and the
sweep sends it again: a reminder sent twice is better than a deadline nobody heard
about. Every attempt carries the same Message-ID, so mail clients can fold a repeat.
Two senders never send the same row at once: only one wins the claim.
"""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any

from sqlalchemy import or_, select, update

from casework.notifications.models import EmailState, OutgoingEmail
from casework.notifications.sealing import PLACEHOLDER, SecretExpired, lifetime, unseal
from casework.orm import DbSession
from casework.sqlutil import rowcount

# Reply codes that will not get better by retrying (mailbox unknown, policy refusal).
_PERMANENT = range(500, 600)


@dataclass(frozen=True)
class MailSettings:
    host: str
    port: int
    use_tls: bool
    username: str | None
    password: str | None
    sender: str
    timeout: float
    retry_base_seconds: int
    max_attempts: int
    lease_seconds: int

    @classmethod
    def from_config(cls, config: Any) -> MailSettings:
        return cls(
            host=config["MAIL_SERVER"],
            port=int(config["MAIL_PORT"]),
            use_tls=bool(config["MAIL_USE_TLS"]),
            username=config.get("MAIL_USERNAME"),
            password=config.get("MAIL_PASSWORD"),
            sender=config["MAIL_FROM"],
            timeout=float(config.get("MAIL_TIMEOUT", 10)),
            retry_base_seconds=int(config.get("MAIL_RETRY_BASE_SECONDS", 30)),
            max_attempts=int(config.get("MAIL_MAX_ATTEMPTS", 8)),
            lease_seconds=int(config.get("MAIL_LEASE_SECONDS", 600)),
        )

    def backoff(self, attempts: int) -> timedelta:
        """Exponential: base, 2×base, 4×base ... capped at six hours."""
        seconds = self.retry_base_seconds * 2 ** max(attempts - 1, 0)
        return timedelta(seconds=min(seconds, 6 * 3600))

    def retry_intervals(self) -> list[int]:
        """The same backoff, as RQ Retry intervals for the delivery job."""
        return [int(self.backoff(n).total_seconds()) for n in range(1, max(self.max_attempts, 2))]


class DeliveryFailed(Exception):
    """The SMTP server could not take the message this time; the row says when to retry."""


@dataclass(frozen=True)
class Delivery:
    email_id: int
    outcome: str  # "sent", "retry", "failed", or "skipped" when another sender has it
    error: str | None = None


def build_message(
    email: OutgoingEmail, settings: MailSettings, secret: str | None = None
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = settings.sender
    message["To"] = email.recipient
    message["Subject"] = email.subject
    message["Date"] = format_datetime(email.created_at)
    domain = settings.sender.rpartition("@")[2] or "casework.invalid"
    # Stable across retries, so a message delivered twice is recognisably the same one.
    message["Message-ID"] = f"<casework-outbox-{email.id}@{domain}>"
    body = email.body if secret is None else email.body.replace(PLACEHOLDER, secret)
    message.set_content(body)
    return message


def smtp_send(message: EmailMessage, settings: MailSettings) -> None:
    """One SMTP conversation: STARTTLS when configured, login when credentials are set."""
    with smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout) as smtp:
        if settings.use_tls:
            smtp.starttls(context=ssl.create_default_context())
        if settings.username and settings.password:
            smtp.login(settings.username, settings.password)
        smtp.send_message(message)


def _describe(exc: BaseException) -> tuple[str, bool]:
    """A short error for the admin page (class and reply code, never addresses) and
    whether it is permanent."""
    code = getattr(exc, "smtp_code", None)
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [c for c, _ in exc.recipients.values()]
        code = codes[0] if codes else None
    permanent = isinstance(code, int) and code in _PERMANENT
    text = type(exc).__name__ + (f" {code}" if code else "")
    return text[:500], permanent


def claim(session: DbSession, email_id: int, *, now: datetime, settings: MailSettings) -> bool:
    """Take a pending (or abandoned) row for sending. The caller commits before sending."""
    result = session.execute(
        update(OutgoingEmail)
        .where(
            OutgoingEmail.id == email_id,
            or_(
                OutgoingEmail.state == EmailState.PENDING,
                (OutgoingEmail.state == EmailState.SENDING)
                & (OutgoingEmail.next_attempt_at <= now),
            ),
        )
        .values(
            state=EmailState.SENDING,
            attempts=OutgoingEmail.attempts + 1,
            next_attempt_at=now + timedelta(seconds=settings.lease_seconds),
        )
        .execution_options(synchronize_session=False)
    )
    return rowcount(result) == 1


def send_claimed(
    session: DbSession, email_id: int, *, now: datetime, settings: MailSettings, send: Any = None
) -> Delivery:
    """Send an email whose claim is committed, and mark how it went. The caller commits."""
    sender = send or smtp_send
    email = session.get(OutgoingEmail, email_id)
    if email is None:  # pragma: no cover - deleted between the two statements
        return Delivery(email_id, "skipped")
    session.refresh(email)
    secret = None
    if email.sealed_secret is not None:
        try:
            secret = unseal(email.sealed_secret, created_at=email.created_at, now=now)
        except SecretExpired:
            # Sent days late after an outage, the code would only sit in a mailbox;
            # the person was shown it on screen. The row stays, as failed, without it.
            _wipe(email)
            email.state = EmailState.FAILED
            email.last_error = "SecretExpired"
            return Delivery(email_id, "failed", "SecretExpired")
    try:
        sender(build_message(email, settings, secret), settings)
    except (TimeoutError, smtplib.SMTPException, OSError) as exc:
        error, permanent = _describe(exc)
        failed = permanent or email.attempts >= settings.max_attempts
        email.state = EmailState.FAILED if failed else EmailState.PENDING
        email.last_error = error
        email.next_attempt_at = now + settings.backoff(email.attempts)
        return Delivery(email_id, "failed" if failed else "retry", error)
    email.state = EmailState.SENT
    email.sent_at = now
    email.last_error = None
    _wipe(email)
    return Delivery(email_id, "sent")


def _wipe(email: OutgoingEmail) -> None:
    """Once delivered (or given up on), the text and any sealed secret are not kept."""
    email.body = ""
    email.sealed_secret = None


def wipe_expired_secrets(session: DbSession, *, now: datetime, config: Any) -> int:
    """Forget sealed secrets past their lifetime, sent or not. The caller commits."""
    result = session.execute(
        update(OutgoingEmail)
        .where(
            OutgoingEmail.sealed_secret.is_not(None),
            OutgoingEmail.created_at < now - lifetime(config),
        )
        .values(sealed_secret=None)
        .execution_options(synchronize_session=False)
    )
    return rowcount(result)


def due_email_ids(session: DbSession, *, now: datetime, limit: int = 1000) -> list[int]:
    """Outbox rows whose delivery is due: pending past their retry time, or a lapsed lease."""
    return list(
        session.scalars(
            select(OutgoingEmail.id)
            .where(
                OutgoingEmail.state.in_([EmailState.PENDING, EmailState.SENDING]),
                OutgoingEmail.next_attempt_at <= now,
            )
            .order_by(OutgoingEmail.next_attempt_at)
            .limit(limit)
        )
    )


def retry_failed(session: DbSession, email_id: int, *, now: datetime) -> bool:
    """Put a failed email back in the outbox with a fresh set of attempts. The caller commits."""
    result = session.execute(
        update(OutgoingEmail)
        .where(OutgoingEmail.id == email_id, OutgoingEmail.state == EmailState.FAILED)
        .values(state=EmailState.PENDING, attempts=0, next_attempt_at=now, last_error=None)
        .execution_options(synchronize_session=False)
    )
    return rowcount(result) == 1


def mask_address(address: str) -> str:
    """Enough of an address for an admin to recognise it, without printing it whole."""
    local, _, domain = address.partition("@")
    return f"{local[:1]}…@{domain}" if domain else "…"
