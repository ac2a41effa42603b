"""Landing page, health and readiness, and the headers on every response."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from casework import create_app
from casework.cli import cli_group


def test_healthz(client: FlaskClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok"}


def test_landing_page_says_what_the_service_is(client: FlaskClient) -> None:
    response = client.get("/")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "taken down" in page
    assert 'id="quick-exit"' in page


def test_landing_page_in_french(client: FlaskClient) -> None:
    response = client.get("/", headers={"Accept-Language": "fr-FR,fr;q=0.9"})
    assert 'lang="fr"' in response.get_data(as_text=True)


def test_security_headers_on_every_response(client: FlaskClient) -> None:
    for path in ("/", "/healthz", "/does-not-exist"):
        headers = client.get(path).headers
        csp = headers["Content-Security-Policy"]
        assert "default-src 'none'" in csp
        assert "frame-ancestors 'none'" in csp
        assert "'unsafe-inline'" not in csp
        assert headers["Referrer-Policy"] == "no-referrer"
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert "camera=()" in headers["Permissions-Policy"]


@pytest.mark.redis
def test_readyz_reports_database_and_redis_up(app: Flask, redis_url: str) -> None:
    app.config["REDIS_URL"] = redis_url
    app.extensions.pop("casework_redis", None)
    response = app.test_client().get("/readyz")
    assert response.status_code == 200, response.json
    body: Any = response.json
    assert body["ready"] is True
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["redis"]["ok"] is True


def test_readyz_reports_redis_down(app: Flask) -> None:
    app.config["REDIS_URL"] = "redis://127.0.0.1:9/0"
    app.extensions.pop("casework_redis", None)
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    body: Any = response.json
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["redis"]["ok"] is False
    assert "deadline tracking is paused" in body["checks"]["redis"]["detail"]


def test_readyz_reports_database_down(tmp_path: Any) -> None:
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": "postgresql://nobody@127.0.0.1:9/none",
            "REDIS_URL": "redis://127.0.0.1:9/0",
            "TESTING": True,
        },
        instance_path=str(tmp_path),
    )
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    body: Any = response.json
    assert body["checks"]["database"]["ok"] is False


def test_check_command_says_plainly_what_is_wrong(app: Flask) -> None:
    app.config["REDIS_URL"] = "redis://127.0.0.1:9/0"
    app.extensions.pop("casework_redis", None)
    result = app.test_cli_runner().invoke(cli_group, ["check"])
    assert result.exit_code == 1
    assert "database: ok" in result.output
    assert "redis: PROBLEM" in result.output
