"""In-app notifications and the outbox of emails waiting to be delivered."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from casework.orm import Base, UTCDateTime, enum_type, intpk, utcnow


class Notification(Base):
    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_user_unread", "user_id", "read_at"),)

    id: Mapped[intpk]
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(40))
    # Message parameters (references, dates); the text is rendered in the reader's language.
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class EmailState(enum.StrEnum):
    PENDING = "pending"
    # Claimed by a sender; next_attempt_at is then the end of its lease.
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"


class OutgoingEmail(Base):
    """An email is a row before it is a job, so an SMTP outage loses nothing."""

    __tablename__ = "outgoing_emails"
    __table_args__ = (Index("ix_outgoing_emails_state", "state", "next_attempt_at"),)

    id: Mapped[intpk]
    # Whose email it is, so one organisation's admins never see or retry another's.
    organisation_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), index=True
    )
    # The case the email is about: it is deleted with the case, whatever its state.
    case_id: Mapped[int | None] = mapped_column(
        ForeignKey("cases.id", ondelete="CASCADE"), index=True
    )
    recipient: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    # A secret for the body's placeholder, encrypted (see sealing.py); wiped once sent.
    sealed_secret: Mapped[str | None] = mapped_column(Text)
    state: Mapped[EmailState] = mapped_column(
        enum_type(EmailState, "email_state"),
        default=EmailState.PENDING,
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(500))
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
