"""The victim's signed-in state: a server-side session bound to the case's own key.

The cookie holds only a random token; the row it names (casework.sessions) holds the
case and the case's session key when the session began. Using the access code,
withdrawing or deleting the case gives the case a new key, so every earlier session,
and every copy of its cookie, opens nothing; a deleted case's sessions go with it.
"""

from __future__ import annotations

import secrets
import time

from flask import current_app, session

from casework.cases.models import Case
from casework.extensions import db
from casework.orm import utcnow
from casework.sessions.models import SessionKind
from casework.sessions.services import end_session as end_stored_session
from casework.sessions.services import (
    find_session,
    lifetime_for,
    open_session,
    purge_expired,
    session_case,
)

# The same key as the staff session's: a browser is signed in as one or the other.
SID_KEY = "sid"
SEEN_KEY = "victim_seen"
# A fresh random value makes the signed-in cookie new, unlike any handed out before.
NONCE_KEY = "nonce"
# Kept across a sign-in: the language the person chose is not about their case.
_KEPT = ("lang",)


def _clear() -> None:
    kept = {key: session[key] for key in _KEPT if key in session}
    session.clear()
    session.update(kept)


def start_victim_session(case: Case) -> None:
    """Throw away the old session (and its CSRF token), then open one on the case.

    The caller commits, so the new session's row is stored with the response.
    """
    end_stored_session(db.session, session.get(SID_KEY))
    _clear()
    now = utcnow()
    purge_expired(db.session, current_app.config, now=now)
    token = open_session(db.session, SessionKind.VICTIM, now=now, case=case)
    session[SID_KEY] = token
    session[SEEN_KEY] = int(time.time())
    session[NONCE_KEY] = secrets.token_urlsafe(24)


def end_victim_session() -> None:
    """End this browser's session on the server and in the cookie. The caller commits."""
    end_stored_session(db.session, session.get(SID_KEY))
    _clear()


def signed_in_case() -> Case | None:
    """The case this browser may see, or None when signed out, ended or idle for too long.

    The session's last-seen time may move on or an expired one go: the caller commits
    when db.session.dirty or db.session.deleted says so.
    """
    seen = session.get(SEEN_KEY)
    if not isinstance(seen, int):
        return None
    idle_seconds = current_app.config["SESSION_IDLE_MINUTES"] * 60
    now = int(time.time())
    if now - seen > idle_seconds:
        return None
    record = find_session(
        db.session,
        session.get(SID_KEY),
        SessionKind.VICTIM,
        now=utcnow(),
        lifetime=lifetime_for(current_app.config, SessionKind.VICTIM),
    )
    case = session_case(db.session, record) if record is not None else None
    if case is None:
        return None
    session[SEEN_KEY] = now
    return case
