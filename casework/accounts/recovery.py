"""Setting a password through an emailed link: forgotten passwords and invitations."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from flask_babel import force_locale, gettext, ngettext
from sqlalchemy import select

from casework.accounts.models import Role, User
from casework.accounts.passwords import hash_password, password_problem
from casework.accounts.services import AccountError, create_user, end_all_sessions
from casework.accounts.tokens import (
    MAX_AGE,
    TokenPurpose,
    make_token,
    read_token,
    token_is_current,
)
from casework.actors import SYSTEM, Actor
from casework.audit.events import user_event
from casework.notifications.services import queue_email
from casework.orm import DbSession

# Builds the absolute link for a token; the web layer knows the site's address.
LinkBuilder = Callable[[str], str]


class InvalidLink(Exception):
    """The link is not ours, has expired, or has been used."""


def send_password_link(
    session: DbSession,
    user: User,
    purpose: TokenPurpose,
    *,
    secret_key: str,
    link_for: LinkBuilder,
    now: datetime,
    actor: Actor = SYSTEM,
) -> None:
    """Email a set-password link to the user, in their language. The caller commits.

    The email is only an outbox row here; delivery happens after the commit.
    """
    link = link_for(make_token(secret_key, user, purpose, now=now))
    hours = int(MAX_AGE[purpose].total_seconds() // 3600)
    with force_locale(user.locale):
        if purpose is TokenPurpose.INVITE:
            subject = gettext("You have been invited to Casework")
            intro = gettext(
                "%(organisation)s has given you an account on Casework. "
                "Choose your password with this link:",
                organisation=user.organisation.name,
            )
        else:
            subject = gettext("Reset your Casework password")
            intro = gettext(
                "Someone (hopefully you) asked to reset your Casework password. "
                "Choose a new one with this link:"
            )
        body = "\n\n".join(
            [
                intro,
                link,
                ngettext(
                    "The link works once, for %(num)d hour. "
                    "If you did not expect this email, you can ignore it.",
                    "The link works once, for %(num)d hours. "
                    "If you did not expect this email, you can ignore it.",
                    hours,
                ),
            ]
        )
    queue_email(
        session,
        recipient=user.email,
        subject=subject,
        body=body,
        organisation_id=user.organisation_id,
    )
    action = (
        "user.invitation_sent" if purpose is TokenPurpose.INVITE else "password.reset_requested"
    )
    user_event(session, actor, user, action)


def invite_user(
    session: DbSession,
    *,
    admin: User,
    email: str,
    name: str,
    role: Role,
    locale: str,
    secret_key: str,
    link_for: LinkBuilder,
    now: datetime,
) -> User | None:
    """Create a user of the admin's organisation with no password, and email them a link
    to choose one. Raises AccountError for a bad address or one already in the admin's
    organisation. The caller commits.

    An address that is staff at another organisation gets no account here, and the
    caller answers as for a new address, so an invitation cannot be used to find out
    who works where: its owner is emailed that someone tried, and None is returned.
    """
    actor = Actor.staff(admin.id, admin.role.value)
    existing = session.scalar(select(User).where(User.email == email.strip().lower()))
    if existing is not None and existing.organisation_id != admin.organisation_id:
        _tell_of_invitation_elsewhere(session, existing, inviting=admin.organisation.name)
        return None
    user = create_user(
        session,
        organisation=admin.organisation,
        email=email,
        name=name,
        role=role,
        password=None,
        actor=actor,
    )
    user.locale = locale
    send_password_link(
        session,
        user,
        TokenPurpose.INVITE,
        secret_key=secret_key,
        link_for=link_for,
        now=now,
        actor=actor,
    )
    return user


def _tell_of_invitation_elsewhere(session: DbSession, user: User, *, inviting: str) -> None:
    """Email the owner of an account that another organisation tried to invite."""
    with force_locale(user.locale):
        subject = gettext("An invitation to Casework was not used")
        body = gettext(
            "%(organisation)s tried to invite this address to Casework, but it already has "
            "an account, so nothing has changed. If you expected this, ask them to contact "
            "your administrator; otherwise you can ignore this email.",
            organisation=inviting,
        )
    # The email is the account's organisation's, so the inviting admin never sees it.
    queue_email(
        session,
        recipient=user.email,
        subject=subject,
        body=body,
        organisation_id=user.organisation_id,
    )
    user_event(session, SYSTEM, user, "user.invitation_elsewhere")


def resend_invitation(
    session: DbSession,
    *,
    admin: User,
    user: User,
    secret_key: str,
    link_for: LinkBuilder,
    now: datetime,
) -> None:
    """A fresh invitation for someone who has not chosen a password yet. The caller commits."""
    if user.password_hash is not None:
        raise AccountError(gettext("This person has already chosen a password."))
    if not user.is_active_user:
        raise AccountError(gettext("Reactivate the account before inviting this person again."))
    send_password_link(
        session,
        user,
        TokenPurpose.INVITE,
        secret_key=secret_key,
        link_for=link_for,
        now=now,
        actor=Actor.staff(admin.id, admin.role.value),
    )


def user_for_link(session: DbSession, token: str, *, secret_key: str, now: datetime) -> User:
    """The active user a link is for, if the link is ours, unexpired and unused."""
    claim = read_token(secret_key, token)
    user = session.get(User, claim.user_id) if claim else None
    if (
        claim is None
        or user is None
        or not user.is_active_user
        or not token_is_current(secret_key, claim, user, now=now)
    ):
        raise InvalidLink
    return user


def set_password_with_link(
    session: DbSession, token: str, password: str, *, secret_key: str, now: datetime
) -> User:
    """Set the password a link was sent for; the link and every session end. The caller commits.

    Raises InvalidLink, or AccountError when the password is too weak.
    """
    user = user_for_link(session, token, secret_key=secret_key, now=now)
    problem = password_problem(password)
    if problem:
        raise AccountError(problem)
    first_password = user.password_hash is None
    user.password_hash = hash_password(password)
    end_all_sessions(session, user)
    # Proving control of the mailbox is enough to lift a lockout.
    user.failed_logins = 0
    user.locked_until = None
    action = "password.set" if first_password else "password.reset"
    user_event(session, Actor.staff(user.id, user.role.value), user, action)
    return user
