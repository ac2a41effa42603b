"""Evidence bundles: one ZIP with the letters, manifests, exhibits, audit extract and SHA256SUMS."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from flask import current_app
from sqlalchemy import select

from casework.actors import Actor
from casework.audit.events import case_event
from casework.audit.models import AuditEvent
from casework.audit.services import event_hash
from casework.cases.models import Case
from casework.evidence.crypto import EvidenceDecryptError
from casework.evidence.files import evidence_storage, images_allowed
from casework.evidence.images import blurred_copy
from casework.evidence.models import EvidenceFile
from casework.evidence.storage import EvidenceNotFoundError, EvidenceStorage
from casework.notices.models import Letter
from casework.orm import DbSession, utcnow
from casework.registry import default_registry

__all__ = [
    "Bundle",
    "BundleError",
    "BundleReport",
    "build_bundle",
    "verify_bundle",
]

BUNDLE_FORMAT: Final = 1
SUMS: Final = "SHA256SUMS"
MANIFEST_JSON: Final = "manifest.json"
MANIFEST_CSV: Final = "manifest.csv"
AUDIT_EXTRACT: Final = "audit/audit-events.jsonl"
CSV_COLUMNS: Final = (
    "item",
    "url",
    "status_id",
    "handle",
    "posted_at",
    "kind",
    "category",
    "removal_state",
    "file_sha256",
    "pdq",
    "exhibit",
    "blurred_copy",
)
_EXTENSIONS: Final = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp"}


class BundleError(Exception):
    """A bundle cannot be made honestly (a stored letter no longer matches its hash)."""


@dataclass(frozen=True)
class Bundle:
    data: bytes
    filename: str
    files: int


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat(timespec="seconds") if moment else None


def _event_record(event: AuditEvent) -> dict[str, Any]:
    return {
        "id": event.id,
        "chain_id": event.chain_id,
        "seq": event.seq,
        # Microseconds kept: the event hash was computed over them.
        "occurred_at": event.occurred_at.isoformat(timespec="microseconds"),
        "actor_type": event.actor_type,
        "actor_id": event.actor_id,
        "action": event.action,
        "case_id": event.case_id,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "details": event.details,
        "prev_hash": event.prev_hash,
        "hash": event.hash,
    }


def _csv_bytes(rows: list[dict[str, Any]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({key: "" if row.get(key) is None else row[key] for key in CSV_COLUMNS})
    return buffer.getvalue().encode("utf-8")


def _csv_rows(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per item and file (an item without a file has one row with no hash)."""
    rows: list[dict[str, Any]] = []
    for item in items:
        base = {key: item[key] for key in CSV_COLUMNS[:8]}
        if not item["files"]:
            rows.append(base)
        for file in item["files"]:
            rows.append(
                {
                    **base,
                    "file_sha256": file["sha256"],
                    "pdq": file["pdq"],
                    "exhibit": file["exhibit"],
                    "blurred_copy": file["blurred_copy"],
                }
            )
    return rows


def build_bundle(
    session: DbSession,
    case: Case,
    actor: Actor,
    *,
    now: datetime | None = None,
    storage: EvidenceStorage | None = None,
) -> Bundle:
    """Assemble the case's evidence bundle and audit its export. The caller commits.

    Exhibits are decrypted into the bundle only for a lawyer; everyone gets the blurred
    copies. For a case whose person is or may be a minor no image is read at all: the
    bundle lists the hashes (and when an image was destroyed). Every stored letter is
    checked against its recorded SHA-256 first: a letter that no longer matches stops
    the export instead of going out unnoticed.
    """
    now = now or utcnow()
    storage = storage or evidence_storage(current_app.config, session)
    images = images_allowed(case.minor)
    decrypted = actor.permission == "lawyer" and images
    letters = _checked_letters(session, case)
    files: dict[str, bytes] = {}
    exhibits = _exhibits(session, case, storage, files, images=images, decrypted=decrypted)
    items = _items(case, exhibits)
    letter_entries = _letter_entries(letters, files)

    # Recorded before the extract is taken, so the bundle carries its own export event.
    case_event(
        session,
        actor,
        case,
        "bundle.exported",
        letters=len(letters),
        exhibits=len(exhibits),
        decrypted=decrypted,
    )
    session.flush()
    files[AUDIT_EXTRACT], events = _audit_extract(session, case)
    manifest = {
        "format": BUNDLE_FORMAT,
        "case": case.reference,
        "generated_at": _iso(now),
        "generated_by": {"actor_type": actor.kind.value, "actor_id": actor.id},
        "registry_version": default_registry().version,
        "exhibits_decrypted": decrypted,
        "items": items,
        "letters": letter_entries,
        "exhibits": exhibits,
        "audit": {
            "path": AUDIT_EXTRACT,
            "events": events,
            "note": "Events of this case from the organisation's hash chain; each event's "
            "hash covers its fields and the previous event's hash.",
        },
    }
    files[MANIFEST_JSON] = (
        json.dumps(manifest, sort_keys=True, indent=2, ensure_ascii=False).encode() + b"\n"
    )
    files[MANIFEST_CSV] = _csv_bytes(_csv_rows(items))
    files[SUMS] = "".join(f"{_sha256(files[p])}  {p}\n" for p in sorted(files)).encode()
    stamp = now.astimezone(UTC)
    return Bundle(
        data=_zip(files, stamp),
        filename=f"{case.reference}-evidence-{stamp:%Y%m%dT%H%M%SZ}.zip",
        files=len(files),
    )


def _checked_letters(session: DbSession, case: Case) -> Sequence[Letter]:
    """The case's letters, each still matching its recorded SHA-256 (else BundleError)."""
    letters = session.scalars(
        select(Letter).where(Letter.case_id == case.id).order_by(Letter.route_key, Letter.version)
    ).all()
    for letter in letters:
        if letter.destroyed_at is None and _sha256(letter.pdf) != letter.sha256:
            raise BundleError(
                f"letter {letter.route_key} v{letter.version} no longer matches its SHA-256"
            )
    return letters


def _exhibits(
    session: DbSession,
    case: Case,
    storage: EvidenceStorage,
    files: dict[str, bytes],
    *,
    images: bool,
    decrypted: bool,
) -> list[dict[str, Any]]:
    """One manifest entry per evidence file; the images it may carry are added to `files`."""
    evidence = session.scalars(
        select(EvidenceFile).where(EvidenceFile.case_id == case.id).order_by(EvidenceFile.id)
    ).all()
    exhibits: list[dict[str, Any]] = []
    for row in evidence:
        entry: dict[str, Any] = {
            "sha256": row.sha256,
            "pdq": row.stated_pdq,
            "media_type": row.media_type,
            "size_bytes": row.size_bytes,
            "item_id": row.item_id,
            "kept_on_device": row.kept_on_device,
            "exhibit": None,
            "blurred_copy": None,
        }
        if row.destroyed_at is not None:
            entry["destroyed_at"] = _iso(row.destroyed_at)
        data: bytes | None = None
        if row.storage_key is not None and images:
            try:
                data = storage.get(row.storage_key)
            except (EvidenceNotFoundError, EvidenceDecryptError):
                entry["unreadable"] = True
        if data is not None:
            extension = _EXTENSIONS.get(row.media_type or "", "bin")
            if decrypted:
                entry["exhibit"] = f"exhibits/original/{row.sha256}.{extension}"
                files[entry["exhibit"]] = data
            entry["blurred_copy"] = f"exhibits/blurred/{row.sha256}.jpg"
            files[entry["blurred_copy"]] = blurred_copy(data)
        exhibits.append(entry)
    return exhibits


def _items(case: Case, exhibits: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One manifest entry per post, with the files of its evidence."""
    by_item: dict[int | None, list[dict[str, Any]]] = {}
    for entry in exhibits:
        by_item.setdefault(entry["item_id"], []).append(entry)
    return [
        {
            "item": item.id,
            "url": item.url,
            "status_id": str(item.status_id),
            "handle": item.handle,
            "posted_at": _iso(item.posted_at),
            "kind": item.kind.value,
            "category": item.category.value,
            "removal_state": item.removal_state.value,
            "files": [
                {
                    "sha256": e["sha256"],
                    "pdq": e["pdq"],
                    "exhibit": e["exhibit"],
                    "blurred_copy": e["blurred_copy"],
                }
                for e in by_item.get(item.id, [])
            ],
        }
        for item in case.items
    ]


def _letter_entries(letters: Sequence[Letter], files: dict[str, bytes]) -> list[dict[str, Any]]:
    """One manifest entry per letter version; the PDFs still held are added to `files`."""
    entries = []
    for letter in letters:
        # A letter that printed images of a person later found to be a minor is listed
        # with its hash and when it was destroyed, without a file.
        path = None if letter.destroyed_at else f"letters/{letter.route_key}/v{letter.version}.pdf"
        if path is not None:
            files[path] = letter.pdf
        entries.append(
            {
                "path": path,
                "destroyed_at": _iso(letter.destroyed_at),
                "route": letter.route_key,
                "version": letter.version,
                "sha256": letter.sha256,
                "template": letter.template,
                "template_version": letter.template_version,
                "registry_version": letter.registry_version,
                "created_at": _iso(letter.created_at),
                "created_by": letter.created_by_id,
                "notice": letter.notice_id,
            }
        )
    return entries


def _audit_extract(session: DbSession, case: Case) -> tuple[bytes, int]:
    """The case's events from its organisation's chain, one JSON line each, and their count."""
    events = session.scalars(
        select(AuditEvent)
        .where(AuditEvent.chain_id == case.organisation_id, AuditEvent.case_id == case.id)
        .order_by(AuditEvent.seq)
    ).all()
    extract = b"".join(
        json.dumps(_event_record(e), sort_keys=True, ensure_ascii=False).encode() + b"\n"
        for e in events
    )
    return extract, len(events)


def _zip(files: Mapping[str, bytes], stamp: datetime) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(files):
            info = zipfile.ZipInfo(path, date_time=stamp.timetuple()[:6])
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, files[path])
    return buffer.getvalue()


@dataclass
class BundleReport:
    """What verify_bundle found; each problem names the file it is about."""

    checked: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _read_sums(text: str, report: BundleReport) -> dict[str, str]:
    sums: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        digest, sep, name = line.partition("  ")
        if not sep or len(digest) != 64 or not name:
            report.problems.append(f"{SUMS}: line {number} is not '<sha256>  <path>'")
            continue
        sums[name] = digest.lower()
    return sums


def _check_manifest(
    archive: zipfile.ZipFile, names: set[str], report: BundleReport
) -> Iterator[tuple[str, str]]:
    """(path, expected SHA-256) pairs the manifest vouches for, plus its own consistency."""
    try:
        manifest = json.loads(archive.read(MANIFEST_JSON))
    except (KeyError, ValueError):
        report.problems.append(f"{MANIFEST_JSON}: missing or not valid JSON")
        return
    for letter in manifest.get("letters", []):
        if letter.get("path"):
            yield letter["path"], letter["sha256"]
    for exhibit in manifest.get("exhibits", []):
        if exhibit.get("exhibit"):
            # Content addressing: an original exhibit's name and record are its SHA-256.
            yield exhibit["exhibit"], exhibit["sha256"]
    if MANIFEST_CSV in names:
        expected = _csv_bytes(_csv_rows(manifest.get("items", [])))
        if archive.read(MANIFEST_CSV) != expected:
            report.problems.append(f"{MANIFEST_CSV}: does not match {MANIFEST_JSON}")


def _check_audit(data: bytes, report: BundleReport) -> None:
    previous: dict[str, Any] | None = None
    for number, line in enumerate(data.decode("utf-8", "replace").splitlines(), start=1):
        try:
            event = json.loads(line)
            recomputed = event_hash(
                chain_id=event["chain_id"],
                seq=event["seq"],
                occurred_at=datetime.fromisoformat(event["occurred_at"]),
                actor_type=event["actor_type"],
                actor_id=event["actor_id"],
                action=event["action"],
                case_id=event["case_id"],
                object_type=event["object_type"],
                object_id=event["object_id"],
                details=event["details"],
                prev_hash=event["prev_hash"],
            )
        except (ValueError, KeyError, TypeError):
            report.problems.append(f"{AUDIT_EXTRACT}: line {number} is not an audit event")
            continue
        if recomputed != event["hash"]:
            report.problems.append(
                f"{AUDIT_EXTRACT}: event seq {event['seq']} does not match its hash"
            )
        if (
            previous is not None
            and previous["chain_id"] == event["chain_id"]
            and previous["seq"] + 1 == event["seq"]
            and previous["hash"] != event["prev_hash"]
        ):
            report.problems.append(
                f"{AUDIT_EXTRACT}: event seq {event['seq']} does not follow seq {previous['seq']}"
            )
        previous = event


def verify_bundle(path: Path) -> BundleReport:
    """Check a bundle against its SHA256SUMS, its manifest and its audit extract."""
    report = BundleReport()
    try:
        archive = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as exc:
        report.problems.append(f"{path.name}: not a readable ZIP file ({exc})")
        return report
    with archive:
        names = {info.filename for info in archive.infolist() if not info.is_dir()}
        if SUMS not in names:
            report.problems.append(f"{SUMS}: missing")
            return report
        sums = _read_sums(archive.read(SUMS).decode("utf-8", "replace"), report)
        digests: dict[str, str] = {}
        for name in sorted(names - {SUMS}):
            digests[name] = _sha256(archive.read(name))
            report.checked += 1
            if name not in sums:
                report.problems.append(f"{name}: not listed in {SUMS}")
            elif sums[name] != digests[name]:
                report.problems.append(f"{name}: SHA-256 does not match {SUMS}")
        for name in sorted(set(sums) - names):
            report.problems.append(f"{name}: listed in {SUMS} but missing from the bundle")
        for name, expected in _check_manifest(archive, names, report):
            if name not in digests:
                report.problems.append(f"{name}: named in {MANIFEST_JSON} but missing")
            elif digests[name] != expected:
                report.problems.append(f"{name}: SHA-256 does not match {MANIFEST_JSON}")
        if AUDIT_EXTRACT in names:
            _check_audit(archive.read(AUDIT_EXTRACT), report)
        else:
            report.problems.append(f"{AUDIT_EXTRACT}: missing")
    return report
