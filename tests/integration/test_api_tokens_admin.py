"""Admins issue and revoke API tokens for their organisation's staff; each is audited."""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from casework.accounts.api_tokens import secret_hash
from casework.accounts.models import ApiToken, Role
from casework.audit.models import AuditEvent
from casework.extensions import db
from tests import factories
from tests.api_support import bearer

TOKEN_RE = re.compile(r'id="new-token">(cw_[A-Za-z0-9_-]+)<')


def issue(client: FlaskClient, user_id: int, name: str = "CRM", **extra: str) -> tuple[int, str]:
    answer = client.post("/staff/admin/tokens", data={"user": str(user_id), "name": name, **extra})
    return answer.status_code, answer.get_data(as_text=True)


def test_an_admin_issues_a_token_shown_once_and_revokes_it(app: Flask, client: FlaskClient) -> None:
    org = factories.org()
    admin = factories.user(org, Role.ADMIN)
    worker = factories.user(org, Role.CASEWORKER)
    case = factories.case(org)
    db.session.commit()
    factories.sign_in(client, admin)

    status, page = issue(client, worker.id, "Helpline CRM", expires_on="2099-12-31")

    assert status == 200
    found = TOKEN_RE.search(page)
    assert found is not None
    secret = found[1]
    token = db.session.scalar(select(ApiToken))
    assert token is not None and token.user_id == worker.id and token.name == "Helpline CRM"
    assert token.secret_hash == secret_hash(secret) and secret not in token.secret_hash
    assert token.expires_at is not None and token.expires_at.year in (2099, 2100)
    # Shown once: the list shows the token, never its secret again.
    listing = client.get("/staff/admin/tokens").get_data(as_text=True)
    assert "Helpline CRM" in listing and secret not in listing
    api = app.test_client()
    assert api.get(f"/api/v1/cases/{case.reference}", headers=bearer(secret)).status_code == 200

    revoked = client.post(f"/staff/admin/tokens/{token.id}/revoke")

    assert revoked.status_code == 302
    assert api.get(f"/api/v1/cases/{case.reference}", headers=bearer(secret)).status_code == 401
    events = {
        event.action: event
        for event in db.session.scalars(
            select(AuditEvent).where(AuditEvent.action.like("api_token.%"))
        )
    }
    assert set(events) == {"api_token.issued", "api_token.revoked"}
    for event in events.values():
        assert event.actor_id == admin.id
        assert event.object_type == "user" and event.object_id == worker.id
        assert event.chain_id == org.id
        assert event.details["token_id"] == token.id
        assert secret not in str(event.details)


def test_bad_issue_answers_are_refused_by_field(client: FlaskClient) -> None:
    org = factories.org()
    admin = factories.user(org, Role.ADMIN)
    worker = factories.user(org)
    db.session.commit()
    factories.sign_in(client, admin)
    status, page = issue(client, worker.id, "")
    assert status == 400 and "Name the token" in page
    status, page = issue(client, worker.id, "CRM", expires_on="2000-01-01")
    assert status == 400
    assert re.search(r'id="expires_on-error">Choose an expiry date in the future', page)
    assert db.session.scalar(select(ApiToken)) is None


def test_admins_act_only_on_their_own_organisation(client: FlaskClient) -> None:
    ours, theirs = factories.org(), factories.org()
    admin = factories.user(ours, Role.ADMIN)
    their_admin = factories.user(theirs, Role.ADMIN)
    their_worker = factories.user(theirs)
    db.session.commit()
    factories.sign_in(client, their_admin)
    _status, page = issue(client, their_worker.id)
    their_token = db.session.scalar(select(ApiToken))
    assert their_token is not None
    their_secret = TOKEN_RE.search(page)
    assert their_secret is not None

    factories.sign_in(client, admin)
    status, page = issue(client, their_worker.id)
    assert status == 400  # not among the people this admin may choose
    assert client.post(f"/staff/admin/tokens/{their_token.id}/revoke").status_code == 404
    listing = client.get("/staff/admin/tokens").get_data(as_text=True)
    assert their_worker.name not in listing
    assert db.session.scalar(select(ApiToken.revoked_at)) is None
    assert len(list(db.session.scalars(select(ApiToken)))) == 1


def test_only_admins_manage_tokens(client: FlaskClient) -> None:
    org = factories.org()
    worker = factories.user(org, Role.CASEWORKER)
    db.session.commit()
    factories.sign_in(client, worker)
    assert client.get("/staff/admin/tokens").status_code == 403
    assert issue(client, worker.id)[0] == 403
    assert db.session.scalar(select(ApiToken)) is None
