"""A signed-in session of a staff user or of a victim on their case."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from casework.orm import Base, UTCDateTime, enum_type, intpk, utcnow


class SessionKind(enum.StrEnum):
    STAFF = "staff"
    VICTIM = "victim"


class WebSession(Base):
    """One session: the browser holds the token, this row holds only its SHA-256.

    A staff session names its user; a victim session names its case and the case's
    session key at the time, so rotating that key ends every session of the case.
    """

    __tablename__ = "web_sessions"
    __table_args__ = (
        Index("ix_web_sessions_kind_created", "kind", "created_at"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[intpk]
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[SessionKind] = mapped_column(enum_type(SessionKind, "session_kind"))
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    case_id: Mapped[int | None] = mapped_column(
        ForeignKey("cases.id", ondelete="CASCADE"), index=True
    )
    case_key: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
