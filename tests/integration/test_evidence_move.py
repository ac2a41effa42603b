"""`flask casework evidence move`: from one evidence store to the other, verified."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from flask import Flask
from sqlalchemy import func, select, update

from casework.cli import cli_group
from casework.evidence.files import evidence_store_named, record_device_file
from casework.evidence.models import EvidenceBlob
from casework.extensions import db
from tests import factories
from tests.intake_support import stored_evidence

BLOBS = EvidenceBlob.__table__


@pytest.fixture
def local_evidence(app: Flask) -> list[str]:
    """Two cases on the local folder: three stored images (one in both) and a hash only."""
    app.config["EVIDENCE_STORE"] = "local"
    org = factories.org()
    first, second = factories.case(org), factories.case(org)
    keys = {
        factories.evidence(first, seed=1).storage_key,
        factories.evidence(first, seed=2).storage_key,
        factories.evidence(second, seed=2).storage_key,
        factories.evidence(second, seed=3).storage_key,
    }
    record_device_file(
        db.session, second, sha256="c" * 64, size=10, name="kept.jpg", media_type=None
    )
    db.session.commit()
    return sorted(keys)


def move(app: Flask, *args: str) -> Result:
    result = app.test_cli_runner().invoke(cli_group, ["evidence", "move", *args])
    db.session.rollback()
    return result


def blob_keys() -> list[str]:
    return list(db.session.scalars(select(BLOBS.c.sha256).order_by(BLOBS.c.sha256)))


def local_keys(app: Flask) -> list[str]:
    folder = Path(app.config["EVIDENCE_DIR"])
    return sorted(p.stem for p in folder.rglob("*.bin"))


def read_all(app: Flask, store: str, keys: list[str]) -> None:
    storage = evidence_store_named(store, app.config, db.session)
    for key in keys:
        assert hashlib.sha256(storage.get(key)).hexdigest() == key


def test_moving_to_the_database_copies_verifies_and_can_run_again(
    app: Flask, local_evidence: list[str]
) -> None:
    done = move(app, "--to", "database")
    assert done.exit_code == 0, done.output
    assert "Evidence files named by the cases: 3." in done.output
    assert "Copied from the local folder to the database: 3." in done.output
    assert "Verified in the database (SHA-256 read back): 3." in done.output
    assert blob_keys() == local_evidence
    read_all(app, "database", local_evidence)
    assert local_keys(app) == local_evidence  # the source stays without --remove-source

    again = move(app, "--to", "database")
    assert again.exit_code == 0, again.output
    assert "Copied from the local folder to the database: 0." in again.output
    assert "Already in the database: 3." in again.output
    assert "Verified in the database (SHA-256 read back): 3." in again.output


def test_the_source_is_kept_while_the_app_still_reads_it(
    app: Flask, local_evidence: list[str]
) -> None:
    refused = move(app, "--to", "database", "--remove-source")
    assert refused.exit_code != 0
    assert "CASEWORK_EVIDENCE_STORE is local" in refused.output
    assert local_keys(app) == local_evidence
    assert blob_keys() == []


def test_the_source_goes_once_every_file_is_verified_and_the_app_uses_the_target(
    app: Flask, local_evidence: list[str]
) -> None:
    app.config["EVIDENCE_STORE"] = "database"
    done = move(app, "--to", "database", "--remove-source")
    assert done.exit_code == 0, done.output
    assert "Removed from the local folder: 3." in done.output
    assert local_keys(app) == []
    assert [s.key for s in stored_evidence(app)] == local_evidence
    read_all(app, "database", local_evidence)

    # And back: the database empties into the local folder.
    app.config["EVIDENCE_STORE"] = "local"
    back = move(app, "--to", "local", "--remove-source")
    assert back.exit_code == 0, back.output
    assert "Copied from the database to the local folder: 3." in back.output
    assert "Removed from the database: 3." in back.output
    assert blob_keys() == []
    assert local_keys(app) == local_evidence
    read_all(app, "local", local_evidence)


def test_a_damaged_or_missing_source_file_stops_the_removal(
    app: Flask, local_evidence: list[str]
) -> None:
    damaged, missing, good = local_evidence
    folder = Path(app.config["EVIDENCE_DIR"])
    path = folder / damaged[:2] / damaged[2:4] / f"{damaged}.bin"
    raw = path.read_bytes()
    path.write_bytes(raw[:-1] + bytes([raw[-1] ^ 1]))
    (folder / missing[:2] / missing[2:4] / f"{missing}.bin").unlink()
    app.config["EVIDENCE_STORE"] = "database"

    result = move(app, "--to", "database", "--remove-source")
    assert result.exit_code == 1
    assert f"FAILED {damaged[:12]}" in result.output
    assert f"MISSING {missing[:12]}" in result.output
    assert "Nothing was removed from the local folder." in result.output
    assert damaged not in result.output  # prefixes only
    assert blob_keys() == [good]
    assert sorted(local_keys(app)) == sorted([damaged, good])


def test_a_damaged_copy_in_the_target_is_replaced_from_the_source(
    app: Flask, local_evidence: list[str]
) -> None:
    assert move(app, "--to", "database").exit_code == 0
    key = local_evidence[0]
    raw: Any = db.session.scalar(select(BLOBS.c.ciphertext).where(BLOBS.c.sha256 == key))
    db.session.execute(
        update(BLOBS).where(BLOBS.c.sha256 == key).values(ciphertext=bytes(raw)[:-1] + b"\0")
    )
    db.session.commit()

    again = move(app, "--to", "database")
    assert again.exit_code == 0, again.output
    assert "Copied from the local folder to the database: 1." in again.output
    assert "Already in the database: 2." in again.output
    read_all(app, "database", local_evidence)
    assert db.session.scalar(select(func.count()).select_from(BLOBS)) == 3
