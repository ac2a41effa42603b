"""The contract every evidence store keeps, on SQLite and PostgreSQL.

Each test runs on the local folder and on the database store. The concurrency tests
drive two real sessions at once: one in a thread, waiting on the other's locks.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import Engine, delete, func, select, text, update
from sqlalchemy.orm import Session

from casework.cases.models import Case
from casework.cases.retention import delete_case
from casework.evidence.crypto import EvidenceDecryptError
from casework.evidence.database_storage import DatabaseEncryptedStorage
from casework.evidence.files import (
    delete_files,
    evidence_storage,
    store_image,
    unreferenced_keys,
)
from casework.evidence.images import sanitise_image
from casework.evidence.models import EvidenceBlob, EvidenceFile
from casework.evidence.storage import (
    EvidenceNotFoundError,
    EvidenceStorage,
    LocalEncryptedStorage,
)
from casework.extensions import db
from tests import factories
from tests.intake_support import stored_evidence

STORES = ("local", "database")
BAD_KEYS = ["", "ab", "../" + "a" * 61, "A" * 64, "g" * 64, "a" * 63, "a" * 65, "a" * 63 + "\n"]


@pytest.fixture(params=STORES)
def store(request: pytest.FixtureRequest, app_config: dict[str, Any]) -> str:
    """The evidence store the app of this test is configured with (a test asks for it
    before `app`, and after `backend` so that its id names the database first)."""
    app_config["EVIDENCE_STORE"] = request.param
    return str(request.param)


@pytest.fixture
def database_store(app_config: dict[str, Any]) -> None:
    """For the tests of what only the database store promises."""
    app_config["EVIDENCE_STORE"] = "database"


@pytest.fixture
def storage(store: str, app: Flask) -> EvidenceStorage:
    return evidence_storage(app.config, db.session)


def content(n: int) -> tuple[str, bytes]:
    data = f"evidence file {n} ".encode() * 50
    return hashlib.sha256(data).hexdigest(), data


def alter_stored(app: Flask, key: str, change: Callable[[bytes], bytes]) -> None:
    """Rewrite what the store keeps under key, as someone with access to it could."""
    if app.config["EVIDENCE_STORE"] == "database":
        blobs = EvidenceBlob.__table__
        raw = db.session.scalar(select(blobs.c.ciphertext).where(blobs.c.sha256 == key))
        assert raw is not None
        db.session.execute(
            update(blobs).where(blobs.c.sha256 == key).values(ciphertext=change(bytes(raw)))
        )
        db.session.commit()
    else:
        path = Path(app.config["EVIDENCE_DIR"]) / key[:2] / key[2:4] / f"{key}.bin"
        path.write_bytes(change(path.read_bytes()))


def test_the_configured_store_is_the_one_used(backend: str, store: str, app: Flask) -> None:
    storage = evidence_storage(app.config, db.session)
    expected = DatabaseEncryptedStorage if store == "database" else LocalEncryptedStorage
    assert type(storage) is expected
    assert isinstance(storage, EvidenceStorage)
    assert storage.transactional is (store == "database")
    assert "AAAA" not in repr(storage)  # never the key


def test_an_unknown_store_is_refused(app: Flask) -> None:
    with pytest.raises(ValueError, match="local, database"):
        evidence_storage({**app.config, "EVIDENCE_STORE": "s3"}, db.session)


def test_put_get_exists_delete(app: Flask, storage: EvidenceStorage) -> None:
    key, data = content(1)
    other_key, other = content(2)
    assert not storage.exists(key)
    assert storage.put(key, data) == key
    storage.put(other_key, other)
    db.session.commit()
    assert storage.exists(key) and storage.get(key) == data
    assert [s.key for s in stored_evidence(app)] == sorted([key, other_key])
    # Encrypted at rest: nothing of the content is readable where it is kept.
    for kept in stored_evidence(app):
        assert kept.read_bytes().startswith(b"CWE1")
        assert b"evidence file" not in kept.read_bytes()

    storage.delete(key)
    db.session.commit()
    assert not storage.exists(key)
    with pytest.raises(EvidenceNotFoundError):
        storage.get(key)
    assert storage.get(other_key) == other
    storage.delete(key)  # deleting what is not there is no error
    db.session.commit()


def test_the_same_content_is_stored_once(app: Flask, storage: EvidenceStorage) -> None:
    key, data = content(1)
    storage.put(key, data)
    db.session.commit()
    first = stored_evidence(app)
    assert storage.put(key, data) == key
    db.session.commit()
    # Not even rewritten: the ciphertext (with its random nonce) is the first one.
    assert stored_evidence(app) == first


def test_content_that_does_not_match_its_sha256_is_refused(
    app: Flask, storage: EvidenceStorage
) -> None:
    key, _data = content(1)
    with pytest.raises(ValueError, match="does not match"):
        storage.put(key, b"something else")
    db.session.commit()
    assert stored_evidence(app) == []


@pytest.mark.parametrize("bad", BAD_KEYS)
def test_a_key_of_the_wrong_shape_is_refused(
    app: Flask, storage: EvidenceStorage, bad: str
) -> None:
    for call in (storage.get, storage.exists, storage.delete):
        with pytest.raises(ValueError, match="64 lowercase hexadecimal"):
            call(bad)
    with pytest.raises(ValueError, match="64 lowercase hexadecimal"):
        storage.put(bad, b"data")
    db.session.commit()
    assert stored_evidence(app) == []


def test_an_unknown_key_is_not_found(app: Flask, storage: EvidenceStorage) -> None:
    key, _data = content(1)
    with pytest.raises(EvidenceNotFoundError):
        storage.get(key)
    assert not storage.exists(key)


@pytest.mark.parametrize(
    "change",
    [
        lambda raw: raw[:-1] + bytes([raw[-1] ^ 1]),  # one bit of the tag
        lambda raw: raw[:30] + bytes([raw[30] ^ 0x80]) + raw[31:],  # one bit of the content
        lambda raw: raw[:20],  # truncated
        lambda raw: b"",
    ],
    ids=["tag", "content", "truncated", "empty"],
)
def test_altered_ciphertext_fails_its_check(
    app: Flask, storage: EvidenceStorage, change: Callable[[bytes], bytes]
) -> None:
    key, data = content(1)
    storage.put(key, data)
    db.session.commit()
    alter_stored(app, key, change)
    with pytest.raises(EvidenceDecryptError):
        storage.get(key)


def test_a_blob_moved_under_another_key_fails_its_check(
    app: Flask, storage: EvidenceStorage
) -> None:
    """Each blob is bound to its key: copying one over another is caught on reading."""
    key, data = content(1)
    other_key, other = content(2)
    storage.put(key, data)
    storage.put(other_key, other)
    db.session.commit()
    swapped = next(s.read_bytes() for s in stored_evidence(app) if s.key == other_key)
    alter_stored(app, key, lambda _raw: swapped)
    with pytest.raises(EvidenceDecryptError):
        storage.get(key)


def test_storing_the_content_again_repairs_an_altered_copy(
    app: Flask, storage: EvidenceStorage, caplog: pytest.LogCaptureFixture
) -> None:
    key, data = content(1)
    storage.put(key, data)
    db.session.commit()
    alter_stored(app, key, lambda raw: raw[:-1] + bytes([raw[-1] ^ 1]))
    storage.put(key, data)
    db.session.commit()
    assert storage.get(key) == data
    assert "failed its integrity check" in caplog.text
    assert key not in caplog.text  # a prefix names it, never the whole hash


def _image(seed: int) -> Any:
    return sanitise_image(factories.image_bytes(seed), max_bytes=10**7)


def test_a_rolled_back_report_leaves_no_file(app: Flask, storage: EvidenceStorage) -> None:
    """What the views do when their transaction fails: roll back, then remove what they
    wrote first (nothing is left to remove on the database store)."""
    case_ = factories.case(factories.org())
    db.session.commit()
    image = _image(1)
    new_keys: list[str] = []
    store_image(db.session, case_, storage, image, original_name=None, new_keys=new_keys)
    db.session.flush()
    assert storage.exists(image.sha256)  # visible inside the transaction
    db.session.rollback()
    delete_files(storage, unreferenced_keys(db.session, new_keys))
    assert not storage.exists(image.sha256)
    assert stored_evidence(app) == []
    assert new_keys == ([] if storage.transactional else [image.sha256])


def test_the_database_store_writes_in_the_callers_transaction(
    database_store: None, app: Flask
) -> None:
    storage = evidence_storage(app.config, db.session)
    key, data = content(1)
    storage.put(key, data)
    db.session.rollback()
    assert not storage.exists(key)
    assert db.session.scalar(select(func.count()).select_from(EvidenceBlob)) == 0
    # Nor does deleting outlive a rollback.
    storage.put(key, data)
    db.session.commit()
    storage.delete(key)
    db.session.rollback()
    assert storage.get(key) == data


def test_deleting_a_case_takes_its_files_unless_another_case_has_them(
    app: Flask, storage: EvidenceStorage
) -> None:
    org = factories.org()
    leaving, staying = factories.case(org), factories.case(org)
    own = factories.evidence(leaving, seed=1)
    shared = factories.evidence(leaving, seed=2)
    factories.evidence(staying, seed=2)
    db.session.commit()
    assert [s.key for s in stored_evidence(app)] == sorted([own.storage_key, shared.storage_key])

    keys = delete_case(db.session, leaving)
    db.session.commit()
    delete_files(storage, keys)
    assert keys == [own.storage_key]
    assert [s.key for s in stored_evidence(app)] == [shared.storage_key]
    assert storage.get(shared.storage_key) == _image(2).data

    keys = delete_case(db.session, db.session.get_one(Case, staying.id))
    db.session.commit()
    delete_files(storage, keys)
    assert keys == [shared.storage_key]
    assert stored_evidence(app) == []


def test_a_failed_case_deletion_keeps_every_file(app: Flask, storage: EvidenceStorage) -> None:
    case_ = factories.case(factories.org())
    factories.evidence(case_, seed=1)
    db.session.commit()
    before = stored_evidence(app)
    delete_case(db.session, case_)
    db.session.rollback()
    assert stored_evidence(app) == before


# Two transactions at once -----------------------------------------------------------


class Concurrent:
    """Runs a step in a second session on a thread, and tells when it waits on a lock."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.engine: Engine = db.engine
        self.session = Session(self.engine)
        self.error: BaseException | None = None
        # Set by a step that got through its work without waiting on anyone.
        self.reached = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, step: Callable[[Session], None]) -> None:
        def run() -> None:
            try:
                with self.app.app_context():
                    step(self.session)
            except BaseException as exc:  # reported by join()
                self.error = exc
            finally:
                self.reached.set()

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()

    def wait_until_blocked_or_reached(self) -> None:
        """Until the thread's session waits on a lock of ours, or has done its work.

        PostgreSQL shows the waiting lock; SQLite waits in its busy handler unseen, so
        the thread gets a second to get there.
        """
        started = time.monotonic()
        while not self.reached.is_set() and time.monotonic() - started < 10:
            if self.engine.dialect.name == "postgresql":
                with self.engine.connect() as probe:
                    waiting = probe.scalar(
                        text(
                            "SELECT count(*) FROM pg_locks WHERE NOT granted AND database = "
                            "(SELECT oid FROM pg_database WHERE datname = current_database())"
                        )
                    )
                if waiting:
                    return
            elif time.monotonic() - started > 1:
                return
            time.sleep(0.05)

    def join(self) -> None:
        assert self._thread is not None
        self._thread.join(timeout=30)
        assert not self._thread.is_alive(), "the second transaction never finished"
        if self.error is not None:
            raise self.error

    def close(self) -> None:
        self.session.close()


@pytest.fixture
def concurrent(app: Flask) -> Iterator[Concurrent]:
    other = Concurrent(app)
    yield other
    other.close()


def _two_cases() -> tuple[int, int]:
    org = factories.org()
    first, second = factories.case(org), factories.case(org)
    db.session.commit()
    return first.id, second.id


def _report_in(
    session: Session, case_id: int, image: Any, app: Flask, new_keys: list[str]
) -> EvidenceFile:
    """A report's share of the work: store its screenshot and add the row naming it."""
    storage = evidence_storage(app.config, session)
    row = store_image(
        session,
        session.get_one(Case, case_id),
        storage,
        image,
        original_name=None,
        new_keys=new_keys,
    )
    session.flush()
    return row


def _lost_or_kept(app: Flask, key: str) -> str:
    db.session.expire_all()
    assert db.session.scalar(select(EvidenceFile.id).where(EvidenceFile.storage_key == key))
    try:
        evidence_storage(app.config, db.session).get(key)
    except EvidenceNotFoundError:
        return "lost"
    return "kept"


def test_two_reports_sharing_a_screenshot_when_one_rolls_back(
    backend: str, store: str, app: Flask, concurrent: Concurrent
) -> None:
    """Report A writes the screenshot first; report B, at the same time, finds it stored
    and relies on it; A fails and cleans up before B commits.

    The local folder cannot tell B's uncommitted row from no row, so A's cleanup deletes
    the file B is about to reference: the local store loses it. The database store never
    does: B's insert waits for A's, and A's rollback is its whole cleanup.
    """
    case_a, case_b = _two_cases()
    image = _image(7)
    a_keys: list[str] = []
    _report_in(db.session, case_a, image, app, a_keys)

    b_keys: list[str] = []
    may_commit = threading.Event()

    def report_b(session: Session) -> None:
        _report_in(session, case_b, image, app, b_keys)
        concurrent.reached.set()
        assert may_commit.wait(timeout=30)
        session.commit()

    concurrent.start(report_b)
    concurrent.wait_until_blocked_or_reached()
    db.session.rollback()
    delete_files(evidence_storage(app.config, db.session), unreferenced_keys(db.session, a_keys))
    db.session.commit()
    may_commit.set()
    concurrent.join()

    assert _lost_or_kept(app, image.sha256) == ("lost" if store == "local" else "kept")


def test_deleting_a_case_while_a_report_reuses_its_screenshot(
    database_store: None, app: Flask, concurrent: Concurrent
) -> None:
    """The report locks the blob first: the deletion waits, then sees the new reference.

    (The local folder has no such lock: this is the race the database store removes.)
    """
    case_a, case_b = _two_cases()
    image = _image(8)
    factories.evidence(db.session.get_one(Case, case_a), seed=8)
    db.session.commit()

    _report_in(db.session, case_b, image, app, [])

    def delete_a(session: Session) -> None:
        delete_case(session, session.get_one(Case, case_a))
        session.commit()

    concurrent.start(delete_a)
    concurrent.wait_until_blocked_or_reached()
    db.session.commit()
    concurrent.join()

    assert db.session.get(Case, case_a) is None
    assert _lost_or_kept(app, image.sha256) == "kept"


def test_a_report_reusing_a_screenshot_while_its_case_is_deleted(
    database_store: None, app: Flask, concurrent: Concurrent
) -> None:
    """The deletion locks and deletes the blob first: the report waits, then writes it
    again, so its row never names a blob that is gone."""
    case_a, case_b = _two_cases()
    image = _image(9)
    factories.evidence(db.session.get_one(Case, case_a), seed=9)
    db.session.commit()

    delete_case(db.session, db.session.get_one(Case, case_a))
    db.session.flush()

    def report_b(session: Session) -> None:
        _report_in(session, case_b, image, app, [])
        session.commit()

    concurrent.start(report_b)
    concurrent.wait_until_blocked_or_reached()
    db.session.commit()
    concurrent.join()

    assert db.session.get(Case, case_a) is None
    assert _lost_or_kept(app, image.sha256) == "kept"


def test_a_blob_deleted_while_a_report_waits_to_reuse_it_is_written_again(
    database_store: None, app: Flask, concurrent: Concurrent
) -> None:
    """The report found the blob stored and waits for its lock while a deletion, which
    locked it first, removes it: the report writes the blob again rather than rely on
    one that is gone."""
    case_a, case_b = _two_cases()
    image = _image(10)
    factories.evidence(db.session.get_one(Case, case_a), seed=10)
    db.session.commit()
    blobs = EvidenceBlob.__table__
    # A deletion's first steps (release_blobs): its rows gone, the blob's row locked.
    db.session.execute(delete(EvidenceFile).where(EvidenceFile.case_id == case_a))
    db.session.execute(
        select(blobs.c.sha256).where(blobs.c.sha256 == image.sha256).with_for_update()
    )

    def report_b(session: Session) -> None:
        _report_in(session, case_b, image, app, [])
        session.commit()

    concurrent.start(report_b)
    concurrent.wait_until_blocked_or_reached()
    db.session.execute(delete(blobs).where(blobs.c.sha256 == image.sha256))
    db.session.commit()
    concurrent.join()

    assert _lost_or_kept(app, image.sha256) == "kept"
