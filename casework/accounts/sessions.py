"""The staff session: start it fresh, end it, time it out, hold the step between the factors.

The signed cookie carries a random session token (SID); the session itself is a
row on the server (casework.sessions), so ending it there ends every copy of the
cookie. Starting a session clears every key and issues a new token and nonce:
nothing planted before sign-in survives it.
"""

from __future__ import annotations

import secrets
import time
from typing import Any

from flask import current_app, session
from flask_login import current_user, login_user, logout_user

from casework.accounts.models import User
from casework.accounts.services import load_user_from_session
from casework.accounts.signin import NextStep
from casework.extensions import db
from casework.orm import DbSession, utcnow
from casework.sessions import browser
from casework.sessions.models import SessionKind
from casework.sessions.services import (
    find_session,
    lifetime_for,
)

# The keys tests.factories.sign_in sets are the ones the gate reads: Flask-Login's
# _user_id and _fresh, and MFA_OK. LAST_SEEN and NONCE are added at sign-in.
MFA_OK = "mfa_ok"
LAST_SEEN = "last_seen"
NONCE = browser.NONCE
SID = browser.SID
PENDING = "pending_sign_in"
# How long someone has between a right password and their code.
PENDING_SECONDS = 300


def start_session(user: User) -> None:
    """Sign the user in on a brand-new session (every factor has been checked).

    The caller commits, so the new session's row is stored with the response.
    """
    browser.begin(SessionKind.STAFF, user_id=user.id)
    login_user(user)
    session[MFA_OK] = True
    session[LAST_SEEN] = int(time.time())


def load_signed_in_user(user_token: str) -> User | None:
    """Flask-Login's user loader: the user, only while this browser's server session lives.

    An unknown, ended or expired session loads nobody, whatever the cookie says.
    The session's last-seen time may move on or an expired one go: the caller commits
    when db.session.dirty or db.session.deleted says so.
    """
    user = load_user_from_session(user_token, db.session)
    if user is None:
        return None
    record = find_session(
        db.session,
        session.get(SID),
        SessionKind.STAFF,
        now=utcnow(),
        lifetime=lifetime_for(current_app.config, SessionKind.STAFF),
    )
    if record is None or record.user_id != user.id:
        return None
    return user


def current_signed_in_user() -> User | None:
    """The user of this session if every factor was passed, else None."""
    user = current_user._get_current_object()
    if isinstance(user, User) and session.get(MFA_OK):
        return user
    return None


def end_session() -> None:
    """End this browser's session on the server and in the cookie. The caller commits."""
    logout_user()
    browser.end()


def set_pending(user: User, step: NextStep, next_url: str) -> None:
    """Password accepted, second factor (or its enrolment) still to do."""
    browser.clear_cookie()
    session[PENDING] = {
        "uid": user.id,
        "v": user.session_version,
        "step": step.value,
        "at": int(time.time()),
        "next": next_url,
    }
    session[NONCE] = secrets.token_urlsafe(24)


def pending_user(db_session: DbSession, step: NextStep) -> User | None:
    """The user half-way through signing in at this step, if that is still valid."""
    pending: Any = session.get(PENDING)
    if not isinstance(pending, dict) or pending.get("step") != step.value:
        return None
    if time.time() - float(pending.get("at", 0)) > PENDING_SECONDS:
        return None
    user = db_session.get(User, int(pending.get("uid", 0)))
    if user is None or not user.is_active_user or user.session_version != pending.get("v"):
        return None
    return user


def pending_next() -> str:
    pending: Any = session.get(PENDING)
    return str(pending.get("next", "")) if isinstance(pending, dict) else ""


def idle_expired() -> bool:
    """True when the last request of this session is older than the idle limit.

    A session without a timestamp starts its clock now; only the server writes
    sessions, and every sign-in sets one.
    """
    last_seen = session.get(LAST_SEEN)
    if last_seen is None:
        return False
    limit = int(current_app.config["SESSION_IDLE_MINUTES"]) * 60
    return time.time() - float(last_seen) > limit


def touch() -> None:
    session[LAST_SEEN] = int(time.time())
