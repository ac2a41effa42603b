"""Signed links to set a password: single use, time-limited, and dead once used."""

from __future__ import annotations

import enum
import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from itsdangerous import BadSignature, TimestampSigner, URLSafeTimedSerializer

from casework.accounts.models import User


class TokenPurpose(enum.StrEnum):
    RESET = "reset"
    INVITE = "invite"


# A forgotten password link is short-lived; an invitation waits for the person to read their mail.
MAX_AGE = {TokenPurpose.RESET: timedelta(hours=1), TokenPurpose.INVITE: timedelta(days=3)}
_SALT = "casework.set-password"


class _SignedAt(TimestampSigner):
    """A signer whose clock is given, so a token can be issued "an hour ago"."""

    def __init__(self, *args: Any, at: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._at = at

    def get_timestamp(self) -> int:
        return self._at


def _fingerprint(secret_key: str, user: User) -> str:
    """Changes whenever the password or session version does, so a used link stops working.

    Keyed with the app secret: the token reveals nothing about the password hash.
    """
    material = f"{user.id}|{user.password_hash or ''}|{user.session_version}".encode()
    return hmac.new(secret_key.encode(), material, hashlib.sha256).hexdigest()[:32]


def make_token(secret_key: str, user: User, purpose: TokenPurpose, *, now: datetime) -> str:
    serializer = URLSafeTimedSerializer(
        secret_key, salt=_SALT, signer=_SignedAt, signer_kwargs={"at": int(now.timestamp())}
    )
    payload = {"u": user.id, "p": purpose.value, "f": _fingerprint(secret_key, user)}
    return str(serializer.dumps(payload))


@dataclass(frozen=True)
class TokenClaim:
    user_id: int
    purpose: TokenPurpose
    fingerprint: str
    issued_at: datetime


def read_token(secret_key: str, token: str) -> TokenClaim | None:
    """The signed claim, or None if the token was not made here. Age is checked separately."""
    serializer = URLSafeTimedSerializer(secret_key, salt=_SALT)
    try:
        payload, issued_at = serializer.loads(token, return_timestamp=True)
    except BadSignature:
        return None
    try:
        return TokenClaim(
            user_id=int(payload["u"]),
            purpose=TokenPurpose(payload["p"]),
            fingerprint=str(payload["f"]),
            issued_at=issued_at,
        )
    except (KeyError, TypeError, ValueError):
        return None


def token_is_current(secret_key: str, claim: TokenClaim, user: User, *, now: datetime) -> bool:
    """Not expired, and the user's password and sessions are as they were when it was made."""
    if now - claim.issued_at > MAX_AGE[claim.purpose]:
        return False
    return hmac.compare_digest(claim.fingerprint, _fingerprint(secret_key, user))
