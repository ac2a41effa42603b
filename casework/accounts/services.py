"""Account operations: organisations, staff users, and what admins do to them."""

from __future__ import annotations

import re

from flask_babel import gettext
from sqlalchemy import func, select

from casework.accounts.models import Organisation, Role, User
from casework.accounts.passwords import hash_password, password_problem
from casework.actors import Actor
from casework.audit.events import user_event
from casework.orm import DbSession
from casework.sessions.services import end_user_sessions

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class AccountError(ValueError):
    """Bad input for an account operation; the message says what is wrong."""


def get_or_create_organisation(session: DbSession, slug: str, name: str) -> Organisation:
    org = session.scalar(select(Organisation).where(Organisation.slug == slug))
    if org is None:
        org = Organisation(slug=slug, name=name)
        session.add(org)
        session.flush()
    return org


def create_user(
    session: DbSession,
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
        raise AccountError(gettext("Enter an email address, like name@example.org."))
    if session.scalar(select(func.count()).select_from(User).where(User.email == email)):
        raise AccountError(gettext("A user with the email %(email)s already exists.", email=email))
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
    user_event(session, actor, user, "user.created", role=role.value)
    return user


def load_user_from_session(token: str, session: DbSession) -> User | None:
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


def organisation_user(session: DbSession, admin: User, user_id: int) -> User | None:
    """A user of the admin's own organisation, or None: other organisations do not exist here."""
    return session.scalar(
        select(User).where(User.id == user_id, User.organisation_id == admin.organisation_id)
    )


def organisation_users(session: DbSession, organisation_id: int) -> list[User]:
    return list(
        session.scalars(
            select(User)
            .where(User.organisation_id == organisation_id)
            .order_by(User.is_active_user.desc(), func.lower(User.name), User.id)
        )
    )


def _admin_action(session: DbSession, admin: User, user: User, action: str, **details: str) -> None:
    """An admin's change to a user of their own organisation, on that organisation's chain."""
    user_event(session, Actor.staff(admin.id, admin.role.value), user, action, **details)


def end_all_sessions(session: DbSession, user: User) -> None:
    """End every session of the user at once: stored ones, and any half-way sign-in."""
    user.session_version += 1
    end_user_sessions(session, user.id)


def _not_on_yourself(admin: User, user: User) -> None:
    # An admin locking themselves out (or demoting the last admin) needs a second admin.
    if admin.id == user.id:
        raise AccountError(gettext("Ask another admin to change your own account."))


def change_role(session: DbSession, *, admin: User, user: User, role: Role) -> None:
    """Give a user another role; their sessions end so the new role applies. Caller commits."""
    _not_on_yourself(admin, user)
    if user.role is role:
        return
    previous = user.role
    user.role = role
    end_all_sessions(session, user)
    _admin_action(
        session, admin, user, "user.role_changed", previous=previous.value, role=role.value
    )


def deactivate_user(session: DbSession, *, admin: User, user: User) -> None:
    """Stop a user signing in and end their sessions at once. Caller commits."""
    _not_on_yourself(admin, user)
    if not user.is_active_user:
        return
    user.is_active_user = False
    end_all_sessions(session, user)
    _admin_action(session, admin, user, "user.deactivated")


def reactivate_user(session: DbSession, *, admin: User, user: User) -> None:
    """Let a deactivated user sign in again. Caller commits."""
    _not_on_yourself(admin, user)
    if user.is_active_user:
        return
    user.is_active_user = True
    _admin_action(session, admin, user, "user.reactivated")


def reset_user_totp(session: DbSession, *, admin: User, user: User) -> None:
    """Remove a lost authenticator: the user enrols again (admins and lawyers must) at next sign-in.

    Sessions end too, since they were signed in with the old factor. Caller commits.
    """
    _not_on_yourself(admin, user)
    user.totp_secret = None
    user.totp_pending_secret = None
    user.totp_last_counter = None
    end_all_sessions(session, user)
    _admin_action(session, admin, user, "user.totp_reset")


def sign_out_everywhere(session: DbSession, *, admin: User, user: User) -> None:
    """End every session of a user (a lost laptop, a shared computer). Caller commits.

    The account stays active: the person signs in again with their own factors.
    """
    _not_on_yourself(admin, user)
    end_all_sessions(session, user)
    _admin_action(session, admin, user, "user.signed_out_everywhere")
