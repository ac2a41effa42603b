"""Notices to platforms and authorities, and the immutable letters made for them."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    event,
    inspect,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from casework.accounts.models import User
from casework.cases.models import Case, Item
from casework.orm import Base, UTCDateTime, enum_type, intpk, utcnow


class NoticeState(enum.StrEnum):
    DRAFT = "draft"
    SENT = "sent"
    ANSWERED = "answered"
    CLOSED = "closed"


# The states of a notice that has gone out.
SENT_STATES = (NoticeState.SENT, NoticeState.ANSWERED, NoticeState.CLOSED)


class Notice(Base):
    """A request under one legal route, covering a set of items."""

    __tablename__ = "notices"
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: Mapped[intpk]
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    route_key: Mapped[str] = mapped_column(String(80))
    jurisdiction: Mapped[str] = mapped_column(String(10))
    state: Mapped[NoticeState] = mapped_column(
        enum_type(NoticeState, "notice_state"),
        default=NoticeState.DRAFT,
    )
    channel: Mapped[str | None] = mapped_column(String(40))
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # When the platform received it, which starts most legal clocks.
    received_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    response: Mapped[str | None] = mapped_column(Text)
    response_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # A typed electronic signature ("/s/ Name"), captured from the person depicted or their
    # authorised representative, and in which capacity they sign.
    signature_name: Mapped[str | None] = mapped_column(String(200))
    signed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    signatory_capacity: Mapped[str | None] = mapped_column(String(20))
    # Where the addressee replies: usually the organisation acting for the person.
    contact_details: Mapped[str | None] = mapped_column(Text)
    # The statements the signatory confirmed, by element code ("bona_fide_statement").
    statements: Mapped[list[str]] = mapped_column(JSON, default=list, server_default=text("'[]'"))
    explanation: Mapped[str | None] = mapped_column(Text)
    # What the caseworker wrote for each text element (a complaint's "harm_suffered").
    particulars: Mapped[dict[str, str]] = mapped_column(
        JSON, default=dict, server_default=text("'{}'")
    )
    copyrighted_work: Mapped[str | None] = mapped_column(Text)
    # The name of the person depicted, where a law asks the notice to identify them.
    depicted_person: Mapped[str | None] = mapped_column(String(200))
    # For routes whose addressee is chosen per case (a prosecutor, the image generator).
    addressee_name: Mapped[str | None] = mapped_column(String(200))
    addressee_address: Mapped[str | None] = mapped_column(Text)
    # The earlier notice this one follows up (the report a complaint attaches a copy of).
    related_notice_id: Mapped[int | None] = mapped_column(
        ForeignKey("notices.id", ondelete="SET NULL")
    )
    # When a regulator issued its own notice to the platform (eSafety's removal notice),
    # which is what starts the clock on some routes.
    clock_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The exact letter version that went out when the notice was recorded as sent: what a
    # later complaint annexes. The letters table refers back here, so this key is added
    # after both tables exist.
    sent_letter_id: Mapped[int | None] = mapped_column(
        ForeignKey("letters.id", ondelete="SET NULL", use_alter=True)
    )
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    case: Mapped[Case] = relationship()
    items: Mapped[list[NoticeItem]] = relationship(
        back_populates="notice", cascade="all, delete-orphan", order_by="NoticeItem.item_id"
    )
    related_notice: Mapped[Notice | None] = relationship(remote_side="Notice.id")
    sent_letter: Mapped[Letter | None] = relationship(foreign_keys=[sent_letter_id])


class NoticeItem(Base):
    __tablename__ = "notice_items"

    notice_id: Mapped[int] = mapped_column(
        ForeignKey("notices.id", ondelete="CASCADE"), primary_key=True
    )
    item_id: Mapped[int] = mapped_column(
        ForeignKey("items.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The automatic check that saw the post gone; None when staff recorded the removal.
    removal_check_id: Mapped[int | None] = mapped_column(
        ForeignKey("removal_checks.id", ondelete="SET NULL")
    )

    notice: Mapped[Notice] = relationship(back_populates="items")
    item: Mapped[Item] = relationship()


class Letter(Base):
    """One immutable version of a generated PDF; regenerating adds a version."""

    __tablename__ = "letters"
    __table_args__ = (
        UniqueConstraint("case_id", "route_key", "version"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[intpk]
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    notice_id: Mapped[int | None] = mapped_column(ForeignKey("notices.id", ondelete="SET NULL"))
    route_key: Mapped[str] = mapped_column(String(80))
    version: Mapped[int] = mapped_column(Integer)
    template: Mapped[str] = mapped_column(String(200))
    template_version: Mapped[str] = mapped_column(String(64))
    registry_version: Mapped[str] = mapped_column(String(64))
    data_snapshot: Mapped[dict[str, Any]] = mapped_column(JSON)
    pdf: Mapped[bytes] = mapped_column(LargeBinary)
    sha256: Mapped[str] = mapped_column(String(64))
    # Holds a placeholder or lacks a required element: watermarked, never recorded as sent.
    draft: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    # Set when the letter's PDF held images of a person then found to be a minor: the PDF
    # is emptied, the row (its SHA-256, snapshot and history) stays.
    destroyed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    case: Mapped[Case] = relationship()
    notice: Mapped[Notice | None] = relationship(foreign_keys=[notice_id])
    created_by: Mapped[User | None] = relationship()


@event.listens_for(Letter, "before_update")
def _letter_versions_are_immutable(_mapper: Any, _connection: Any, letter: Letter) -> None:
    """A stored letter is evidence of what was sent: regenerating adds a version instead.

    The one change allowed is its destruction, when it printed images of a person found
    to be a minor: the PDF emptied and the time recorded, everything else kept.
    """
    state = inspect(letter)
    changed = {attr.key for attr in state.attrs if attr.history.has_changes()}
    if changed <= {"pdf", "destroyed_at"} and letter.pdf == b"" and letter.destroyed_at:
        return
    raise ValueError(f"letter {letter.id} is immutable; generate a new version instead")


class VictimSignature(Base):
    """The person's own word for a notice: asked for by staff, given on their case page.

    Holds the exact statement text they were shown, their name as they want it in the
    letter and their typed signature; once given, the notice is signed by them.
    """

    __tablename__ = "victim_signatures"
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: Mapped[intpk]
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("notices.id", ondelete="CASCADE"), index=True)
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # The statements asked for (registry element codes) and their text as shown.
    statements: Mapped[list[str]] = mapped_column(JSON, default=list)
    language: Mapped[str] = mapped_column(String(8))
    statement_text: Mapped[str] = mapped_column(Text)
    signer_name: Mapped[str | None] = mapped_column(String(200))
    typed_signature: Mapped[str | None] = mapped_column(String(200))
    signed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    notice: Mapped[Notice] = relationship()
    requested_by: Mapped[User | None] = relationship()
