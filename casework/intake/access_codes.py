"""Access codes for victims: six diceware words, shown once, stored only as an argon2 hash."""

from __future__ import annotations

import re
import secrets
from functools import cache
from typing import Final

from xkcdpass import xkcd_password

from casework.accounts.passwords import hash_password, verify_password

WORDS: Final = 6
# Lower-case letters only, so a code survives being read aloud, written by hand or
# retyped with different spacing or capitals.
_WORD_RE: Final = re.compile(r"[a-z]+")


@cache
def wordlist() -> tuple[str, ...]:
    """xkcdpass's default list (EFF long), letters only: 7,772 words, about 77 bits for six."""
    words = xkcd_password.generate_wordlist(valid_chars="[a-z]", min_length=3, max_length=9)
    return tuple(sorted(words))


def generate_access_code() -> str:
    """A new code: six words separated by spaces, chosen with the system's secure random."""
    words = wordlist()
    return " ".join(secrets.choice(words) for _ in range(WORDS))


def normalise_access_code(text: str) -> str:
    """The canonical form that is hashed: lower-case words joined by single spaces.

    Capitals, extra spaces, hyphens, dots or line breaks between the words do not matter.
    """
    return " ".join(_WORD_RE.findall(text.lower()))


def hash_access_code(code: str) -> str:
    return hash_password(normalise_access_code(code))


def verify_access_code(code_hash: str | None, code: str) -> bool:
    """Check a typed code; always does the work of one argon2 check, even with no hash."""
    if not code_hash:
        # Spend the same time as a real check, so a wrong reference and a wrong code
        # look alike to someone timing the answers.
        verify_password(_dummy_hash(), normalise_access_code(code) or "-")
        return False
    return verify_password(code_hash, normalise_access_code(code))


@cache
def _dummy_hash() -> str:
    return hash_password(secrets.token_hex(16))
