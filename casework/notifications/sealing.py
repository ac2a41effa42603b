"""Secrets an outbox email carries (a victim's access code), sealed until the email is sent.

The outbox row holds the email's text with a placeholder and the secret encrypted under
a key derived from SECRET_KEY, which is not in the database. Delivery opens it within
ACCESS_CODE_EMAIL_HOURS of the report and wipes it once sent; past that, it is never sent.
"""

from __future__ import annotations

import base64
from datetime import datetime, timedelta
from typing import Any, Final

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app

# Where the sealed secret goes in the body; rendered into templates in its place.
PLACEHOLDER: Final = "[[sealed-secret]]"


class SecretExpired(Exception):
    """The sealed secret is past its time (or cannot be opened): the email is not sent."""


def _fernet(config: Any) -> Fernet:
    key = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"casework outbox sealing"
    ).derive(str(config["SECRET_KEY"]).encode())
    return Fernet(base64.urlsafe_b64encode(key))


def lifetime(config: Any) -> timedelta:
    return timedelta(hours=int(config.get("ACCESS_CODE_EMAIL_HOURS", 24)))


def seal(secret: str, config: Any = None) -> str:
    return _fernet(config or current_app.config).encrypt(secret.encode()).decode("ascii")


def unseal(sealed: str, *, created_at: datetime, now: datetime, config: Any = None) -> str:
    """The secret, if the email is still within its lifetime; SecretExpired otherwise."""
    config = config or current_app.config
    ttl = lifetime(config)
    if now - created_at > ttl:
        raise SecretExpired("the sealed secret has expired")
    try:
        return (
            _fernet(config).decrypt(sealed.encode("ascii"), ttl=int(ttl.total_seconds())).decode()
        )
    except InvalidToken:
        raise SecretExpired("the sealed secret cannot be opened") from None
