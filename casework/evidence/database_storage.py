"""Evidence kept in the database: encrypted blobs written in the caller's transaction.

Each blob is a row of evidence_blobs, addressed by the SHA-256 of its plaintext and
shared by every evidence row that names it. Writing one is part of the transaction
that adds those rows, so a report that rolls back leaves nothing behind, and no other
transaction can delete a blob that one still being written relies on:

- put() inserts the blob or, when it is already there, takes a shared lock on its row
  until the transaction ends;
- release_blobs() locks the rows it may delete, then (in a statement that sees every
  transaction that held them committed) deletes only those no evidence row names.

On SQLite, where there are no row locks, the first write of a transaction locks the
whole database until it ends, which serialises the two the same way.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import ClassVar, Final

from sqlalchemy import delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.dml import Insert

from casework.evidence import crypto
from casework.evidence.crypto import EvidenceDecryptError
from casework.evidence.models import EvidenceBlob, EvidenceFile
from casework.evidence.storage import (
    EvidenceNotFoundError,
    checked_content_key,
    seal,
    unseal,
    validate_key,
)
from casework.orm import DbSession, utcnow

logger = logging.getLogger(__name__)

_BLOBS: Final = EvidenceBlob.__table__
# A blob deleted by another transaction between our insert and our lock is written
# again; twice in a row would mean something else is wrong.
_PUT_ATTEMPTS: Final = 3


class EvidenceStoreConflict(RuntimeError):
    """A blob kept disappearing while it was being stored."""


class DatabaseEncryptedStorage:
    """Evidence in the evidence_blobs table, AES-256-GCM encrypted, in session's transaction."""

    transactional: ClassVar[bool] = True

    def __init__(self, session: DbSession, key: bytes) -> None:
        if len(key) != crypto.KEY_BYTES:
            raise ValueError("the evidence key must be exactly 32 bytes; use crypto.load_key()")
        self._session = session
        self._key = key

    def __repr__(self) -> str:
        # Never show the key.
        return "DatabaseEncryptedStorage()"

    def put(self, sha256: str, plaintext: bytes) -> str:
        key = checked_content_key(sha256, plaintext)
        for _attempt in range(_PUT_ATTEMPTS):
            blob = seal(self._key, key, plaintext)
            inserted = self._session.scalar(
                _insert_unless_present(self._session)
                .values(sha256=key, ciphertext=blob, size_bytes=len(plaintext), created_at=utcnow())
                .returning(_BLOBS.c.sha256)
            )
            if inserted is not None:
                return key
            # Already stored: hold its row until our transaction ends, so that no
            # deletion can take it from the rows we are about to add.
            stored = self._session.scalar(
                select(_BLOBS.c.ciphertext).where(_BLOBS.c.sha256 == key).with_for_update(read=True)
            )
            if stored is None:
                continue  # deleted since our insert found it: write it again
            try:
                unseal(self._key, key, stored)
            except EvidenceDecryptError:
                # The right bytes are in hand, so repair the damaged copy, but leave
                # a trace: a blob that fails its check may have been altered.
                logger.warning(
                    "evidence blob %s... failed its integrity check; rewriting", key[:12]
                )
                self._session.execute(
                    update(_BLOBS).where(_BLOBS.c.sha256 == key).values(ciphertext=blob)
                )
            return key
        raise EvidenceStoreConflict("an evidence blob was deleted each time it was stored")

    def get(self, key: str) -> bytes:
        key = validate_key(key)
        blob = self._session.scalar(select(_BLOBS.c.ciphertext).where(_BLOBS.c.sha256 == key))
        if blob is None:
            raise EvidenceNotFoundError("no evidence file is stored under this key")
        return unseal(self._key, key, bytes(blob))

    def delete(self, key: str) -> None:
        """Remove the blob in the caller's transaction, referenced or not (see release_blobs)."""
        self._session.execute(delete(_BLOBS).where(_BLOBS.c.sha256 == validate_key(key)))

    def exists(self, key: str) -> bool:
        key = validate_key(key)
        return (
            self._session.scalar(select(_BLOBS.c.sha256).where(_BLOBS.c.sha256 == key)) is not None
        )


def release_blobs(session: DbSession, keys: Iterable[str]) -> list[str]:
    """Of these keys, those no evidence row names any more; their blobs are deleted.

    Runs in the caller's transaction, after it has removed or cleared its own evidence
    rows. The rows of the blobs are locked first (in key order, so two deletions never
    wait on each other crosswise); the references are read after, so any transaction
    that was adding a reference has committed by then and its reference counts.
    """
    wanted = sorted({validate_key(key) for key in keys})
    if not wanted:
        return []
    locked = list(
        session.scalars(
            select(_BLOBS.c.sha256)
            .where(_BLOBS.c.sha256.in_(wanted))
            .order_by(_BLOBS.c.sha256)
            .with_for_update()
        )
    )
    still_used = set(
        session.scalars(
            select(EvidenceFile.storage_key).where(EvidenceFile.storage_key.in_(wanted))
        )
    )
    gone = [key for key in locked if key not in still_used]
    if gone:
        session.execute(delete(_BLOBS).where(_BLOBS.c.sha256.in_(gone)))
    return [key for key in wanted if key not in still_used]


def _insert_unless_present(session: DbSession) -> Insert:
    """INSERT ... ON CONFLICT DO NOTHING in the session's dialect."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(_BLOBS).on_conflict_do_nothing(index_elements=["sha256"])
    if dialect == "sqlite":
        return sqlite.insert(_BLOBS).on_conflict_do_nothing(index_elements=["sha256"])
    raise RuntimeError(f"evidence in the database needs PostgreSQL or SQLite, not {dialect}")
