"""Evidence encryption: key handling and the AES-256-GCM envelope."""

from __future__ import annotations

import base64
import hashlib
import secrets

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from casework.evidence.crypto import (
    HEADER_BYTES,
    MAGIC,
    TAG_BYTES,
    EvidenceDecryptError,
    decrypt,
    encrypt,
    generate_key,
    load_key,
)

KEY_ERROR = "CASEWORK_EVIDENCE_KEY must be 32 bytes encoded in URL-safe base64"
PLAINTEXT = b"\xff\xd8\xff\xe0\x00\x10JFIF" + b"evidence pixels " * 64
AD = hashlib.sha256(PLAINTEXT).hexdigest().encode("ascii")


@pytest.fixture
def key() -> bytes:
    return load_key(generate_key())


# --- keys --------------------------------------------------------------------------------------


def test_generated_keys_load_to_32_random_bytes() -> None:
    first, second = generate_key(), generate_key()
    assert first != second
    assert len(load_key(first)) == 32
    assert load_key(first) == base64.urlsafe_b64decode(first)


def test_key_without_padding_or_with_surrounding_whitespace_loads() -> None:
    raw = secrets.token_bytes(32)
    text = base64.urlsafe_b64encode(raw).decode("ascii")
    assert load_key(text.rstrip("=")) == raw
    assert load_key(f"  {text}\n") == raw


def test_key_using_url_safe_characters_loads() -> None:
    raw = bytes([0xFB, 0xFF] * 16)  # encodes to "-" and "_" characters
    text = base64.urlsafe_b64encode(raw).decode("ascii")
    assert "-" in text or "_" in text
    assert load_key(text) == raw


@pytest.mark.parametrize(
    "text",
    [
        "",
        "not a key",
        base64.urlsafe_b64encode(b"k" * 16).decode(),  # AES-128 sized
        base64.urlsafe_b64encode(b"k" * 31).decode(),
        base64.urlsafe_b64encode(b"k" * 33).decode(),
        base64.urlsafe_b64encode(b"k" * 64).decode(),
        base64.b64encode(bytes([0xFB, 0xFF] * 16)).decode(),  # standard alphabet: + and /
        base64.urlsafe_b64encode(b"k" * 32).decode()[:-2] + "!=",
        base64.urlsafe_b64encode(b"k" * 32).decode()[:10] + " " + "a" * 33 + "=",  # inner space
        base64.urlsafe_b64encode(b"k" * 32).decode() + "==",
        "k" * 32,  # the raw 32 characters, not encoded
    ],
)
def test_bad_keys_are_refused_with_a_clear_message(text: str) -> None:
    with pytest.raises(ValueError) as caught:
        load_key(text)
    assert str(caught.value) == KEY_ERROR


def test_non_string_key_setting_is_refused() -> None:
    with pytest.raises(ValueError, match="CASEWORK_EVIDENCE_KEY"):
        load_key(None)  # type: ignore[arg-type]


def test_raw_keys_of_the_wrong_length_are_refused() -> None:
    for bad in (b"", b"k" * 16, b"k" * 24, b"k" * 33):
        with pytest.raises(ValueError):
            encrypt(bad, PLAINTEXT, associated_data=AD)
        with pytest.raises(ValueError):
            decrypt(bad, b"x" * 64, associated_data=AD)


# --- envelope ----------------------------------------------------------------------------------


def test_round_trip_and_layout(key: bytes) -> None:
    blob = encrypt(key, PLAINTEXT, associated_data=AD)

    assert blob.startswith(MAGIC)
    assert blob.startswith(b"CWE1")
    assert len(blob) == len(MAGIC) + 12 + len(PLAINTEXT) + 16
    assert PLAINTEXT[:16] not in blob
    assert b"JFIF" not in blob
    assert decrypt(key, blob, associated_data=AD) == PLAINTEXT


def test_each_encryption_uses_a_fresh_nonce(key: bytes) -> None:
    first = encrypt(key, PLAINTEXT, associated_data=AD)
    second = encrypt(key, PLAINTEXT, associated_data=AD)
    assert first[4:16] != second[4:16]
    assert first != second


def test_empty_plaintext_round_trips(key: bytes) -> None:
    blob = encrypt(key, b"", associated_data=AD)
    assert len(blob) == HEADER_BYTES + TAG_BYTES
    assert decrypt(key, blob, associated_data=AD) == b""


@settings(max_examples=40, deadline=None)
@given(plaintext=st.binary(max_size=2048), associated_data=st.binary(max_size=80))
def test_round_trip_property(plaintext: bytes, associated_data: bytes) -> None:
    key = bytes(range(32))
    blob = encrypt(key, plaintext, associated_data=associated_data)
    assert decrypt(key, blob, associated_data=associated_data) == plaintext


@pytest.mark.parametrize("position", [0, 3, 4, 15, 16, 100, -17, -1])
def test_any_altered_byte_is_detected(key: bytes, position: int) -> None:
    blob = bytearray(encrypt(key, PLAINTEXT, associated_data=AD))
    blob[position] ^= 0x01
    with pytest.raises(EvidenceDecryptError):
        decrypt(key, bytes(blob), associated_data=AD)


def test_truncated_or_extended_blobs_are_detected(key: bytes) -> None:
    blob = encrypt(key, PLAINTEXT, associated_data=AD)
    for bad in (b"", blob[:10], blob[: HEADER_BYTES + TAG_BYTES - 1], blob[:-1], blob + b"\x00"):
        with pytest.raises(EvidenceDecryptError):
            decrypt(key, bad, associated_data=AD)


def test_wrong_key_is_detected(key: bytes) -> None:
    blob = encrypt(key, PLAINTEXT, associated_data=AD)
    with pytest.raises(EvidenceDecryptError):
        decrypt(load_key(generate_key()), blob, associated_data=AD)


def test_swapped_file_is_detected_by_the_associated_data(key: bytes) -> None:
    # Another file's ciphertext, put where this one should be, must not decrypt.
    other = b"another victim's file"
    other_blob = encrypt(
        key, other, associated_data=hashlib.sha256(other).hexdigest().encode("ascii")
    )
    with pytest.raises(EvidenceDecryptError):
        decrypt(key, other_blob, associated_data=AD)


def test_decrypt_error_is_not_a_value_error_and_reveals_nothing(key: bytes) -> None:
    blob = bytearray(encrypt(key, PLAINTEXT, associated_data=AD))
    blob[-1] ^= 0xFF
    with pytest.raises(EvidenceDecryptError) as caught:
        decrypt(key, bytes(blob), associated_data=AD)
    assert not isinstance(caught.value, ValueError)
    assert key.hex() not in str(caught.value)
