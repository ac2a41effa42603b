"""Default deny: every staff URL in the URL map refuses anyone not fully signed in."""

from __future__ import annotations

from collections.abc import Iterator

from flask import Flask
from flask.testing import FlaskClient
from werkzeug.routing import AnyConverter, BaseConverter, IntegerConverter, Rule

from casework.accounts.gate import PUBLIC_ENDPOINTS, STAFF_BLUEPRINTS
from casework.accounts.models import Role
from casework.extensions import db
from tests import factories
from tests.factories import sign_in_with_password


def _sample(converter: BaseConverter) -> object:
    """A value the converter accepts, so the URL can be built for any argument type."""
    if isinstance(converter, IntegerConverter):
        return 1
    if isinstance(converter, AnyConverter):
        return sorted(converter.items)[0]
    return "sample"


def _staff_rules(app: Flask) -> Iterator[tuple[Rule, str]]:
    """Every (rule, "METHOD /path") of the staff workspace, with sample values in the path."""
    adapter = app.url_map.bind("localhost")
    for rule in app.url_map.iter_rules():
        blueprint = rule.endpoint.split(".")[0] if "." in rule.endpoint else ""
        if not (rule.rule.startswith("/staff") or blueprint in STAFF_BLUEPRINTS):
            continue
        if rule.endpoint in PUBLIC_ENDPOINTS:
            continue
        values = {name: _sample(rule._converters[name]) for name in rule.arguments}
        path = adapter.build(rule.endpoint, values)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            yield rule, f"{method} {path}"


def _assert_refused(client: FlaskClient, app: Flask) -> int:
    checked = 0
    for _rule, request_line in _staff_rules(app):
        method, path = request_line.split(" ", 1)
        response = client.open(path, method=method)
        if method == "GET":
            assert response.status_code == 302, request_line
            assert response.headers["Location"].startswith("/staff/sign-in?next="), request_line
        else:
            assert response.status_code == 401, request_line
        checked += 1
    return checked


def test_every_staff_url_refuses_a_visitor(app: Flask, client: FlaskClient) -> None:
    checked = _assert_refused(client, app)
    # The auth, admin and notification pages at least; other parts add theirs.
    assert checked >= 14


def test_every_staff_url_refuses_someone_half_way_through_signing_in(
    app: Flask, client: FlaskClient
) -> None:
    org = factories.org()
    admin = factories.user(org, Role.ADMIN)
    factories.with_totp(admin)
    db.session.commit()
    assert sign_in_with_password(client, admin.email).headers["Location"] == "/staff/sign-in/code"
    _assert_refused(client, app)


def test_unknown_staff_urls_do_not_reveal_themselves(app: Flask, client: FlaskClient) -> None:
    response = client.get("/staff/no-such-page")
    assert response.status_code == 302
    assert response.headers["Location"] == "/staff/sign-in?next=/staff/no-such-page"


def test_public_pages_stay_public(app: Flask, client: FlaskClient) -> None:
    for path in ("/", "/healthz", "/privacy", "/staff/sign-in", "/staff/password/forgotten"):
        assert client.get(path).status_code == 200, path


def test_a_refused_form_post_says_what_to_do(app: Flask, client: FlaskClient) -> None:
    response = client.post("/staff/notifications/read-all")
    assert response.status_code == 401
    page = response.get_data(as_text=True)
    assert "Please sign in" in page
    assert "Nothing was changed." in page


def test_the_workspace_root_leads_to_the_persons_starting_page(
    app: Flask, client: FlaskClient
) -> None:
    assert client.get("/staff/").headers["Location"] == "/staff/sign-in?next=/staff/"
    org = factories.org()
    worker = factories.user(org)
    db.session.commit()
    factories.sign_in(client, worker)
    start = client.get("/staff/")
    assert start.status_code == 302
    assert client.get(start.headers["Location"]).status_code == 200
