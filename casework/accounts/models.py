"""Organisations and staff users."""

from __future__ import annotations

import enum
from datetime import datetime

from flask import current_app
from flask_login import UserMixin
from sqlalchemy import Boolean, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from casework.accounts import totp
from casework.evidence import crypto
from casework.orm import Base, UTCDateTime, enum_type, intpk, utcnow


class Role(enum.StrEnum):
    CASEWORKER = "caseworker"
    LAWYER = "lawyer"
    ADMIN = "admin"


class Organisation(Base):
    __tablename__ = "organisations"

    id: Mapped[intpk]
    name: Mapped[str] = mapped_column(String(200))
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    # Where public reports land when no organisation is chosen.
    receives_public_reports: Mapped[bool] = mapped_column(Boolean, default=False)
    # Comma-separated staff addresses told when a platform misses a deadline.
    escalation_emails: Mapped[str] = mapped_column(Text, default="")
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    users: Mapped[list[User]] = relationship(back_populates="organisation")

    def __repr__(self) -> str:
        return f"<Organisation {self.slug}>"


class User(UserMixin, Base):
    __tablename__ = "users"

    id: Mapped[intpk]
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[Role] = mapped_column(enum_type(Role, "user_role"))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    # Second-factor secrets are stored sealed (see totp_secret below), never in clear.
    totp_secret_sealed: Mapped[str | None] = mapped_column("totp_secret", String(128))
    # A secret shown during enrolment, kept until the first code from it is confirmed.
    totp_pending_sealed: Mapped[str | None] = mapped_column("totp_pending_secret", String(128))
    # The last time step whose code was accepted: a code is good once, not for its whole window.
    totp_last_counter: Mapped[int | None] = mapped_column(Integer)
    is_active_user: Mapped[bool] = mapped_column("is_active", Boolean, default=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Bumped on password change or deactivation so old sessions stop working.
    session_version: Mapped[int] = mapped_column(Integer, default=1)
    locale: Mapped[str] = mapped_column(String(8), default="en")
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    organisation: Mapped[Organisation] = relationship(back_populates="users")

    @property
    def is_active(self) -> bool:  # Flask-Login reads this
        return self.is_active_user

    @property
    def has_totp(self) -> bool:
        return self.totp_secret_sealed is not None

    @property
    def totp_secret(self) -> str | None:
        return _open(self.totp_secret_sealed, self, "active")

    @totp_secret.setter
    def totp_secret(self, secret: str | None) -> None:
        self.totp_secret_sealed = _seal(secret, self, "active")

    @property
    def totp_pending_secret(self) -> str | None:
        return _open(self.totp_pending_sealed, self, "pending")

    @totp_pending_secret.setter
    def totp_pending_secret(self, secret: str | None) -> None:
        self.totp_pending_sealed = _seal(secret, self, "pending")

    def get_id(self) -> str:
        return f"{self.id}:{self.session_version}"

    def __repr__(self) -> str:
        return f"<User {self.id} {self.role}>"


class ApiToken(Base):
    """A key an integration sends as `Authorization: Bearer <secret>`, acting as its user.

    Only the SHA-256 of the secret is stored: the secret is shown once, when issued.
    """

    __tablename__ = "api_tokens"
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: Mapped[intpk]
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    user: Mapped[User] = relationship(foreign_keys=[user_id])

    @property
    def organisation_id(self) -> int:
        return self.user.organisation_id

    def __repr__(self) -> str:
        return f"<ApiToken {self.id} of user {self.user_id}>"


def _totp_key() -> bytes:
    # The evidence key: second-factor secrets are as sensitive as the evidence they guard.
    return crypto.load_key(current_app.config["CASEWORK_EVIDENCE_KEY"])


def _seal(secret: str | None, user: User, slot: str) -> str | None:
    if secret is None:
        return None
    if user.id is None:
        raise ValueError("a user gets a second factor once saved: the secret is bound to its id")
    return totp.seal_secret(_totp_key(), secret, user_id=user.id, slot=slot)


def _open(sealed: str | None, user: User, slot: str) -> str | None:
    if sealed is None:
        return None
    return totp.open_secret(_totp_key(), sealed, user_id=user.id, slot=slot)
