"""A `next=` target can never send the browser to another site, however it is written."""

from __future__ import annotations

from typing import Any
from urllib.parse import urljoin, urlsplit

import pytest
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from casework.accounts import totp
from casework.accounts.models import Organisation, Role, User
from casework.extensions import db
from casework.orm import utcnow
from tests import factories
from tests.factories import sign_in_with_password

VECTORS = [
    "https://evil.example/",
    "//evil.example/",
    "///evil.example/",
    "/\\evil.example",
    "\\/evil.example",
    "/\t/evil.example",
    "/\n/evil.example",
    "http:evil.example",
    "https:/evil.example",
    "javascript:alert(1)",
    "/%2F%2Fevil.example",
    "/\u3000/evil.example",
    "/ok\r\nLocation: https://evil.example",
]


def where_a_browser_goes(location: str) -> str:
    """Resolve Location as browsers do: tabs and newlines dropped, backslash as slash."""
    cleaned = location.replace("\t", "").replace("\n", "").replace("\r", "").replace("\\", "/")
    return urlsplit(urljoin("http://localhost/privacy", cleaned)).netloc


def switch_language(app: Flask, target: str) -> Any:
    return app.test_client().post("/language", data={"lang": "fr", "next": target})


@pytest.mark.parametrize("target", VECTORS)
def test_language_switch_never_redirects_off_site(app: Flask, target: str) -> None:
    response = switch_language(app, target)
    assert response.status_code == 302
    assert where_a_browser_goes(response.headers["Location"]) == "localhost"


def test_language_switch_returns_to_the_page_it_came_from(app: Flask) -> None:
    response = switch_language(app, "/privacy?x=1")
    assert response.headers["Location"] == "/privacy?x=1"


@settings(
    max_examples=100,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    target=st.one_of(
        st.text(max_size=40),
        st.builds(
            str.__add__,
            st.sampled_from(["/", "//", "/\\", "\\", "http:", "/%2f"]),
            st.text(max_size=30),
        ),
    )
)
def test_any_next_value_stays_on_the_site(app: Flask, target: str) -> None:
    response = switch_language(app, target)
    assert response.status_code == 302
    assert where_a_browser_goes(response.headers["Location"]) == "localhost"


# --- every other place that takes a return address ---------------------------------------


@pytest.fixture
def organisation(app: Flask) -> Organisation:
    return factories.org()


def staff_member(organisation: Organisation, **fields: Any) -> User:
    member = factories.user(organisation, Role.CASEWORKER, **fields)
    db.session.commit()
    return member


@pytest.mark.parametrize("target", VECTORS)
def test_signing_in_with_a_password_never_leaves_the_site(
    app: Flask, organisation: Organisation, target: str
) -> None:
    member = staff_member(organisation)
    response = sign_in_with_password(app.test_client(), member.email, next_url=target)
    assert response.status_code == 302
    assert where_a_browser_goes(response.headers["Location"]) == "localhost"


@pytest.mark.parametrize("target", VECTORS)
def test_signing_in_with_a_second_factor_never_leaves_the_site(
    app: Flask, organisation: Organisation, target: str
) -> None:
    member = staff_member(organisation)
    secret = factories.with_totp(member)
    db.session.commit()
    client = app.test_client()
    # The target is kept in the session between the password and the code.
    assert sign_in_with_password(client, member.email, next_url=target).status_code == 302
    response = client.post("/staff/sign-in/code", data={"code": totp.code_at(secret, utcnow())})
    assert response.status_code == 302
    assert where_a_browser_goes(response.headers["Location"]) == "localhost"
    assert client.get("/staff/notifications/").status_code == 200  # really signed in


@pytest.mark.parametrize("target", VECTORS)
def test_the_sign_in_page_of_someone_signed_in_never_leaves_the_site(
    app: Flask, organisation: Organisation, target: str
) -> None:
    client = app.test_client()
    factories.sign_in(client, staff_member(organisation, password=None))
    response = client.get("/staff/sign-in", query_string={"next": target})
    assert response.status_code == 302
    assert where_a_browser_goes(response.headers["Location"]) == "localhost"


@pytest.mark.parametrize("target", VECTORS)
def test_a_bulk_action_returns_to_the_queue_never_off_the_site(
    app: Flask, organisation: Organisation, target: str
) -> None:
    member = staff_member(organisation, password=None)
    case = factories.case(organisation)
    db.session.commit()
    client = app.test_client()
    factories.sign_in(client, member)
    response = client.post(
        "/staff/cases/bulk",
        data={"case_ids": [str(case.id)], "action": "assign", "assignee": "", "back": target},
    )
    assert response.status_code == 302
    assert where_a_browser_goes(response.headers["Location"]) == "localhost"


def test_the_sign_in_page_keeps_an_on_site_target_through_the_form(
    app: Flask, organisation: Organisation
) -> None:
    """Visitors sent to sign in come back where they were going (the refusals are not blanket)."""
    member = staff_member(organisation)
    client = app.test_client()
    refused = client.get("/staff/cases/?worklist=mine")
    assert refused.headers["Location"] == "/staff/sign-in?next=/staff/cases/?worklist%3Dmine"
    page = client.get(refused.headers["Location"]).get_data(as_text=True)
    assert 'name="next" type="hidden" value="/staff/cases/?worklist=mine"' in page
    response = sign_in_with_password(client, member.email, next_url="/staff/cases/?worklist=mine")
    assert response.headers["Location"] == "/staff/cases/?worklist=mine"
