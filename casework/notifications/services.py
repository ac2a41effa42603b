"""Tell people things: queue an email, notify a staff user in the app. Rows first, jobs second."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from casework.notifications.models import Notification, OutgoingEmail


def queue_email(
    session: Session,
    *,
    recipient: str,
    subject: str,
    body: str,
    organisation_id: int | None = None,
) -> OutgoingEmail:
    """Put an email in the outbox. The caller commits, then asks for delivery.

    Bodies never contain images or links to evidence.
    """
    email = OutgoingEmail(
        organisation_id=organisation_id, recipient=recipient, subject=subject, body=body
    )
    session.add(email)
    session.flush()
    return email


def notify_user(
    session: Session,
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
