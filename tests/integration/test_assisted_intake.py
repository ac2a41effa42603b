"""Assisted intake: a caseworker files a case for a person, with the public form's checks."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from casework.accounts.models import Role
from casework.actors import ActorKind
from casework.audit.models import AuditEvent
from casework.cases.models import Case, CaseLink, LinkReason, Priority
from casework.evidence.models import EvidenceFile
from casework.extensions import db
from casework.intake.assisted_views import ASSISTED_DRAFT
from casework.intake.services import draft_store
from casework.notifications.models import OutgoingEmail
from tests import factories
from tests.intake_support import draft_part_names, draft_parts, person_answers, sign_in


@pytest.fixture
def desk(app: Flask, client: Any) -> dict[str, Any]:
    org = factories.org()
    me = factories.user(org, Role.CASEWORKER, password=None, name="Casey Worker")
    lawyer = factories.user(org, Role.LAWYER, password=None)
    db.session.commit()
    factories.sign_in(client, me)
    return {"org": org, "me": me, "lawyer": lawyer, "client": client}


def answers(links: list[str], **changes: Any) -> dict[str, Any]:
    return person_answers(links="\n".join(links), **changes)


def with_details(data: dict[str, Any], page: str) -> dict[str, Any]:
    """The form as sent back after the page showed "about each post"."""
    ids = re.findall(r'name="posts-(\d+)-status_id" value="(\d+)"', page)
    assert ids
    for index, status_id in ids:
        data[f"posts-{index}-status_id"] = status_id
        data[f"posts-{index}-kind"] = "ai_image"
    return {**data, "action": "save"}


def test_a_caseworker_files_for_a_person_who_phoned(desk: dict[str, Any], app: Flask) -> None:
    client, me = desk["client"], desk["me"]
    links = [factories.post_url("poster"), factories.post_url("other")]
    assert "New case for a person" in client.get("/staff/cases/").get_data(as_text=True)
    data = answers(links)
    first = client.post("/staff/cases/new", data={**data, "action": "check"})
    assert first.status_code == 200
    assert db.session.scalar(select(Case)) is None  # nothing written before the caseworker confirms
    page = client.post("/staff/cases/new", data=with_details(data, first.get_data(as_text=True)))
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    case = db.session.scalars(select(Case)).one()
    assert case.reference in html
    assert case.filed_by_id == me.id and case.organisation_id == desk["org"].id
    assert case.priority == Priority.NORMAL and len(case.items) == 2
    assert {i.kind.value for i in case.items} == {"ai_image"}
    assert not any(i.added_by_victim for i in case.items)
    opened = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "case.opened")).one()
    assert opened.actor_type == ActorKind.USER.value and opened.actor_id == me.id
    code = re.search(r'class="access-value code"[^>]*>([^<]+)<', html)
    assert code is not None
    assert db.session.scalar(select(OutgoingEmail)) is None
    detail = client.get(f"/staff/cases/{case.id}").get_data(as_text=True)
    assert "Casey Worker, for the person" in detail
    victim = app.test_client()
    signed_in = sign_in(victim, case.reference, code.group(1))
    assert signed_in.headers["Location"].endswith("/my-case/case")


def test_the_code_is_emailed_when_chosen(desk: dict[str, Any]) -> None:
    client = desk["client"]
    data = answers([factories.post_url()], contact="email", email="p@example.org", access="email")
    first = client.post("/staff/cases/new", data=data)
    html = client.post("/staff/cases/new", data=with_details(data, first.get_data(as_text=True)))
    text = html.get_data(as_text=True)
    assert "emailed to p@example.org" in text and "access-value code" not in text
    assert db.session.scalars(select(OutgoingEmail)).one().recipient == "p@example.org"


def test_emailing_the_code_needs_an_address(desk: dict[str, Any]) -> None:
    response = desk["client"].post(
        "/staff/cases/new", data=answers([factories.post_url()], access="email")
    )
    assert response.status_code == 400
    assert "To email the access code" in response.get_data(as_text=True)


def test_a_minors_case_is_urgent_and_links_only(desk: dict[str, Any]) -> None:
    client = desk["client"]
    data = answers([factories.post_url()], minor="unsure", access="none")
    first = client.post("/staff/cases/new", data=data)
    html = client.post(
        "/staff/cases/new", data=with_details(data, first.get_data(as_text=True))
    ).get_data(as_text=True)
    case = db.session.scalars(select(Case)).one()
    assert case.priority == Priority.URGENT and case.access_code_hash is None
    assert "The person may be under 18" in html and "child-protection" in html
    assert {i.category.value for i in case.items} == {"minor"}


def test_bad_links_are_listed_and_good_ones_kept(desk: dict[str, Any]) -> None:
    client = desk["client"]
    good = [factories.post_url(), factories.post_url()]
    data = answers([good[0], "https://example.org/not-x", good[1]])
    response = client.post("/staff/cases/new", data=data)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "not a link to a post on X" in html and "example.org/not-x" in html  # nothing lost
    kept = client.post("/staff/cases/new", data={**data, "action": "keep_good"})
    text = kept.get_data(as_text=True)
    assert "example.org/not-x" not in text and good[0] in text and good[1] in text
    assert 'name="posts-1-status_id"' in text
    assert db.session.scalar(select(Case)) is None


def test_missing_answers_are_shown_beside_their_fields(desk: dict[str, Any]) -> None:
    data = answers([factories.post_url()], filer="representative", consent=None)
    response = desk["client"].post("/staff/cases/new", data={**data, "action": "save"})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "Choose their relationship to the person." in html
    assert "agreement" in html and db.session.scalar(select(Case)) is None


def test_a_lawyer_cannot_open_a_case(desk: dict[str, Any], app: Flask) -> None:
    lawyer_client = app.test_client()
    factories.sign_in(lawyer_client, desk["lawyer"])
    assert lawyer_client.get("/staff/cases/new").status_code == 403
    assert (
        lawyer_client.post("/staff/cases/new", data=answers([factories.post_url()])).status_code
        == 403
    )


def screenshot(seed: int, name: str = "shot.png") -> tuple[io.BytesIO, str]:
    return io.BytesIO(factories.image_bytes(seed)), name


def test_a_screenshot_is_kept_filed_under_its_post_and_matched(
    desk: dict[str, Any], app: Flask
) -> None:
    client, me = desk["client"], desk["me"]
    earlier = factories.case(desk["org"])
    known = factories.evidence(earlier, seed=41)
    db.session.commit()
    links = [factories.post_url(), factories.post_url()]
    data = answers(links, filer="representative", relationship=None, consent=None)
    # Errors elsewhere on the page: the screenshot is kept all the same, nothing else written.
    first = client.post("/staff/cases/new", data={**data, "screenshots": [screenshot(41)]})
    assert first.status_code == 400
    page = first.get_data(as_text=True)
    assert "shot.png" in page and "Choose their relationship to the person." in page
    sha = re.search(r'name="post-([0-9a-f]{64})"', page)
    assert sha is not None and sha.group(1) == known.sha256
    assert db.session.scalars(select(Case)).all() == [earlier]
    status_id = re.findall(r'name="posts-\d+-status_id" value="(\d+)"', page)[1]
    fixed = {**data, "relationship": "friend", "authority": "y", "consent": "y"}
    fixed[f"post-{sha.group(1)}"] = status_id
    filed = client.post("/staff/cases/new", data=with_details(fixed, page))
    assert filed.status_code == 200
    assert draft_parts() == []  # the draft went with the filing
    case = db.session.scalars(select(Case).where(Case.id != earlier.id)).one()
    evidence = db.session.scalars(select(EvidenceFile).where(EvidenceFile.case_id == case.id)).one()
    assert evidence.storage_key is not None and evidence.sha256 == known.sha256
    assert evidence.item is not None and str(evidence.item.status_id) == status_id
    added = db.session.scalars(
        select(AuditEvent).where(
            AuditEvent.action == "evidence.added", AuditEvent.case_id == case.id
        )
    ).one()
    assert added.actor_type == ActorKind.USER.value and added.actor_id == me.id
    link = db.session.scalars(select(CaseLink).where(CaseLink.reason == LinkReason.SHA256)).one()
    assert {link.case_a_id, link.case_b_id} == {earlier.id, case.id}
    assert link.detail == known.sha256


def test_images_are_refused_for_a_minor(desk: dict[str, Any]) -> None:
    client = desk["client"]
    data = answers([factories.post_url()], minor="yes")
    refused = client.post("/staff/cases/new", data={**data, "screenshots": [screenshot(7)]})
    assert refused.status_code == 400
    page = refused.get_data(as_text=True)
    assert "we do not accept images or screenshots, only links" in page
    assert "shot.png" not in page
    filed = client.post("/staff/cases/new", data=with_details(data, page))
    assert filed.status_code == 200
    assert db.session.scalar(select(EvidenceFile)) is None
    assert db.session.scalars(select(Case)).one().priority == Priority.URGENT


def test_a_screenshot_kept_before_the_person_said_they_may_be_a_minor_is_deleted(
    desk: dict[str, Any],
) -> None:
    client = desk["client"]
    data = answers([factories.post_url()])
    kept = client.post("/staff/cases/new", data={**data, "screenshots": [screenshot(8)]})
    assert "shot.png" in kept.get_data(as_text=True)
    changed = client.post("/staff/cases/new", data={**data, "minor": "unsure"})
    page = changed.get_data(as_text=True)
    assert changed.status_code == 400 and "we deleted the image you had added" in page
    filed = client.post("/staff/cases/new", data=with_details({**data, "minor": "unsure"}, page))
    assert filed.status_code == 200
    assert db.session.scalar(select(EvidenceFile)) is None


def test_a_second_filing_of_the_same_page_while_the_first_writes_opens_no_case(
    desk: dict[str, Any], app: Flask
) -> None:
    client = desk["client"]
    data = answers([factories.post_url()])
    first = client.post("/staff/cases/new", data={**data, "screenshots": [screenshot(42)]})
    assert first.status_code == 200
    page = first.get_data(as_text=True)
    store = draft_store(app.config)
    with client.session_transaction() as staff_session:
        draft = store.load(staff_session[ASSISTED_DRAFT])
    assert draft is not None and store.claim(draft)  # the first click, still writing
    again = client.post("/staff/cases/new", data=with_details(data, page))
    assert again.status_code == 409
    assert "This case is being opened already" in again.get_data(as_text=True)
    assert db.session.scalar(select(Case)) is None
    assert "screenshot" in draft_part_names()  # nothing the caseworker entered is lost
    store.release(draft)  # the first filing failed: the page may be sent again
    assert client.post("/staff/cases/new", data=with_details(data, page)).status_code == 200
    assert len(db.session.scalars(select(Case)).all()) == 1
