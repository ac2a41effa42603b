"""Rate limits on sign-in and password links, with a page that says how long to wait."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from casework.extensions import db
from casework.notifications.models import OutgoingEmail
from tests import factories
from tests.factories import sign_in_with_password


@pytest.fixture
def app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    return {**app_config, "RATELIMIT_ENABLED": True}


def test_an_unknown_address_is_paused_like_a_locked_account(
    app: Flask, client: FlaskClient
) -> None:
    org = factories.org()
    worker = factories.user(org)
    db.session.commit()
    answers = {}
    for email in ("nobody@example.org", worker.email):
        for _ in range(5):
            assert sign_in_with_password(client, email, "wrong password!").status_code == 200
        answers[email] = sign_in_with_password(client, email, "wrong password!")

    unknown, known = answers["nobody@example.org"], answers[worker.email]
    assert unknown.status_code == known.status_code == 429
    for response in (unknown, known):
        page = response.get_data(as_text=True)
        assert "Too many attempts" in page
        assert "Try again in 15 minutes" in page, page[page.find("paused") :][:200]
        assert int(response.headers["Retry-After"]) == 15 * 60


def test_successful_sign_ins_do_not_use_up_the_limit(app: Flask) -> None:
    org = factories.org()
    worker = factories.user(org)
    db.session.commit()
    for _ in range(7):
        client = app.test_client()
        assert sign_in_with_password(client, worker.email).status_code == 302


def test_one_address_trying_many_accounts_is_paused(app: Flask, client: FlaskClient) -> None:
    # Empty passwords are refused before any hashing, which keeps this test fast;
    # they count against the limit like any other refused attempt.
    for n in range(30):
        response = sign_in_with_password(client, f"guess{n}@example.org", "")
        assert response.status_code == 200
        assert "Enter your password." in response.get_data(as_text=True)
    paused = sign_in_with_password(client, "guess-last@example.org", "")
    assert paused.status_code == 429
    assert "Try again in" in paused.get_data(as_text=True)
    # Another address is not affected.
    other = app.test_client()
    other_response = other.post(
        "/staff/sign-in",
        data={"email": "x@example.org", "password": ""},
        environ_base={"REMOTE_ADDR": "198.51.100.7"},
    )
    assert other_response.status_code == 200


def test_password_links_cannot_be_used_to_flood_a_mailbox(app: Flask, client: FlaskClient) -> None:
    app.config["JOBS_SYNC"] = True  # the reset link's job runs in the request
    org = factories.org()
    worker = factories.user(org)
    db.session.commit()
    for _ in range(3):
        response = client.post("/staff/password/forgotten", data={"email": worker.email})
        assert response.status_code == 200
    flooded = client.post("/staff/password/forgotten", data={"email": worker.email})
    assert flooded.status_code == 429
    assert db.session.scalar(select(func.count()).select_from(OutgoingEmail)) == 3
