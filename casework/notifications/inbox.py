"""A staff user's in-app notifications: newest first, the unread count, marking them read."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, update

from casework.notifications.models import Notification
from casework.orm import DbSession
from casework.sqlutil import rowcount

PAGE_SIZE = 100


def recent_notifications(
    session: DbSession, user_id: int, *, limit: int = PAGE_SIZE
) -> list[Notification]:
    return list(
        session.scalars(
            select(Notification)
            .where(Notification.user_id == user_id)
            .order_by(Notification.created_at.desc(), Notification.id.desc())
            .limit(limit)
        )
    )


def unread_count(session: DbSession, user_id: int) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(Notification)
            .where(Notification.user_id == user_id, Notification.read_at.is_(None))
        )
        or 0
    )


def mark_read(session: DbSession, user_id: int, notification_id: int, *, now: datetime) -> bool:
    """Mark one of the user's own notifications read; False if they have none with that id.

    The caller commits.
    """
    notification = session.scalar(
        select(Notification).where(
            Notification.id == notification_id, Notification.user_id == user_id
        )
    )
    if notification is None:
        return False
    if notification.read_at is None:
        notification.read_at = now
    return True


def mark_all_read(session: DbSession, user_id: int, *, now: datetime) -> int:
    """Mark every unread notification of the user read; how many. The caller commits."""
    result = session.execute(
        update(Notification)
        .where(Notification.user_id == user_id, Notification.read_at.is_(None))
        .values(read_at=now)
        .execution_options(synchronize_session=False)
    )
    return rowcount(result)
