"""The draft area: encrypted at rest, bound to its id, gone at submit or after its time."""

from __future__ import annotations

import os
import time
from datetime import timedelta
from pathlib import Path

import pytest

from casework.evidence.images import sanitise_image
from casework.evidence.xlinks import parse_x_link
from casework.intake.drafts import DraftStore, valid_draft_id
from tests.intake_support import IMAGE_SIGNATURES, photo

KEY = bytes(range(32))


@pytest.fixture
def store(tmp_path: Path) -> DraftStore:
    return DraftStore(tmp_path / "drafts", KEY, timedelta(hours=6))


def test_answers_and_screenshots_round_trip_and_are_ciphertext_on_disk(
    store: DraftStore, tmp_path: Path
) -> None:
    draft = store.new()
    draft.answers["where"] = {"email": "secret-person@example.org"}
    draft.posts = [parse_x_link("https://x.com/a/status/2008000000000000001")]
    image = sanitise_image(photo(1), max_bytes=1_000_000)
    assert store.add_screenshot(draft, image, "s.jpg")
    assert not store.add_screenshot(draft, image, "again.jpg")
    store.save(draft)

    loaded = store.load(draft.id)
    assert loaded is not None
    assert loaded.answers == draft.answers
    assert loaded.posts == draft.posts
    assert store.read_screenshot(loaded, image.sha256) == image.data
    for path in (tmp_path / "drafts" / draft.id).iterdir():
        raw = path.read_bytes()
        assert raw.startswith(b"CWE1")
        assert b"secret-person" not in raw and b"x.com" not in raw
        assert not any(sig in raw for sig in IMAGE_SIGNATURES[:2])
        assert path.stat().st_mode & 0o777 == 0o600


def test_a_file_moved_into_another_draft_does_not_decrypt(store: DraftStore) -> None:
    first, second = store.new(), store.new()
    root = store._dir(first.id).parent
    (root / second.id / "answers.bin").write_bytes((root / first.id / "answers.bin").read_bytes())
    assert store.load(second.id) is None
    assert not (root / second.id).exists()


def test_malformed_and_unknown_ids_load_nothing(store: DraftStore) -> None:
    for draft_id in (None, "", "../../etc", "a" * 31, "a" * 32, 42):
        assert store.load(draft_id) is None
    assert valid_draft_id(store.new().id)


def test_expired_drafts_are_purged_and_fresh_ones_kept(store: DraftStore, tmp_path: Path) -> None:
    old, fresh = store.new(), store.new()
    seven_hours_ago = time.time() - 7 * 3600
    answers = tmp_path / "drafts" / old.id / "answers.bin"
    os.utime(answers, (seven_hours_ago, seven_hours_ago))
    assert store.load(old.id) is None  # expired on sight
    assert store.load(fresh.id) is not None
    older = store.new()
    os.utime(tmp_path / "drafts" / older.id / "answers.bin", (seven_hours_ago,) * 2)
    assert store.purge_expired() == 1
    assert sorted(p.name for p in (tmp_path / "drafts").iterdir()) == [fresh.id]


def test_a_draft_deleted_while_purging_is_skipped(
    store: DraftStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Found under load: another request sends (and deletes) its draft mid-scan."""
    kept, gone = store.new(), store.new()
    entries = list(os.scandir(tmp_path / "drafts"))
    store.delete(gone.id)
    monkeypatch.setattr("casework.intake.drafts.os.scandir", lambda _path: iter(entries))
    assert store.purge_expired() == 0
    assert store.load(kept.id) is not None
