"""Pooled PostgreSQL connections: pinged only after sitting idle, replaced when dead.

PostgreSQL only: a SQLite file has no server connection to lose.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import OperationalError

from casework.dbpool import ping_idle_connections


@pytest.fixture
def engine(postgres_url: str) -> Iterator[Engine]:
    engine = create_engine(postgres_url, pool_size=1, max_overflow=0)
    yield engine
    engine.dispose()


def _backend_pid(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT pg_backend_pid()")).scalar_one())


def _terminate(postgres_url: str, pid: int) -> None:
    admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    admin.dispose()


def test_an_idle_connection_killed_on_the_server_is_replaced_unseen(
    engine: Engine, postgres_url: str
) -> None:
    ping_idle_connections(engine, idle_seconds=0)
    first = _backend_pid(engine)
    _terminate(postgres_url, first)
    # The checkout pings the idle connection, finds it dead and opens another:
    # the statement itself never meets the dead connection.
    assert _backend_pid(engine) != first


def test_without_the_idle_ping_a_killed_connection_fails_one_statement_only(
    engine: Engine, postgres_url: str
) -> None:
    ping_idle_connections(engine, idle_seconds=3600)
    first = _backend_pid(engine)
    _terminate(postgres_url, first)
    # A connection used a moment ago is not pinged: the first statement meets the
    # dead connection, and the pool replaces it for the next.
    with pytest.raises(OperationalError):
        _backend_pid(engine)
    assert _backend_pid(engine) != first
