"""Evidence storage: content addressing, encryption at rest, integrity and safe keys."""

from __future__ import annotations

import hashlib
import io
import logging
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from casework.evidence.crypto import EvidenceDecryptError, generate_key, load_key
from casework.evidence.images import sanitise_image
from casework.evidence.storage import (
    EvidenceIntegrityError,
    EvidenceNotFoundError,
    EvidenceStorage,
    LocalEncryptedStorage,
    validate_key,
)

SIGNATURES = (
    b"\xff\xd8\xff\xe0\x00\x10JFIF",
    b"\x89PNG\r\n\x1a\n",
    b"WEBPVP8",
    b"Exif\x00\x00",
)


def sanitised_bytes(fmt: str) -> bytes:
    buffer = io.BytesIO()
    Image.linear_gradient("L").resize((96, 64)).convert("RGB").save(buffer, fmt)
    return sanitise_image(buffer.getvalue(), max_bytes=10_000_000).data


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def key() -> bytes:
    return load_key(generate_key())


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "evidence"


@pytest.fixture
def storage(root: Path, key: bytes) -> LocalEncryptedStorage:
    return LocalEncryptedStorage(root, key)


@pytest.fixture
def open_umask() -> Iterator[None]:
    # A permissive umask proves the modes come from the code, not the environment.
    previous = os.umask(0)
    try:
        yield
    finally:
        os.umask(previous)


def stored_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


# --- happy path ---------------------------------------------------------------------------------


def test_put_get_round_trip_at_the_content_address(
    storage: LocalEncryptedStorage, root: Path
) -> None:
    data = sanitised_bytes("JPEG")
    digest = sha(data)

    key = storage.put(digest, data)

    assert key == digest
    assert storage.exists(key)
    assert storage.get(key) == data
    assert stored_files(root) == [root / digest[:2] / digest[2:4] / f"{digest}.bin"]


def test_files_are_0600_and_directories_0700(
    storage: LocalEncryptedStorage, root: Path, open_umask: None
) -> None:
    data = sanitised_bytes("PNG")
    key = storage.put(sha(data), data)

    path = root / key[:2] / key[2:4] / f"{key}.bin"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    for directory in (root, root / key[:2], root / key[:2] / key[2:4]):
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_on_disk_bytes_hold_no_image_signature_and_no_plaintext(
    storage: LocalEncryptedStorage, root: Path, fmt: str
) -> None:
    data = sanitised_bytes(fmt)
    storage.put(sha(data), data)

    (path,) = stored_files(root)
    blob = path.read_bytes()
    assert blob.startswith(b"CWE1")
    for signature in SIGNATURES:
        assert signature not in blob
    for start in range(0, len(data) - 16, max(1, len(data) // 50)):
        assert data[start : start + 16] not in blob


def test_same_content_is_stored_once(storage: LocalEncryptedStorage, root: Path) -> None:
    data = sanitised_bytes("JPEG")
    first = storage.put(sha(data), data)
    (path,) = stored_files(root)
    blob_before = path.read_bytes()

    second = storage.put(sha(data), data)

    assert first == second
    assert stored_files(root) == [path]
    assert path.read_bytes() == blob_before  # not even rewritten with a new nonce


def test_different_content_gets_different_files(storage: LocalEncryptedStorage, root: Path) -> None:
    one, two = sanitised_bytes("JPEG"), sanitised_bytes("PNG")
    storage.put(sha(one), one)
    storage.put(sha(two), two)
    assert len(stored_files(root)) == 2


def test_put_refuses_a_hash_that_does_not_match_the_content(
    storage: LocalEncryptedStorage, root: Path
) -> None:
    with pytest.raises(ValueError, match="does not match"):
        storage.put(sha(b"something else"), b"evidence")
    assert not root.exists() or stored_files(root) == []


def test_delete_is_idempotent(storage: LocalEncryptedStorage) -> None:
    data = b"evidence"
    key = storage.put(sha(data), data)

    storage.delete(key)
    storage.delete(key)

    assert not storage.exists(key)
    with pytest.raises(EvidenceNotFoundError):
        storage.get(key)


def test_missing_key_is_not_found(storage: LocalEncryptedStorage) -> None:
    key = sha(b"never stored")
    assert not storage.exists(key)
    with pytest.raises(EvidenceNotFoundError):
        storage.get(key)
    storage.delete(key)


def test_local_storage_satisfies_the_protocol(storage: LocalEncryptedStorage) -> None:
    assert isinstance(storage, EvidenceStorage)


def test_repr_does_not_show_the_key(storage: LocalEncryptedStorage, key: bytes) -> None:
    assert key.hex() not in repr(storage)
    assert repr(key) not in repr(storage)


def test_constructor_refuses_a_key_of_the_wrong_length(root: Path) -> None:
    with pytest.raises(ValueError):
        LocalEncryptedStorage(root, b"k" * 16)


# --- integrity ----------------------------------------------------------------------------------


@pytest.mark.parametrize("position", [0, 5, 20, -1, "middle"])
def test_one_altered_byte_makes_get_raise(
    storage: LocalEncryptedStorage, root: Path, position: int | str
) -> None:
    data = sanitised_bytes("JPEG")
    key = storage.put(sha(data), data)
    (path,) = stored_files(root)
    blob = bytearray(path.read_bytes())
    index = len(blob) // 2 if position == "middle" else int(position)
    blob[index] ^= 0x01
    path.write_bytes(bytes(blob))

    with pytest.raises(EvidenceDecryptError):
        storage.get(key)


def test_wrong_key_makes_get_raise(storage: LocalEncryptedStorage, root: Path) -> None:
    data = sanitised_bytes("PNG")
    key = storage.put(sha(data), data)

    other = LocalEncryptedStorage(root, load_key(generate_key()))
    assert other.exists(key)
    with pytest.raises(EvidenceDecryptError):
        other.get(key)


def test_a_file_moved_to_another_address_is_refused(
    storage: LocalEncryptedStorage, root: Path
) -> None:
    one, two = b"first file", b"second file"
    key_one, key_two = storage.put(sha(one), one), storage.put(sha(two), two)
    path_one = root / key_one[:2] / key_one[2:4] / f"{key_one}.bin"
    path_two = root / key_two[:2] / key_two[2:4] / f"{key_two}.bin"
    path_two.write_bytes(path_one.read_bytes())

    with pytest.raises(EvidenceDecryptError):
        storage.get(key_two)


def test_integrity_error_is_a_decrypt_error() -> None:
    assert issubclass(EvidenceIntegrityError, EvidenceDecryptError)


def test_putting_good_bytes_repairs_a_damaged_copy(
    storage: LocalEncryptedStorage, root: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data = b"evidence bytes"
    key = storage.put(sha(data), data)
    (path,) = stored_files(root)
    path.write_bytes(b"CWE1" + b"\x00" * 40)

    with caplog.at_level(logging.WARNING, logger="casework.evidence.storage"):
        storage.put(sha(data), data)

    assert storage.get(key) == data
    assert "integrity" in caplog.text
    assert key not in caplog.text  # only a prefix is logged


def test_failed_write_leaves_neither_temp_nor_partial_file(
    storage: LocalEncryptedStorage, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken_replace(src: object, dst: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr("casework.evidence.storage.os.replace", broken_replace)
    data = b"evidence"
    with pytest.raises(OSError, match="disk full"):
        storage.put(sha(data), data)
    monkeypatch.undo()

    assert stored_files(root) == []
    assert not storage.exists(sha(data))


# --- keys are never paths -----------------------------------------------------------------------

BAD_KEYS = [
    "",
    "../../etc/passwd",
    "../" + "a" * 61,
    "ab/cd/" + "a" * 58,
    "/" + "a" * 63,
    "a" * 63,
    "a" * 65,
    "A" * 64,  # uppercase: one file must have one name
    "g" * 64,
    "a" * 64 + "\n",
    "a" * 63 + "\x00",
    "..",
    "a" * 62 + "..",
]


@pytest.mark.parametrize("bad", BAD_KEYS)
def test_malformed_keys_are_refused_everywhere(
    storage: LocalEncryptedStorage, root: Path, bad: str
) -> None:
    with pytest.raises(ValueError):
        storage.get(bad)
    with pytest.raises(ValueError):
        storage.exists(bad)
    with pytest.raises(ValueError):
        storage.delete(bad)
    with pytest.raises(ValueError):
        storage.put(bad, b"data")
    assert not root.exists()


@pytest.mark.parametrize("bad", [None, b"a" * 64, 12345])
def test_non_string_keys_are_refused(bad: object) -> None:
    with pytest.raises(ValueError):
        validate_key(bad)


def test_validate_key_accepts_lowercase_sha256() -> None:
    digest = sha(b"x")
    assert validate_key(digest) == digest
