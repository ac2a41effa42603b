"""Pooled database connections are checked before use only when they may have gone stale.

A ping at every checkout (SQLAlchemy's pool_pre_ping) costs each request a round trip
to PostgreSQL, a twelfth of a report's submit. A connection checked back in moments ago
was working moments ago; one that sat idle longer than IDLE_PING_SECONDS is pinged, and
a dead one is replaced before the request sees it (the pool retries the checkout).
pool_recycle (config.py) replaces connections before a server or proxy idle limit
closes them. A server restart within those seconds of a connection's last use fails
that connection's next statement; SQLAlchemy then discards every connection the
pool held from before the failure, so the requests after it get new ones.
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.exc import DisconnectionError

IDLE_PING_SECONDS = 10.0
_CHECKED_IN_AT = "casework_checked_in_at"


def ping_idle_connections(engine: Engine, idle_seconds: float = IDLE_PING_SECONDS) -> None:
    """Ping a connection at checkout when it was idle in the pool more than idle_seconds."""
    dialect = engine.dialect

    @event.listens_for(engine, "checkin")
    def _checked_in(_dbapi_connection: Any, record: Any) -> None:
        if record is not None:
            record.info[_CHECKED_IN_AT] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        checked_in_at = record.info.get(_CHECKED_IN_AT)
        if checked_in_at is None or time.monotonic() - checked_in_at < idle_seconds:
            return  # new, or in use a moment ago
        try:
            dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as exc:
            # The pool discards this connection and checks out another.
            raise DisconnectionError("idle connection no longer answers") from exc
