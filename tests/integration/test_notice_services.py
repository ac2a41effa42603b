"""Notice rules: what can be opened, changed and recorded as sent, and when clocks start."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import select

from casework.accounts.models import Role
from casework.actors import SYSTEM, Actor
from casework.audit.models import AuditEvent
from casework.cases.models import CaseStatus
from casework.deadlines.models import Deadline
from casework.extensions import db
from casework.notices.models import NoticeState
from casework.notices.services import (
    NoticeDetails,
    NoticeError,
    create_notice,
    record_regulator_notice,
    record_sent,
    update_notice,
)
from casework.orm import utcnow
from casework.registry import default_registry
from tests import factories
from tests.letter_cases import complete_notice, realistic_case

REGISTRY = default_registry()


def _setup(route_key: str):  # type: ignore[no-untyped-def]
    org = factories.org()
    caseworker = factories.user(org, Role.CASEWORKER)
    route = REGISTRY.route(route_key)
    case = realistic_case(org, route, with_files=False)
    return caseworker, Actor.staff(caseworker.id, "caseworker"), route, case


def test_a_route_of_another_country_or_a_foreign_item_is_refused(app: Flask) -> None:
    _user, actor, _route, case = _setup("us.tida.removal")
    other = realistic_case(factories.org(), REGISTRY.route("us.tida.removal"), with_files=False)
    with pytest.raises(NoticeError, match="does not apply") as refused:
        create_notice(db.session, case, "fr.dsa.signalement", [case.items[0].id], actor)
    assert refused.value.field == "route_key"
    with pytest.raises(NoticeError, match="not part of this case") as refused:
        create_notice(db.session, case, "us.tida.removal", [other.items[0].id], actor)
    assert refused.value.field == "item_ids"


def test_a_sent_notice_cannot_change_or_be_sent_again(app: Flask) -> None:
    user, actor, route, case = _setup("us.tida.removal")
    notice = complete_notice(case, route, user)
    record_sent(db.session, notice, channel="email", received_at=utcnow(), actor=actor)
    with pytest.raises(NoticeError, match="already recorded as sent"):
        record_sent(db.session, notice, channel="email", received_at=utcnow(), actor=actor)
    with pytest.raises(NoticeError, match="cannot change"):
        update_notice(db.session, notice, NoticeDetails(signature_name="Someone"), actor)


def test_a_receipt_in_the_future_or_before_sending_is_refused(app: Flask) -> None:
    user, actor, route, case = _setup("us.tida.removal")
    notice = complete_notice(case, route, user)
    with pytest.raises(NoticeError, match="in the future") as refused:
        record_sent(
            db.session,
            notice,
            channel="post",
            received_at=utcnow() + timedelta(days=1),
            actor=actor,
        )
    assert refused.value.field == "received_at"
    with pytest.raises(NoticeError, match="received before it was sent"):
        record_sent(
            db.session,
            notice,
            channel="post",
            received_at=utcnow() - timedelta(days=2),
            sent_at=utcnow() - timedelta(days=1),
            actor=actor,
        )
    with pytest.raises(NoticeError, match="how the notice was sent"):
        record_sent(db.session, notice, channel="carrier pigeon", received_at=utcnow(), actor=actor)


def _status_moves(case_id: int) -> list[dict[str, str]]:
    events = db.session.scalars(
        select(AuditEvent)
        .where(AuditEvent.case_id == case_id, AuditEvent.action == "case.status_changed")
        .order_by(AuditEvent.id)
    )
    return [event.details for event in events]


def test_a_new_case_goes_through_triage_and_action_when_its_notice_is_sent(app: Flask) -> None:
    user, actor, route, case = _setup("us.tida.removal")
    notice = complete_notice(case, route, user)
    received = utcnow() - timedelta(hours=1)
    (deadline,) = record_sent(
        db.session, notice, channel="web_form", received_at=received, actor=actor
    )
    assert case.status is CaseStatus.AWAITING_PLATFORM
    assert _status_moves(case.id) == [
        {"from": "new", "to": "triage", "reason": "notice_sent"},
        {"from": "triage", "to": "action", "reason": "notice_sent"},
        {"from": "action", "to": "awaiting_platform", "reason": "notice_sent"},
    ]
    assert case.first_notice_at == received
    assert deadline.due_at == received + timedelta(hours=48)


def test_the_system_never_triages_a_case_to_send_its_notice(app: Flask) -> None:
    user, _actor, route, case = _setup("us.tida.removal")
    notice = complete_notice(case, route, user)
    record_sent(db.session, notice, channel="web_form", received_at=utcnow(), actor=SYSTEM)
    assert case.status is CaseStatus.NEW  # triage is a person's decision
    assert _status_moves(case.id) == []
    assert notice.state is NoticeState.SENT


def test_esafetys_clock_waits_for_its_removal_notice(app: Flask) -> None:
    user, actor, route, case = _setup("au.esafety.iba_complaint")
    notice = complete_notice(case, route, user)
    sent = utcnow() - timedelta(hours=5)
    assert record_sent(db.session, notice, channel="portal", received_at=sent, actor=actor) == []
    assert notice.clock_started_at is None
    with pytest.raises(NoticeError, match="cannot come before"):
        record_regulator_notice(
            db.session, notice, issued_at=sent - timedelta(hours=1), actor=actor
        )
    issued = sent + timedelta(hours=3)
    (deadline,) = record_regulator_notice(db.session, notice, issued_at=issued, actor=actor)
    assert deadline.due_at == issued + timedelta(hours=24)
    assert db.session.scalars(select(Deadline)).all() == [deadline]
    with pytest.raises(NoticeError, match="already started"):
        record_regulator_notice(db.session, notice, issued_at=issued, actor=actor)


def test_a_changed_signature_is_dated_and_the_audit_lists_fields_only(app: Flask) -> None:
    from casework.audit.models import AuditEvent

    _user, actor, route, case = _setup("us.tida.removal")
    notice = create_notice(db.session, case, route.key, [i.id for i in case.items], actor)
    changed = update_notice(
        db.session,
        notice,
        NoticeDetails(signature_name="  Jane Doe ", capacity="subject", contact="x@example.org"),
        actor,
    )
    assert changed == ["signature_name", "signatory_capacity", "contact_details"]
    assert notice.signature_name == "Jane Doe" and notice.signed_at is not None
    event = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "notice.updated")
    ).one()
    assert event.details == {"fields": changed}
    with pytest.raises(NoticeError) as refused:
        update_notice(db.session, notice, NoticeDetails(capacity="cousin"), actor)
    assert refused.value.field == "capacity"
