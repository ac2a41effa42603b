"""AES-256-GCM envelope for evidence at rest: b"CWE1" + 12-byte nonce + ciphertext and tag."""

from __future__ import annotations

import base64
import binascii
import os
import re
from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

MAGIC: Final = b"CWE1"
KEY_BYTES: Final = 32
NONCE_BYTES: Final = 12
TAG_BYTES: Final = 16
HEADER_BYTES: Final = len(MAGIC) + NONCE_BYTES

_KEY_ERROR: Final = "CASEWORK_EVIDENCE_KEY must be 32 bytes encoded in URL-safe base64"
# 32 bytes are 43 base64 characters plus one "=" of padding, which we let people omit.
_KEY_TEXT: Final = re.compile(r"[A-Za-z0-9_-]{43}=?")


class EvidenceDecryptError(Exception):
    """Stored evidence failed authentication: tampered, truncated, swapped or wrong key."""

    # Deliberately not a ValueError: an integrity failure must never be swallowed
    # by code that handles bad user input.


def generate_key() -> str:
    """A new random key, in the form CASEWORK_EVIDENCE_KEY expects."""
    return base64.urlsafe_b64encode(os.urandom(KEY_BYTES)).decode("ascii")


def load_key(text: str) -> bytes:
    """Decode CASEWORK_EVIDENCE_KEY into 32 raw bytes, or raise ValueError."""
    if not isinstance(text, str):
        raise ValueError(_KEY_ERROR)
    candidate = text.strip()
    # The pattern check comes first because the base64 decoder silently skips
    # characters outside the alphabet, which would accept mangled keys.
    if not _KEY_TEXT.fullmatch(candidate):
        raise ValueError(_KEY_ERROR)
    if not candidate.endswith("="):
        candidate += "="
    try:
        key = base64.urlsafe_b64decode(candidate)
    except (binascii.Error, ValueError):
        raise ValueError(_KEY_ERROR) from None
    if len(key) != KEY_BYTES:
        raise ValueError(_KEY_ERROR)
    return key


def encrypt(key: bytes, plaintext: bytes, *, associated_data: bytes) -> bytes:
    """Encrypt with a fresh random nonce; decrypt() needs the same associated data."""
    aead = _aead(key)
    nonce = os.urandom(NONCE_BYTES)
    return MAGIC + nonce + aead.encrypt(nonce, plaintext, _aad(associated_data))


def decrypt(key: bytes, blob: bytes, *, associated_data: bytes) -> bytes:
    """Return the plaintext, or raise EvidenceDecryptError if anything does not check out."""
    aead = _aead(key)
    if len(blob) < HEADER_BYTES + TAG_BYTES or not blob.startswith(MAGIC):
        raise EvidenceDecryptError("stored evidence is not in the expected format")
    nonce = blob[len(MAGIC) : HEADER_BYTES]
    try:
        return aead.decrypt(nonce, blob[HEADER_BYTES:], _aad(associated_data))
    except InvalidTag:
        raise EvidenceDecryptError(
            "stored evidence failed authentication (altered, swapped or wrong key)"
        ) from None


def _aead(key: bytes) -> AESGCM:
    # AESGCM would also take 128- and 192-bit keys; insist on the 256-bit one.
    if not isinstance(key, bytes) or len(key) != KEY_BYTES:
        raise ValueError("the evidence key must be exactly 32 bytes; use load_key()")
    return AESGCM(key)


def _aad(associated_data: bytes) -> bytes:
    # Binding the format version into the authenticated data means a blob can
    # never be reinterpreted under a future format with the same key.
    return MAGIC + associated_data
