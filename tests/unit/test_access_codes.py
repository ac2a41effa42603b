"""Access codes: six diceware words, forgiving to type, stored only as an argon2 hash."""

from __future__ import annotations

import math

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
    assert code not in stored and stored.startswith("$argon2")
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
