"""The victim's case page: coming back with reference and code, adding, changing, leaving."""

from __future__ import annotations

import hashlib
import io
import json
import time
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from casework.accounts.models import Role
from casework.actors import Actor
from casework.audit.models import AuditEvent
from casework.audit.services import verify_all
from casework.cases.models import (
    Case,
    CaseJurisdiction,
    CaseLink,
    CaseNote,
    CaseStatus,
    Item,
    LinkReason,
    RemovalState,
)
from casework.cases.workflow import transition
from casework.deadlines.models import Deadline
from casework.deadlines.services import FOLLOW_UP
from casework.evidence.models import EvidenceFile
from casework.extensions import db
from casework.intake.victim.session import SEEN_KEY
from casework.notices.models import Notice, NoticeItem, NoticeState
from casework.notifications.models import OutgoingEmail
from casework.orm import utcnow
from casework.sessions.models import WebSession
from tests import factories
from tests.intake_support import (
    IMAGE_SIGNATURES,
    Answers,
    Confirmation,
    checked,
    fill_report,
    page_text,
    photo,
    report_and_sign_out,
    returning_browser,
    row_counts,
    sent_report,
    sign_in,
    stored_evidence,
    submit,
    textarea,
)

POST_A = "https://x.com/grokfan/status/2008000000000000101"
POST_B = "https://x.com/someone/status/2008000000000000202"
POST_NEW = "https://x.com/another/status/2008000000000000909"


@pytest.fixture
def reported(app: Flask, client: FlaskClient) -> Confirmation:
    """A report sent through the form (two posts, one screenshot); the browser then signs out."""
    return report_and_sign_out(
        client, Answers(links=[POST_A, POST_B], screenshots=[("s.png", photo(1, "PNG"))])
    )


def the_case() -> Case:
    db.session.expire_all()
    return db.session.scalars(select(Case)).one()


def test_coming_back_later_with_reference_and_code_opens_the_case(
    app: Flask, reported: Confirmation
) -> None:
    browser = app.test_client()  # another day, a fresh browser
    assert browser.get("/my-case/case").headers["Location"].endswith("/my-case/")
    typed_reference = reported.reference.lower().replace("-", " ")
    typed_code = "  " + reported.access_code.upper().replace(" ", "-") + "\n"
    response = sign_in(browser, typed_reference, typed_code)
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/my-case/case")
    html = page_text(browser.get("/my-case/case"))
    assert f'Your case <span class="reference">{reported.reference}</span>' in html
    assert "Received" in html
    assert "You sent your report, with 2 posts." in html
    assert "1 image was added." in html
    assert "x.com/grokfan/status/2008000000000000101" in html
    assert "Stored, encrypted: 1. Kept on your device, fingerprint only: 0." in html
    assert checked(html, "contact") == ["email"]
    signed_in = [e.action for e in db.session.scalars(select(AuditEvent))]
    assert "case.victim_signed_in" in signed_in


def test_signing_in_starts_a_fresh_session(app: Flask, reported: Confirmation) -> None:
    browser = app.test_client()
    with browser.session_transaction() as planted:
        planted["csrf_token"] = "planted-by-someone-else"
        planted["victim_case"] = 999
        planted["sid"] = "planted-by-someone-else"
        planted["lang"] = "fr"
    sign_in(browser, reported.reference, reported.access_code)
    with browser.session_transaction() as fresh:
        assert "csrf_token" not in fresh or fresh["csrf_token"] != "planted-by-someone-else"
        assert "victim_case" not in fresh
        token = str(fresh["sid"])
        assert fresh["lang"] == "fr"
    # The cookie's token names a session stored on the server, for this case.
    token_hash = hashlib.sha256(token.encode()).hexdigest()
    stored = db.session.scalars(select(WebSession).where(WebSession.token_hash == token_hash)).one()
    assert stored.case_id == the_case().id


def test_an_idle_session_is_signed_out(app: Flask, reported: Confirmation) -> None:
    browser = returning_browser(app, reported)
    assert browser.get("/my-case/case").status_code == 200
    with browser.session_transaction() as stored:
        stored[SEEN_KEY] = int(time.time()) - 31 * 60
    assert browser.get("/my-case/case").headers["Location"].endswith("/my-case/")


def test_the_timeline_shows_notices_replies_removals_and_deadlines_but_no_staff_detail(
    app: Flask, reported: Confirmation
) -> None:
    case = the_case()
    staff = factories.user(case.organisation, Role.CASEWORKER)
    actor = Actor.staff(staff.id, staff.role.value)
    transition(db.session, case, CaseStatus.TRIAGE, actor)
    transition(db.session, case, CaseStatus.ACTION, actor)
    sent = utcnow() + timedelta(seconds=1)  # after the report, as in life
    notice = Notice(
        case_id=case.id,
        route_key="us_tida",
        jurisdiction="US",
        state=NoticeState.ANSWERED,
        sent_at=sent,
        response_at=sent + timedelta(seconds=2),
        response="Internal: X support agent was rude, escalate if repeated",
    )
    db.session.add(notice)
    db.session.flush()
    first, second = case.items
    db.session.add(
        NoticeItem(notice_id=notice.id, item_id=first.id, removed_at=sent + timedelta(seconds=3))
    )
    db.session.add(NoticeItem(notice_id=notice.id, item_id=second.id))
    db.session.add(
        Deadline(notice_id=notice.id, case_id=case.id, due_at=sent + timedelta(hours=48))
    )
    transition(db.session, case, CaseStatus.AWAITING_PLATFORM, actor)
    db.session.commit()

    browser = returning_browser(app, reported)
    html = page_text(browser.get("/my-case/case"))
    assert "Waiting for the platform" in html
    assert "A notice was sent on your behalf, under the law of United States." in html
    assert "A reply to the notice under the law of United States arrived." in html
    assert "A post was confirmed removed: x.com/grokfan/status/2008000000000000101" in html
    assert "The platform must act by this date under the law of United States." in html
    assert "Your case moved on: Being checked." in html
    assert "rude" not in html and staff.email not in html and staff.name not in html
    # Oldest first.
    assert (
        html.index("You sent your report")
        < html.index("A notice was sent")
        < html.index("A post was confirmed removed")
    )
    assert 'class="badge removed"' in html


def _waiting_on(case: Case, route_key: str, jurisdiction: str, stage: str) -> None:
    notice = Notice(
        case_id=case.id,
        route_key=route_key,
        jurisdiction=jurisdiction,
        state=NoticeState.SENT,
        sent_at=utcnow(),
    )
    db.session.add(notice)
    db.session.flush()
    db.session.add(
        Deadline(
            notice_id=notice.id,
            case_id=case.id,
            stage=stage,
            due_at=utcnow() + timedelta(days=7),
        )
    )
    db.session.commit()


@pytest.mark.parametrize("language", ["en", "fr"])
def test_our_own_follow_up_date_is_not_presented_as_the_law(
    app: Flask, reported: Confirmation, language: str
) -> None:
    """A DSA notice has no legal deadline: the date is ours, and no escalation is promised."""
    case = the_case()
    _waiting_on(case, "eu.dsa.notice", "EU", FOLLOW_UP)
    browser = returning_browser(app, reported)
    html = page_text(browser.get("/my-case/case", headers={"Accept-Language": language}))
    if language == "en":
        assert "We will check on the notice sent under the law of the European Union" in html
        assert "The law sets no deadline for it: this date is ours." in html
        assert "must act" not in html and "escalate" not in html
    else:
        assert "À cette date, nous ferons le point sur la notification envoyée" in html
        assert "aucun délai pour cette notification : cette date est la nôtre." in html
        assert "doit agir" not in html and "saisirons" not in html


@pytest.mark.parametrize(
    ("route_key", "escalates"),
    [("us.tida.removal", True), ("eu.gdpr.erasure_x", True), ("eu.gdpr.erasure_generator", False)],
)
def test_a_legal_deadline_promises_an_escalation_only_where_the_route_has_one(
    app: Flask, reported: Confirmation, route_key: str, escalates: bool
) -> None:
    case = the_case()
    _waiting_on(case, route_key, route_key.split(".")[0].upper(), "response")
    browser = returning_browser(app, reported)
    html = page_text(browser.get("/my-case/case"))
    assert "The platform must act by this date under the law of" in html
    assert ("If it does not, we will escalate." in html) is escalates
    assert ("If it does not, your advocate will look at what can be done next." in html) is (
        not escalates
    )
    html_fr = page_text(browser.get("/my-case/case", headers={"Accept-Language": "fr"}))
    assert "La plateforme doit agir avant cette date (droit applicable :" in html_fr


def test_the_waiting_status_does_not_claim_a_legal_deadline() -> None:
    from casework.intake.victim.wording import STATUS_WORDS

    for status in ("awaiting_platform", "escalated"):
        explained = str(STATUS_WORDS[status][1])
        assert "The law gives" not in explained and "authority" not in explained


def test_the_keep_on_device_option_does_not_oversell_what_a_hash_finds(
    app: Flask, reported: Confirmation
) -> None:
    """A SHA-256 matches identical files only; the PDQ finds the picture in our reports only."""
    browser = returning_browser(app, reported)
    html = page_text(browser.get("/my-case/case"))
    assert "platforms use to find copies" not in html
    assert "an exact one (SHA-256), which matches only an identical copy of the file" in html
    assert "recognise the same picture in other reports we receive, even resized" in html


def test_adding_links_keeps_bad_lines_out_and_skips_posts_already_there(
    app: Flask, reported: Confirmation
) -> None:
    browser = returning_browser(app, reported)
    before = row_counts(db.session)
    pasted = f"{POST_NEW}\nhttps://x.com/another\n{POST_A}"
    response = browser.post("/my-case/links", data={"links": pasted})
    html = page_text(response)
    assert response.status_code == 200
    assert "Line 2 (“https://x.com/another”): This is a link to a profile" in html
    assert textarea(html, "links") == pasted
    assert row_counts(db.session) == before

    response = browser.post("/my-case/links", data={"links": pasted, "action": "add_good"})
    assert response.status_code == 302
    html = page_text(browser.get("/my-case/case"))
    assert "Links added: 1." in html
    assert "Already in your case, so not added again: 1." in html
    assert "You added 1 link." in html
    items = db.session.scalars(select(Item).order_by(Item.id)).all()
    assert [i.status_id for i in items][-1] == 2008000000000000909
    assert items[-1].added_by_victim
    event = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "case.items_added")
    ).one()
    assert event.actor_type == "victim" and event.details == {"items": [items[-1].id]}


def test_switching_language_on_the_case_page_keeps_links_typed_but_not_added(
    app: Flask, reported: Confirmation
) -> None:
    browser = returning_browser(app, reported)
    html = page_text(browser.get("/my-case/case"))
    assert 'form="links-form" name="lang" value="fr"' in html and 'id="links-form"' in html
    before = row_counts(db.session)
    typed = f"{POST_NEW}\nhttps://x.com/half-typ"
    response = browser.post("/my-case/links", data={"links": typed, "lang": "fr"})
    html = page_text(response)
    assert response.status_code == 200
    assert '<html lang="fr">' in html and "Votre dossier" in html
    assert textarea(html, "links") == typed
    assert "error-summary" not in html  # switching is not an attempt to add
    assert row_counts(db.session) == before
    # The choice stays for the next page.
    assert '<html lang="fr">' in page_text(browser.get("/my-case/case"))


def test_adding_screenshots_and_hashes_from_the_case_page(
    app: Flask, reported: Confirmation
) -> None:
    browser = returning_browser(app, reported)
    image = photo(2, "JPEG")
    response = browser.post(
        "/my-case/images",
        data={"screenshots": [(io.BytesIO(image), "later.jpg")], "action": "upload"},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    kept = photo(3, "JPEG")
    device_file = {
        "sha256": hashlib.sha256(kept).hexdigest(),
        "name": "k.jpg",
        "size": len(kept),
        "pdq": "5a" * 32,
        "quality": 64,
    }
    response = browser.post(
        "/my-case/images",
        data={"keep_on_device": "y", "device_files": json.dumps([device_file])},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    html = page_text(browser.get("/my-case/case"))
    assert "Stored, encrypted: 2. Kept on your device, fingerprint only: 1." in html
    rows = db.session.scalars(select(EvidenceFile).order_by(EvidenceFile.id)).all()
    assert [r.kept_on_device for r in rows] == [False, False, True]
    assert (rows[2].pdq, rows[2].pdq_quality) == ("5a" * 32, 64)
    on_disk = stored_evidence(app)
    assert len(on_disk) == 2
    for path in on_disk:
        raw = path.read_bytes()
        assert not any(sig in raw for sig in IMAGE_SIGNATURES[:2])
        assert b"Exif" not in raw

    # A file that is not an image is refused, and nothing changes.
    before = row_counts(db.session)
    response = browser.post(
        "/my-case/images",
        data={"screenshots": [(io.BytesIO(b"%PDF-1.7 not really"), "x.webp")]},
        content_type="multipart/form-data",
    )
    assert "x.webp: This file is not a picture we can read." in page_text(response)
    assert row_counts(db.session) == before


def _image_links() -> set[tuple[str, str]]:
    """The proposed same-image links, as pairs of case references."""
    db.session.expire_all()
    references = dict(db.session.execute(select(Case.id, Case.reference)).all())
    return {
        (references[link.case_a_id], references[link.case_b_id])
        for link in db.session.scalars(select(CaseLink).where(CaseLink.reason == LinkReason.SHA256))
    }


def test_a_second_report_with_the_same_screenshot_is_proposed_as_the_same_person(
    app: Flask, reported: Confirmation
) -> None:
    other = app.test_client()
    fill_report(other, Answers(links=[POST_NEW], screenshots=[("same.png", photo(1, "PNG"))]))
    second = submit(other)
    assert _image_links() == {(reported.reference, second.reference)}


def test_a_screenshot_added_from_the_case_page_is_matched_with_other_cases(
    app: Flask, reported: Confirmation
) -> None:
    other = app.test_client()
    fill_report(other, Answers(links=[POST_NEW]))
    second = submit(other)
    assert _image_links() == set()
    response = other.post(
        "/my-case/images",
        data={"screenshots": [(io.BytesIO(photo(1, "PNG")), "found-it.png")], "action": "upload"},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    assert _image_links() == {(reported.reference, second.reference)}


def test_a_minors_case_page_takes_no_images(app: Flask, client: FlaskClient) -> None:
    confirmation = sent_report(client, Answers(minor="yes", country="FR"))
    html = page_text(client.get("/my-case/case"))
    assert 'type="file"' not in html
    assert "PHAROS" in html and "internet-signalement.gouv.fr" in html
    assert "Point de Contact" in html
    before = row_counts(db.session)
    response = client.post(
        "/my-case/images",
        data={"screenshots": [(io.BytesIO(photo(4)), "a.jpg")]},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    assert "we do not accept images or screenshots" in page_text(client.get("/my-case/case"))
    assert row_counts(db.session) == before
    assert stored_evidence(app) == []
    assert confirmation.reference == the_case().reference


def test_changing_contact_preferences(app: Flask, reported: Confirmation) -> None:
    browser = returning_browser(app, reported)
    response = browser.post(
        "/my-case/contact", data={"language": "fr", "contact": "email", "email": ""}
    )
    assert "Enter the email address we should write to." in page_text(response)
    response = browser.post(
        "/my-case/contact", data={"language": "fr", "contact": "none", "email": "kept@example.org"}
    )
    assert response.status_code == 302
    case = the_case()
    assert case.language == "fr" and case.contact_email is None
    event = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "case.contact_changed")
    ).one()
    assert event.details == {"language": "fr", "email": False}


def test_withdrawing_a_case(app: Flask, reported: Confirmation) -> None:
    browser = returning_browser(app, reported)
    response = browser.post("/my-case/withdraw", data={})
    assert "Tick the box to confirm that you want to withdraw." in page_text(response)
    assert the_case().status is CaseStatus.NEW
    response = browser.post("/my-case/withdraw", data={"confirm": "y"})
    assert response.status_code == 302
    assert the_case().status is CaseStatus.WITHDRAWN
    html = page_text(browser.get("/my-case/case"))
    assert "Your case was withdrawn." in html
    assert "Withdraw my case" not in html
    response = browser.post("/my-case/withdraw", data={"confirm": "y"})
    assert "cannot be withdrawn" in page_text(browser.get(response.headers["Location"]))
    event = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "case.status_changed")
    ).one()
    assert event.actor_type == "victim"
    assert event.details == {"from": "new", "to": "withdrawn", "reason": "victim_request"}


def test_deleting_a_case_removes_evidence_and_personal_data_and_keeps_a_bare_audit_record(
    app: Flask, reported: Confirmation
) -> None:
    case = the_case()
    case_id, org_id = case.id, case.organisation_id
    # Another person's case holds the same image: its file must survive.
    shared = db.session.scalars(select(EvidenceFile)).one()
    shared_key = shared.storage_key
    other = factories.case(case.organisation)
    db.session.add(
        EvidenceFile(
            case_id=other.id,
            storage_key=shared.storage_key,
            sha256=shared.sha256,
            size_bytes=shared.size_bytes,
        )
    )
    # Work done on the case by staff goes with it.
    notice = Notice(case_id=case.id, route_key="us_tida", jurisdiction="US", sent_at=utcnow())
    db.session.add(notice)
    db.session.flush()
    db.session.add(NoticeItem(notice_id=notice.id, item_id=case.items[0].id))
    db.session.add(Deadline(notice_id=notice.id, case_id=case.id, due_at=utcnow()))
    db.session.add(CaseNote(case_id=case.id, body="Spoke to the person on the phone."))
    db.session.commit()
    browser = returning_browser(app, reported)
    browser.post(
        "/my-case/images",
        data={"screenshots": [(io.BytesIO(photo(5, "JPEG")), "only-mine.jpg")]},
        content_type="multipart/form-data",
    )
    assert len(stored_evidence(app)) == 2
    assert db.session.scalar(select(OutgoingEmail)) is not None

    response = browser.post("/my-case/delete", data={"confirm": "y"})
    assert response.headers["Location"].endswith("/my-case/deleted")
    assert "Your case has been deleted" in page_text(browser.get("/my-case/deleted"))

    db.session.expire_all()
    assert db.session.get(Case, case_id) is None
    assert db.session.scalars(select(Item).where(Item.case_id == case_id)).all() == []
    assert (
        db.session.scalars(select(EvidenceFile).where(EvidenceFile.case_id == case_id)).all() == []
    )
    assert (
        db.session.scalars(
            select(CaseJurisdiction).where(CaseJurisdiction.case_id == case_id)
        ).all()
        == []
    )
    assert db.session.scalar(select(OutgoingEmail)) is None
    for model in (Notice, NoticeItem, Deadline, CaseNote):
        assert db.session.scalars(select(model)).all() == [], model
    remaining = stored_evidence(app)
    assert [p.name for p in remaining] == [f"{shared_key}.bin"]

    events = db.session.scalars(
        select(AuditEvent).where(AuditEvent.case_id == case_id).order_by(AuditEvent.id)
    ).all()
    assert events[-1].action == "case.deleted"
    assert events[-1].details == {"items": 2, "evidence_files": 2, "reason": "victim_request"}
    dumped = json.dumps([e.details for e in events])
    assert "person@example.org" not in dumped and "grokfan" not in dumped
    assert all(report.ok for report in verify_all(db.session))
    assert org_id == events[-1].chain_id

    # The old reference and code open nothing, and the browser is signed out.
    assert browser.get("/my-case/case").headers["Location"].endswith("/my-case/")
    again = page_text(sign_in(app.test_client(), reported.reference, reported.access_code))
    assert "We could not open a case" in again


def test_deleting_needs_a_confirmation(app: Flask, reported: Confirmation) -> None:
    browser = returning_browser(app, reported)
    before = row_counts(db.session)
    response = browser.post("/my-case/delete", data={})
    assert "Tick the box to confirm that you want to delete everything." in page_text(response)
    assert row_counts(db.session) == before


def test_case_pages_need_a_signed_in_case(client: FlaskClient, reported: Confirmation) -> None:
    for method, url in [
        ("get", "/my-case/case"),
        ("post", "/my-case/links"),
        ("post", "/my-case/images"),
        ("post", "/my-case/contact"),
        ("get", "/my-case/withdraw"),
        ("post", "/my-case/delete"),
    ]:
        response = getattr(client, method)(url, data={"confirm": "y"})
        assert response.status_code == 302, url
        assert response.headers["Location"].endswith("/my-case/"), url
    assert the_case().status is CaseStatus.NEW


def test_removal_checks_without_a_notice_also_show(app: Flask, reported: Confirmation) -> None:
    case = the_case()
    item = case.items[1]
    item.removal_state = RemovalState.REMOVED
    item.removal_checked_at = utcnow()
    db.session.commit()
    browser = returning_browser(app, reported)
    html = page_text(browser.get("/my-case/case"))
    assert "A post was confirmed removed: x.com/someone/status/2008000000000000202" in html
