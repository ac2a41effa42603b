"""Account operations: organisations and staff users."""

from __future__ import annotations

import re

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from casework.accounts.models import Organisation, Role, User
from casework.accounts.passwords import hash_password, password_problem
from casework.actors import Actor
from casework.audit.services import record_event

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class AccountError(ValueError):
    """Bad input for an account operation; the message says what is wrong."""


def get_or_create_organisation(session: Session, slug: str, name: str) -> Organisation:
    org = session.scalar(select(Organisation).where(Organisation.slug == slug))
    if org is None:
        org = Organisation(slug=slug, name=name)
        session.add(org)
        session.flush()
    return org


def create_user(
    session: Session,
    *,
    organisation: Organisation,
    email: str,
    name: str,
    role: Role,
    password: str | None,
    actor: Actor,
) -> User:
    """Create a staff user. The caller commits."""
    email = email.strip().lower()
    if not EMAIL_RE.match(email):
        raise AccountError(f"{email!r} is not an email address.")
    if session.scalar(select(func.count()).select_from(User).where(User.email == email)):
        raise AccountError(f"A user with the email {email} already exists.")
    if password is not None:
        problem = password_problem(password)
        if problem:
            raise AccountError(problem)
    user = User(
        organisation_id=organisation.id,
        email=email,
        name=name.strip() or email,
        role=role,
        password_hash=hash_password(password) if password else None,
    )
    session.add(user)
    session.flush()
    record_event(
        session,
        "user.created",
        actor,
        chain_id=organisation.id,
        object_type="user",
        object_id=user.id,
        details={"role": role.value},
    )
    return user


def load_user_from_session(token: str, session: Session) -> User | None:
    """Resolve Flask-Login's "<id>:<session_version>" token to an active user.

    A bumped session_version (password change, deactivation) invalidates
    every session issued before it.
    """
    user_id, _, version = token.partition(":")
    if not user_id.isdigit() or not version.isdigit():
        return None
    user = session.get(User, int(user_id))
    if user is None or not user.is_active_user or user.session_version != int(version):
        return None
    return user
