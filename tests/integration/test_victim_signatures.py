"""The person's own word: staff ask, the person signs on their case page, the letter uses it."""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from casework.accounts.models import Role
from casework.actors import SYSTEM
from casework.audit.models import AuditEvent
from casework.cases.models import Case
from casework.extensions import db
from casework.notices.letters import create_letter
from casework.notices.models import Notice, NoticeState, VictimSignature
from casework.notifications.models import OutgoingEmail
from tests import factories
from tests.intake_support import (
    Answers,
    page_text,
    report_and_sign_out,
    returning_browser,
)

POST_A = "https://x.com/grokfan/status/2008000000000000101"


@pytest.fixture
def asked(app: Flask, client: FlaskClient) -> dict[str, Any]:
    """A report from the form, a TAKE IT DOWN notice opened on it, and a caseworker who asks
    the person to sign."""
    confirmation = report_and_sign_out(
        client, Answers(links=[POST_A], country="US", email="person@example.org")
    )
    case = db.session.scalars(select(Case)).one()
    staff = factories.user(case.organisation, Role.CASEWORKER, password=None)
    notice = factories.notice(case, state=NoticeState.DRAFT, sent_at=None)
    db.session.commit()
    desk = app.test_client()
    factories.sign_in(desk, staff)
    before = set(db.session.scalars(select(OutgoingEmail.id)))
    response = desk.post(f"/staff/notices/notices/{notice.id}/ask-signature")
    assert response.status_code == 302
    return {
        "confirmation": confirmation,
        "case": case,
        "notice": notice,
        "desk": desk,
        "emails_before": before,
    }


def _request() -> VictimSignature:
    db.session.expire_all()
    return db.session.scalars(select(VictimSignature)).one()


def test_asking_emails_the_person_without_any_case_detail(asked: dict[str, Any]) -> None:
    request = _request()
    assert request.signed_at is None
    assert "good-faith" in request.statement_text.lower() or "good faith" in (
        request.statement_text.lower()
    )
    emails = db.session.scalars(
        select(OutgoingEmail).where(OutgoingEmail.id.not_in(asked["emails_before"]))
    ).all()
    assert len(emails) == 1
    email = emails[0]
    assert email.recipient == "person@example.org"
    text = f"{email.subject}\n{email.body}"
    case: Case = asked["case"]
    for secret in (case.reference, "x.com", "grokfan", "TAKE IT DOWN", "intimate", "image "):
        assert secret not in text
    assert "/my-case/" in email.body
    # Asking twice does not email twice.
    asked["desk"].post(f"/staff/notices/notices/{asked['notice'].id}/ask-signature")
    assert db.session.scalars(select(VictimSignature)).all() == [request]
    page = asked["desk"].get(f"/staff/notices/notices/{asked['notice'].id}")
    assert "not signed yet" in page.get_data(as_text=True)


def test_the_person_signs_on_their_case_page_and_the_notice_is_theirs(
    app: Flask, asked: dict[str, Any]
) -> None:
    browser = returning_browser(app, asked["confirmation"])
    page = page_text(browser.get("/my-case/case"))
    request = _request()
    assert "A statement for you to sign" in page
    assert request.statement_text.split("\n\n")[0] in page.replace("&#39;", "'")
    response = browser.post(
        f"/my-case/sign/{request.id}",
        data={"name": "Alex  Doe", "typed_signature": "alex doe", "confirm": "y"},
    )
    assert response.status_code == 302
    notice = db.session.get_one(Notice, asked["notice"].id)
    db.session.refresh(notice)
    assert notice.signature_name == "Alex Doe"
    assert notice.depicted_person == "Alex Doe"
    assert notice.signatory_capacity == "subject"
    assert notice.statements == list(_request().statements) and notice.statements
    assert notice.signed_at is not None
    event = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "notice.signed_by_person")
    ).one()
    assert event.actor_type == "victim"
    screen = asked["desk"].get(f"/staff/notices/notices/{notice.id}").get_data(as_text=True)
    assert "Signed by the person on their case page as “Alex Doe”" in screen
    # The letter is signed by the person, with their statements.
    letter = create_letter(
        db.session, case=notice.case, route_key=notice.route_key, actor=SYSTEM, notice=notice
    )
    printed = json.dumps(letter.data_snapshot, ensure_ascii=False)
    assert "Alex Doe" in printed and '"capacity": "subject"' in printed
    assert "good_faith_non_consent_statement" in printed
    db.session.rollback()

    # Signed once: the request is gone from the page and cannot be replayed.
    assert "A statement for you to sign" not in page_text(browser.get("/my-case/case"))
    replay = browser.post(
        f"/my-case/sign/{request.id}",
        data={"name": "Someone Else", "typed_signature": "Someone Else", "confirm": "y"},
    )
    assert replay.status_code == 404
    db.session.refresh(notice)
    assert notice.signature_name == "Alex Doe"


def test_a_mistake_is_shown_next_to_its_field_and_keeps_what_was_typed(
    app: Flask, asked: dict[str, Any]
) -> None:
    browser = returning_browser(app, asked["confirmation"])
    request = _request()
    response = browser.post(
        f"/my-case/sign/{request.id}",
        data={"name": "Alex Doe", "typed_signature": "Alex Smith", "confirm": "y"},
    )
    html = page_text(response)
    assert response.status_code == 200
    assert "Type your name exactly as you wrote it above to sign." in html
    assert 'value="Alex Doe"' in html and 'value="Alex Smith"' in html
    response = browser.post(
        f"/my-case/sign/{request.id}", data={"name": "Alex Doe", "typed_signature": "Alex Doe"}
    )
    assert "Confirm that the statements are true to sign." in page_text(response)
    assert _request().signed_at is None
    notice = db.session.get_one(Notice, asked["notice"].id)
    assert notice.signature_name is None


def test_another_case_cannot_sign_this_request_nor_can_a_sent_notice_be_signed(
    app: Flask, asked: dict[str, Any]
) -> None:
    request = _request()
    other_browser = app.test_client()
    other = report_and_sign_out(
        other_browser, Answers(links=["https://x.com/b/status/2008000000000000555"])
    )
    intruder = returning_browser(app, other)
    response = intruder.post(
        f"/my-case/sign/{request.id}",
        data={"name": "Mallory", "typed_signature": "Mallory", "confirm": "y"},
    )
    assert response.status_code == 404
    assert _request().signed_at is None

    notice = db.session.get_one(Notice, asked["notice"].id)
    notice.state = NoticeState.SENT
    db.session.commit()
    browser = returning_browser(app, asked["confirmation"])
    assert "A statement for you to sign" not in page_text(browser.get("/my-case/case"))
    response = browser.post(
        f"/my-case/sign/{request.id}",
        data={"name": "Alex Doe", "typed_signature": "Alex Doe", "confirm": "y"},
    )
    assert response.status_code == 404
    db.session.refresh(notice)
    assert notice.signature_name is None
