"""API tokens: issued and revoked by an admin for a user of their organisation, and checked
on every API request.

A token is 256 random bits, shown once; only its SHA-256 is stored, so a copy of the
database lets no one call the API. A token works while it is not revoked, not expired,
and its user is active: deactivating a user stops their tokens at once.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from flask_babel import gettext
from sqlalchemy import select

from casework.accounts.models import ApiToken, User
from casework.actors import Actor
from casework.audit.events import user_event
from casework.orm import DbSession

# A prefix says what the string is (to people, and to secret scanners); not a secret itself.
TOKEN_PREFIX: Final = "cw_"  # noqa: S105  # nosec B105
NAME_MAX_CHARS: Final = 100
# A secret longer than this was never issued here: it is refused without hashing it.
SECRET_MAX_CHARS: Final = 100
# last_used_at is kept to the minute: a busy integration costs no write per request.
LAST_USED_PRECISION: Final = timedelta(minutes=1)


class TokenError(ValueError):
    """A token that cannot be issued or revoked as asked; the message says why, and field
    which answer it is about ("user", "name" or "expires_at")."""

    def __init__(self, message: str, field: str = "name") -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class IssuedToken:
    token: ApiToken
    secret: str  # shown to the admin once, then forgotten


def secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def issue_token(
    session: DbSession,
    *,
    admin: User,
    user: User,
    name: str,
    expires_at: datetime | None,
    now: datetime,
) -> IssuedToken:
    """A new token for a user of the admin's organisation. The caller commits."""
    name = name.strip()
    if user.organisation_id != admin.organisation_id:
        raise TokenError(gettext("Choose someone from your organisation."), "user")
    if not user.is_active_user:
        raise TokenError(gettext("This account is deactivated: it cannot have a token."), "user")
    if not name or len(name) > NAME_MAX_CHARS:
        raise TokenError(gettext("Name the token in 1 to %(n)d characters.", n=NAME_MAX_CHARS))
    if expires_at is not None and expires_at <= now:
        raise TokenError(gettext("Choose an expiry date in the future, or none."), "expires_at")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        user_id=user.id,
        name=name,
        secret_hash=secret_hash(secret),
        created_by_id=admin.id,
        created_at=now,
        expires_at=expires_at,
    )
    session.add(token)
    session.flush()
    user_event(
        session,
        Actor.staff(admin.id, admin.role.value),
        user,
        "api_token.issued",
        token_id=token.id,
        expires=expires_at is not None,
    )
    return IssuedToken(token=token, secret=secret)


def revoke_token(session: DbSession, *, admin: User, token: ApiToken, now: datetime) -> bool:
    """Stop a token working; False when it already was revoked. The caller commits."""
    if token.user.organisation_id != admin.organisation_id:
        raise TokenError(gettext("Choose a token of your organisation."), "token")
    if token.revoked_at is not None:
        return False
    token.revoked_at = now
    user_event(
        session,
        Actor.staff(admin.id, admin.role.value),
        token.user,
        "api_token.revoked",
        token_id=token.id,
    )
    return True


def organisation_token(session: DbSession, admin: User, token_id: int) -> ApiToken | None:
    """A token of a user of the admin's organisation, or None: others do not exist here."""
    return session.scalar(
        select(ApiToken)
        .join(User, User.id == ApiToken.user_id)
        .where(ApiToken.id == token_id, User.organisation_id == admin.organisation_id)
    )


def organisation_tokens(session: DbSession, organisation_id: int) -> list[ApiToken]:
    """Every token of the organisation's users, newest first, revoked ones included."""
    return list(
        session.scalars(
            select(ApiToken)
            .join(User, User.id == ApiToken.user_id)
            .where(User.organisation_id == organisation_id)
            .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
        )
    )


def token_works(token: ApiToken, now: datetime) -> bool:
    return (
        token.revoked_at is None
        and (token.expires_at is None or token.expires_at > now)
        and token.user.is_active_user
    )


def known_secret_hash(session: DbSession, secret: str) -> str | None:
    """The hash of a secret that belongs to a token (working or not); None for a made-up one."""
    if not secret.startswith(TOKEN_PREFIX) or len(secret) > SECRET_MAX_CHARS:
        return None
    digest = secret_hash(secret)
    found = session.scalar(select(ApiToken.id).where(ApiToken.secret_hash == digest))
    return digest if found is not None else None


def authenticate(session: DbSession, secret: str, now: datetime) -> ApiToken | None:
    """The working token with this secret, its use noted; None for anything else.

    The caller commits (the note of use).
    """
    if not secret.startswith(TOKEN_PREFIX) or len(secret) > SECRET_MAX_CHARS:
        return None
    token = session.scalar(select(ApiToken).where(ApiToken.secret_hash == secret_hash(secret)))
    if token is None or not token_works(token, now):
        return None
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_PRECISION:
        token.last_used_at = now
    return token
