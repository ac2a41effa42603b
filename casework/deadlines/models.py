"""Deadlines on notices and the reminders before them: rows first, jobs second."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from casework.notices.models import Notice
from casework.orm import Base, UTCDateTime, enum_type, intpk, utcnow


class DeadlineState(enum.StrEnum):
    PENDING = "pending"
    MET = "met"
    MISSED = "missed"
    CANCELLED = "cancelled"


class Deadline(Base):
    __tablename__ = "deadlines"
    __table_args__ = (
        # The sweep's due-now query reads only pending rows.
        Index(
            "ix_deadlines_pending_due",
            "due_at",
            postgresql_where=text("state = 'pending'"),
            sqlite_where=text("state = 'pending'"),
        ),
        Index("ix_deadlines_case", "case_id", "state"),
    )

    id: Mapped[intpk]
    notice_id: Mapped[int] = mapped_column(ForeignKey("notices.id", ondelete="CASCADE"), index=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    stage: Mapped[str] = mapped_column(String(40), default="response")
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    state: Mapped[DeadlineState] = mapped_column(
        enum_type(DeadlineState, "deadline_state"),
        default=DeadlineState.PENDING,
    )
    handled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    handled_by: Mapped[str | None] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    notice: Mapped[Notice] = relationship()
    reminders: Mapped[list[Reminder]] = relationship(
        back_populates="deadline", cascade="all, delete-orphan", order_by="Reminder.remind_at"
    )


class Reminder(Base):
    __tablename__ = "reminders"
    __table_args__ = (
        Index(
            "ix_reminders_unsent_due",
            "remind_at",
            postgresql_where=text("sent_at IS NULL"),
            sqlite_where=text("sent_at IS NULL"),
        ),
    )

    id: Mapped[intpk]
    deadline_id: Mapped[int] = mapped_column(
        ForeignKey("deadlines.id", ondelete="CASCADE"), index=True
    )
    remind_at: Mapped[datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    deadline: Mapped[Deadline] = relationship(back_populates="reminders")
