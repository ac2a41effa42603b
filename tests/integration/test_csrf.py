"""With CSRF protection on (as in production), staff forms refuse posts without the token."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from casework.extensions import db
from tests import factories


@pytest.fixture
def app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    return {**app_config, "WTF_CSRF_ENABLED": True}


def test_sign_in_needs_the_token_from_the_form(app: Flask, client: FlaskClient) -> None:
    org = factories.org()
    worker = factories.user(org)
    db.session.commit()
    refused = client.post(
        "/staff/sign-in", data={"email": worker.email, "password": factories.PASSWORD}
    )
    assert refused.status_code == 400

    page = client.get("/staff/sign-in").get_data(as_text=True)
    marker = 'name="csrf_token" type="hidden" value="'
    token = page[page.index(marker) + len(marker) :].split('"', 1)[0]
    accepted = client.post(
        "/staff/sign-in",
        data={"email": worker.email, "password": factories.PASSWORD, "csrf_token": token},
    )
    assert accepted.status_code == 302
