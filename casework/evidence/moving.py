"""Moving evidence files from one store to another (`flask casework evidence move`).

Every file an evidence row names is copied, then every one is read back from the
target and its SHA-256 checked. Files leave the source only when asked, and only
once every file has been verified in the target; running the move again copies
what is missing and checks everything again.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field

from sqlalchemy import select

from casework.evidence.crypto import EvidenceDecryptError
from casework.evidence.models import EvidenceFile
from casework.evidence.storage import EvidenceNotFoundError, EvidenceStorage
from casework.orm import DbSession


@dataclass
class Move:
    """What a move did, in files (one file may serve several evidence rows)."""

    referenced: int = 0
    copied: int = 0
    already_there: int = 0
    verified: int = 0
    removed: int = 0
    # Keys named by a row but found in neither store: nothing to copy.
    missing: list[str] = field(default_factory=list)
    # Keys whose source copy failed its check, or whose target copy did not read back.
    failed: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.missing and not self.failed


def referenced_keys(session: DbSession) -> list[str]:
    """Every storage key an evidence row names, once each."""
    return sorted(
        key
        for key in session.scalars(
            select(EvidenceFile.storage_key).where(EvidenceFile.storage_key.is_not(None)).distinct()
        )
        if key is not None
    )


def move_evidence(
    session: DbSession,
    source: EvidenceStorage,
    target: EvidenceStorage,
    *,
    remove_source: bool,
) -> Move:
    """Copy every referenced file from source to target, verify them all in the target,
    then (remove_source, and only if every one verified) delete them from the source.

    Commits after each file, so a long move keeps what it has done if it stops.
    """
    keys = referenced_keys(session)
    move = Move(referenced=len(keys))
    for key in keys:
        _copy(session, key, source, target, move)
    problems = set(move.missing) | set(move.failed)
    for key in keys:
        if key in problems:
            continue
        if _reads_back(target, key):
            move.verified += 1
        else:
            move.failed.append(key)
    session.rollback()  # reads only, since the last commit
    if not remove_source or not move.ok:
        return move
    for key in keys:
        if source.exists(key):
            source.delete(key)
            session.commit()
            move.removed += 1
    return move


def _copy(
    session: DbSession, key: str, source: EvidenceStorage, target: EvidenceStorage, move: Move
) -> None:
    if _reads_back(target, key):
        move.already_there += 1
        return
    # Absent from the target, or a damaged copy there that the source's replaces.
    try:
        data = source.get(key)
    except EvidenceNotFoundError:
        move.missing.append(key)
        return
    except EvidenceDecryptError:
        move.failed.append(key)
        return
    target.put(key, data)
    session.commit()
    move.copied += 1


def _reads_back(storage: EvidenceStorage, key: str) -> bool:
    """Whether the store returns content whose SHA-256 is the key."""
    try:
        data = storage.get(key)
    except (EvidenceNotFoundError, EvidenceDecryptError):
        return False
    return hmac.compare_digest(hashlib.sha256(data).hexdigest(), key)
