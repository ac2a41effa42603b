"""Access codes: six words in the report's language, forgiving to type, stored only as a salted
hash."""

from __future__ import annotations

import hashlib
import importlib.util
import math
import secrets
import time
import unicodedata
from pathlib import Path

import pytest

from casework.accounts.passwords import hash_password
from casework.intake.access_codes import (
    CODE_LANGUAGES,
    WORDLISTS,
    WORDS,
    generate_access_code,
    hash_access_code,
    normalise_access_code,
    verify_access_code,
    wordlist,
)


@pytest.mark.parametrize("language", CODE_LANGUAGES)
def test_a_code_is_six_words_of_the_reports_language_with_77_bits(language: str) -> None:
    words = wordlist(language)
    assert len(set(words)) == len(words)
    assert math.log2(len(words)) * WORDS >= 77  # bits of entropy
    codes = {generate_access_code(language) for _ in range(50)}
    assert len(codes) == 50
    for code in codes:
        parts = code.split(" ")
        assert len(parts) == WORDS and all(p in words for p in parts)


def test_french_and_english_codes_come_from_their_own_lists() -> None:
    french, english = set(wordlist("fr")), set(wordlist("en"))
    assert {"neige", "chaleur", "règle"} <= french and "neige" not in english
    assert {"acorn", "jigsaw"} <= english
    # Any other language gets English words.
    assert wordlist("de") == wordlist("en")


def _excluded() -> tuple[set[str], tuple[str, ...]]:
    exact: set[str] = set()
    prefixes: list[str] = []
    for line in (WORDLISTS / "excluded.txt").read_text(encoding="utf-8").splitlines():
        entry = line.strip()
        if entry and not entry.startswith("#"):
            if entry.endswith("*"):
                prefixes.append(entry[:-1])
            else:
                exact.add(entry)
    return exact, tuple(prefixes)


def _plain(word: str) -> str:
    decomposed = unicodedata.normalize("NFKD", word.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


@pytest.mark.parametrize("language", CODE_LANGUAGES)
def test_no_word_that_could_wound_a_victim_is_in_a_list(language: str) -> None:
    exact, prefixes = _excluded()
    found = [w for w in wordlist(language) if _plain(w) in exact or _plain(w).startswith(prefixes)]
    assert found == []
    for word in ("revenge", "undress", "grope", "violate", "naked", "victim", "nude", "honte"):
        assert word not in wordlist(language)


def test_french_words_stay_distinct_once_accents_are_dropped() -> None:
    plain = [_plain(w) for w in wordlist("fr")]
    assert len(set(plain)) == len(plain)


def test_the_lists_are_what_the_build_script_makes_of_its_sources() -> None:
    script = Path(__file__).resolve().parents[2] / "scripts" / "build_wordlists.py"
    spec = importlib.util.spec_from_file_location("build_wordlists", script)
    assert spec is not None and spec.loader is not None
    build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build)
    assert tuple(build.keep(build.english())) == wordlist("en")
    assert tuple(build.keep(build.french())) == wordlist("fr")


def test_typing_variations_are_accepted_and_the_hash_hides_the_code() -> None:
    code = "apple banana cherry dune eagle fig"
    stored = hash_access_code(code)
    assert code not in stored and stored.startswith("sha256l$")
    # Salted: the same code never gives the same stored value twice.
    assert hash_access_code(code) != stored
    for typed in (
        "Apple Banana Cherry Dune Eagle Fig",
        " apple-banana-cherry-dune-eagle-fig ",
        "apple\nbanana  cherry.dune,eagle fig",
        "applebananacherrydune eaglefig",
    ):
        assert verify_access_code(stored, typed)
    assert not verify_access_code(stored, "apple banana cherry dune eagle")
    assert not verify_access_code(stored, "")


def test_a_french_code_is_accepted_without_accents_or_separators() -> None:
    code = "règle neige été chaleur congé appui"
    stored = hash_access_code(code)
    assert normalise_access_code("Règle-Neige  été") == "regleneigeete"
    for typed in ("REGLE NEIGE ETE CHALEUR CONGE APPUI", "règleneigeétéchaleurcongéappui"):
        assert verify_access_code(stored, typed)
    assert not verify_access_code(stored, "regle neige ete chaleur conge")


def test_codes_hashed_from_their_words_before_are_still_accepted() -> None:
    code = "apple banana cherry dune eagle fig"
    salt = secrets.token_hex(16)
    digest = hashlib.sha256(f"{salt}:{code}".encode()).hexdigest()
    stored = f"sha256${salt}${digest}"
    assert verify_access_code(stored, "Apple-Banana-Cherry-Dune-Eagle-Fig")
    assert not verify_access_code(stored, "apple banana cherry dune eagle")


def test_a_missing_hash_never_verifies() -> None:
    assert not verify_access_code(None, "apple banana cherry dune eagle fig")


def test_a_malformed_hash_never_verifies() -> None:
    code = "apple banana cherry dune eagle fig"
    stored = hash_access_code(code)
    for broken in (
        "",
        "sha256$",
        "sha256$salt",
        stored.replace("sha256l$", "md5$"),
        stored.replace("sha256l$", "sha256$"),
        stored[:-1],
    ):
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
