"""Content-addressed storage for evidence files, encrypted at rest."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import logging
import os
import re
import tempfile
from pathlib import Path
from typing import ClassVar, Final, Protocol, runtime_checkable

from casework.evidence import crypto
from casework.evidence.crypto import EvidenceDecryptError

logger = logging.getLogger(__name__)

_KEY_PATTERN: Final = re.compile(r"[0-9a-f]{64}")
_DIR_MODE: Final = 0o700
_FILE_MODE: Final = 0o600


class EvidenceNotFoundError(LookupError):
    """No evidence file is stored under this key."""


class EvidenceIntegrityError(EvidenceDecryptError):
    """A stored file decrypted, but to content whose SHA-256 is not its key."""


@runtime_checkable
class EvidenceStorage(Protocol):
    """Where evidence files live; keys are the SHA-256 hex of the plaintext.

    A transactional store writes and deletes inside the caller's database transaction,
    so a rollback undoes its writes. A store that is not (the local folder) writes at
    once: its callers note the keys they wrote first (files.keep_in_storage) to remove
    them when their transaction fails, and remove released files after committing
    (files.delete_files). An object store would be of the second kind.
    """

    transactional: ClassVar[bool]

    def put(self, sha256: str, plaintext: bytes) -> str:
        """Store the bytes (once per content) and return their storage key."""
        ...

    def get(self, key: str) -> bytes:
        """Return the verified plaintext, or raise."""
        ...

    def delete(self, key: str) -> None:
        """Remove the file, referenced or not (a transactional store: when the caller
        commits); deleting a missing file is not an error. Cases release their files
        with files.release_files and files.delete_files instead."""
        ...

    def exists(self, key: str) -> bool:
        """Whether a file is stored under the key."""
        ...


def validate_key(key: object) -> str:
    """Return the key if it is 64 lowercase hex characters, else raise ValueError."""
    # Keys become file paths, so this strict shape is what rules out traversal.
    if not isinstance(key, str) or not _KEY_PATTERN.fullmatch(key):
        raise ValueError("an evidence storage key is 64 lowercase hexadecimal characters")
    return key


def checked_content_key(sha256: str, plaintext: bytes) -> str:
    """The storage key of this content, once the sha256 given is shown to be its hash."""
    key = validate_key(sha256)
    if not hmac.compare_digest(hashlib.sha256(plaintext).hexdigest(), key):
        raise ValueError("the sha256 given does not match the content")
    return key


def seal(secret: bytes, key: str, plaintext: bytes) -> bytes:
    """The stored form of the content under key: encrypted, bound to its key."""
    return crypto.encrypt(secret, plaintext, associated_data=key.encode("ascii"))


def unseal(secret: bytes, key: str, blob: bytes) -> bytes:
    """The verified plaintext stored under key, or EvidenceDecryptError."""
    plaintext = crypto.decrypt(secret, blob, associated_data=key.encode("ascii"))
    # Authentication already binds the key, so this only fails if something
    # was stored under the wrong address; check anyway, it is cheap.
    if not hmac.compare_digest(hashlib.sha256(plaintext).hexdigest(), key):
        raise EvidenceIntegrityError("stored evidence does not match its SHA-256")
    return plaintext


class LocalEncryptedStorage:
    """Evidence on the local disk at root/ab/cd/<sha256>.bin, AES-256-GCM encrypted."""

    transactional: ClassVar[bool] = False

    def __init__(self, root: Path, key: bytes) -> None:
        if len(key) != crypto.KEY_BYTES:
            raise ValueError("the evidence key must be exactly 32 bytes; use crypto.load_key()")
        self._root = Path(root)
        self._key = key

    def __repr__(self) -> str:
        # Never show the key.
        return f"LocalEncryptedStorage(root={str(self._root)!r})"

    def put(self, sha256: str, plaintext: bytes) -> str:
        key = checked_content_key(sha256, plaintext)
        path = self._path(key)
        try:
            self.get(key)
        except EvidenceNotFoundError:
            pass
        except EvidenceDecryptError:
            # The right bytes are in hand, so repair the damaged copy, but leave
            # a trace: a file that fails its check may have been altered.
            logger.warning("evidence file %s... failed its integrity check; rewriting", key[:12])
        else:
            return key  # already stored: content addressing keeps one copy
        self._make_dirs(path.parent)
        self._write_atomically(path, seal(self._key, key, plaintext))
        return key

    def get(self, key: str) -> bytes:
        key = validate_key(key)
        try:
            blob = self._path(key).read_bytes()
        except FileNotFoundError:
            raise EvidenceNotFoundError("no evidence file is stored under this key") from None
        return unseal(self._key, key, blob)

    def delete(self, key: str) -> None:
        self._path(validate_key(key)).unlink(missing_ok=True)

    def exists(self, key: str) -> bool:
        return self._path(validate_key(key)).is_file()

    def _path(self, key: str) -> Path:
        return self._root / key[:2] / key[2:4] / f"{key}.bin"

    def _make_dirs(self, directory: Path) -> None:
        # Create each level ourselves so every directory we add is 0700 whatever
        # the umask; existing directories (including the root) are left alone.
        missing = []
        current = directory
        while not current.exists():
            missing.append(current)
            current = current.parent
        for path in reversed(missing):
            with contextlib.suppress(FileExistsError):  # another worker got there first
                path.mkdir(mode=_DIR_MODE)
                os.chmod(path, _DIR_MODE)

    def _write_atomically(self, path: Path, blob: bytes) -> None:
        # mkstemp creates the file 0600; os.replace makes the finished file appear
        # in one step, so a reader never sees a half-written one.
        fd, temp_name = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(blob)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(temp_name, _FILE_MODE)
            os.replace(temp_name, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temp_name)
            raise
        _fsync_directory(path.parent)


def _fsync_directory(directory: Path) -> None:
    """Make the rename itself durable, where the platform allows it."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)
