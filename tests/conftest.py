"""Shared fixtures: the app on SQLite and on PostgreSQL, a client, Redis, and factories.

Database-facing tests take the `app` fixture and run once per backend. The
PostgreSQL run uses a fresh database created on the server that
TEST_DATABASE_URL points at; Redis tests use TEST_REDIS_URL. In CI (CI=true)
a missing service fails the run instead of skipping.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher, profiles
from flask import Flask, g, has_app_context
from flask.testing import FlaskClient
from flask_migrate import upgrade
from redis import Redis
from sqlalchemy import text
from sqlalchemy.engine import make_url

from casework import create_app
from casework.accounts import passwords
from casework.extensions import db
from casework.orm import Base
from tests.databases import throwaway_database

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
BACKENDS = ("sqlite", "postgresql")
EVIDENCE_STORE = os.environ.get("CASEWORK_EVIDENCE_STORE", "").strip() or "local"


def require_service(name: str, env_var: str) -> str:
    """The service URL from the environment; skip locally, fail in CI, when it is missing."""
    value = os.environ.get(env_var, "").strip()
    if not value:
        message = f"{name} not configured: set {env_var}"
        if IN_CI:
            pytest.fail(message + " (required in CI)")
        pytest.skip(message)
    return value


@pytest.fixture(scope="session", autouse=True)
def cheap_password_hashing() -> Iterator[None]:
    """Real argon2id at its cheapest cost: the same code paths, without 100 ms per hash.

    Sign-in tests hash and verify hundreds of passwords; at production cost
    they would dominate the suite.
    """
    production = passwords._hasher
    passwords._hasher = PasswordHasher.from_parameters(profiles.CHEAPEST)
    yield
    passwords._hasher = production


def pytest_sessionstart(session: pytest.Session) -> None:
    """Compile the message catalogues (kept out of git) when a .po is newer than its .mo."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    for po_path in (Path(__file__).resolve().parents[1] / "casework" / "translations").glob(
        "*/LC_MESSAGES/messages.po"
    ):
        mo_path = po_path.with_suffix(".mo")
        if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        with po_path.open("rb") as po_file:
            catalog = read_po(po_file)
        with mo_path.open("wb") as mo_file:
            write_mo(mo_file, catalog)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A throwaway database on the TEST_DATABASE_URL server, dropped afterwards."""
    server_url = make_url(require_service("PostgreSQL", "TEST_DATABASE_URL"))
    if server_url.drivername in {"postgresql", "postgres"}:
        server_url = server_url.set(drivername="postgresql+psycopg")
    with throwaway_database(
        server_url.render_as_string(hide_password=False), "casework_test"
    ) as url:
        yield url


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return "sqlite:///" + str(tmp_path_factory.mktemp("sqlite") / "casework-test.db")


@pytest.fixture
def faketime() -> str:
    """libfaketime's launcher; a missing one skips locally and fails in CI."""
    found = shutil.which("faketime")
    if found is None:
        message = "faketime not found: apt-get install faketime"
        if IN_CI:
            pytest.fail(message + " (required in CI)")
        pytest.skip(message)
    return found


@pytest.fixture(scope="session")
def redis_url() -> str:
    return require_service("Redis", "TEST_REDIS_URL")


@pytest.fixture
def redis(app: Flask, redis_url: str) -> Iterator[Redis]:
    """The test's Redis, emptied before and after, with the app pointed at it."""
    app.config["REDIS_URL"] = redis_url
    app.extensions.pop("casework_redis", None)
    connection = Redis.from_url(redis_url)
    connection.flushdb()
    yield connection
    connection.flushdb()


def base_config(database_url: str, tmp_path: Path) -> dict[str, Any]:
    return {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "REDIS_URL": os.environ.get("TEST_REDIS_URL") or "redis://127.0.0.1:1/0",
        "SECRET_KEY": "test-secret-key-" + "x" * 32,
        "CASEWORK_EVIDENCE_KEY": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        "CASEWORK_AUDIT_KEY": "test-audit-key-" + "a" * 32,
        "EVIDENCE_DIR": str(tmp_path / "evidence"),
        # CI runs the evidence tests once more with CASEWORK_EVIDENCE_STORE=database.
        "EVIDENCE_STORE": EVIDENCE_STORE,
        "WTF_CSRF_ENABLED": False,
        "RATELIMIT_ENABLED": False,
        # Counters in this app's memory, so one test's attempts never limit another's;
        # tests of the Redis storage choose it explicitly.
        "RATELIMIT_STORAGE_URI": "memory://",
        "JOBS_SYNC": False,
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": 1,
    }


_migrated: set[str] = set()


def _fresh_schema(app: Flask) -> None:
    """Build the schema with the migrations once per database, then empty it per test."""
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    with app.app_context():
        if url not in _migrated:
            upgrade()
            _migrated.add(url)
        empty_tables()


def empty_tables() -> None:
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    if db.engine.dialect.name == "postgresql":
        db.session.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
    else:
        for name in tables:
            db.session.execute(text(f"DELETE FROM {name}"))  # noqa: S608  (table names from metadata)
        # Ids start again at 1, as RESTART IDENTITY does on PostgreSQL.
        db.session.execute(text("DELETE FROM sqlite_sequence"))
    db.session.commit()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def database_url(backend: str, request: pytest.FixtureRequest) -> str:
    if backend == "postgresql":
        return str(request.getfixturevalue("postgres_url"))
    return str(request.getfixturevalue("sqlite_url"))


@pytest.fixture
def app_config(database_url: str, tmp_path: Path) -> dict[str, Any]:
    """Tests may update this before asking for `app` to change settings."""
    return base_config(database_url, tmp_path)


class CaseworkTestClient(FlaskClient):
    """A test client whose every request loads its own signed-in user, as in production.

    The `app` fixture keeps one app context open for the whole test and requests reuse
    it, and its `g`, where Flask-Login caches the user: without this, the first user a
    test signs in would stay signed in for every client, anonymous ones included. The
    same goes for the CSRF token Flask-WTF caches there.
    """

    def open(self, *args: Any, **kwargs: Any) -> Any:
        if has_app_context():
            g.pop("_login_user", None)
            # Flask-WTF keeps the request's CSRF token there too: another client's page
            # would otherwise carry this one's token.
            g.pop("csrf_token", None)
        return super().open(*args, **kwargs)


@pytest.fixture
def app(app_config: dict[str, Any], tmp_path: Path) -> Iterator[Flask]:
    # Each test keeps its development secrets out of the repo's instance folder.
    application = create_app(app_config, instance_path=str(tmp_path / "instance"))
    application.test_client_class = CaseworkTestClient
    _fresh_schema(application)
    with application.app_context():
        yield application
        db.session.remove()
    with application.app_context():
        db.engine.dispose()


@pytest.fixture
def second_host(app: Flask, app_config: dict[str, Any], tmp_path: Path) -> Iterator[Flask]:
    """Another app on the test's database, with an instance folder and in-process state of
    its own: what another host, or another process, would be."""
    other = create_app(app_config, instance_path=str(tmp_path / "second-host"))
    other.test_client_class = CaseworkTestClient
    yield other
    with other.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def jobs_in_the_request(app: Flask) -> None:
    """Jobs run in the request that enqueues them (a reset link's email), as a worker would."""
    app.config["JOBS_SYNC"] = True


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def session(app: Flask) -> Any:
    return db.session


def pytest_report_header(config: pytest.Config) -> list[str]:
    pg = os.environ.get("TEST_DATABASE_URL")
    redis = os.environ.get("TEST_REDIS_URL")
    pg_host = make_url(pg).render_as_string(hide_password=True) if pg else "NOT configured"
    return [
        f"casework databases: sqlite (temporary file) and postgresql ({pg_host})",
        f"casework redis: {redis or 'NOT configured'}",
    ]


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Say how many database-facing tests passed on each backend."""
    passed = terminalreporter.stats.get("passed", [])
    counts = {b: sum(1 for r in passed if f"[{b}" in r.nodeid) for b in BACKENDS}
    terminalreporter.write_line(
        "casework: passed on sqlite: {sqlite}, on postgresql: {postgresql}".format(**counts)
    )
