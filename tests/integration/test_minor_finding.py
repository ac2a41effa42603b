"""When staff find that the person depicted is a minor, no image of them stays or goes out.

Whatever the path (a post classified as showing a minor, the case marked as a minor's,
a minor's case merged into another), the case becomes a minor case, urgent; every
stored image file of it is destroyed (its SHA-256 and PDQ kept); the victim cannot add
images; no page, download or bundle decrypts one; and the audit trail says what was
destroyed, in counts and hashes.
"""

from __future__ import annotations

import io
import zipfile

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from casework.accounts.models import Organisation, Role
from casework.audit.models import AuditEvent
from casework.cases.models import Case, ContentCategory, MinorStatus, Priority
from casework.evidence.models import EvidenceFile
from casework.extensions import db
from tests import factories
from tests.intake_support import (
    Answers,
    Confirmation,
    fill_report,
    page_text,
    photo,
    report_and_sign_out,
    returning_browser,
    row_counts,
    stored_evidence,
    submit,
)

POST_A = "https://x.com/grokfan/status/2008000000000000101"
POST_B = "https://x.com/someone/status/2008000000000000202"


@pytest.fixture
def reported(app: Flask, client: FlaskClient) -> Confirmation:
    """An adult's report through the form: two posts, two screenshots stored encrypted."""
    return report_and_sign_out(
        client,
        Answers(
            links=[POST_A, POST_B],
            screenshots=[("a.png", photo(1, "PNG")), ("b.jpg", photo(2, "JPEG"))],
        ),
    )


def _case() -> Case:
    db.session.expire_all()
    return db.session.scalars(select(Case).where(Case.merged_into_id.is_(None))).one()


def _files(case_id: int) -> list[EvidenceFile]:
    return list(
        db.session.scalars(
            select(EvidenceFile).where(EvidenceFile.case_id == case_id).order_by(EvidenceFile.id)
        )
    )


def _staff(app: Flask, role: Role = Role.CASEWORKER) -> FlaskClient:
    organisation = db.session.scalars(select(Organisation)).one()
    person = factories.user(organisation, role)
    db.session.commit()
    browser = app.test_client()
    factories.sign_in(browser, person)
    return browser


def _classify_first_post_as_minor(browser: FlaskClient, case: Case) -> object:
    first, second = case.items
    return browser.post(
        f"/staff/cases/{case.id}/items/categories",
        data={
            f"category-{first.id}": ContentCategory.MINOR.value,
            f"category-{second.id}": ContentCategory.NUDE_SEXUAL.value,
        },
    )


def _assert_destroyed(app: Flask, case: Case, before: list[tuple[int, str, str | None]]) -> None:
    """Every stored image of the case is gone from disk and row; its hashes remain."""
    db.session.expire_all()
    rows = _files(case.id)
    assert [(r.id, r.sha256, r.pdq) for r in rows] == before
    for row in rows:
        assert row.storage_key is None
        assert row.destroyed_at is not None
    assert stored_evidence(app) == []


def _assert_minor_case(case: Case) -> None:
    db.session.expire_all()
    fresh = db.session.get_one(Case, case.id)
    assert fresh.minor is MinorStatus.YES
    assert fresh.priority == Priority.URGENT
    assert {item.category for item in fresh.items} == {ContentCategory.MINOR}


def _destruction_event(case: Case) -> AuditEvent:
    (event,) = db.session.scalars(
        select(AuditEvent).where(
            AuditEvent.case_id == case.id, AuditEvent.action == "case.minor_found"
        )
    ).all()
    return event


def test_classifying_a_post_as_a_minor_makes_the_case_a_minors_and_destroys_its_images(
    app: Flask, reported: Confirmation
) -> None:
    case = _case()
    before = [(r.id, r.sha256, r.pdq) for r in _files(case.id)]
    assert len(before) == 2 and all(r[2] for r in before)
    assert len(stored_evidence(app)) == 2
    browser = _staff(app)

    response = _classify_first_post_as_minor(browser, case)

    assert response.status_code == 302
    _assert_minor_case(case)
    _assert_destroyed(app, case, before)
    event = _destruction_event(case)
    assert event.details["reason"] == "item_classified"
    assert event.details["destroyed_files"] == 2
    assert sorted(f["sha256"] for f in event.details["files"]) == sorted(r[1] for r in before)
    assert sorted(f["pdq"] for f in event.details["files"]) == sorted(r[2] for r in before)
    # Hashes and counts only: no name the victim gave a file, no content.
    assert "a.png" not in str(event.details) and "b.jpg" not in str(event.details)

    # No image of the case can be seen again, blurred or not.
    for row_id, _sha, _pdq in before:
        for variant in ("blurred", "clear"):
            shown = browser.get(f"/staff/cases/{case.id}/evidence/{row_id}/{variant}.jpg")
            assert shown.status_code == 404


def test_marking_the_case_as_a_minors_destroys_its_images(
    app: Flask, reported: Confirmation
) -> None:
    case = _case()
    before = [(r.id, r.sha256, r.pdq) for r in _files(case.id)]
    browser = _staff(app)

    response = browser.post(f"/staff/cases/{case.id}/minor")

    assert response.status_code == 302
    _assert_minor_case(case)
    _assert_destroyed(app, case, before)
    assert _destruction_event(case).details["reason"] == "case_marked"
    page = page_text(browser.get(f"/staff/cases/{case.id}"))
    assert "destroyed" in page


def test_after_the_finding_the_victim_cannot_add_images(app: Flask, reported: Confirmation) -> None:
    case = _case()
    _classify_first_post_as_minor(_staff(app), case)
    victim = returning_browser(app, reported)
    before = row_counts(db.session)

    victim.post(
        "/my-case/images",
        data={"screenshots": [(io.BytesIO(photo(7)), "more.jpg")], "action": "upload"},
        content_type="multipart/form-data",
    )

    assert row_counts(db.session) == before
    assert stored_evidence(app) == []
    html = page_text(victim.get("/my-case/case"))
    assert 'type="file"' not in html
    assert "we do not accept images or screenshots" in html


def test_the_lawyers_bundle_of_a_minors_case_lists_hashes_and_no_image(
    app: Flask, reported: Confirmation
) -> None:
    case = _case()
    before = [(r.id, r.sha256, r.pdq) for r in _files(case.id)]
    _classify_first_post_as_minor(_staff(app), case)
    lawyer = _staff(app, Role.LAWYER)

    response = lawyer.post(f"/staff/notices/cases/{case.id}/bundle")

    assert response.status_code == 200
    with zipfile.ZipFile(io.BytesIO(response.data)) as bundle:
        names = bundle.namelist()
        manifest = bundle.read("manifest.json").decode()
    assert not [name for name in names if name.startswith("exhibits/")]
    for _row_id, sha256, pdq in before:
        assert sha256 in manifest and pdq is not None and pdq in manifest
    assert '"exhibits_decrypted": false' in manifest


def test_a_minors_case_merged_into_an_adults_makes_it_a_minors_case(
    app: Flask, reported: Confirmation, client: FlaskClient
) -> None:
    adult = _case()
    before = [(r.id, r.sha256, r.pdq) for r in _files(adult.id)]
    browser = _staff(app)
    minor = factories.case(adult.organisation, minor=MinorStatus.YES)
    db.session.commit()
    # The adult case is found to be the same child: marking it first is the way.
    refused = browser.post(f"/staff/cases/{minor.id}/merge", data={"target": adult.reference})
    assert refused.status_code == 400
    assert _files(adult.id)[0].storage_key is not None

    browser.post(f"/staff/cases/{adult.id}/minor")
    merged = browser.post(f"/staff/cases/{minor.id}/merge", data={"target": adult.reference})

    assert merged.status_code == 302
    _assert_minor_case(adult)
    _assert_destroyed(app, adult, before)


def test_merging_a_minors_case_into_one_without_images_makes_it_a_minors_case(
    app: Flask, client: FlaskClient
) -> None:
    organisation = factories.org()
    adult = factories.case(organisation)
    minor = factories.case(organisation, minor=MinorStatus.YES)
    worker = factories.user(organisation)
    db.session.commit()
    factories.sign_in(client, worker)

    merged = client.post(f"/staff/cases/{minor.id}/merge", data={"target": adult.reference})

    assert merged.status_code == 302
    _assert_minor_case(adult)
    assert _destruction_event(adult).details["reason"] == "merged"


def test_the_same_image_stored_for_another_case_is_destroyed_too(
    app: Flask, reported: Confirmation
) -> None:
    case = _case()
    other_client = app.test_client()
    fill_report(
        other_client,
        Answers(
            links=["https://x.com/else/status/2008000000000000303"],
            screenshots=[("again.png", photo(1, "PNG"))],
        ),
    )
    submit(other_client)
    other = db.session.scalars(select(Case).where(Case.id != case.id)).one()
    (shared,) = _files(other.id)
    assert shared.storage_key is not None

    _classify_first_post_as_minor(_staff(app), case)

    db.session.expire_all()
    (gone,) = _files(other.id)
    assert gone.storage_key is None and gone.destroyed_at is not None
    assert gone.sha256 == shared.sha256
    assert stored_evidence(app) == []
    (event,) = db.session.scalars(
        select(AuditEvent).where(
            AuditEvent.case_id == other.id, AuditEvent.action == "evidence.destroyed"
        )
    ).all()
    assert event.details["files"] == [
        {"evidence_id": gone.id, "sha256": gone.sha256, "pdq": gone.pdq}
    ]


def test_a_letter_that_printed_the_screenshots_is_destroyed_with_them(
    app: Flask, reported: Confirmation
) -> None:
    from casework.actors import SYSTEM
    from casework.notices.letters import create_letter
    from casework.notices.models import Letter

    case = _case()
    for row in _files(case.id):
        # Staff attached the screenshots to the first post, classified as nude or sexual.
        row.item_id = case.items[0].id
    case.items[0].category = ContentCategory.NUDE_SEXUAL
    with_images = create_letter(
        db.session, case=case, route_key="us.tida.removal", actor=SYSTEM, include_screenshots=True
    )
    without = create_letter(db.session, case=case, route_key="us.tida.removal", actor=SYSTEM)
    db.session.commit()
    printed, plain = with_images.id, without.id
    assert any(e["image"] for e in with_images.data_snapshot["exhibits"])
    hashes = {printed: with_images.sha256, plain: without.sha256}
    lawyer = _staff(app, Role.LAWYER)
    assert lawyer.get(f"/staff/notices/{printed}/download").status_code == 200

    _classify_first_post_as_minor(_staff(app), case)

    db.session.expire_all()
    destroyed = db.session.get_one(Letter, printed)
    assert destroyed.pdf == b"" and destroyed.destroyed_at is not None
    assert destroyed.sha256 == hashes[printed]
    kept = db.session.get_one(Letter, plain)
    assert kept.destroyed_at is None and kept.pdf.startswith(b"%PDF")
    details = _destruction_event(case).details
    assert details["destroyed_letters"] == 1
    assert details["letters"] == [{"letter_id": printed, "sha256": hashes[printed]}]
    for url in (
        f"/staff/notices/{printed}/download",
        f"/staff/notices/{printed}/view.pdf",
        f"/staff/notices/{printed}/page-1.png",
    ):
        assert lawyer.get(url).status_code == 410, url
    assert "its PDF was destroyed" in page_text(lawyer.get(f"/staff/notices/{printed}"))
    response = lawyer.post(f"/staff/notices/cases/{case.id}/bundle")
    assert response.status_code == 200
    with zipfile.ZipFile(io.BytesIO(response.data)) as bundle:
        names = bundle.namelist()
        manifest = bundle.read("manifest.json").decode()
    letter_files = [name for name in names if name.startswith("letters/")]
    assert len(letter_files) == 1
    assert hashes[printed] in manifest and hashes[plain] in manifest
