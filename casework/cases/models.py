"""Cases, the items found on X, notes, cross-case links and reference counters."""

from __future__ import annotations

import enum
import secrets
from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from casework.accounts.models import Organisation, User
from casework.orm import Base, UTCDateTime, enum_type, intpk, utcnow


class CaseStatus(enum.StrEnum):
    NEW = "new"
    TRIAGE = "triage"
    ACTION = "action"
    AWAITING_PLATFORM = "awaiting_platform"
    ESCALATED = "escalated"
    RESOLVED = "resolved"
    CLOSED = "closed"
    WITHDRAWN = "withdrawn"


class Priority(enum.IntEnum):
    """Lower sorts first in every queue."""

    URGENT = 0
    HIGH = 1
    NORMAL = 2
    LOW = 3


class MinorStatus(enum.StrEnum):
    NO = "no"
    YES = "yes"
    UNSURE = "unsure"


class FilerRole(enum.StrEnum):
    SUBJECT = "subject"
    REPRESENTATIVE = "representative"


class ItemKind(enum.StrEnum):
    AI_IMAGE = "ai_image"
    PROMPT_REPLY = "prompt_reply"
    REPOST = "repost"
    ORIGINAL_PHOTO = "original_photo"
    UNKNOWN = "unknown"


class ContentCategory(enum.StrEnum):
    """What the image shows, which decides the legal routes that cover it."""

    NUDE_SEXUAL = "nude_sexual"
    REVEALING_ATTIRE = "revealing_attire"
    MINOR = "minor"
    UNKNOWN = "unknown"


class RemovalState(enum.StrEnum):
    UNKNOWN = "unknown"
    UP = "up"
    REMOVED = "removed"


class LinkReason(enum.StrEnum):
    STATUS_ID = "status_id"
    SHA256 = "sha256"
    PDQ = "pdq"
    ACCOUNT = "account"


class LinkState(enum.StrEnum):
    PROPOSED = "proposed"
    DISMISSED = "dismissed"
    MERGED = "merged"


# Queues sort by priority then nearest deadline; a far-future sentinel keeps the
# keyset comparison free of NULLs, which the two databases order differently.
NO_DEADLINE = datetime(9999, 12, 31, tzinfo=UTC)

OPEN_STATUSES = (
    CaseStatus.NEW,
    CaseStatus.TRIAGE,
    CaseStatus.ACTION,
    CaseStatus.AWAITING_PLATFORM,
    CaseStatus.ESCALATED,
)
FINISHED_STATUSES = (CaseStatus.RESOLVED, CaseStatus.CLOSED, CaseStatus.WITHDRAWN)


def status_in_sql(statuses: tuple[CaseStatus, ...], column: str = "status") -> str:
    """A literal IN list over fixed enum values.

    Partial indexes are only chosen when the query repeats their predicate with
    the same literals, so queues use this text rather than bound parameters.
    """
    return f"{column} IN ({', '.join(repr(str(s.value)) for s in statuses)})"


_OPEN = text(status_in_sql(OPEN_STATUSES))
_FINISHED = text(status_in_sql(FINISHED_STATUSES))


def new_session_key() -> str:
    return secrets.token_hex(32)


class Case(Base):
    __tablename__ = "cases"
    __table_args__ = (
        Index("ix_cases_queue", "organisation_id", "status", "priority", "sort_deadline_at", "id"),
        Index("ix_cases_org_priority", "organisation_id", "priority", "sort_deadline_at", "id"),
        Index("ix_cases_assignee", "assignee_id", "status"),
        Index("ix_cases_created", "organisation_id", "created_at"),
        # One ordered index per queue family, so every queue page is a range scan.
        Index(
            "ix_cases_open_queue",
            "organisation_id",
            "priority",
            "sort_deadline_at",
            "id",
            postgresql_where=_OPEN,
            sqlite_where=_OPEN,
        ),
        Index(
            "ix_cases_open_assignee",
            "organisation_id",
            "assignee_id",
            "priority",
            "sort_deadline_at",
            "id",
            postgresql_where=_OPEN,
            sqlite_where=_OPEN,
        ),
        Index(
            "ix_cases_finished_queue",
            "organisation_id",
            "priority",
            "sort_deadline_at",
            "id",
            postgresql_where=_FINISHED,
            sqlite_where=_FINISHED,
        ),
        Index(
            "ix_cases_legal_queue",
            "organisation_id",
            "priority",
            "sort_deadline_at",
            "id",
            postgresql_where=text("legal_ready"),
            sqlite_where=text("legal_ready = 1"),
        ),
        Index("ix_cases_merged_into", "merged_into_id"),
        # SQLite would otherwise give a deleted case's id to the next one.
        {"sqlite_autoincrement": True},
    )

    id: Mapped[intpk]
    reference: Mapped[str] = mapped_column(String(20), unique=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    status: Mapped[CaseStatus] = mapped_column(enum_type(CaseStatus, "case_status"))
    priority: Mapped[int] = mapped_column(Integer, default=int(Priority.NORMAL))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    # The subject and the filer: only what the intake steps need.
    minor: Mapped[MinorStatus] = mapped_column(enum_type(MinorStatus, "minor_status"))
    filer_role: Mapped[FilerRole] = mapped_column(enum_type(FilerRole, "filer_role"))
    filer_relationship: Mapped[str | None] = mapped_column(String(100))
    has_authority: Mapped[bool] = mapped_column(Boolean, default=False)
    country: Mapped[str | None] = mapped_column(String(2))
    region: Mapped[str | None] = mapped_column(String(10))
    language: Mapped[str] = mapped_column(String(8), default="en")
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    contact_email: Mapped[str | None] = mapped_column(String(254))
    wanted_actions: Mapped[list[str]] = mapped_column(JSON, default=list)
    consent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    access_code_hash: Mapped[str | None] = mapped_column(String(255))
    # The secret every victim session of the case is bound to; a new one ends them all.
    session_key: Mapped[str | None] = mapped_column(String(64), default=new_session_key)
    spreading: Mapped[bool] = mapped_column(Boolean, default=False)
    # The caseworker who filed the report for the person (a phone call, an email, a visit);
    # None when the person, or someone acting for them, used the public form.
    filed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    status_changed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    first_notice_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    sort_deadline_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=lambda: NO_DEADLINE)
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    # Kept by casework.cases.worklists after every flush that touches the status, the
    # wanted actions or a notice; see that module for the definition.
    legal_ready: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))

    organisation: Mapped[Organisation] = relationship()
    assignee: Mapped[User | None] = relationship(foreign_keys=[assignee_id])
    filed_by: Mapped[User | None] = relationship(foreign_keys=[filed_by_id])
    items: Mapped[list[Item]] = relationship(
        back_populates="case",
        order_by="Item.id",
        cascade="all, delete-orphan",
        foreign_keys="Item.case_id",
    )
    jurisdictions: Mapped[list[CaseJurisdiction]] = relationship(
        back_populates="case", cascade="all, delete-orphan"
    )
    notes: Mapped[list[CaseNote]] = relationship(
        back_populates="case", order_by="CaseNote.id", cascade="all, delete-orphan"
    )

    @property
    def is_urgent(self) -> bool:
        return self.priority == Priority.URGENT

    @property
    def jurisdiction_codes(self) -> list[str]:
        return sorted(j.code for j in self.jurisdictions)

    def __repr__(self) -> str:
        return f"<Case {self.reference} {self.status}>"


class CaseJurisdiction(Base):
    """A jurisdiction whose law applies to the case (subject, poster or platform)."""

    __tablename__ = "case_jurisdictions"
    __table_args__ = (Index("ix_case_jurisdictions_code", "code", "case_id"),)

    case_id: Mapped[int] = mapped_column(
        ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True
    )
    code: Mapped[str] = mapped_column(String(10), primary_key=True)
    basis: Mapped[str] = mapped_column(String(20), default="subject")

    case: Mapped[Case] = relationship(back_populates="jurisdictions")


class Item(Base):
    """One post found on X; the status id is the key within a case."""

    __tablename__ = "items"
    __table_args__ = (
        UniqueConstraint("case_id", "status_id"),
        Index("ix_items_status_id", "status_id"),
        Index("ix_items_handle", "handle_lower"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[intpk]
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    status_id: Mapped[int] = mapped_column(BigInteger)
    url: Mapped[str] = mapped_column(String(200))
    handle: Mapped[str | None] = mapped_column(String(15))
    handle_lower: Mapped[str | None] = mapped_column(String(15))
    kind: Mapped[ItemKind] = mapped_column(
        enum_type(ItemKind, "item_kind"), default=ItemKind.UNKNOWN
    )
    category: Mapped[ContentCategory] = mapped_column(
        enum_type(ContentCategory, "content_category"), default=ContentCategory.UNKNOWN
    )
    prompt_text: Mapped[str | None] = mapped_column(Text)
    notes: Mapped[str | None] = mapped_column(Text)
    posted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    removal_state: Mapped[RemovalState] = mapped_column(
        enum_type(RemovalState, "removal_state"), default=RemovalState.UNKNOWN
    )
    removal_checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    removal_http_status: Mapped[int | None] = mapped_column(Integer)
    added_by_victim: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # The case a merge brought the item from: deleting that case withdraws it from this one.
    origin_case_id: Mapped[int | None] = mapped_column(
        ForeignKey("cases.id", ondelete="SET NULL"), index=True
    )

    case: Mapped[Case] = relationship(back_populates="items", foreign_keys=[case_id])

    def __repr__(self) -> str:
        return f"<Item {self.status_id} of case {self.case_id}>"


class CaseNote(Base):
    __tablename__ = "case_notes"

    id: Mapped[intpk]
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    case: Mapped[Case] = relationship(back_populates="notes")
    author: Mapped[User | None] = relationship()


class CaseLink(Base):
    """A proposed link between two cases of one organisation (lower id first)."""

    __tablename__ = "case_links"
    __table_args__ = (
        UniqueConstraint("case_a_id", "case_b_id", "reason", "detail"),
        Index("ix_case_links_b", "case_b_id"),
    )

    id: Mapped[intpk]
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    case_a_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    case_b_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    reason: Mapped[LinkReason] = mapped_column(enum_type(LinkReason, "link_reason"))
    # What matched: a status id, a hash, an account handle; never personal data.
    detail: Mapped[str] = mapped_column(String(100))
    distance: Mapped[int | None] = mapped_column(Integer)
    state: Mapped[LinkState] = mapped_column(
        enum_type(LinkState, "link_state"), default=LinkState.PROPOSED
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class ReferenceCounter(Base):
    """The last case number issued per year; its row lock makes numbering safe."""

    __tablename__ = "reference_counters"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_value: Mapped[int] = mapped_column(Integer, default=0)
