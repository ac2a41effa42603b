"""Half-finished reports in the database, so any host can continue one another host began.

Everything in these rows that came from the person is AES-256-GCM ciphertext bound to
the draft's id and the part's name (casework/intake/drafts.py); the rows are keyed by
the SHA-256 of the draft id, so the table alone never yields an id a browser could use.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from casework.orm import Base, UTCDateTime


class StoredDraft(Base):
    """One draft's answers, encrypted, with the time after which it is deleted unread.

    claimed_at is set while a submit of the draft is writing its case, so a second
    submit of the same draft (a double click, two tabs, a replayed request) opens none.
    """

    __tablename__ = "drafts"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    answers: Mapped[bytes] = mapped_column(LargeBinary)
    saved_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class StoredDraftScreenshot(Base):
    """A sanitised screenshot kept with its draft, encrypted; it goes when the draft goes."""

    __tablename__ = "draft_screenshots"

    draft_key: Mapped[str] = mapped_column(
        ForeignKey("drafts.key", ondelete="CASCADE"), primary_key=True
    )
    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)
