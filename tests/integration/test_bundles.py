"""Evidence bundles: what they hold, and `verify-bundle` naming any file that was changed."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from pathlib import Path

import pytest
from flask import Flask

from casework.accounts.models import Role
from casework.actors import Actor
from casework.cli import cli_group
from casework.extensions import db
from casework.notices.bundles import BundleError, build_bundle, verify_bundle
from casework.notices.letters import create_letter
from casework.notices.models import Letter
from casework.registry import default_registry
from tests import factories
from tests.letter_cases import complete_notice, realistic_case

TIDA = default_registry().route("us.tida.removal")


@pytest.fixture
def bundle_path(app: Flask, tmp_path: Path) -> Path:
    org = factories.org()
    lawyer = factories.user(org, Role.LAWYER)
    actor = Actor.staff(lawyer.id, "lawyer")
    case = realistic_case(org, TIDA)
    notice = complete_notice(case, TIDA, lawyer)
    create_letter(db.session, case=case, route_key=TIDA.key, actor=actor, notice=notice)
    create_letter(db.session, case=case, route_key="us.dmca.notice", actor=actor)
    bundle = build_bundle(db.session, case, actor)
    db.session.commit()
    path = tmp_path / bundle.filename
    path.write_bytes(bundle.data)
    return path


def _rewrite(source: Path, target: Path, changes: dict[str, bytes | None]) -> Path:
    """A copy of the bundle with some files replaced (or removed, for None)."""
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for info in old.infolist():
            if info.filename in changes:
                data = changes[info.filename]
                if data is not None:
                    new.writestr(info, data)
            else:
                new.writestr(info, old.read(info.filename))
    return target


def _read(path: Path, name: str) -> bytes:
    with zipfile.ZipFile(path) as archive:
        return archive.read(name)


def test_the_bundle_holds_letters_manifests_exhibits_audit_and_sums(bundle_path: Path) -> None:
    with zipfile.ZipFile(bundle_path) as archive:
        names = set(archive.namelist())
        manifest = json.loads(archive.read("manifest.json"))
        rows = list(csv.DictReader(io.StringIO(archive.read("manifest.csv").decode())))
        sums = archive.read("SHA256SUMS").decode().splitlines()
        audit = [json.loads(line) for line in archive.read("audit/audit-events.jsonl").splitlines()]
    assert {"letters/us.tida.removal/v1.pdf", "letters/us.dmca.notice/v1.pdf"} <= names
    assert {"manifest.json", "manifest.csv", "SHA256SUMS", "audit/audit-events.jsonl"} <= names
    assert len(manifest["items"]) == 3 and len(rows) == 3
    assert all(row["file_sha256"] and row["pdq"] and row["exhibit"] for row in rows)
    for exhibit in manifest["exhibits"]:
        assert _read(bundle_path, exhibit["exhibit"]).startswith(b"\x89PNG")
        assert _read(bundle_path, exhibit["blurred_copy"]).startswith(b"\xff\xd8")
    assert len(sums) == len(names) - 1  # every file but SHA256SUMS itself
    actions = [event["action"] for event in audit]
    assert actions[0] == "case.opened"
    assert actions.count("letter.generated") == 2
    assert actions[-1] == "bundle.exported"
    report = verify_bundle(bundle_path)
    assert report.ok, report.problems
    assert report.checked == len(names) - 1


def test_a_tampered_letter_fails_and_is_named(bundle_path: Path, tmp_path: Path) -> None:
    name = "letters/us.tida.removal/v1.pdf"
    pdf = _read(bundle_path, name)
    forged = _rewrite(bundle_path, tmp_path / "forged.zip", {name: pdf.replace(b"48", b"96", 1)})
    report = verify_bundle(forged)
    assert not report.ok
    assert f"{name}: SHA-256 does not match SHA256SUMS" in report.problems
    assert f"{name}: SHA-256 does not match manifest.json" in report.problems


def test_a_swapped_exhibit_fails_even_with_sums_rewritten(
    bundle_path: Path, tmp_path: Path
) -> None:
    import hashlib

    manifest = json.loads(_read(bundle_path, "manifest.json"))
    name = manifest["exhibits"][0]["exhibit"]
    other = manifest["exhibits"][1]["exhibit"]
    swapped = _read(bundle_path, other)
    sums = _read(bundle_path, "SHA256SUMS").decode()
    old_digest = hashlib.sha256(_read(bundle_path, name)).hexdigest()
    sums = sums.replace(f"{old_digest}  {name}", f"{hashlib.sha256(swapped).hexdigest()}  {name}")
    forged = _rewrite(
        bundle_path, tmp_path / "forged.zip", {name: swapped, "SHA256SUMS": sums.encode()}
    )
    report = verify_bundle(forged)
    assert report.problems == [f"{name}: SHA-256 does not match manifest.json"]


def test_an_edited_audit_event_or_missing_file_is_named(bundle_path: Path, tmp_path: Path) -> None:
    extract = _read(bundle_path, "audit/audit-events.jsonl").decode().splitlines()
    first = json.loads(extract[0])
    first["details"]["items"] = 99
    extract[0] = json.dumps(first, sort_keys=True)
    forged = _rewrite(
        bundle_path,
        tmp_path / "audit.zip",
        {"audit/audit-events.jsonl": ("\n".join(extract) + "\n").encode(), "manifest.csv": None},
    )
    report = verify_bundle(forged)
    assert f"audit/audit-events.jsonl: event seq {first['seq']} does not match its hash" in (
        report.problems
    )
    assert "audit/audit-events.jsonl: SHA-256 does not match SHA256SUMS" in report.problems
    assert "manifest.csv: listed in SHA256SUMS but missing from the bundle" in report.problems


def test_verify_bundle_command(app: Flask, bundle_path: Path, tmp_path: Path) -> None:
    runner = app.test_cli_runner()
    result = runner.invoke(cli_group, ["verify-bundle", str(bundle_path)])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("ok: ")

    name = "letters/us.dmca.notice/v1.pdf"
    forged = _rewrite(bundle_path, tmp_path / "forged.zip", {name: b"%PDF-1.7 not the letter"})
    result = runner.invoke(cli_group, ["verify-bundle", str(forged)])
    assert result.exit_code == 1
    assert f"FAILED {name}: SHA-256 does not match SHA256SUMS" in result.output


def test_a_letter_altered_in_the_database_stops_the_export(app: Flask) -> None:
    org = factories.org()
    lawyer = factories.user(org, Role.LAWYER)
    actor = Actor.staff(lawyer.id, "lawyer")
    case = realistic_case(org, TIDA, with_files=False)
    letter = create_letter(db.session, case=case, route_key=TIDA.key, actor=actor)
    db.session.commit()
    # Behind the application's back, as an attacker with database access would.
    db.session.execute(
        Letter.__table__.update().where(Letter.id == letter.id).values(pdf=b"%PDF-1.7 forged")
    )
    db.session.expire_all()
    with pytest.raises(BundleError, match="no longer matches its SHA-256"):
        build_bundle(db.session, case, actor)


def test_a_pdq_from_the_victims_browser_is_used_for_grouping_only(app: Flask) -> None:
    """Letters and bundles state the PDQ of stored images, never one a browser sent."""
    from casework.evidence.files import record_device_file

    org = factories.org()
    lawyer = factories.user(org, Role.LAWYER)
    actor = Actor.staff(lawyer.id, "lawyer")
    case = realistic_case(org, TIDA)
    kept = record_device_file(
        db.session,
        case,
        sha256="ab" * 32,
        size=1234,
        name="kept.jpg",
        media_type="image/jpeg",
        pdq="f0" * 32,
        pdq_quality=90,
    )
    kept.item_id = case.items[0].id
    db.session.flush()
    notice = complete_notice(case, TIDA, lawyer)
    letter = create_letter(db.session, case=case, route_key=TIDA.key, actor=actor, notice=notice)
    bundle = build_bundle(db.session, case, actor)
    db.session.commit()
    assert kept.pdq == "f0" * 32  # stored, and so found by grouping

    exhibits = letter.data_snapshot["exhibits"]
    assert [e["pdq"] for e in exhibits if e["kept_on_device"]] == [None]
    assert all(e["pdq"] for e in exhibits if not e["kept_on_device"])
    with zipfile.ZipFile(io.BytesIO(bundle.data)) as archive:
        manifest = json.loads(archive.read("manifest.json"))
        rows = list(csv.DictReader(io.StringIO(archive.read("manifest.csv").decode())))
    assert [e["pdq"] for e in manifest["exhibits"] if e["kept_on_device"]] == [None]
    assert [r["pdq"] for r in rows if r["file_sha256"] == "ab" * 32] == [""]
    assert "f0" * 32 not in json.dumps(manifest)
