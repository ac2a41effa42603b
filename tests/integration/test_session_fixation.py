"""Session fixation: a session someone handed you before you signed in is worth nothing after.

The attack: someone visits the site, keeps their session cookie (and the CSRF token that
goes with it), and gets it into another person's browser. If signing in upgraded that
same session, the planted copy would be signed in too. Here signing in, for staff by
password and for a victim by reference and access code, issues a new session: a new
cookie with a new random nonce, every planted key gone, and the planted copy, replayed,
reaches nothing and its CSRF token is refused. CSRF is on, as in production.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from casework.extensions import db
from casework.intake.access_codes import generate_access_code, hash_access_code
from tests import factories
from tests.factories import csrf_token, sign_in_with_password
from tests.intake_support import Answers, fill_report, row_counts, submit

COOKIE = "session"


@pytest.fixture
def app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    return {**app_config, "WTF_CSRF_ENABLED": True}


def cookie_of(client: FlaskClient) -> str:
    cookie = client.get_cookie(COOKIE)
    assert cookie is not None
    return cookie.value


def browser_with(app: Flask, cookie: str) -> FlaskClient:
    client = app.test_client()
    client.set_cookie(COOKIE, cookie)
    return client


def nonce_of(client: FlaskClient) -> str:
    with client.session_transaction() as stored:
        return str(stored["nonce"])


def attacker_session(app: Flask, page: str) -> tuple[str, str]:
    """A session cookie of the attacker's own, with its CSRF token, from a public page."""
    attacker = app.test_client()
    token = csrf_token(attacker, page)
    with attacker.session_transaction() as stored:
        stored["planted_by_attacker"] = True
    return cookie_of(attacker), token


def test_staff_sign_in_issues_a_new_session_and_the_planted_one_gets_nothing(
    app: Flask,
) -> None:
    member = factories.user(factories.org())
    db.session.commit()
    planted, planted_token = attacker_session(app, "/staff/sign-in")

    # The caseworker's browser carries the attacker's cookie, and signs in with it.
    browser = browser_with(app, planted)
    response = sign_in_with_password(browser, member.email, with_csrf_token=True)
    assert response.status_code == 302
    assert browser.get("/staff/notifications/").status_code == 200

    signed_in = cookie_of(browser)
    assert signed_in != planted
    with browser.session_transaction() as stored:
        assert "planted_by_attacker" not in stored
        first_nonce = str(stored["nonce"])

    # The attacker's copy is still signed out, and its token is no good in the new session.
    replayed = browser_with(app, planted)
    assert replayed.get("/staff/notifications/").status_code == 302
    assert browser.post("/staff/sign-out", data={"csrf_token": planted_token}).status_code == 400
    assert browser.get("/staff/notifications/").status_code == 200

    # Each sign-in is a session of its own.
    browser.post("/staff/sign-out", data={"csrf_token": csrf_token(browser, "/staff/account")})
    sign_in_with_password(browser, member.email, with_csrf_token=True)
    assert nonce_of(browser) != first_nonce


@dataclass(frozen=True)
class Reported:
    reference: str
    access_code: str


def reported_case() -> Reported:
    """A case and the access code its reporter wrote down (only its hash is stored)."""
    access_code = generate_access_code()
    case = factories.case(factories.org(), access_code_hash=hash_access_code(access_code))
    db.session.commit()
    return Reported(case.reference, access_code)


def victim_signs_in(browser: FlaskClient, confirmation: Reported) -> Any:
    return browser.post(
        "/my-case/",
        data={
            "reference": confirmation.reference,
            "code": confirmation.access_code,
            "csrf_token": csrf_token(browser, "/my-case/"),
        },
    )


def test_victim_sign_in_issues_a_new_session_and_the_planted_one_gets_nothing(
    app: Flask,
) -> None:
    confirmation = reported_case()
    planted, planted_token = attacker_session(app, "/my-case/")

    browser = browser_with(app, planted)
    response = victim_signs_in(browser, confirmation)
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/my-case/case")
    assert browser.get("/my-case/case").status_code == 200

    assert cookie_of(browser) != planted
    with browser.session_transaction() as stored:
        assert "planted_by_attacker" not in stored
        first_nonce = str(stored["nonce"])
        assert len(first_nonce) >= 24

    replayed = browser_with(app, planted)
    assert replayed.get("/my-case/case").headers["Location"].endswith("/my-case/")
    # The token that came with the planted session cannot act in the new one.
    before = row_counts(db.session)
    refused = browser.post(
        "/my-case/links",
        data={"links": factories.post_url(), "csrf_token": planted_token},
    )
    assert refused.status_code == 400
    assert row_counts(db.session) == before

    browser.post("/my-case/sign-out", data={"csrf_token": csrf_token(browser, "/my-case/case")})
    victim_signs_in(browser, confirmation)
    assert nonce_of(browser) != first_nonce


class TestAtTheConfirmation:
    @pytest.fixture
    def app_config(self, app_config: dict[str, Any]) -> dict[str, Any]:
        # The report form's own CSRF is tested elsewhere; here it would only add noise.
        return {**app_config, "WTF_CSRF_ENABLED": False}

    def test_sending_the_report_starts_the_victims_session_afresh(self, app: Flask) -> None:
        """Sending signs the browser in to the new case: a new session there too."""
        factories.org(receives_public_reports=True)
        db.session.commit()
        browser = app.test_client()
        fill_report(browser, Answers())
        with browser.session_transaction() as stored:
            stored["planted_by_attacker"] = True
        before = cookie_of(browser)
        submit(browser)
        assert cookie_of(browser) != before
        with browser.session_transaction() as stored:
            assert "planted_by_attacker" not in stored
            assert len(str(stored["nonce"])) >= 24
