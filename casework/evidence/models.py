"""Evidence files: screenshots kept encrypted, or only their hash."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from casework.cases.models import Case, Item
from casework.orm import Base, UTCDateTime, intpk, utcnow


class EvidenceFile(Base):
    """A sanitised, encrypted image, the hash of one kept on the victim's device, or the
    hashes of one destroyed."""

    __tablename__ = "evidence_files"
    __table_args__ = (
        Index("ix_evidence_files_sha256", "sha256"),
        Index("ix_evidence_files_case", "case_id"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[intpk]
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    item_id: Mapped[int | None] = mapped_column(ForeignKey("items.id", ondelete="SET NULL"))
    # The case a merge brought the file from: deleting that case withdraws it from this one.
    origin_case_id: Mapped[int | None] = mapped_column(
        ForeignKey("cases.id", ondelete="SET NULL"), index=True
    )
    # None when the victim kept the image on their device and sent only its hash.
    storage_key: Mapped[str | None] = mapped_column(String(80))
    kept_on_device: Mapped[bool] = mapped_column(Boolean, default=False)
    sha256: Mapped[str] = mapped_column(String(64))
    pdq: Mapped[str | None] = mapped_column(String(64))
    pdq_quality: Mapped[int | None] = mapped_column(Integer)
    media_type: Mapped[str | None] = mapped_column(String(32))
    size_bytes: Mapped[int] = mapped_column(Integer)
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    original_name: Mapped[str | None] = mapped_column(String(255))
    # Set when the image itself was destroyed (the person depicted is a minor): the row
    # keeps its SHA-256 and PDQ, and storage_key is None from then on.
    destroyed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    case: Mapped[Case] = relationship(foreign_keys=[case_id])
    item: Mapped[Item | None] = relationship()

    @property
    def stated_pdq(self) -> str | None:
        """The PDQ a letter or bundle may state: never one the victim's browser computed.

        For an image kept on the device, pdq was computed by the browser; it finds the
        same picture in other cases, and is used for nothing else.
        """
        return None if self.kept_on_device else self.pdq


class EvidenceBlob(Base):
    """An evidence file's encrypted bytes, when evidence is kept in the database.

    Addressed by the SHA-256 of the plaintext, like the files of the local store, so one
    blob serves every evidence row whose storage_key names it.
    """

    __tablename__ = "evidence_blobs"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    # The AES-256-GCM envelope of casework/evidence/crypto.py, bound to sha256.
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    size_bytes: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
