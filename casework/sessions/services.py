"""Server-side sessions: open one, find it on each request, end one or all of a person's.

Why rows in the database, not Redis or a per-person counter: the database is the
source of truth and is up whenever a request can do anything useful, so sessions keep
working (and intake keeps signing victims in) when Redis is down, on one machine or
many; a row per session lets signing out end that session alone while "sign out
everywhere", a password change or a deactivation end them all. The browser's cookie
holds a random token and the row only its SHA-256, so a copy of the table opens
nothing. Each signed-in request costs one lookup on a unique index, and last_seen_at
is written at most once a minute, not on every request.

Nothing here commits: the request plumbing and the views that call it do.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, or_, select

from casework.cases.models import Case, new_session_key
from casework.orm import DbSession
from casework.sessions.models import SessionKind, WebSession

# last_seen_at is precise to this much: enough for an idle limit counted in minutes.
TOUCH_INTERVAL = timedelta(minutes=1)
# How often a process purges expired sessions, at most.
PURGE_INTERVAL = timedelta(minutes=5)


@dataclass(frozen=True)
class Lifetime:
    """How long a session lasts at most (absolute) and without a request (idle)."""

    absolute: timedelta
    idle: timedelta


def lifetime_for(config: Mapping[str, Any], kind: SessionKind) -> Lifetime:
    """The lifetimes set in casework/config.py for staff or victim sessions."""
    idle = timedelta(minutes=int(config["SESSION_IDLE_MINUTES"]))
    if kind is SessionKind.STAFF:
        return Lifetime(timedelta(hours=int(config["STAFF_SESSION_HOURS"])), idle)
    return Lifetime(timedelta(minutes=int(config["VICTIM_SESSION_MINUTES"])), idle)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def open_session(
    session: DbSession,
    kind: SessionKind,
    *,
    now: datetime,
    user_id: int | None = None,
    case: Case | None = None,
) -> str:
    """Store a new session for a staff user or a victim's case; returns the cookie's token."""
    token = secrets.token_urlsafe(32)
    session.add(
        WebSession(
            token_hash=_hash(token),
            kind=kind,
            user_id=user_id,
            case_id=case.id if case is not None else None,
            case_key=case.session_key if case is not None else None,
            created_at=now,
            last_seen_at=now,
        )
    )
    return token


def find_session(
    session: DbSession, token: object, kind: SessionKind, *, now: datetime, lifetime: Lifetime
) -> WebSession | None:
    """The live session this token opens, or None; an expired one is deleted (caller commits).

    Refreshes last_seen_at when it is more than a minute old; session.dirty tells the
    caller whether to commit.
    """
    if not isinstance(token, str) or not token:
        return None
    record = session.scalar(
        select(WebSession).where(WebSession.token_hash == _hash(token), WebSession.kind == kind)
    )
    if record is None:
        return None
    if now - record.created_at >= lifetime.absolute or now - record.last_seen_at > lifetime.idle:
        session.delete(record)
        return None
    if now - record.last_seen_at >= TOUCH_INTERVAL:
        record.last_seen_at = now
    return record


def session_case(session: DbSession, record: WebSession) -> Case | None:
    """The case a victim session opens, if the case still holds the key it was opened with."""
    if record.case_id is None or not record.case_key:
        return None
    case = session.get(Case, record.case_id)
    if case is None or not case.session_key:
        return None
    if not hmac.compare_digest(record.case_key, case.session_key):
        return None
    return case


def end_session(session: DbSession, token: object) -> None:
    if isinstance(token, str) and token:
        session.execute(delete(WebSession).where(WebSession.token_hash == _hash(token)))


def end_user_sessions(session: DbSession, user_id: int) -> None:
    """End every session of a staff user, on every device."""
    session.execute(delete(WebSession).where(WebSession.user_id == user_id))


def end_case_sessions(session: DbSession, case_id: int) -> None:
    """End every victim session of a case."""
    session.execute(delete(WebSession).where(WebSession.case_id == case_id))


def rotate_case_key(session: DbSession, case: Case) -> None:
    """Give the case a new session key: every session opened on the old one ends."""
    case.session_key = new_session_key()
    end_case_sessions(session, case.id)


def purge_expired(session: DbSession, config: Mapping[str, Any], *, now: datetime) -> None:
    """Delete sessions past their absolute lifetime (they open nothing already), of every
    kind in one statement."""
    session.execute(
        delete(WebSession).where(
            or_(
                *(
                    and_(
                        WebSession.kind == kind,
                        WebSession.created_at < now - lifetime_for(config, kind).absolute,
                    )
                    for kind in SessionKind
                )
            )
        )
    )


class PurgeSchedule:
    """When this process next purges expired sessions: at most once an interval.

    An expired session opens nothing (find_session checks its lifetimes), so the purge
    only keeps the table small; doing it at every sign-in cost each one a round trip.
    """

    def __init__(self, interval: timedelta) -> None:
        self.interval = interval
        self._last: datetime | None = None
        self._lock = threading.Lock()

    def due(self, now: datetime) -> bool:
        """True, once an interval, for the caller that is to purge now."""
        with self._lock:
            if self._last is not None and now - self._last < self.interval:
                return False
            self._last = now
            return True
