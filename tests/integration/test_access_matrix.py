"""Who can reach every staff route, generated from the URL map so no route is forgotten.

For each rule under /staff and each of its methods:
- anonymous: a redirect to the sign-in page, or 401;
- signed in with a role the view does not allow (declared with roles_required): 403;
- signed in to organisation A, with the ids of organisation B's rows in the URL: 404,
  and nothing of organisation B changes.

A route that takes an argument this file does not know fails the test until its
organisation-B value is added to `ids_of` (or it is declared in NON_ID_ARGUMENTS).

The JSON API (/api/v1) takes bearer tokens, not sessions: each of its routes refuses
anonymous callers and every staff session with 401, and a token of organisation A
finds nothing of organisation B's (404), changing nothing.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.routing import Rule

from casework.accounts.api_tokens import issue_token
from casework.accounts.gate import PUBLIC_ENDPOINTS
from casework.accounts.models import ApiToken, Organisation, Role, User
from casework.api.views import API_PREFIX
from casework.api.views import PUBLIC_ENDPOINTS as PUBLIC_API_ENDPOINTS
from casework.cases.models import Case, CaseLink, CaseNote, Item, LinkReason
from casework.deadlines.models import Deadline, Reminder
from casework.evidence.models import EvidenceFile
from casework.extensions import db, login_manager
from casework.notices.models import Letter, Notice, NoticeItem, VictimSignature
from casework.notifications.models import EmailState, Notification, OutgoingEmail
from casework.orm import Base, utcnow
from tests import factories
from tests.api_support import bearer, valid_bodies

STAFF_PREFIX = "/staff"
# Staff endpoints anyone may reach: signing in and its steps. The login view named by
# Flask-Login is added automatically; list further public ones here, by endpoint.
PUBLIC_STAFF_ENDPOINTS: frozenset[str] = PUBLIC_ENDPOINTS
# Path arguments that are not row ids (a queue name, a page number), with a valid value.
NON_ID_ARGUMENTS: dict[str, str] = {
    "variant": "blurred",
    # RQ job ids: the failed-jobs page is the operators' view of the one shared worker.
    "job_id": "deadline-1",
    "page": "1",
    # A link import's run: kept in Redis under a random id, shown only to who started it.
    "run_id": "no-such-run",
}
METHODS_CHECKED = ("GET", "POST", "PUT", "PATCH", "DELETE")


@dataclass
class World:
    """One of every row a staff URL can name, in one organisation."""

    organisation: Organisation
    users: dict[Role, User]
    case: Case
    other_case: Case
    item: Item
    note: CaseNote
    evidence: EvidenceFile
    notice: Notice
    deadline: Deadline
    reminder: Reminder
    letter: Letter
    notification: Notification
    link: CaseLink
    email: OutgoingEmail
    signature_request: VictimSignature
    api_token: ApiToken
    api_secret: str

    def ids_of(self) -> dict[str, Any]:
        """URL argument name → this organisation's value for it."""
        ids: dict[str, Any] = {
            "case_id": self.case.id,
            "reference": self.case.reference,
            "item_id": self.item.id,
            "note_id": self.note.id,
            "evidence_id": self.evidence.id,
            "file_id": self.evidence.id,
            "evidence_file_id": self.evidence.id,
            "notice_id": self.notice.id,
            "deadline_id": self.deadline.id,
            "reminder_id": self.reminder.id,
            "letter_id": self.letter.id,
            "notification_id": self.notification.id,
            "link_id": self.link.id,
            "case_link_id": self.link.id,
            "user_id": self.users[Role.CASEWORKER].id,
            "organisation_id": self.organisation.id,
            "other_case_id": self.other_case.id,
            "version": self.letter.version,
            "email_id": self.email.id,
            "request_id": self.signature_request.id,
            "token_id": self.api_token.id,
            "ref": self.case.reference,
        }
        return ids


def build_world(slug: str) -> World:
    organisation = factories.org(slug)
    # Signed in directly, so no password (hashing one is the slow part of a user).
    users = {role: factories.user(organisation, role, password=None) for role in Role}
    case = factories.case(organisation)
    other_case = factories.case(organisation)
    item = case.items[0]
    note = CaseNote(case_id=case.id, author_id=users[Role.CASEWORKER].id, body="note")
    pdf = b"%PDF-1.4\n%%EOF\n"
    evidence = EvidenceFile(
        case_id=case.id,
        item_id=item.id,
        kept_on_device=True,
        sha256=hashlib.sha256(slug.encode()).hexdigest(),
        size_bytes=0,
    )
    notice = Notice(case_id=case.id, route_key="us.tida.removal", jurisdiction="us")
    db.session.add_all([note, evidence, notice])
    db.session.flush()
    db.session.add(NoticeItem(notice_id=notice.id, item_id=item.id))
    deadline = Deadline(notice_id=notice.id, case_id=case.id, due_at=utcnow() + timedelta(days=2))
    deadline.reminders = [Reminder(remind_at=utcnow() + timedelta(days=1))]
    letter = factories.letter(case, notice, template="us/tida_removal.html", pdf=pdf)
    notification = Notification(
        user_id=users[Role.CASEWORKER].id, case_id=case.id, kind="deadline_missed"
    )
    low, high = sorted((case.id, other_case.id))
    # Both cases were posted by the same account, so grouping has usually proposed it.
    link = db.session.scalar(
        select(CaseLink).where(CaseLink.case_a_id == low, CaseLink.case_b_id == high)
    ) or CaseLink(
        organisation_id=organisation.id,
        case_a_id=low,
        case_b_id=high,
        reason=LinkReason.ACCOUNT,
        detail="poster",
    )
    # A failed email, so the outbox's retry route has something of B's to refuse.
    email = OutgoingEmail(
        organisation_id=organisation.id,
        recipient=f"escalations@{slug}.example",
        subject="s",
        body="b",
        state=EmailState.FAILED,
        attempts=5,
    )
    # A statement the person was asked to sign on their case page.
    signature_request = VictimSignature(
        case_id=case.id, notice_id=notice.id, statements=[], language="en", statement_text="t"
    )
    db.session.add_all([deadline, notification, link, email, signature_request])
    issued = issue_token(
        db.session,
        admin=users[Role.ADMIN],
        user=users[Role.CASEWORKER],
        name="CRM",
        expires_at=None,
        now=utcnow(),
    )
    db.session.commit()
    return World(
        organisation=organisation,
        users=users,
        case=case,
        other_case=other_case,
        item=item,
        note=note,
        evidence=evidence,
        notice=notice,
        deadline=deadline,
        reminder=deadline.reminders[0],
        letter=letter,
        notification=notification,
        link=link,
        email=email,
        signature_request=signature_request,
        api_token=issued.token,
        api_secret=issued.secret,
    )


def staff_rules(app: Flask) -> list[Rule]:
    return sorted(
        (rule for rule in app.url_map.iter_rules() if rule.rule.startswith(STAFF_PREFIX)),
        key=lambda rule: rule.rule,
    )


def public_endpoints() -> set[str]:
    login_view = login_manager.login_view
    return set(PUBLIC_STAFF_ENDPOINTS) | ({str(login_view)} if login_view else set())


def methods_of(rule: Rule) -> list[str]:
    return [m for m in METHODS_CHECKED if m in (rule.methods or set())]


def path_for(app: Flask, rule: Rule, values: dict[str, Any]) -> str:
    """The rule's URL with each argument filled from `values`; unknown arguments fail loudly."""
    missing = sorted(rule.arguments - values.keys() - NON_ID_ARGUMENTS.keys())
    if missing:
        pytest.fail(
            f"{rule.endpoint} ({rule.rule}) takes {missing}: add organisation B's value to "
            "World.ids_of, or the argument to NON_ID_ARGUMENTS if it is not a row id"
        )
    known = {**NON_ID_ARGUMENTS, **values}
    arguments = {name: known[name] for name in rule.arguments}
    return str(app.url_map.bind("localhost").build(rule.endpoint, arguments))


def takes_ids(rule: Rule) -> bool:
    return bool(rule.arguments - NON_ID_ARGUMENTS.keys())


# The session store (which the test's own sign-ins write) and API tokens (whose last use
# is noted on each request).
_BOOKKEEPING_TABLES = frozenset({"web_sessions", "api_tokens"})


def snapshot() -> dict[str, list[tuple[str, ...]]]:
    """Every row of every table except the audit log (which may record the attempts) and
    the bookkeeping tables above."""
    rows = {}
    for table in Base.metadata.sorted_tables:
        if not table.name.startswith("audit") and table.name not in _BOOKKEEPING_TABLES:
            result = db.session.execute(select(table)).all()
            rows[table.name] = sorted(tuple(map(repr, row)) for row in result)
    return rows


def signed_in(app: Flask, user: User) -> FlaskClient:
    client = app.test_client()
    factories.sign_in(client, user)
    return client


@pytest.fixture
def worlds(app: Flask) -> tuple[World, World]:
    return build_world("org-a"), build_world("org-b")


def test_every_staff_route_refuses_anonymous_visitors(
    app: Flask, worlds: tuple[World, World]
) -> None:
    _, b = worlds
    rules = staff_rules(app)
    client = app.test_client()
    login_view = login_manager.login_view
    login_path = app.url_map.bind("localhost").build(str(login_view)) if login_view else None
    tested, failures = set(), {}
    for rule in rules:
        if rule.endpoint in public_endpoints():
            tested.add(rule.rule)
            continue
        path = path_for(app, rule, b.ids_of())
        for method in methods_of(rule):
            response = client.open(path, method=method)
            tested.add(rule.rule)
            location = response.headers.get("Location", "")
            to_sign_in = (
                response.status_code in (302, 303)
                and login_path is not None
                and location.split("?")[0].endswith(login_path)
            )
            if not (to_sign_in or response.status_code == 401):
                failures[f"{method} {path}"] = f"{response.status_code} {location}".strip()
    assert failures == {}
    assert tested == {rule.rule for rule in rules}


def test_roles_outside_a_routes_declared_roles_are_refused(
    app: Flask, worlds: tuple[World, World]
) -> None:
    a, _ = worlds
    before = snapshot()
    tested, failures = set(), {}
    for rule in staff_rules(app):
        allowed = getattr(app.view_functions[rule.endpoint], "required_roles", None)
        if allowed is None:
            continue
        tested.add(rule.rule)
        path = path_for(app, rule, a.ids_of())
        for role in set(Role) - set(allowed):
            client = signed_in(app, a.users[role])
            for method in methods_of(rule):
                status = client.open(path, method=method).status_code
                if status != 403:
                    failures[f"{role.value} {method} {path}"] = status
    assert failures == {}
    assert snapshot() == before
    restricted = {
        rule.rule
        for rule in staff_rules(app)
        if getattr(app.view_functions[rule.endpoint], "required_roles", None) is not None
    }
    assert tested == restricted


def test_another_organisations_ids_give_404_and_change_nothing(
    app: Flask, worlds: tuple[World, World]
) -> None:
    a, b = worlds
    rules = [r for r in staff_rules(app) if takes_ids(r) and r.endpoint not in public_endpoints()]
    before = snapshot()
    tested, failures = set(), {}
    for rule in rules:
        path = path_for(app, rule, b.ids_of())
        for method in methods_of(rule):
            statuses = {}
            for role, staff in a.users.items():
                statuses[role.value] = signed_in(app, staff).open(path, method=method).status_code
            tested.add(rule.rule)
            # A role may be refused outright (403); any role that gets past that must find
            # nothing, and at least one role must get that far.
            if set(statuses.values()) - {403, 404} or 404 not in statuses.values():
                failures[f"{method} {path}"] = statuses
    assert failures == {}
    assert snapshot() == before
    assert tested == {rule.rule for rule in rules}


def api_rules(app: Flask) -> list[Rule]:
    return sorted(
        (
            rule
            for rule in app.url_map.iter_rules()
            if rule.rule.startswith(API_PREFIX + "/") and rule.endpoint not in PUBLIC_API_ENDPOINTS
        ),
        key=lambda rule: rule.rule,
    )


def test_every_api_route_takes_a_token_never_a_session(
    app: Flask, worlds: tuple[World, World]
) -> None:
    a, _ = worlds
    rules = api_rules(app)
    assert rules, "the API's routes are not where this test looks"
    before = snapshot()
    failures = {}
    clients = {"anonymous": app.test_client()} | {
        role.value: signed_in(app, staff) for role, staff in a.users.items()
    }
    for rule in rules:
        path = path_for(app, rule, a.ids_of())
        for method in methods_of(rule):
            body = valid_bodies(a.case).get(rule.endpoint) if method != "GET" else None
            for who, client in clients.items():
                status = client.open(path, method=method, json=body).status_code
                if status != 401:
                    failures[f"{who} {method} {path}"] = status
    assert failures == {}
    assert snapshot() == before


def test_an_api_token_finds_nothing_of_another_organisation(
    app: Flask, worlds: tuple[World, World]
) -> None:
    a, b = worlds
    rules = [rule for rule in api_rules(app) if takes_ids(rule)]
    before = snapshot()
    failures = {}
    client = app.test_client()
    for rule in rules:
        path = path_for(app, rule, b.ids_of())
        for method in methods_of(rule):
            body = valid_bodies(b.case).get(rule.endpoint) if method != "GET" else None
            if method != "GET" and body is None:
                failures[f"{method} {path}"] = "no valid body in tests.api_support.valid_bodies"
                continue
            status = client.open(path, method=method, json=body, headers=bearer(a.api_secret))
            if status.status_code != 404:
                failures[f"{method} {path}"] = status.status_code
    assert failures == {}
    assert snapshot() == before


def test_every_role_restricted_view_lives_under_the_staff_prefix(app: Flask) -> None:
    """A restricted view outside /staff would escape this matrix (and the staff gate)."""
    outside = [
        rule.rule
        for rule in app.url_map.iter_rules()
        if getattr(app.view_functions[rule.endpoint], "required_roles", None) is not None
        and not rule.rule.startswith(STAFF_PREFIX)
    ]
    assert outside == []


def test_each_test_client_request_sees_its_own_user(app: Flask) -> None:
    """The matrix relies on it: Flask-Login must not carry a user over between clients."""
    from flask_login import current_user

    app.add_url_rule("/whoami", "whoami", lambda: str(current_user.get_id()))
    organisation = factories.org()
    first, second = (factories.user(organisation, password=None) for _ in range(2))
    db.session.commit()
    assert signed_in(app, first).get("/whoami").get_data(as_text=True) == first.get_id()
    assert signed_in(app, second).get("/whoami").get_data(as_text=True) == second.get_id()
    assert app.test_client().get("/whoami").get_data(as_text=True) == "None"
