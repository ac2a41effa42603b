"""Deadlines on notices and the reminders before them: rows first, jobs second."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from casework.deadlines.removal_outcomes import CheckMethod, CheckOutcome, CheckReason
from casework.notices.models import Letter, Notice
from casework.orm import Base, UTCDateTime, enum_type, intpk, utcnow


class DeadlineState(enum.StrEnum):
    PENDING = "pending"
    MET = "met"
    MISSED = "missed"
    # Our own follow-up date passed: the caseworker was prompted, no law was broken.
    LAPSED = "lapsed"
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


class Escalation(Base):
    """The work a missed deadline creates: draft the escalation letter for the route.

    One per deadline (the unique key makes a second escalation impossible even if two
    handlers raced past every other guard); letter_id is set once the letter is drafted.
    """

    __tablename__ = "escalations"

    id: Mapped[intpk]
    deadline_id: Mapped[int] = mapped_column(
        ForeignKey("deadlines.id", ondelete="CASCADE"), unique=True
    )
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("notices.id", ondelete="CASCADE"))
    # The registry route to escalate through; None when the registry names none.
    route_key: Mapped[str | None] = mapped_column(String(80))
    letter_id: Mapped[int | None] = mapped_column(ForeignKey("letters.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    drafted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    deadline: Mapped[Deadline] = relationship()
    letter: Mapped[Letter | None] = relationship()


class SweepRun(Base):
    """The last run of each periodic sweep, kept in the database as well as in Redis."""

    __tablename__ = "sweep_runs"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime] = mapped_column(UTCDateTime())
    as_of: Mapped[datetime] = mapped_column(UTCDateTime())
    duration_ms: Mapped[int] = mapped_column(Integer, default=0)
    # Counts only: deadlines, reminders, emails and escalations handled by that run.
    counts: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)


class RemovalCheck(Base):
    """One question put to X about one post and what its answer meant; never the post itself.

    `http_status` is the status of the answer that decided the outcome (None: no answer).
    """

    __tablename__ = "removal_checks"
    __table_args__ = (Index("ix_removal_checks_item", "item_id", "checked_at"),)

    id: Mapped[intpk]
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"))
    checked_at: Mapped[datetime] = mapped_column(UTCDateTime())
    method: Mapped[CheckMethod] = mapped_column(enum_type(CheckMethod, "removal_check_method"))
    http_status: Mapped[int | None] = mapped_column(Integer)
    outcome: Mapped[CheckOutcome] = mapped_column(enum_type(CheckOutcome, "removal_check_outcome"))
    reason: Mapped[CheckReason] = mapped_column(enum_type(CheckReason, "removal_check_reason"))

    @property
    def unanswered(self) -> bool:
        """X gave no usable answer: the check proves nothing either way."""
        return self.outcome is CheckOutcome.UNKNOWN
