"""With CSRF protection on (as in production), every form refuses posts without its token."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.routing import Rule

from casework.accounts.models import Role
from casework.api.views import API_PREFIX
from casework.cases.models import Case
from casework.extensions import db
from tests import factories
from tests.factories import csrf_token
from tests.intake_support import draft_parts, person_answers
from tests.integration.test_access_matrix import build_world, path_for, snapshot


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


WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
# Path arguments outside the organisation's rows, with a value that reaches the view.
OTHER_ARGUMENTS = {"token": "not-a-real-token"}


def write_rules(app: Flask) -> list[Rule]:
    return sorted(
        (r for r in app.url_map.iter_rules() if set(WRITE_METHODS) & set(r.methods or ())),
        key=lambda r: r.rule,
    )


def drafts(app: Flask) -> list[bytes]:
    return [blob for _, blob in draft_parts()]


def test_every_form_refuses_a_post_without_its_sessions_token(app: Flask) -> None:
    """Generated from the URL map: public, victim and staff forms alike, signed in as an admin.

    Without a token, and with a real token from someone else's session, every write is
    refused with 400 and the database and the drafts are left exactly as they were. The
    JSON API has no CSRF token to check: it never reads the session, and refuses a
    request without its bearer token with 401.
    """
    world = build_world("org-a")
    admin = world.users[Role.ADMIN]
    client = app.test_client()
    someone_elses = csrf_token(app.test_client())
    values = {**world.ids_of(), **OTHER_ARGUMENTS}
    rules = write_rules(app)
    assert {"intake.submit", "victim.sign_in", "cases.merge", "auth.login"} <= {
        r.endpoint for r in rules
    }
    before, drafts_before = snapshot(), drafts(app)
    accepted = {}
    for rule in rules:
        path = path_for(app, rule, values)
        for method in set(WRITE_METHODS) & set(rule.methods or ()):
            for data in ({}, {"csrf_token": someone_elses}):
                # Signed in, with a token of its own in the session, before every attempt
                # (a refused victim page signs the browser out).
                factories.sign_in(client, admin)
                assert csrf_token(client, "/staff/cases/") != someone_elses
                response = client.open(path, method=method, data=data)
                refusal = 401 if path.startswith(API_PREFIX + "/") else 400
                if response.status_code != refusal:
                    accepted[f"{method} {path} {sorted(data)}"] = response.status_code
    assert accepted == {}
    assert snapshot() == before
    assert drafts(app) == drafts_before


def test_a_case_filed_for_a_person_needs_the_token_from_the_form(
    app: Flask, client: FlaskClient
) -> None:
    org = factories.org()
    worker = factories.user(org, Role.CASEWORKER)
    db.session.commit()
    factories.sign_in(client, worker)
    sid = factories.status_id()
    answers = {
        **person_answers(links=factories.post_url(sid=sid)),
        "posts-0-status_id": str(sid),
        "posts-0-kind": "ai_image",
        "action": "save",
    }
    assert client.post("/staff/cases/new", data=answers).status_code == 400
    assert db.session.scalar(select(Case)) is None
    token = csrf_token(client, "/staff/cases/new")
    filed = client.post("/staff/cases/new", data={**answers, "csrf_token": token})
    assert filed.status_code == 200
    assert db.session.scalars(select(Case)).one().filed_by_id == worker.id
