"""Access codes for victims: six diceware words, shown once, stored only as a salted hash.

Six words from 7,772 carry about 77 bits: beyond guessing online (where attempts are
rate limited) and offline too (from a stolen database: 2^77 SHA-256 computations).
Slow password hashing is for secrets people choose, which are guessable; for this one it
would only cost a fifth of a second of CPU per report and per sign-in attempt, capping
how many reports a server takes in and handing anyone who sends wrong codes a cheap way
to keep its processors busy. A code stored as an argon2 hash is accepted as well.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from functools import cache
from typing import Final

from xkcdpass import xkcd_password

from casework.accounts.passwords import verify_password

WORDS: Final = 6
# Lower-case letters only, so a code survives being read aloud, written by hand or
# retyped with different spacing or capitals.
_WORD_RE: Final = re.compile(r"[a-z]+")
SCHEME: Final = "sha256"
_SALT_BYTES: Final = 16


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


def _digest(salt: str, normalised: str) -> str:
    return hashlib.sha256(f"{salt}:{normalised}".encode()).hexdigest()


def hash_access_code(code: str) -> str:
    """`sha256$<salt>$<hex digest>` of the normalised code; the salt is random per case."""
    salt = secrets.token_hex(_SALT_BYTES)
    return f"{SCHEME}${salt}${_digest(salt, normalise_access_code(code))}"


def verify_access_code(code_hash: str | None, code: str) -> bool:
    """Check a typed code, in constant time; a missing hash does the same work and fails."""
    normalised = normalise_access_code(code)
    if code_hash and code_hash.startswith("$argon2"):
        return verify_password(code_hash, normalised)
    scheme, _, rest = (code_hash or "").partition("$")
    salt, _, expected = rest.partition("$")
    if scheme != SCHEME or not salt or not expected:
        # Spend the same time as a real check, so a wrong reference and a wrong code
        # look alike to someone timing the answers.
        hmac.compare_digest(_digest("0" * 2 * _SALT_BYTES, normalised), "0" * 64)
        return False
    return hmac.compare_digest(_digest(salt, normalised), expected)
