"""The case status workflow: allowed moves, who may make them, and the audit trail."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import select

from casework.actors import SYSTEM, VICTIM, Actor
from casework.audit.models import AuditEvent
from casework.cases.models import CaseStatus
from casework.cases.workflow import (
    TRANSITIONS,
    ForbiddenTransition,
    NotAllowedForActor,
    allowed_targets,
    check_transition,
    transition,
)
from casework.extensions import db
from tests import factories

CASEWORKER = Actor.staff(1, "caseworker")
LAWYER = Actor.staff(2, "lawyer")
ADMIN = Actor.staff(3, "admin")


def test_every_status_is_reachable_from_new() -> None:
    seen = {CaseStatus.NEW}
    frontier = [CaseStatus.NEW]
    while frontier:
        current = frontier.pop()
        for target in TRANSITIONS[current]:
            if target not in seen:
                seen.add(target)
                frontier.append(target)
    assert seen == set(CaseStatus)


def test_the_main_path_is_allowed_for_the_right_people() -> None:
    check_transition(CaseStatus.NEW, CaseStatus.TRIAGE, CASEWORKER)
    check_transition(CaseStatus.TRIAGE, CaseStatus.ACTION, CASEWORKER)
    check_transition(CaseStatus.ACTION, CaseStatus.AWAITING_PLATFORM, LAWYER)
    check_transition(CaseStatus.AWAITING_PLATFORM, CaseStatus.ESCALATED, SYSTEM)
    check_transition(CaseStatus.ESCALATED, CaseStatus.RESOLVED, LAWYER)
    check_transition(CaseStatus.RESOLVED, CaseStatus.CLOSED, CASEWORKER)


def test_a_forbidden_move_says_where_the_case_can_go() -> None:
    with pytest.raises(ForbiddenTransition) as excinfo:
        check_transition(CaseStatus.NEW, CaseStatus.RESOLVED, ADMIN)
    message = str(excinfo.value)
    assert "cannot move from new to resolved" in message
    assert "triage" in message


def test_withdrawn_is_final() -> None:
    with pytest.raises(ForbiddenTransition, match="final"):
        check_transition(CaseStatus.WITHDRAWN, CaseStatus.TRIAGE, ADMIN)


def test_roles_are_enforced() -> None:
    with pytest.raises(NotAllowedForActor, match="lawyer may not"):
        check_transition(CaseStatus.NEW, CaseStatus.TRIAGE, LAWYER)
    with pytest.raises(NotAllowedForActor):
        check_transition(CaseStatus.CLOSED, CaseStatus.TRIAGE, CASEWORKER)
    check_transition(CaseStatus.CLOSED, CaseStatus.TRIAGE, ADMIN)
    with pytest.raises(NotAllowedForActor):
        check_transition(CaseStatus.NEW, CaseStatus.TRIAGE, VICTIM)
    check_transition(CaseStatus.TRIAGE, CaseStatus.WITHDRAWN, VICTIM)


def test_allowed_targets_lists_only_what_the_actor_may_do() -> None:
    assert allowed_targets(CaseStatus.NEW, VICTIM) == [CaseStatus.WITHDRAWN]
    assert CaseStatus.TRIAGE in allowed_targets(CaseStatus.NEW, CASEWORKER)


def test_a_transition_changes_the_case_and_writes_an_audit_event(app: Flask) -> None:
    org = factories.org()
    case = factories.case(org)
    transition(db.session, case, CaseStatus.TRIAGE, CASEWORKER)
    db.session.commit()
    assert case.status is CaseStatus.TRIAGE
    event = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "case.status_changed")
    ).one()
    assert event.case_id == case.id
    assert event.details == {"from": "new", "to": "triage"}
    assert (event.actor_type, event.actor_id) == ("user", CASEWORKER.id)


def test_a_refused_transition_leaves_no_trace(app: Flask) -> None:
    org = factories.org()
    case = factories.case(org)
    db.session.commit()
    before = db.session.scalars(select(AuditEvent.id)).all()
    with pytest.raises(ForbiddenTransition):
        transition(db.session, case, CaseStatus.ESCALATED, CASEWORKER)
    assert case.status is CaseStatus.NEW
    assert db.session.scalars(select(AuditEvent.id)).all() == before
