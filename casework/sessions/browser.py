"""This browser's side of a signed-in session: the cookie holds only the server-side
session's random token and a nonce, and starting a session clears everything else in it.

Staff (casework.accounts.sessions) and victims (casework.intake.victim.session) start and
end their sessions here; a browser is signed in as one or the other, under the same key.
"""

from __future__ import annotations

import secrets

from flask import current_app, session

from casework.cases.models import Case
from casework.extensions import db
from casework.orm import utcnow
from casework.sessions.models import SessionKind
from casework.sessions.services import (
    PURGE_INTERVAL,
    PurgeSchedule,
    end_session,
    open_session,
    purge_expired,
)

# The token of the server-side session.
SID = "sid"
# A fresh random value makes the signed-in cookie new, unlike any handed out before.
NONCE = "nonce"
# Kept across sign-in and sign-out: the language someone chose is not a secret.
_KEPT = ("lang",)
# Expired sessions are purged by the first sign-in of each interval in this process.
_PURGES = PurgeSchedule(PURGE_INTERVAL)


def clear_cookie() -> None:
    """Forget everything in the cookie (the CSRF token too) but the chosen language."""
    kept = {key: session[key] for key in _KEPT if key in session}
    session.clear()
    session.update(kept)


def begin(kind: SessionKind, *, user_id: int | None = None, case: Case | None = None) -> None:
    """End this browser's earlier session, then open a new one on the server and in a
    cleared cookie: nothing planted before sign-in survives it. The caller commits."""
    end_session(db.session, session.get(SID))
    clear_cookie()
    now = utcnow()
    if _PURGES.due(now):
        purge_expired(db.session, current_app.config, now=now)
    session[SID] = open_session(db.session, kind, now=now, user_id=user_id, case=case)
    session[NONCE] = secrets.token_urlsafe(24)


def end() -> None:
    """End this browser's session on the server and in the cookie. The caller commits."""
    end_session(db.session, session.get(SID))
    clear_cookie()
