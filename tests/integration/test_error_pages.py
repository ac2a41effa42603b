"""Error pages say what happened in plain words and reveal nothing about the server."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from casework import create_app

SECRET_DETAIL = "db-password-hunter2 in /srv/casework/app.py"


def assert_reveals_nothing(page: str) -> None:
    for leak in ("Traceback", 'File "', "werkzeug", "sqlalchemy", SECRET_DETAIL):
        assert leak not in page


def test_unknown_page_gets_the_friendly_404(client: Any) -> None:
    response = client.get("/no/such/page")
    assert response.status_code == 404
    page = response.get_data(as_text=True)
    assert "Page not found" in page
    assert 'id="quick-exit"' in page  # still a public page, with the way out
    assert_reveals_nothing(page)


def test_wrong_method_gets_the_friendly_405(client: Any) -> None:
    response = client.delete("/privacy")
    assert response.status_code == 405
    assert "That cannot be done from here" in response.get_data(as_text=True)


def test_oversized_request_gets_the_friendly_413(app: Flask) -> None:
    app.config["MAX_CONTENT_LENGTH"] = 1024
    app.config["MAX_UPLOAD_BYTES"] = 2 * 1024 * 1024
    response = app.test_client().post("/language", data={"lang": "fr", "padding": "x" * 4096})
    assert response.status_code == 413
    assert "at most 2 MB" in response.get_data(as_text=True)


@pytest.fixture
def production_like_app(app_config: dict[str, Any], app: Flask, tmp_path: Path) -> Flask:
    """Exceptions become error pages, as in production, instead of propagating to the test."""
    application = create_app({**app_config, "TESTING": False}, instance_path=str(tmp_path / "p"))

    def explode() -> str:
        raise RuntimeError(SECRET_DETAIL)

    def refuse() -> str:
        from flask import abort

        abort(403)

    # Added to this test's app only: the shipped app has no route that fails on purpose.
    application.add_url_rule("/explode", "explode", explode)
    application.add_url_rule("/refuse", "refuse", refuse)
    return application


def test_a_crash_shows_the_500_page_without_details(production_like_app: Flask) -> None:
    response = production_like_app.test_client().get("/explode")
    assert response.status_code == 500
    page = response.get_data(as_text=True)
    assert "Something went wrong on our side" in page
    assert_reveals_nothing(page)
    assert response.headers["Content-Security-Policy"].startswith("default-src 'none'")


def test_when_even_the_error_page_fails_a_bare_500_is_shown(production_like_app: Flask) -> None:
    @production_like_app.context_processor
    def broken() -> dict[str, Any]:
        raise RuntimeError(SECRET_DETAIL)

    response = production_like_app.test_client().get("/explode")
    assert response.status_code == 500
    page = response.get_data(as_text=True)
    assert "Something went wrong on our side" in page
    assert_reveals_nothing(page)


def test_forbidden_gets_the_friendly_403(production_like_app: Flask) -> None:
    response = production_like_app.test_client().get("/refuse")
    assert response.status_code == 403
    assert "You do not have access to this page" in response.get_data(as_text=True)


def test_error_pages_follow_the_chosen_language(client: Any) -> None:
    response = client.get("/no/such/page", headers={"Accept-Language": "fr"})
    assert response.status_code == 404
    assert 'lang="fr"' in response.get_data(as_text=True)
