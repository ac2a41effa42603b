"""Staff sign-in: roles, wrong passwords, lockout, the second factor, sessions and redirects."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from casework.accounts import totp
from casework.accounts.models import Role, User
from casework.audit.models import AuditEvent
from casework.audit.services import SYSTEM_CHAIN
from casework.extensions import db
from casework.orm import utcnow
from tests import factories
from tests.factories import sign_in_with_password

GENERIC_ERROR = "The email address or password is not right."


def _events(action: str) -> list[AuditEvent]:
    return list(
        db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
        )
    )


def test_caseworkers_sign_in_with_a_password(app: Flask, client: FlaskClient) -> None:
    org = factories.org()
    person = factories.user(org, Role.CASEWORKER)
    db.session.commit()

    response = sign_in_with_password(client, person.email.upper())
    assert response.status_code == 302
    assert client.get("/staff/notifications/").status_code == 200

    signed_in = _events("auth.sign_in")
    assert [(e.actor_id, e.chain_id, e.object_id) for e in signed_in] == [
        (person.id, org.id, person.id)
    ]
    assert signed_in[0].details == {"second_factor": False}
    assert factories.reloaded(User, person.id).last_login_at is not None


# Admins hold every account; lawyers download unblurred evidence.
@pytest.mark.parametrize(
    ("role", "home"), [(Role.ADMIN, "/staff/admin/"), (Role.LAWYER, "/staff/notices/")]
)
def test_admins_and_lawyers_must_set_up_totp_before_reaching_anything(
    app: Flask, client: FlaskClient, role: Role, home: str
) -> None:
    org = factories.org()
    admin = factories.user(org, role)
    db.session.commit()

    response = sign_in_with_password(client, admin.email, next_url=home)
    assert response.headers["Location"] == "/staff/sign-in/set-up-two-step"
    # Half-way through, no staff page opens.
    for path in (home, "/staff/notifications/", "/staff/account", "/staff/cases/"):
        blocked = client.get(path)
        assert blocked.status_code == 302
        assert blocked.headers["Location"].startswith("/staff/sign-in?next=")

    page = client.get("/staff/sign-in/set-up-two-step")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "<svg" in html
    assert "otpauth://totp/Casework:" in html
    secret = factories.reloaded(User, admin.id).totp_pending_secret
    assert secret is not None
    assert totp.grouped(secret) in html

    wrong = client.post("/staff/sign-in/set-up-two-step", data={"code": "000000"})
    assert "That code is not right" in wrong.get_data(as_text=True)
    assert factories.reloaded(User, admin.id).totp_secret is None

    done = client.post(
        "/staff/sign-in/set-up-two-step", data={"code": totp.code_at(secret, utcnow())}
    )
    assert done.status_code == 302
    assert done.headers["Location"] == home
    assert client.get(home).status_code == 200
    enrolled = factories.reloaded(User, admin.id)
    assert enrolled.totp_secret == secret
    assert enrolled.totp_pending_secret is None
    assert [e.object_id for e in _events("auth.totp_enrolled")] == [admin.id]
    assert _events("auth.sign_in")[0].details == {"second_factor": True}


def test_totp_is_optional_for_a_caseworker_and_asked_for_once_set_up(
    app: Flask, client: FlaskClient
) -> None:
    org = factories.org()
    worker = factories.user(org, Role.CASEWORKER)
    db.session.commit()

    assert sign_in_with_password(client, worker.email).status_code == 302
    account = client.get("/staff/account")
    assert account.status_code == 200
    secret = factories.reloaded(User, worker.id).totp_pending_secret
    assert secret is not None
    turned_on = client.post(
        "/staff/account/two-step", data={"code": totp.code_at(secret, utcnow())}
    )
    assert turned_on.status_code == 302
    # The session version moved on, and this session was signed in again on it.
    assert client.get("/staff/account").status_code == 200
    client.post("/staff/sign-out")

    response = sign_in_with_password(client, worker.email)
    assert response.headers["Location"] == "/staff/sign-in/code"
    assert client.get("/staff/notifications/").status_code == 302
    # The enrolment used this time step's code; the next step's code is still good.
    code = totp.code_at(secret, utcnow() + timedelta(seconds=30))
    assert client.post("/staff/sign-in/code", data={"code": code}).status_code == 302
    assert client.get("/staff/notifications/").status_code == 200


def test_a_totp_code_cannot_be_used_twice(app: Flask, client: FlaskClient) -> None:
    org = factories.org()
    admin = factories.user(org, Role.ADMIN)
    secret = factories.with_totp(admin)
    db.session.commit()
    code = totp.code_at(secret, utcnow())

    sign_in_with_password(client, admin.email)
    assert client.post("/staff/sign-in/code", data={"code": code}).status_code == 302
    client.post("/staff/sign-out")

    other = app.test_client()
    sign_in_with_password(other, admin.email)
    replay = other.post("/staff/sign-in/code", data={"code": code})
    assert replay.status_code == 200
    assert "That code has been used already" in replay.get_data(as_text=True)
    assert other.get("/staff/admin/").status_code == 302
    failures = _events("auth.sign_in_failed")
    assert [e.details for e in failures] == [{"reason": "code_reused"}]


def test_a_wrong_totp_code_is_refused_and_counted(app: Flask, client: FlaskClient) -> None:
    org = factories.org()
    lawyer = factories.user(org, Role.LAWYER)
    factories.with_totp(lawyer)
    db.session.commit()

    sign_in_with_password(client, lawyer.email)
    response = client.post("/staff/sign-in/code", data={"code": "12345"})
    assert "That code is not right" in response.get_data(as_text=True)
    assert factories.reloaded(User, lawyer.id).failed_logins == 1
    assert client.get("/staff/notifications/").status_code == 302


def test_a_wrong_password_gets_the_same_message_as_an_unknown_address(
    app: Flask, client: FlaskClient
) -> None:
    org = factories.org()
    worker = factories.user(org)
    db.session.commit()

    wrong = sign_in_with_password(client, worker.email, "not the password at all")
    unknown = sign_in_with_password(client, "nobody@example.org", "not the password at all")
    for response in (wrong, unknown):
        assert response.status_code == 200
        assert GENERIC_ERROR in response.get_data(as_text=True)
    # What was typed stays in the form, except the password.
    assert 'value="nobody@example.org"' in unknown.get_data(as_text=True)
    assert "not the password at all" not in unknown.get_data(as_text=True)

    failures = _events("auth.sign_in_failed")
    assert [(e.chain_id, e.object_id, e.details) for e in failures] == [
        (org.id, worker.id, {"reason": "wrong_password"}),
        (SYSTEM_CHAIN, None, {"reason": "unknown_account"}),
    ]
    for event in failures:
        assert "nobody" not in str(event.details)
        assert event.actor_id is None


def test_deactivated_and_invited_accounts_cannot_sign_in(app: Flask, client: FlaskClient) -> None:
    org = factories.org()
    gone = factories.user(org, is_active_user=False)
    invited = factories.user(org, password_hash=None)
    db.session.commit()

    for email in (gone.email, invited.email):
        response = sign_in_with_password(client, email)
        assert response.status_code == 200
        assert GENERIC_ERROR in response.get_data(as_text=True)
    reasons = [e.details["reason"] for e in _events("auth.sign_in_failed")]
    assert reasons == ["inactive", "no_password"]


def test_five_wrong_passwords_lock_the_account_until_the_lock_expires(
    app: Flask, client: FlaskClient
) -> None:
    org = factories.org()
    worker = factories.user(org)
    db.session.commit()

    for _ in range(5):
        assert sign_in_with_password(client, worker.email, "wrong password!").status_code == 200
    locked = factories.reloaded(User, worker.id)
    assert locked.locked_until is not None
    assert locked.locked_until > utcnow() + timedelta(minutes=14)
    assert len(_events("auth.locked")) == 1

    # Even the right password is refused while locked, with a clear wait time.
    refused = sign_in_with_password(client, worker.email)
    assert refused.status_code == 429
    assert "Try again in 15 minutes" in refused.get_data(as_text=True)
    assert client.get("/staff/notifications/").status_code == 302

    # The lock runs out (moved into the past rather than waited for).
    locked.locked_until = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert sign_in_with_password(client, worker.email).status_code == 302
    assert client.get("/staff/notifications/").status_code == 200
    assert factories.reloaded(User, worker.id).failed_logins == 0
    assert factories.reloaded(User, worker.id).locked_until is None


def test_signing_in_starts_a_new_session(app: Flask, client: FlaskClient) -> None:
    org = factories.org()
    worker = factories.user(org)
    db.session.commit()
    with client.session_transaction() as planted:
        planted["planted_by_attacker"] = "x"
        planted["nonce"] = "known-to-attacker"
        planted["lang"] = "fr"
    before = client.get_cookie("session")
    assert before is not None

    sign_in_with_password(client, worker.email)
    after = client.get_cookie("session")
    assert after is not None
    assert after.value != before.value
    with client.session_transaction() as fresh:
        assert "planted_by_attacker" not in fresh
        assert fresh["nonce"] != "known-to-attacker"
        assert len(fresh["nonce"]) >= 24
        assert fresh["_user_id"] == worker.get_id()
        assert fresh["lang"] == "fr"


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/steal",
        "//evil.example/steal",
        "/\\evil.example",
        "javascript:alert(1)",
        "http:/evil.example",
    ],
)
def test_next_never_leaves_the_site(app: Flask, client: FlaskClient, target: str) -> None:
    org = factories.org()
    worker = factories.user(org)
    db.session.commit()
    response = sign_in_with_password(client, worker.email, next_url=target)
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location.startswith("/") and not location.startswith("//")
    assert "evil" not in location and "javascript" not in location


def test_next_on_the_site_is_followed(app: Flask, client: FlaskClient) -> None:
    org = factories.org()
    worker = factories.user(org)
    db.session.commit()
    page = client.get("/staff/notifications/")
    assert page.headers["Location"] == "/staff/sign-in?next=/staff/notifications/"
    form = client.get(page.headers["Location"]).get_data(as_text=True)
    assert 'name="next" type="hidden" value="/staff/notifications/"' in form
    response = sign_in_with_password(client, worker.email, next_url="/staff/notifications/")
    assert response.headers["Location"] == "/staff/notifications/"


def test_an_idle_session_expires(app: Flask, client: FlaskClient) -> None:
    org = factories.org()
    worker = factories.user(org)
    db.session.commit()
    sign_in_with_password(client, worker.email)
    assert client.get("/staff/notifications/").status_code == 200

    with client.session_transaction() as flask_session:
        flask_session["last_seen"] = int(time.time()) - 29 * 60
    assert client.get("/staff/notifications/").status_code == 200  # activity resets the clock

    with client.session_transaction() as flask_session:
        flask_session["last_seen"] = int(time.time()) - 31 * 60
    expired = client.get("/staff/notifications/")
    assert expired.status_code == 302
    assert expired.headers["Location"].startswith("/staff/sign-in")
    page = client.get(expired.headers["Location"]).get_data(as_text=True)
    assert "signed out after 30 minutes without activity" in page
    assert client.get("/staff/notifications/").status_code == 302
    assert [e.actor_id for e in _events("auth.session_expired")] == [worker.id]


def test_a_deactivated_users_open_session_stops_working(app: Flask, client: FlaskClient) -> None:
    org = factories.org()
    worker = factories.user(org)
    admin = factories.user(org, Role.ADMIN)
    db.session.commit()
    sign_in_with_password(client, worker.email)
    assert client.get("/staff/notifications/").status_code == 200

    admin_client = app.test_client()
    factories.sign_in(admin_client, admin)
    response = admin_client.post(f"/staff/admin/users/{worker.id}/deactivate")
    assert response.status_code == 302

    assert client.get("/staff/notifications/").status_code == 302
    assert client.post("/staff/notifications/read-all").status_code == 401


def test_sign_out_ends_the_session_and_is_audited(app: Flask, client: FlaskClient) -> None:
    org = factories.org()
    worker = factories.user(org)
    db.session.commit()
    sign_in_with_password(client, worker.email)
    response = client.post("/staff/sign-out")
    assert response.headers["Location"] == "/staff/sign-in"
    assert client.get("/staff/notifications/").status_code == 302
    assert [e.actor_id for e in _events("auth.sign_out")] == [worker.id]


def test_the_factory_sign_in_helper_passes_the_gate(app: Flask, client: FlaskClient) -> None:
    org = factories.org()
    for role in Role:
        person = factories.user(org, role)
        db.session.commit()
        fresh = app.test_client()
        factories.sign_in(fresh, person)
        assert fresh.get("/staff/notifications/").status_code == 200
