"""Evidence file records: store a sanitised image encrypted, or a hash only; forget files."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import func, select

from casework.cases.models import Case, MinorStatus
from casework.evidence.crypto import load_key
from casework.evidence.database_storage import DatabaseEncryptedStorage, release_blobs
from casework.evidence.images import SanitisedImage
from casework.evidence.models import EvidenceFile
from casework.evidence.storage import EvidenceStorage, LocalEncryptedStorage
from casework.orm import DbSession


class ImagesNotAccepted(Exception):
    """Images are never stored for a case whose subject is or may be a minor."""


EVIDENCE_STORES = ("local", "database")


def evidence_storage(config: Mapping[str, Any], session: DbSession) -> EvidenceStorage:
    """The configured evidence store (EVIDENCE_STORE), encrypted with CASEWORK_EVIDENCE_KEY.

    "local" keeps files in EVIDENCE_DIR; "database" keeps them in the evidence_blobs
    table, written and deleted in session's transaction.
    """
    return evidence_store_named(config["EVIDENCE_STORE"], config, session)


def evidence_store_named(
    name: str, config: Mapping[str, Any], session: DbSession
) -> EvidenceStorage:
    """The evidence store of that name ("local" or "database"), whatever is configured."""
    key = load_key(config["CASEWORK_EVIDENCE_KEY"])
    if name == "local":
        return LocalEncryptedStorage(Path(config["EVIDENCE_DIR"]), key)
    if name == "database":
        return DatabaseEncryptedStorage(session, key)
    raise ValueError(f"EVIDENCE_STORE is one of {', '.join(EVIDENCE_STORES)}, not {name!r}")


def images_allowed(minor: MinorStatus) -> bool:
    return minor is MinorStatus.NO


def store_image(
    session: DbSession,
    case: Case,
    storage: EvidenceStorage,
    image: SanitisedImage,
    *,
    original_name: str | None,
    new_keys: list[str],
) -> EvidenceFile:
    """Encrypt a sanitised image into storage and add its row. The caller commits.

    Keys written for the first time are appended to new_keys, so that a caller
    whose transaction fails can remove exactly what it added (see delete_files).
    """
    if not images_allowed(case.minor):
        raise ImagesNotAccepted("images are not accepted when the subject may be a minor")
    key = keep_in_storage(storage, data=image.data, sha256=image.sha256, new_keys=new_keys)
    return image_row(
        session,
        case,
        key=key,
        sha256=image.sha256,
        pdq=image.pdq,
        pdq_quality=image.pdq_quality,
        media_type=image.media_type,
        size=len(image.data),
        width=image.width,
        height=image.height,
        original_name=original_name,
    )


def keep_in_storage(
    storage: EvidenceStorage, *, data: bytes, sha256: str, new_keys: list[str]
) -> str:
    """Encrypt an image into storage (once: storage is addressed by content); its key.

    A key written for the first time is appended to new_keys (see store_image), unless
    the store is transactional: a rollback undoes its writes by itself.
    """
    if storage.transactional:
        return storage.put(sha256, data)
    existed = storage.exists(sha256)
    key = storage.put(sha256, data)
    if not existed:
        new_keys.append(key)
    return key


def image_row(
    session: DbSession,
    case: Case,
    *,
    key: str,
    sha256: str,
    pdq: str | None,
    pdq_quality: int | None,
    media_type: str,
    size: int,
    width: int,
    height: int,
    original_name: str | None,
) -> EvidenceFile:
    """The row of an image already in storage under key. The caller commits."""
    if not images_allowed(case.minor):
        raise ImagesNotAccepted("images are not accepted when the subject may be a minor")
    evidence = EvidenceFile(
        case_id=case.id,
        storage_key=key,
        kept_on_device=False,
        sha256=sha256,
        pdq=pdq,
        pdq_quality=pdq_quality,
        media_type=media_type,
        size_bytes=size,
        width=width,
        height=height,
        original_name=original_name,
    )
    session.add(evidence)
    return evidence


def record_device_file(
    session: DbSession,
    case: Case,
    *,
    sha256: str,
    size: int,
    name: str | None,
    media_type: str | None,
    pdq: str | None = None,
    pdq_quality: int | None = None,
) -> EvidenceFile:
    """Record an image the victim kept on their device: its hashes, name and size only.

    Its PDQ, computed by the browser, finds the same picture in other cases like a
    PDQ computed here; letters and bundles leave it out (EvidenceFile.stated_pdq).
    """
    if not images_allowed(case.minor):
        raise ImagesNotAccepted("images are not accepted when the subject may be a minor")
    evidence = EvidenceFile(
        case_id=case.id,
        storage_key=None,
        kept_on_device=True,
        sha256=sha256,
        pdq=pdq,
        pdq_quality=pdq_quality,
        size_bytes=size,
        original_name=name,
        media_type=media_type,
    )
    session.add(evidence)
    return evidence


class HashOnlyImage(Protocol):
    """An image kept on its owner's device, known here by its hashes, name and size."""

    @property
    def sha256(self) -> str: ...
    @property
    def size(self) -> int: ...
    @property
    def name(self) -> str: ...
    @property
    def media_type(self) -> str | None: ...
    @property
    def pdq(self) -> str | None: ...
    @property
    def pdq_quality(self) -> int | None: ...


def hash_only_row(session: DbSession, case: Case, image: HashOnlyImage) -> EvidenceFile:
    """The evidence row of an image kept on the person's device (record_device_file)."""
    return record_device_file(
        session,
        case,
        sha256=image.sha256,
        size=image.size,
        name=image.name,
        media_type=image.media_type,
        pdq=image.pdq,
        pdq_quality=image.pdq_quality,
    )


def image_count(session: DbSession, case: Case) -> tuple[int, int]:
    """(stored images, hash-only images) of a case; destroyed images are neither."""
    rows = session.execute(
        select(EvidenceFile.kept_on_device, func.count())
        .where(EvidenceFile.case_id == case.id, EvidenceFile.destroyed_at.is_(None))
        .group_by(EvidenceFile.kept_on_device)
    ).all()
    counts = {bool(kept): int(n) for kept, n in rows}
    return counts.get(False, 0), counts.get(True, 0)


def unreferenced_keys(session: DbSession, keys: Iterable[str]) -> list[str]:
    """Of these storage keys, those no evidence row points at any more (content is shared)."""
    wanted = sorted(set(keys))
    if not wanted:
        return []
    still_used = set(
        session.scalars(
            select(EvidenceFile.storage_key).where(EvidenceFile.storage_key.in_(wanted))
        )
    )
    return [key for key in wanted if key not in still_used]


def release_files(session: DbSession, keys: Iterable[str]) -> list[str]:
    """Of these storage keys, those no evidence row points at once this transaction's
    own deletions are counted; the caller commits, then deletes them (delete_files).

    Their blobs in the database go now, in this transaction, so a deleted case takes
    them with it; only blobs no evidence row names at that moment are deleted, under
    row locks that a concurrent report storing the same content also takes
    (database_storage.release_blobs). Whatever store is configured: blobs left in the
    table by a move to the local folder go with their last row too.
    """
    return release_blobs(session, keys)


def delete_files(storage: EvidenceStorage, keys: Iterable[str]) -> None:
    """Remove files no row points at: after a deletion, or after a failed transaction.

    Callers pass keys that release_files or unreferenced_keys returned, once their own
    transaction has committed or rolled back. A transactional store has nothing left
    to do: its deletions were part of the transaction (release_files) and its writes
    rolled back with it.
    """
    if storage.transactional:
        return
    for key in keys:
        storage.delete(key)
