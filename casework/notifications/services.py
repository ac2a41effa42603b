"""Tell people things: queue an email, notify a staff user in the app. Rows first, jobs second."""

from __future__ import annotations

from typing import Any

from casework.notifications.models import Notification, OutgoingEmail
from casework.notifications.sealing import seal
from casework.orm import DbSession


def queue_email(
    session: DbSession,
    *,
    recipient: str,
    subject: str,
    body: str,
    organisation_id: int | None = None,
    case_id: int | None = None,
    secret: str | None = None,
) -> OutgoingEmail:
    """Put an email in the outbox. The caller commits, then asks for delivery.

    Bodies never contain images or links to evidence. A secret (an access code) is
    never written in the body: the body holds sealing.PLACEHOLDER and the secret is
    stored sealed, to be put in its place when the email is sent.
    """
    email = OutgoingEmail(
        organisation_id=organisation_id,
        case_id=case_id,
        recipient=recipient,
        subject=subject,
        body=body,
        sealed_secret=seal(secret) if secret is not None else None,
    )
    session.add(email)
    session.flush()
    return email


def notify_user(
    session: DbSession,
    *,
    user_id: int,
    kind: str,
    case_id: int | None = None,
    params: dict[str, Any] | None = None,
) -> Notification:
    """An in-app notification for a staff user. The caller commits."""
    notification = Notification(user_id=user_id, case_id=case_id, kind=kind, params=params or {})
    session.add(notification)
    session.flush()
    return notification
