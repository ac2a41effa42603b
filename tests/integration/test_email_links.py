"""Links in emails point only at the configured public address, whatever a request claims.

The attacker's move: ask for a password reset (or make a report, or get an admin to
invite someone) with a forged Host or X-Forwarded-Host header, so that Casework's own
mail server sends a genuine link pointing at the attacker's site.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from casework.accounts.models import Role
from casework.config import DEVELOPMENT_BASE_URL
from casework.extensions import db
from casework.notifications.models import OutgoingEmail
from tests import factories
from tests.intake_support import Answers, fill_report, submit

PUBLIC = "https://casework.example.org"
ATTACKER = "attacker.example"
FORGED = {"X-Forwarded-Host": ATTACKER, "X-Forwarded-Proto": "https", "X-Forwarded-For": "1.2.3.4"}


@pytest.fixture
def base_url_env() -> str | None:
    """CASEWORK_BASE_URL as the operator set it; None: not set (development)."""
    return None


@pytest.fixture
def app_config(
    app_config: dict[str, Any], base_url_env: str | None, monkeypatch: pytest.MonkeyPatch
) -> dict[str, Any]:
    # Through the environment, as an operator configures it, so the trusted hosts follow.
    monkeypatch.delenv("CASEWORK_BASE_URL", raising=False)
    if base_url_env is not None:
        monkeypatch.setenv("CASEWORK_BASE_URL", base_url_env)
    # One reverse proxy in front: its X-Forwarded-For and -Proto are believed, never -Host.
    app_config["PROXY_HOPS"] = 1
    return app_config


def _emails() -> list[OutgoingEmail]:
    return list(db.session.scalars(select(OutgoingEmail).order_by(OutgoingEmail.id)))


def _links(body: str) -> list[str]:
    return re.findall(r"https?://\S+", body)


def _only_links_to(body: str, base: str) -> None:
    links = _links(body)
    assert links, body
    for link in links:
        assert link.startswith(base + "/"), link
    assert ATTACKER not in body


@pytest.mark.parametrize("base_url_env", [None, PUBLIC])
@pytest.mark.usefixtures("jobs_in_the_request")
def test_a_forwarded_host_does_not_choose_where_a_reset_link_points(
    app: Flask, client: FlaskClient, base_url_env: str | None
) -> None:
    worker = factories.user(factories.org())
    db.session.commit()

    response = client.post(
        "/staff/password/forgotten", data={"email": worker.email}, headers=FORGED
    )

    assert response.status_code == 200
    (email,) = _emails()
    _only_links_to(email.body, base_url_env or DEVELOPMENT_BASE_URL)


@pytest.mark.usefixtures("jobs_in_the_request")
def test_a_trusted_but_different_host_does_not_choose_the_link_either(
    app: Flask, client: FlaskClient
) -> None:
    worker = factories.user(factories.org())
    db.session.commit()

    client.post(
        "/staff/password/forgotten",
        data={"email": worker.email},
        headers={"Host": "localhost:8443"},
    )

    (email,) = _emails()
    _only_links_to(email.body, DEVELOPMENT_BASE_URL)


@pytest.mark.parametrize("base_url_env", [PUBLIC])
@pytest.mark.usefixtures("jobs_in_the_request")
def test_a_forged_host_is_refused_before_anything_is_sent(app: Flask, client: FlaskClient) -> None:
    worker = factories.user(factories.org())
    db.session.commit()

    for path in ("/staff/password/forgotten", "/report/", "/my-case/"):
        assert client.get(path, headers={"Host": ATTACKER}).status_code == 400
    response = client.post(
        "/staff/password/forgotten", data={"email": worker.email}, headers={"Host": ATTACKER}
    )

    assert response.status_code == 400
    assert _emails() == []
    # The public address itself is served.
    assert client.get("/staff/password/forgotten", base_url=PUBLIC).status_code == 200


def test_an_invitation_link_comes_from_the_configured_address(
    app: Flask, client: FlaskClient
) -> None:
    org = factories.org()
    admin = factories.user(org, Role.ADMIN)
    db.session.commit()
    factories.sign_in(client, admin)

    response = client.post(
        "/staff/admin/users/invite",
        data={"email": "new@example.org", "name": "New Person", "role": "lawyer", "locale": "en"},
        headers=FORGED,
    )

    assert response.status_code == 302
    (email,) = _emails()
    assert email.recipient == "new@example.org"
    _only_links_to(email.body, DEVELOPMENT_BASE_URL)


@pytest.mark.parametrize("base_url_env", [PUBLIC])
def test_the_report_confirmation_links_to_the_configured_address(
    app: Flask, client: FlaskClient
) -> None:
    factories.org(receives_public_reports=True)
    db.session.commit()

    fill_report(client, Answers(email="person@example.org"))
    confirmation = submit(client)

    (email,) = _emails()
    assert email.recipient == "person@example.org"
    assert confirmation.reference in email.body
    # The victim's page, on the public address, and no other link of ours.
    assert PUBLIC + "/my-case/" in email.body
    assert "localhost" not in email.body
    assert ATTACKER not in email.body
