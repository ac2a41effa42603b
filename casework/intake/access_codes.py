"""Access codes for victims: six words in the report's language, shown once, stored only as
a salted hash.

The words come from curated lists (`wordlists/en.txt`, `wordlists/fr.txt`, built by
`scripts/build_wordlists.py`): common words, without any that could wound someone whose
intimate images were faked or shared (`wordlists/excluded.txt`). Six words from 7,541 (the
smaller list) carry over 77 bits: beyond guessing online (where attempts are rate limited)
and offline too (from a stolen database: 2^77 SHA-256 computations). Slow password hashing
is for secrets people choose, which are guessable; for this one it would only cost a fifth
of a second of CPU per report and per sign-in attempt, capping how many reports a server
takes in and handing anyone who sends wrong codes a cheap way to keep its processors busy.
A code stored as an argon2 hash is accepted as well.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import unicodedata
from functools import cache
from pathlib import Path
from typing import Final

from casework.accounts.passwords import verify_password

WORDS: Final = 6
WORDLISTS: Final = Path(__file__).resolve().parent / "wordlists"
CODE_LANGUAGES: Final = ("en", "fr")
# Codes hashed from their letters alone (`sha256l`), so that a code typed without spaces,
# accents or capitals still matches; `sha256` codes, hashed from their words joined by
# spaces, were issued before and are still accepted.
SCHEME: Final = "sha256l"
WORD_SCHEME: Final = "sha256"
_WORD_RE: Final = re.compile(r"[a-z]+")
_SALT_BYTES: Final = 16


@cache
def wordlist(language: str = "en") -> tuple[str, ...]:
    """The curated words for codes in `language` (English for any other language)."""
    name = language if language in CODE_LANGUAGES else "en"
    text = (WORDLISTS / f"{name}.txt").read_text(encoding="utf-8")
    return tuple(text.split())


def generate_access_code(language: str = "en") -> str:
    """A new code: six words of the language's list separated by spaces, chosen with the
    system's secure random."""
    words = wordlist(language)
    return " ".join(secrets.choice(words) for _ in range(WORDS))


def _plain(text: str) -> str:
    """Lower case, accents removed: "Été" -> "ete"."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def normalise_access_code(text: str) -> str:
    """The canonical form that is hashed: the code's letters, without accents, in lower case.

    Capitals, accents and anything between the words (spaces, hyphens, dots, line breaks,
    or nothing at all) do not matter.
    """
    return "".join(_WORD_RE.findall(_plain(text)))


def _words_of(text: str) -> str:
    """The form hashed for `sha256` codes: lower-case words joined by single spaces."""
    return " ".join(_WORD_RE.findall(_plain(text)))


def _digest(salt: str, normalised: str) -> str:
    return hashlib.sha256(f"{salt}:{normalised}".encode()).hexdigest()


def hash_access_code(code: str) -> str:
    """`sha256l$<salt>$<hex digest>` of the normalised code; the salt is random per case."""
    salt = secrets.token_hex(_SALT_BYTES)
    return f"{SCHEME}${salt}${_digest(salt, normalise_access_code(code))}"


def verify_access_code(code_hash: str | None, code: str) -> bool:
    """Check a typed code, in constant time; a missing hash does the same work and fails."""
    if code_hash and code_hash.startswith("$argon2"):
        return verify_password(code_hash, _words_of(code))
    scheme, _, rest = (code_hash or "").partition("$")
    salt, _, expected = rest.partition("$")
    normalised = _words_of(code) if scheme == WORD_SCHEME else normalise_access_code(code)
    if scheme not in (SCHEME, WORD_SCHEME) or not salt or not expected:
        # Spend the same time as a real check, so a wrong reference and a wrong code
        # look alike to someone timing the answers.
        hmac.compare_digest(_digest("0" * 2 * _SALT_BYTES, normalised), "0" * 64)
        return False
    return hmac.compare_digest(_digest(salt, normalised), expected)
