"""Half-finished reports: kept encrypted on disk under a random id held in the browser session.

A draft is never written to the case tables. Its answers and any screenshots
(already sanitised) live in DRAFT_DIR/<draft id>/, encrypted with the evidence
key. It is deleted when the report is sent, and any draft not saved for
DRAFT_MAX_AGE_HOURS is deleted on the next visit to it, when a new draft is
started, or by `flask casework purge-drafts`.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final, TypeGuard

from casework.evidence import crypto
from casework.evidence.crypto import EvidenceDecryptError
from casework.evidence.images import SanitisedImage
from casework.evidence.xlinks import XPost

_ID_RE: Final = re.compile(r"[A-Za-z0-9_-]{32}")
_SHA_RE: Final = re.compile(r"[0-9a-f]{64}")
_ANSWERS: Final = "answers.bin"
_DIR_MODE: Final = 0o700
_FILE_MODE: Final = 0o600


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


class DraftStore:
    """Drafts on the local disk, one directory each, every file AES-256-GCM encrypted."""

    def __init__(self, root: Path, key: bytes, max_age: timedelta) -> None:
        if len(key) != crypto.KEY_BYTES:
            raise ValueError("the draft key must be exactly 32 bytes; use crypto.load_key()")
        self._root = Path(root)
        self._key = key
        self.max_age = max_age

    def __repr__(self) -> str:
        return f"DraftStore(root={str(self._root)!r})"

    def new(self) -> Draft:
        """Start an empty draft (and sweep away expired ones while we are here)."""
        self.purge_expired()
        draft = Draft(id=secrets.token_urlsafe(24))
        self._ensure_dir(self._dir(draft.id))
        self.save(draft)
        return draft

    def load(self, draft_id: object) -> Draft | None:
        """The draft, or None if the id is unknown, malformed, expired or unreadable."""
        if not valid_draft_id(draft_id):
            return None
        path = self._dir(draft_id) / _ANSWERS
        try:
            saved_at = path.stat().st_mtime
        except FileNotFoundError:
            return None
        if time.time() - saved_at > self.max_age.total_seconds():
            self.delete(draft_id)
            return None
        try:
            raw = self._read(draft_id, _ANSWERS)
            return Draft.from_json(draft_id, raw)
        except (EvidenceDecryptError, ValueError, KeyError, TypeError):
            # A draft we cannot read is worth less than a clean start.
            self.delete(draft_id)
            return None

    def save(self, draft: Draft) -> None:
        self._write(draft.id, _ANSWERS, draft.to_json())

    def add_screenshot(self, draft: Draft, image: SanitisedImage, name: str) -> bool:
        """Keep a sanitised screenshot with the draft; False if it is already there."""
        if any(s.sha256 == image.sha256 for s in draft.screenshots):
            return False
        self._write(draft.id, f"{image.sha256}.bin", image.data)
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
        return self._read(draft.id, f"{sha256}.bin")

    def remove_screenshot(self, draft: Draft, sha256: str) -> bool:
        kept = [s for s in draft.screenshots if s.sha256 != sha256]
        if len(kept) == len(draft.screenshots) or not _SHA_RE.fullmatch(sha256):
            return False
        draft.screenshots = kept
        (self._dir(draft.id) / f"{sha256}.bin").unlink(missing_ok=True)
        return True

    def remove_all_screenshots(self, draft: Draft) -> int:
        count = 0
        for shot in list(draft.screenshots):
            count += self.remove_screenshot(draft, shot.sha256)
        return count

    def delete(self, draft_id: str) -> None:
        if valid_draft_id(draft_id):
            shutil.rmtree(self._dir(draft_id), ignore_errors=True)

    def purge_expired(self, now: datetime | None = None) -> int:
        """Delete every draft not saved within max_age; return how many went."""
        cutoff = (now or datetime.now(UTC)).timestamp() - self.max_age.total_seconds()
        if not self._root.is_dir():
            return 0
        removed = 0
        for entry in os.scandir(self._root):
            if not entry.is_dir() or not valid_draft_id(entry.name):
                continue
            try:
                saved_at = os.stat(Path(entry.path) / _ANSWERS).st_mtime
            except FileNotFoundError:
                try:
                    saved_at = entry.stat().st_mtime
                except FileNotFoundError:
                    continue  # sent or discarded by its own request meanwhile
            if saved_at < cutoff:
                shutil.rmtree(entry.path, ignore_errors=True)
                removed += 1
        return removed

    def _dir(self, draft_id: str) -> Path:
        return self._root / draft_id

    def _aad(self, draft_id: str, name: str) -> bytes:
        # Binding id and file name means no file can be swapped into another draft or slot.
        return f"draft:{draft_id}:{name}".encode("ascii")

    def _read(self, draft_id: str, name: str) -> bytes:
        blob = (self._dir(draft_id) / name).read_bytes()
        return crypto.decrypt(self._key, blob, associated_data=self._aad(draft_id, name))

    def _write(self, draft_id: str, name: str, plaintext: bytes) -> None:
        directory = self._dir(draft_id)
        self._ensure_dir(directory)
        blob = crypto.encrypt(self._key, plaintext, associated_data=self._aad(draft_id, name))
        fd, temp_name = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(blob)
            os.chmod(temp_name, _FILE_MODE)
            os.replace(temp_name, directory / name)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temp_name)
            raise

    def _ensure_dir(self, directory: Path) -> None:
        self._root.mkdir(parents=True, exist_ok=True, mode=_DIR_MODE)
        with contextlib.suppress(FileExistsError):
            directory.mkdir(mode=_DIR_MODE)
