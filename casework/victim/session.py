"""The victim's signed-in state: which case, since when; a fresh session on every sign-in."""

from __future__ import annotations

import secrets
import time

from flask import current_app, session

CASE_KEY = "victim_case"
SEEN_KEY = "victim_seen"
# The session lives in a signed cookie: a fresh random value makes the signed-in cookie
# new, unlike any cookie handed out before, as a new session id would on a server store.
NONCE_KEY = "nonce"
# Kept across a sign-in: the language the person chose is not about their case.
_KEPT = ("lang",)


def start_victim_session(case_id: int) -> None:
    """Throw away the old session (and its CSRF token) before granting access: no fixation."""
    kept = {key: session[key] for key in _KEPT if key in session}
    session.clear()
    session.update(kept)
    session[CASE_KEY] = case_id
    session[SEEN_KEY] = int(time.time())
    session[NONCE_KEY] = secrets.token_urlsafe(24)


def end_victim_session() -> None:
    kept = {key: session[key] for key in _KEPT if key in session}
    session.clear()
    session.update(kept)


def signed_in_case_id() -> int | None:
    """The case this browser may see, or None when signed out or idle for too long."""
    case_id, seen = session.get(CASE_KEY), session.get(SEEN_KEY)
    if not isinstance(case_id, int) or not isinstance(seen, int):
        return None
    idle_seconds = current_app.config["SESSION_IDLE_MINUTES"] * 60
    now = int(time.time())
    if now - seen > idle_seconds:
        end_victim_session()
        return None
    session[SEEN_KEY] = now
    return case_id
