"""Half-finished reports: kept encrypted in the database under a random id in the browser session.

A draft is never written to the case tables. Its answers and any screenshots
(already sanitised) are rows of the drafts tables (casework/intake/models.py),
encrypted with the evidence key, so whichever host serves the next request finds
them. A draft is deleted when the report is sent; one not saved for
DRAFT_MAX_AGE_HOURS is refused on sight and deleted by the worker's hourly
purge (casework/intake/jobs.py) or `flask casework purge-drafts`.

Every call of the store is its own short transaction on its own connection: a
draft is saved the moment the page is, whatever the request later commits or rolls
back in the request's session, and saving a draft never commits that session's work.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final, TypeGuard

from sqlalchemy import delete, insert, or_, select, update
from sqlalchemy.engine import Engine

from casework.evidence import crypto
from casework.evidence.crypto import EvidenceDecryptError
from casework.evidence.images import SanitisedImage
from casework.evidence.xlinks import XPost
from casework.intake.models import StoredDraft, StoredDraftScreenshot

_ID_RE: Final = re.compile(r"[A-Za-z0-9_-]{32}")
_SHA_RE: Final = re.compile(r"[0-9a-f]{64}")
_ANSWERS: Final = "answers"
_DRAFTS: Final = StoredDraft.__table__
_SCREENSHOTS: Final = StoredDraftScreenshot.__table__
# Longer than any submit takes; short enough that a claim left by a crashed host
# keeps the person from sending their report only briefly.
CLAIM_LEASE: Final = timedelta(minutes=2)


@dataclass(frozen=True)
class DraftScreenshot:
    sha256: str
    pdq: str
    pdq_quality: int
    media_type: str
    size: int
    width: int
    height: int
    name: str


@dataclass(frozen=True)
class DeviceFile:
    """An image the person kept on their device: only its hashes, name and size reach us.

    pdq and pdq_quality are computed by the browser (casework/static/js/pdq.js); they
    are used to find the same picture in other cases and for nothing else.
    """

    sha256: str
    name: str
    size: int
    media_type: str | None = None
    pdq: str | None = None
    pdq_quality: int | None = None


@dataclass
class Draft:
    id: str
    answers: dict[str, dict[str, Any]] = field(default_factory=dict)
    complete: list[str] = field(default_factory=list)
    posts: list[XPost] = field(default_factory=list)
    screenshots: list[DraftScreenshot] = field(default_factory=list)
    device_files: list[DeviceFile] = field(default_factory=list)

    def is_complete(self, page: str) -> bool:
        return page in self.complete

    def mark_complete(self, page: str, done: bool = True) -> None:
        if done and page not in self.complete:
            self.complete.append(page)
        elif not done and page in self.complete:
            self.complete.remove(page)

    def to_json(self) -> bytes:
        data = {
            "answers": self.answers,
            "complete": self.complete,
            # Status ids go out as strings: JSON readers elsewhere lose precision past 2**53.
            "posts": [
                {
                    "url": p.url,
                    "handle": p.handle,
                    "status_id": str(p.status_id),
                    "posted_at": p.posted_at.isoformat() if p.posted_at else None,
                }
                for p in self.posts
            ],
            "screenshots": [asdict(s) for s in self.screenshots],
            "device_files": [asdict(d) for d in self.device_files],
        }
        return json.dumps(data, separators=(",", ":")).encode()

    @classmethod
    def from_json(cls, draft_id: str, raw: bytes) -> Draft:
        data = json.loads(raw)
        return cls(
            id=draft_id,
            answers=data.get("answers", {}),
            complete=list(data.get("complete", [])),
            posts=[
                XPost(
                    url=p["url"],
                    handle=p["handle"],
                    status_id=int(p["status_id"]),
                    posted_at=datetime.fromisoformat(p["posted_at"]) if p["posted_at"] else None,
                )
                for p in data.get("posts", [])
            ],
            screenshots=[DraftScreenshot(**s) for s in data.get("screenshots", [])],
            device_files=[DeviceFile(**d) for d in data.get("device_files", [])],
        )


def valid_draft_id(value: object) -> TypeGuard[str]:
    return isinstance(value, str) and bool(_ID_RE.fullmatch(value))


class DraftPartMissing(Exception):
    """A screenshot the draft lists is not stored: the draft was sent or purged meanwhile."""


class DraftStore:
    """Drafts in the database, every part AES-256-GCM encrypted and bound to its draft."""

    def __init__(self, engine: Engine, key: bytes, max_age: timedelta) -> None:
        if len(key) != crypto.KEY_BYTES:
            raise ValueError("the draft key must be exactly 32 bytes; use crypto.load_key()")
        self._engine = engine
        self._key = key
        self.max_age = max_age

    def __repr__(self) -> str:
        return f"DraftStore(engine={self._engine.url.render_as_string()!r})"

    def new(self) -> Draft:
        """Start an empty draft, already saved."""
        draft = Draft(id=secrets.token_urlsafe(24))
        self.save(draft)
        return draft

    def load(self, draft_id: object, now: datetime | None = None) -> Draft | None:
        """The draft, or None if the id is unknown, malformed, expired or unreadable."""
        if not valid_draft_id(draft_id):
            return None
        with self._engine.connect() as connection:
            row = connection.execute(
                select(_DRAFTS.c.answers, _DRAFTS.c.expires_at).where(
                    _DRAFTS.c.key == row_key(draft_id)
                )
            ).one_or_none()
        if row is None:
            return None
        if row.expires_at <= (now or datetime.now(UTC)):
            self.delete(draft_id)
            return None
        try:
            raw = crypto.decrypt(self._key, row.answers, associated_data=_aad(draft_id, _ANSWERS))
            return Draft.from_json(draft_id, raw)
        except (EvidenceDecryptError, ValueError, KeyError, TypeError):
            # A draft we cannot read is worth less than a clean start.
            self.delete(draft_id)
            return None

    def save(self, draft: Draft, now: datetime | None = None) -> None:
        """Store the answers and start the draft's time again."""
        saved_at = now or datetime.now(UTC)
        values = {
            "answers": crypto.encrypt(
                self._key, draft.to_json(), associated_data=_aad(draft.id, _ANSWERS)
            ),
            "saved_at": saved_at,
            "expires_at": saved_at + self.max_age,
        }
        key = row_key(draft.id)
        with self._engine.begin() as connection:
            changed = connection.execute(update(_DRAFTS).where(_DRAFTS.c.key == key), values)
            if not changed.rowcount:
                connection.execute(insert(_DRAFTS), {"key": key, **values})

    def add_screenshot(self, draft: Draft, image: SanitisedImage, name: str) -> bool:
        """Keep a sanitised screenshot with the draft; False if it is already there."""
        if any(s.sha256 == image.sha256 for s in draft.screenshots):
            return False
        blob = crypto.encrypt(
            self._key, image.data, associated_data=_aad(draft.id, _screenshot_part(image.sha256))
        )
        key = row_key(draft.id)
        with self._engine.begin() as connection:
            # Replaced, not duplicated, should another request of this browser have kept it.
            connection.execute(_screenshot_rows(key, image.sha256, delete(_SCREENSHOTS)))
            connection.execute(
                insert(_SCREENSHOTS), {"draft_key": key, "sha256": image.sha256, "data": blob}
            )
        draft.screenshots.append(
            DraftScreenshot(
                sha256=image.sha256,
                pdq=image.pdq,
                pdq_quality=image.pdq_quality,
                media_type=image.media_type,
                size=len(image.data),
                width=image.width,
                height=image.height,
                name=name,
            )
        )
        return True

    def read_screenshot(self, draft: Draft, sha256: str) -> bytes:
        if not _SHA_RE.fullmatch(sha256):
            raise ValueError("not a SHA-256")
        with self._engine.connect() as connection:
            blob = connection.scalar(
                _screenshot_rows(row_key(draft.id), sha256, select(_SCREENSHOTS.c.data))
            )
        if blob is None:
            raise DraftPartMissing(sha256)
        return crypto.decrypt(
            self._key, blob, associated_data=_aad(draft.id, _screenshot_part(sha256))
        )

    def remove_screenshot(self, draft: Draft, sha256: str) -> bool:
        kept = [s for s in draft.screenshots if s.sha256 != sha256]
        if len(kept) == len(draft.screenshots) or not _SHA_RE.fullmatch(sha256):
            return False
        draft.screenshots = kept
        with self._engine.begin() as connection:
            connection.execute(_screenshot_rows(row_key(draft.id), sha256, delete(_SCREENSHOTS)))
        return True

    def remove_all_screenshots(self, draft: Draft) -> int:
        count = 0
        for shot in list(draft.screenshots):
            count += self.remove_screenshot(draft, shot.sha256)
        return count

    def claim(self, draft: Draft, now: datetime | None = None) -> bool:
        """Take the draft for one submit; False if another submit holds it or it is gone.

        One UPDATE decides: the database lets only one of two submits racing for the
        same row set the claim. A claim older than CLAIM_LEASE was left by a request
        that died, and is taken over. The draft itself stays until the case is written.
        """
        claimed_at = now or datetime.now(UTC)
        with self._engine.begin() as connection:
            result = connection.execute(
                update(_DRAFTS)
                .where(
                    _DRAFTS.c.key == row_key(draft.id),
                    _DRAFTS.c.expires_at > claimed_at,
                    or_(
                        _DRAFTS.c.claimed_at.is_(None),
                        _DRAFTS.c.claimed_at <= claimed_at - CLAIM_LEASE,
                    ),
                )
                .values(claimed_at=claimed_at)
            )
        return result.rowcount == 1

    def release(self, draft: Draft) -> None:
        """Give the draft back after its case could not be written, so it can be sent again."""
        with self._engine.begin() as connection:
            connection.execute(
                update(_DRAFTS).where(_DRAFTS.c.key == row_key(draft.id)).values(claimed_at=None)
            )

    def delete(self, draft_id: str) -> None:
        """Delete the draft; its screenshots go with it (ON DELETE CASCADE)."""
        if valid_draft_id(draft_id):
            with self._engine.begin() as connection:
                connection.execute(delete(_DRAFTS).where(_DRAFTS.c.key == row_key(draft_id)))

    def purge_expired(self, now: datetime | None = None) -> int:
        """Delete every draft whose time is up, screenshots and all; return how many went."""
        cutoff = now or datetime.now(UTC)
        with self._engine.begin() as connection:
            result = connection.execute(delete(_DRAFTS).where(_DRAFTS.c.expires_at <= cutoff))
        return int(result.rowcount or 0)


def row_key(draft_id: str) -> str:
    """The draft's key in the tables: the SHA-256 of its id, never the id itself."""
    return hashlib.sha256(draft_id.encode("ascii")).hexdigest()


def _aad(draft_id: str, part: str) -> bytes:
    # Binding id and part name means no row can be swapped into another draft or slot.
    return f"draft:{draft_id}:{part}".encode("ascii")


def _screenshot_part(sha256: str) -> str:
    return f"screenshot:{sha256}"


def _screenshot_rows(key: str, sha256: str, statement: Any) -> Any:
    return statement.where(_SCREENSHOTS.c.draft_key == key, _SCREENSHOTS.c.sha256 == sha256)
