"""The evidence files behind a letter's items: their hashes, and the images a letter may show."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence

from sqlalchemy import select

from casework.evidence.crypto import EvidenceDecryptError
from casework.evidence.images import blurred_copy, thumbnail
from casework.evidence.models import EvidenceFile
from casework.evidence.storage import EvidenceNotFoundError, EvidenceStorage
from casework.orm import DbSession

log = logging.getLogger(__name__)

# Largest side of an unblurred screenshot shown in a letter's annex.
CLEAR_IMAGE_SIDE = 1200


def files_by_item(session: DbSession, item_ids: Iterable[int]) -> dict[int, list[EvidenceFile]]:
    """Each item's evidence files, oldest first."""
    ids = list(item_ids)
    result: dict[int, list[EvidenceFile]] = defaultdict(list)
    if not ids:
        return result
    rows = session.scalars(
        select(EvidenceFile)
        .where(EvidenceFile.item_id.in_(ids))
        .order_by(EvidenceFile.item_id, EvidenceFile.id)
    )
    for row in rows:
        if row.item_id is not None:
            result[row.item_id].append(row)
    return result


def exhibit_images(
    files: Sequence[EvidenceFile], storage: EvidenceStorage, *, blur: bool
) -> dict[str, bytes]:
    """JPEG previews of the stored files, blurred unless asked otherwise, keyed by SHA-256.

    A file kept on the victim's device, or no longer readable, simply has no image: the
    annex still lists its hash.
    """
    images: dict[str, bytes] = {}
    for evidence in files:
        if evidence.storage_key is None or evidence.sha256 in images:
            continue
        try:
            data = storage.get(evidence.storage_key)
        except EvidenceNotFoundError:
            continue
        except EvidenceDecryptError:
            # Worth an operator's look: a stored file that fails its check may be altered.
            log.warning("evidence file %s failed its integrity check", evidence.id)
            continue
        images[evidence.sha256] = blurred_copy(data) if blur else thumbnail(data, CLEAR_IMAGE_SIDE)
    return images
