"""Screenshots as they arrive from a browser: sanitised one by one, or only their hashes."""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Final, Protocol

from casework.cases.models import Case
from casework.evidence.files import hash_only_row
from casework.evidence.images import ImageRejected, SanitisedImage, sanitise_image
from casework.evidence.models import EvidenceFile
from casework.intake.drafts import DeviceFile
from casework.orm import DbSession

MAX_IMAGES_PER_CASE: Final = 10
MAX_FILES_PER_REQUEST: Final = 5
MAX_DEVICE_FILES_PER_CASE: Final = 20
# The browser reports the size of a file kept on the device; nobody has a 2 GB screenshot.
MAX_DEVICE_FILE_BYTES: Final = 2 * 1024**3
_SHA_RE: Final = re.compile(r"[0-9a-f]{64}")
_PDQ_RE: Final = re.compile(r"[0-9a-f]{64}")
_DEVICE_MEDIA_TYPE_RE: Final = re.compile(r"image/[a-z0-9.+-]{1,25}")


class Upload(Protocol):
    """What Werkzeug's FileStorage offers, and all this module needs."""

    filename: str | None

    def read(self, size: int = -1) -> bytes: ...


@dataclass(frozen=True)
class FileProblem:
    name: str
    code: str  # an ImageRejected code, or "too_many_files" / "bad_hash_list"


@dataclass
class CleanUploads:
    images: list[tuple[str, SanitisedImage]] = field(default_factory=list)
    problems: list[FileProblem] = field(default_factory=list)


def clean_file_name(name: str | None) -> str:
    """A file name fit to show and store: no folders, no control characters, 120 at most."""
    base = re.split(r"[\\/]", name or "")[-1]
    base = "".join(ch for ch in base if unicodedata.category(ch)[0] != "C").strip()
    return base[:120] or "image"


def chosen_files(files: Iterable[Upload]) -> list[Upload]:
    """The file inputs that hold a file: browsers send an empty part when none was chosen."""
    return [f for f in files if f.filename]


def sanitise_uploads(files: Sequence[Upload], *, max_bytes: int, room: int) -> CleanUploads:
    """Sanitise each chosen file; one bad file never stops the others.

    room is how many more images the case may take; files beyond it are refused.
    Only max_bytes + 1 bytes are read, so an oversized file costs no more than that.
    """
    result = CleanUploads()
    for position, upload in enumerate(files):
        name = clean_file_name(upload.filename)
        if position >= min(room, MAX_FILES_PER_REQUEST):
            result.problems.append(FileProblem(name, "too_many_files"))
            continue
        data = upload.read(max_bytes + 1)
        try:
            image = sanitise_image(data, max_bytes=max_bytes)
        except ImageRejected as exc:
            result.problems.append(FileProblem(name, exc.code))
            continue
        result.images.append((name, image))
    return result


def parse_device_files(raw: str, *, room: int) -> tuple[list[DeviceFile], list[FileProblem]]:
    """Read the hash list the browser built for images kept on the device.

    The list is made by our own script, so anything malformed is refused as a whole.
    """
    if not raw.strip():
        return [], []
    try:
        entries = json.loads(raw)
    except ValueError:
        return [], [FileProblem("", "bad_hash_list")]
    if not isinstance(entries, list):
        return [], [FileProblem("", "bad_hash_list")]
    found: list[DeviceFile] = []
    problems: list[FileProblem] = []
    for entry in entries:
        device_file = _device_file(entry)
        if device_file is None:
            return [], [FileProblem("", "bad_hash_list")]
        if any(f.sha256 == device_file.sha256 for f in found):
            continue
        if len(found) >= room:
            problems.append(FileProblem(device_file.name, "too_many_files"))
            continue
        found.append(device_file)
    return found, problems


def _device_file(entry: object) -> DeviceFile | None:
    if not isinstance(entry, dict):
        return None
    sha256, name, size = entry.get("sha256"), entry.get("name"), entry.get("size")
    media_type = entry.get("type") or None
    if not isinstance(sha256, str) or not _SHA_RE.fullmatch(sha256):
        return None
    if not isinstance(name, str) or isinstance(size, bool) or not isinstance(size, int):
        return None
    if not 0 < size <= MAX_DEVICE_FILE_BYTES:
        return None
    if media_type is not None and (
        not isinstance(media_type, str) or not _DEVICE_MEDIA_TYPE_RE.fullmatch(media_type)
    ):
        return None
    # PDQ and its quality come together or not at all (a browser that could not decode
    # the picture sends only the SHA-256).
    pdq, quality = entry.get("pdq"), entry.get("quality")
    if (pdq is None) != (quality is None):
        return None
    if pdq is not None:
        if not isinstance(pdq, str) or not _PDQ_RE.fullmatch(pdq):
            return None
        if isinstance(quality, bool) or not isinstance(quality, int) or not 0 <= quality <= 100:
            return None
    return DeviceFile(
        sha256=sha256,
        name=clean_file_name(name),
        size=size,
        media_type=media_type,
        pdq=pdq,
        pdq_quality=quality,
    )


def device_file_row(session: DbSession, case: Case, device_file: DeviceFile) -> EvidenceFile:
    """The evidence row of an image kept on the person's device, from what the browser sent."""
    return hash_only_row(session, case, device_file)
