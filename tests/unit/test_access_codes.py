"""Access codes: six diceware words, forgiving to type, stored only as a salted hash."""

from __future__ import annotations

import math
import time

from casework.accounts.passwords import hash_password
from casework.intake.access_codes import (
    WORDS,
    generate_access_code,
    hash_access_code,
    normalise_access_code,
    verify_access_code,
    wordlist,
)


def test_a_code_is_six_words_from_a_large_list() -> None:
    words = wordlist()
    assert len(words) > 7000
    assert math.log2(len(words)) * WORDS > 75  # bits of entropy
    codes = {generate_access_code() for _ in range(50)}
    assert len(codes) == 50
    for code in codes:
        parts = code.split(" ")
        assert len(parts) == WORDS and all(p in words for p in parts)


def test_typing_variations_are_accepted_and_the_hash_hides_the_code() -> None:
    code = "apple banana cherry dune eagle fig"
    stored = hash_access_code(code)
    assert code not in stored and stored.startswith("sha256$")
    # Salted: the same code never gives the same stored value twice.
    assert hash_access_code(code) != stored
    for typed in (
        "Apple Banana Cherry Dune Eagle Fig",
        " apple-banana-cherry-dune-eagle-fig ",
        "apple\nbanana  cherry.dune,eagle fig",
    ):
        assert normalise_access_code(typed) == code
        assert verify_access_code(stored, typed)
    assert not verify_access_code(stored, "apple banana cherry dune eagle")
    assert not verify_access_code(stored, "")


def test_a_missing_hash_never_verifies() -> None:
    assert not verify_access_code(None, "apple banana cherry dune eagle fig")


def test_a_malformed_hash_never_verifies() -> None:
    code = "apple banana cherry dune eagle fig"
    stored = hash_access_code(code)
    for broken in ("", "sha256$", "sha256$salt", stored.replace("sha256$", "md5$"), stored[:-1]):
        assert not verify_access_code(broken, code)


def test_codes_stored_with_argon2_before_still_open_their_case() -> None:
    code = "apple banana cherry dune eagle fig"
    stored = hash_password(code)
    assert verify_access_code(stored, "Apple Banana Cherry Dune Eagle Fig")
    assert not verify_access_code(stored, "apple banana cherry dune eagle")


def test_checking_a_code_is_cheap() -> None:
    """Six random words need no slow hash; a slow one cost 0.2 s of CPU per report."""
    stored = hash_access_code("apple banana cherry dune eagle fig")
    started = time.perf_counter()
    for _ in range(1000):
        verify_access_code(stored, "apple banana cherry dune eagle fig")
    assert time.perf_counter() - started < 0.5
