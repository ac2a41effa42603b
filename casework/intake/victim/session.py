"""The victim's signed-in state: a server-side session bound to the case's own key.

The cookie holds only a random token; the row it names (casework.sessions) holds the
case and the case's session key when the session began. Using the access code,
withdrawing or deleting the case gives the case a new key, so every earlier session,
and every copy of its cookie, opens nothing; a deleted case's sessions go with it.
"""

from __future__ import annotations

import time

from flask import current_app, session

from casework.cases.models import Case
from casework.extensions import db
from casework.orm import utcnow
from casework.sessions import browser
from casework.sessions.models import SessionKind
from casework.sessions.services import (
    find_session,
    lifetime_for,
    session_case,
)

SEEN_KEY = "victim_seen"


def start_victim_session(case: Case) -> None:
    """Throw away the old session (and its CSRF token), then open one on the case.

    The caller commits, so the new session's row is stored with the response.
    """
    browser.begin(SessionKind.VICTIM, case=case)
    session[SEEN_KEY] = int(time.time())


def end_victim_session() -> None:
    """End this browser's session on the server and in the cookie. The caller commits."""
    browser.end()


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
        session.get(browser.SID),
        SessionKind.VICTIM,
        now=utcnow(),
        lifetime=lifetime_for(current_app.config, SessionKind.VICTIM),
    )
    case = session_case(db.session, record) if record is not None else None
    if case is None:
        return None
    session[SEEN_KEY] = now
    return case
