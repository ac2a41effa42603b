"""Who reaches what in the case workspace: organisations never see each other, roles are enforced.

The URL lists are generated from the app's URL map, so a new route of the
workspace is covered (or makes these tests fail until it is) without anyone
remembering to add it here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from casework.accounts.models import Role
from casework.audit.models import AuditEvent
from casework.cases.models import Case, CaseLink, CaseNote, CaseStatus, Item
from casework.extensions import db
from tests import factories

WORKSPACE_BLUEPRINTS = ("cases",)


@dataclass
class World:
    ids: dict[str, dict[str, Any]]  # organisation name -> url argument -> value
    users: dict[str, Any]
    cases: dict[str, Case]


def _world() -> World:
    ids: dict[str, dict[str, Any]] = {}
    cases: dict[str, Case] = {}
    users: dict[str, Any] = {}
    for name in ("a", "b"):
        org = factories.org(f"org-{name}")
        for role in Role:
            users[f"{name}-{role.value}"] = factories.user(org, role, password=None)
        sid = factories.status_id()
        first = factories.case(org, links=[factories.post_url("shared_poster", sid)])
        second = factories.case(org, links=[factories.post_url("shared_poster", sid)])
        file = factories.evidence(first, item=first.items[0])
        notice = factories.notice(first)
        link = db.session.scalar(select(CaseLink).where(CaseLink.organisation_id == org.id))
        assert link is not None
        ids[name] = {
            "case_id": first.id,
            "item_id": first.items[0].id,
            "notice_id": notice.id,
            "evidence_id": file.id,
            "link_id": link.id,
            "variant": "blurred",
            # A link import's progress page: a run id that names no run.
            "run_id": "0" * 32,
        }
        cases[name] = first
        cases[f"{name}-second"] = second
    db.session.commit()
    return World(ids, users, cases)


def _workspace_rules(app: Flask) -> list[Any]:
    return [
        rule
        for rule in app.url_map.iter_rules()
        if rule.endpoint.split(".")[0] in WORKSPACE_BLUEPRINTS
    ]


def _url(app: Flask, rule: Any, values: dict[str, Any]) -> str:
    missing = set(rule.arguments) - set(values)
    assert not missing, f"{rule.rule} takes {missing}: give this test a value for it"
    with app.test_request_context():
        from flask import url_for

        return url_for(rule.endpoint, **{k: values[k] for k in rule.arguments})


def _methods(rule: Any) -> list[str]:
    return sorted(set(rule.methods or ()) - {"HEAD", "OPTIONS"})


def _audit_count() -> int:
    return int(db.session.scalar(select(func.count()).select_from(AuditEvent)) or 0)


def _send(client: Any, method: str, url: str) -> Any:
    form = {"target": "CW-2026-000001", "assignee": "", "body": "x", "links": "x", "text": "x"}
    if method == "GET":
        return client.get(url)
    return client.open(url, method=method, data=form)


def test_every_id_route_of_another_organisation_is_404(app: Flask, client: Any) -> None:
    world = _world()
    rules = [rule for rule in _workspace_rules(app) if rule.arguments]
    assert len(rules) >= 10  # the case screen, its actions and the evidence routes
    factories.sign_in(client, world.users["a-caseworker"])
    before = _audit_count()
    b_case = world.cases["b"]
    b_state = (b_case.status, b_case.assignee_id, len(b_case.items))
    tried = 0
    for rule in rules:
        # Every id from organisation B, then A's case with B's sub-objects.
        mixed = {**world.ids["b"], "case_id": world.ids["a"]["case_id"]}
        for values in (world.ids["b"], mixed):
            if values is mixed and rule.arguments == {"case_id"}:
                continue
            url = _url(app, rule, values)
            for method in _methods(rule):
                response = _send(client, method, url)
                assert response.status_code == 404, (method, url, response.status_code)
                tried += 1
    assert tried >= 15
    db.session.expire_all()
    b_case = db.session.get_one(Case, world.ids["b"]["case_id"])
    assert (b_case.status, b_case.assignee_id, len(b_case.items)) == b_state
    assert _audit_count() == before  # nothing was viewed or changed


def test_queue_and_overview_show_only_the_own_organisation(app: Flask, client: Any) -> None:
    world = _world()
    factories.sign_in(client, world.users["a-caseworker"])
    for url in ("/staff/cases/?worklist=all", "/staff/cases/overview"):
        page = client.get(url)
        assert page.status_code == 200
    text = client.get("/staff/cases/?worklist=all").get_data(as_text=True)
    assert world.cases["a"].reference in text
    assert world.cases["b"].reference not in text
    assert world.cases["b-second"].reference not in text


def test_bulk_actions_ignore_cases_of_another_organisation(app: Flask, client: Any) -> None:
    world = _world()
    factories.sign_in(client, world.users["a-caseworker"])
    b_case = world.cases["b"]
    response = client.post(
        "/staff/cases/bulk",
        data={"case_ids": [str(b_case.id)], "action": "status", "status": "triage"},
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get_one(Case, b_case.id).status is CaseStatus.NEW


def test_signed_out_visitors_reach_nothing(app: Flask, client: Any) -> None:
    world = _world()
    before = _audit_count()
    for rule in _workspace_rules(app):
        url = _url(app, rule, world.ids["a"])
        for method in _methods(rule):
            response = _send(client, method, url)
            # 401 from the workspace itself, or a redirect to sign-in once a gate runs first.
            assert response.status_code in (302, 401), (method, url, response.status_code)
            assert world.cases["a"].reference.encode() not in response.data
    assert _audit_count() == before


CASEWORK_ONLY = [
    ("post", "/staff/cases/{case}/assign", {"assignee": "{caseworker}"}),
    (
        "post",
        "/staff/cases/{case}/items",
        {"links": "https://x.com/someone/status/2008000000000999999"},
    ),
    ("post", "/staff/cases/{case}/merge", {"target": "{second_ref}"}),
    ("get", "/staff/cases/{case}/merge?target={second_ref}", {}),
    ("post", "/staff/cases/{case}/links/{link}/dismiss", {}),
    (
        "post",
        "/staff/cases/bulk",
        {"case_ids": ["{case}"], "action": "assign", "assignee": "{caseworker}"},
    ),
]


def _fill(template: Any, world: World) -> Any:
    values = {
        "case": world.ids["a"]["case_id"],
        "link": world.ids["a"]["link_id"],
        "caseworker": world.users["a-caseworker"].id,
        "second_ref": world.cases["a-second"].reference,
    }
    if isinstance(template, str):
        return template.format(**values)
    if isinstance(template, list):
        return [_fill(v, world) for v in template]
    return {k: _fill(v, world) for k, v in template.items()}


@pytest.mark.parametrize(("method", "url", "form"), CASEWORK_ONLY)
def test_a_lawyer_cannot_take_caseworker_actions(
    app: Flask, client: Any, method: str, url: str, form: dict[str, Any]
) -> None:
    world = _world()
    factories.sign_in(client, world.users["a-lawyer"])
    before = _audit_count()
    items_before = db.session.scalar(select(func.count()).select_from(Item))
    response = getattr(client, method)(_fill(url, world), data=_fill(form, world))
    assert response.status_code == 403
    db.session.expire_all()
    case = db.session.get_one(Case, world.ids["a"]["case_id"])
    assert case.assignee_id is None
    assert case.merged_into_id is None
    assert db.session.scalar(select(func.count()).select_from(Item)) == items_before
    assert _audit_count() == before


@pytest.mark.parametrize("role", [Role.CASEWORKER, Role.ADMIN])
def test_caseworkers_and_admins_take_caseworker_actions(
    app: Flask, client: Any, role: Role
) -> None:
    world = _world()
    factories.sign_in(client, world.users[f"a-{role.value}"])
    case_id = world.ids["a"]["case_id"]
    assignee = world.users["a-lawyer"]
    assert (
        client.post(
            f"/staff/cases/{case_id}/assign", data={"assignee": str(assignee.id)}
        ).status_code
        == 302
    )
    added = client.post(
        f"/staff/cases/{case_id}/items",
        data={"links": "https://x.com/someone/status/2008000000000999999"},
    )
    assert added.status_code == 302
    dismissed = client.post(f"/staff/cases/{case_id}/links/{world.ids['a']['link_id']}/dismiss")
    assert dismissed.status_code == 302
    merged = client.post(
        f"/staff/cases/{case_id}/merge", data={"target": world.cases["a-second"].reference}
    )
    assert merged.status_code == 302
    db.session.expire_all()
    case = db.session.get_one(Case, case_id)
    assert case.merged_into_id == world.cases["a-second"].id
    target = db.session.get_one(Case, world.cases["a-second"].id)
    assert target.assignee_id == assignee.id  # the source's assignee, as the target had none
    assert 2008000000000999999 in {item.status_id for item in target.items}


@pytest.mark.parametrize("role", list(Role))
def test_every_role_reads_and_notes(app: Flask, client: Any, role: Role) -> None:
    world = _world()
    factories.sign_in(client, world.users[f"a-{role.value}"])
    case_id = world.ids["a"]["case_id"]
    for url in ("/staff/cases/", f"/staff/cases/{case_id}", "/staff/cases/overview"):
        assert client.get(url).status_code == 200
    assert (
        client.post(f"/staff/cases/{case_id}/notes", data={"body": "Called X."}).status_code == 302
    )
    assert db.session.scalar(select(func.count()).select_from(CaseNote)) == 1
    page = client.get(f"/staff/cases/{case_id}").get_data(as_text=True)
    assert "Called X." in page
    # Buttons a role may not use are not offered.
    assert ("Save assignment" in page) is (role is not Role.LAWYER)


def test_a_lawyer_moves_a_case_only_where_the_workflow_lets_lawyers(
    app: Flask, client: Any
) -> None:
    world = _world()
    lawyer = world.users["a-lawyer"]
    factories.sign_in(client, lawyer)
    case_id = world.ids["a"]["case_id"]
    page = client.get(f"/staff/cases/{case_id}").get_data(as_text=True)
    assert "You cannot move this case from its current status." in page
    refused = client.post(f"/staff/cases/{case_id}/status", data={"target": "triage"})
    assert refused.status_code == 302
    flashed = client.get(f"/staff/cases/{case_id}").get_data(as_text=True)
    assert "Your role may not move a case from new to triage." in flashed
    case = db.session.get_one(Case, case_id)
    case.status = CaseStatus.ACTION
    db.session.commit()
    page = client.get(f"/staff/cases/{case_id}").get_data(as_text=True)
    assert '<option value="resolved">' in page
    assert '<option value="closed">' not in page  # closing is for caseworkers and admins
    moved = client.post(f"/staff/cases/{case_id}/status", data={"target": "resolved"})
    assert moved.status_code == 302
    db.session.expire_all()
    assert db.session.get_one(Case, case_id).status is CaseStatus.RESOLVED
