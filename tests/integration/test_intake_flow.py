"""The public report form end to end: pages, draft, submit, and what lands in the database."""

from __future__ import annotations

import hashlib
import io
import json
import re
from datetime import timedelta
from html import unescape

import pytest
from flask import Flask
from flask.testing import FlaskClient
from PIL import ExifTags, Image
from rq import Queue
from sqlalchemy import select

from casework.audit.models import AuditEvent
from casework.audit.services import verify_all
from casework.cases.models import (
    Case,
    CaseLink,
    CaseStatus,
    FilerRole,
    Item,
    ItemKind,
    LinkReason,
    MinorStatus,
    Priority,
)
from casework.evidence.files import evidence_storage
from casework.evidence.images import pdq_distance, sanitise_image
from casework.evidence.models import EvidenceFile
from casework.extensions import db
from casework.intake.access_codes import WORDS, verify_access_code, wordlist
from casework.jobs import QUEUE_NOTIFICATIONS, redis_connection
from casework.notifications.email import MailSettings, build_message
from casework.notifications.models import OutgoingEmail
from casework.notifications.sealing import unseal
from casework.orm import utcnow
from tests import factories
from tests.intake_support import (
    GPS_MARKER,
    IMAGE_SIGNATURES,
    MAKE_MARKER,
    Answers,
    age_out_drafts,
    assert_moves_on,
    checked,
    draft_part_names,
    draft_parts,
    fill_report,
    input_value,
    page_text,
    photo,
    row_counts,
    selected,
    sent_report,
    stored_evidence,
    submit,
    textarea,
)

POST_A = "https://x.com/grokfan/status/2008000000000000101"
POST_B = "https://twitter.com/someone/status/2008000000000000202?s=20"
POST_C = "x.com/i/status/2008000000000000303"


@pytest.fixture
def receiving_org(app: Flask) -> int:
    organisation = factories.org(receives_public_reports=True)
    db.session.commit()
    return organisation.id


def test_report_with_links_and_screenshots_becomes_one_case_with_clean_encrypted_evidence(
    app: Flask, client: FlaskClient, receiving_org: int
) -> None:
    jpeg, png = photo(1, "JPEG"), photo(2, "PNG")
    answers = Answers(
        links=[POST_A, POST_B, POST_C],
        details={
            0: {"kind": "ai_image"},
            1: {"kind": "prompt_reply", "prompt": "put her in a bikini"},
        },
        screenshots=[("IMG_2201.jpg", jpeg), ("reply.png", png)],
        country="US",
        region="US-CA",
    )
    review = fill_report(client, answers)
    assert "x.com/grokfan/status/2008000000000000101" in page_text(review)
    assert "put her in a bikini" in page_text(review)
    # A half-finished report is not a case: nothing is in the case tables before submit.
    assert db.session.scalar(select(Case)) is None
    assert db.session.scalar(select(EvidenceFile)) is None

    confirmation = submit(client)

    case = db.session.scalars(select(Case)).one()
    assert confirmation.reference == case.reference
    assert case.status is CaseStatus.NEW
    assert case.organisation_id == receiving_org
    assert case.filer_role is FilerRole.SUBJECT
    assert case.minor is MinorStatus.NO
    assert case.priority == Priority.NORMAL
    assert (case.country, case.region) == ("US", "CA")
    assert case.jurisdiction_codes == ["US", "US-CA"]
    assert case.timezone == "Europe/London"
    assert case.contact_email == "person@example.org"
    assert case.wanted_actions == ["takedown"]
    assert case.consent_at is not None

    # The code is shown once, is six words, and only its hash is stored.
    assert len(confirmation.access_code.split()) == WORDS
    assert confirmation.access_code not in (case.access_code_hash or "")
    assert verify_access_code(case.access_code_hash, confirmation.access_code)

    items = db.session.scalars(select(Item).order_by(Item.id)).all()
    assert [i.status_id for i in items] == [
        2008000000000000101,
        2008000000000000202,
        2008000000000000303,
    ]
    assert [i.kind for i in items] == [ItemKind.AI_IMAGE, ItemKind.PROMPT_REPLY, ItemKind.UNKNOWN]
    assert items[1].prompt_text == "put her in a bikini"
    assert items[1].url == "https://x.com/someone/status/2008000000000000202"
    assert all(i.added_by_victim for i in items)

    evidence = db.session.scalars(select(EvidenceFile).order_by(EvidenceFile.id)).all()
    assert len(evidence) == 2
    storage = evidence_storage(app.config, db.session)
    for row, original_name in zip(evidence, ["IMG_2201.jpg", "reply.png"], strict=True):
        assert row.case_id == case.id and row.original_name == original_name
        assert row.storage_key == row.sha256 and not row.kept_on_device
        assert row.pdq and len(row.pdq) == 64
        stored = storage.get(row.storage_key)
        assert hashlib.sha256(stored).hexdigest() == row.sha256
        with Image.open(io.BytesIO(stored)) as img:
            assert len(img.getexif()) == 0
            assert img.getexif().get_ifd(ExifTags.IFD.GPSInfo) == {}
        assert GPS_MARKER.encode() not in stored and MAKE_MARKER.encode() not in stored

    # On disk: ciphertext only, no image signature, nothing readable.
    on_disk = stored_evidence(app)
    assert len(on_disk) == 2
    for path in on_disk:
        raw = path.read_bytes()
        assert raw.startswith(b"CWE1")
        assert not any(sig in raw[:64] for sig in IMAGE_SIGNATURES)
        assert b"JFIF" not in raw and b"IHDR" not in raw and b"Exif" not in raw
        assert GPS_MARKER.encode() not in raw

    actions = [e.action for e in db.session.scalars(select(AuditEvent).order_by(AuditEvent.id))]
    assert actions == ["case.opened", "evidence.added"]
    for event in db.session.scalars(select(AuditEvent)):
        assert "person@example.org" not in json.dumps(event.details)
    assert all(report.ok for report in verify_all(db.session))

    email = db.session.scalars(select(OutgoingEmail)).one()
    assert email.recipient == "person@example.org"
    assert case.reference in email.subject and case.reference in email.body
    # The code is sealed in the row and put into the email only as it is sent.
    assert confirmation.access_code not in email.body
    sent = build_message(email, MailSettings.from_config(app.config), unseal_for(email))
    assert confirmation.access_code in sent.get_content()
    assert "/my-case/" in email.body
    assert "/report" not in email.body and "evidence" not in email.body.lower()
    assert "<img" not in email.body

    # The draft and its screenshots are gone from the draft area.
    assert draft_parts() == []


def test_the_confirmation_email_is_queued_for_delivery_once_the_report_is_saved(
    app: Flask, client: FlaskClient, receiving_org: int
) -> None:
    notifications = Queue(QUEUE_NOTIFICATIONS, connection=redis_connection(app))
    notifications.empty()
    fill_report(client, Answers(links=[POST_A]))
    assert notifications.job_ids == []  # nothing before the report is sent
    submit(client)
    email = db.session.scalars(select(OutgoingEmail)).one()
    # Not left for the next sweep: the person may be waiting for their access code.
    assert notifications.job_ids == [f"email-{email.id}"]
    job = notifications.fetch_job(f"email-{email.id}")
    assert job is not None and job.args == (email.id,)
    assert job.func_name.endswith("deliver_email")
    notifications.empty()


def test_duplicate_links_in_one_report_are_merged_by_status_id(
    client: FlaskClient, receiving_org: int
) -> None:
    same_post = [
        "https://x.com/i/status/2008000000000000101",
        "https://mobile.twitter.com/GrokFan/status/2008000000000000101/photo/1",
        POST_B,
    ]
    fill_report(client, Answers(links=same_post))
    submit(client)
    items = db.session.scalars(select(Item).order_by(Item.id)).all()
    assert [i.status_id for i in items] == [2008000000000000101, 2008000000000000202]
    # The copy that names the account wins over the /i/status/ one.
    assert items[0].handle == "GrokFan"


def test_several_bad_links_among_good_ones_each_get_an_error_and_the_good_ones_are_kept(
    client: FlaskClient, receiving_org: int
) -> None:
    client.post("/report/", data={"filer": "subject"})
    client.post("/report/age", data={"minor": "no"})
    pasted = "\n".join(
        [
            POST_A,
            "https://x.com/grokfan",
            "",
            "https://evil.example/status/1",
            POST_B,
            "https://x.com/someone/status/12ab",
        ]
    )
    response = client.post("/report/posts", data={"links": pasted})
    assert response.status_code == 200
    html = page_text(response)
    assert "Line 2 (“https://x.com/grokfan”): This is a link to a profile, not to a post." in html
    assert "Line 4 (“https://evil.example/status/1”): This is not a link to a post on X" in html
    assert "Line 6 (“https://x.com/someone/status/12ab”): This link to a post on X looks" in html
    assert "Line 1 " not in html and "Line 5 " not in html
    assert "2 lines are good links and are kept" in html
    # Errors are linked to the field, and what was typed is still in it.
    assert 'href="#links"' in html
    assert 'aria-invalid="true"' in html
    assert textarea(html, "links").strip() == pasted.strip()

    # The good lines survive a trip away and back.
    assert client.get("/report/age").status_code == 200
    again = textarea(page_text(client.get("/report/posts")), "links")
    assert "https://x.com/grokfan" in again and POST_A in again

    # Dropping the bad lines keeps exactly the good ones.
    response = client.post("/report/posts", data={"links": pasted, "action": "keep_good"})
    assert_moves_on(response, "/report/posts/details")
    details = page_text(client.get("/report/posts/details"))
    assert "x.com/grokfan/status/2008000000000000101" in details
    assert "x.com/someone/status/2008000000000000202" in details
    assert details.count('<fieldset class="card post-details">') == 2
    assert db.session.scalar(select(Case)) is None


def test_a_minors_report_takes_links_only_is_urgent_and_shows_the_dedicated_routes(
    app: Flask, client: FlaskClient, receiving_org: int
) -> None:
    client.post(
        "/report/",
        data={"filer": "representative", "relationship": "parent_guardian", "authority": "y"},
    )
    response = client.post("/report/age", data={"minor": "yes"})
    assert_moves_on(response, "/report/posts")
    before = page_text(client.get("/report/posts"))
    # Before submitting, with the country not yet known: every country's routes.
    assert "NCMEC CyberTipline" in before and "IWF + Childline Report Remove" in before
    assert "do not download an image" in before
    assert 'type="file"' not in before

    client.post("/report/posts", data={"links": POST_A})
    response = client.post("/report/posts/details", data={"posts-0-kind": "ai_image"})
    # The screenshots page is skipped, and an upload posted to it anyway is refused unread.
    assert_moves_on(response, "/report/where")
    assert client.get("/report/screenshots").headers["Location"].endswith("/report/where")
    refused = client.post(
        "/report/screenshots",
        data={"screenshots": [(io.BytesIO(photo(3)), "child.jpg")], "action": "continue"},
        content_type="multipart/form-data",
    )
    assert refused.status_code == 302
    followed = page_text(client.get(refused.headers["Location"]))
    assert "we do not accept images or screenshots, only links" in followed
    assert draft_part_names() == ["answers"]

    client.post(
        "/report/where",
        data={"country": "US", "language": "en", "contact": "none", "timezone": "America/New_York"},
    )
    client.post("/report/wishes", data={"actions": ["takedown", "police_report"], "consent": "y"})
    review = page_text(client.get("/report/review"))
    assert "NCMEC CyberTipline" in review and "cybertipline.org" in review
    assert "1-800-THE-LOST" in review and "Take It Down" in review
    assert "IWF" not in review  # now only the person's own country

    confirmation = submit(client)
    assert "NCMEC CyberTipline" in confirmation.html
    assert "do not download an image" in confirmation.html
    case = db.session.scalars(select(Case)).one()
    assert case.minor is MinorStatus.YES
    assert case.priority == Priority.URGENT
    assert case.filer_role is FilerRole.REPRESENTATIVE
    assert case.filer_relationship == "parent_guardian" and case.has_authority
    assert case.contact_email is None
    assert db.session.scalar(select(EvidenceFile)) is None
    assert stored_evidence(app) == []
    assert db.session.scalar(select(OutgoingEmail)) is None


@pytest.mark.parametrize("country", ["DE", "FR"])
def test_a_minors_help_shows_for_the_chosen_country_without_a_click(
    client: FlaskClient, receiving_org: int, country: str
) -> None:
    fill_report(client, Answers(minor="yes", country=country))
    review = page_text(client.get("/report/review"))
    panel = review.split('class="minor-panel"', 1)[1].split("</section>", 1)[0]
    shown = panel.split("<details", 1)[0]  # what is visible before anything is opened
    assert "Take It Down" in shown and "takeitdown.ncmec.org" in shown
    if country == "FR":
        assert "PHAROS" in shown and 'href="tel:3018"' in shown
        assert 'href="https://www.pointdecontact.net"' in shown
    assert "StopNCII" not in review


def test_an_adults_confirmation_and_case_page_offer_stopncii(
    client: FlaskClient, receiving_org: int
) -> None:
    fill_report(client, Answers())
    confirmation = submit(client)
    assert 'href="https://stopncii.org"' in confirmation.html
    assert "minor-panel" not in confirmation.html
    assert 'href="https://stopncii.org"' in page_text(client.get("/my-case/case"))


def test_saying_the_person_may_be_a_minor_deletes_screenshots_already_added(
    app: Flask, client: FlaskClient, receiving_org: int
) -> None:
    fill_report(client, Answers(screenshots=[("shot.png", photo(4, "PNG"))]))
    assert draft_part_names() == ["answers", "screenshot"]
    response = client.post("/report/age", data={"minor": "unsure"})
    assert_moves_on(response, "/report/review")
    html = page_text(client.get("/report/review"))
    assert "we deleted the image you had added" in html
    assert draft_part_names() == ["answers"]
    submit(client)
    case = db.session.scalars(select(Case)).one()
    assert case.minor is MinorStatus.UNSURE and case.priority == Priority.URGENT
    assert db.session.scalar(select(EvidenceFile)) is None


def test_keep_on_device_sends_only_the_hash_name_and_size(
    app: Flask, client: FlaskClient, receiving_org: int
) -> None:
    image = photo(5)
    digest = hashlib.sha256(image).hexdigest()
    device_file = {
        "sha256": digest,
        "name": "DSC_0042.jpg",
        "size": len(image),
        "type": "image/jpeg",
    }
    fill_report(client, Answers(device_files=[device_file]))
    review = page_text(client.get("/report/review"))
    assert "1 image kept on your device (fingerprint only)" in review
    submit(client)
    row = db.session.scalars(select(EvidenceFile)).one()
    assert row.kept_on_device and row.storage_key is None and row.pdq is None
    assert (row.sha256, row.original_name, row.size_bytes) == (digest, "DSC_0042.jpg", len(image))
    assert row.media_type == "image/jpeg"
    assert stored_evidence(app) == []


def test_a_kept_image_is_linked_by_its_pdq_to_the_same_image_uploaded_in_another_case(
    app: Flask, client: FlaskClient, receiving_org: int
) -> None:
    """The PDQ the browser sends for a kept image groups it like one computed here."""
    uploaded = photo(6, "PNG", gps=False, size=(320, 240))
    fill_report(client, Answers(links=[POST_A], screenshots=[("upload.png", uploaded)]))
    submit(client)
    # The victim of the second report kept a re-saved copy: another file, the same picture.
    kept = io.BytesIO()
    Image.open(io.BytesIO(uploaded)).save(kept, "JPEG", quality=80)
    # What pdq.js computes for it (tests/e2e/test_pdq_browser.py holds them equal).
    computed = sanitise_image(kept.getvalue(), max_bytes=app.config["MAX_UPLOAD_BYTES"])
    device_file = {
        "sha256": hashlib.sha256(kept.getvalue()).hexdigest(),
        "name": "kept.jpg",
        "size": len(kept.getvalue()),
        "type": "image/jpeg",
        "pdq": computed.pdq,
        "quality": computed.pdq_quality,
    }
    fill_report(client, Answers(links=[POST_B], device_files=[device_file]))
    submit(client)

    first, second = db.session.scalars(select(Case).order_by(Case.id)).all()
    stored, device = db.session.scalars(select(EvidenceFile).order_by(EvidenceFile.id)).all()
    assert device.kept_on_device and device.storage_key is None
    assert (device.pdq, device.pdq_quality) == (computed.pdq, computed.pdq_quality)
    assert device.sha256 != stored.sha256 and stored.pdq is not None
    link = db.session.scalars(select(CaseLink)).one()
    assert (link.case_a_id, link.case_b_id, link.reason) == (first.id, second.id, LinkReason.PDQ)
    assert link.detail == f"{stored.id}:{device.id}"
    assert link.distance == pdq_distance(stored.pdq, computed.pdq)


def test_keep_on_device_drops_any_image_that_arrives_anyway(
    app: Flask, client: FlaskClient, receiving_org: int
) -> None:
    fill_report(client, Answers())
    response = client.post(
        "/report/screenshots",
        data={
            "screenshots": [(io.BytesIO(photo(6)), "sent-by-mistake.jpg")],
            "keep_on_device": "y",
            "device_files": "",
            "action": "continue",
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 200
    assert "we did not keep the file that was sent" in page_text(response)
    assert draft_part_names() == ["answers"]


def test_nothing_typed_is_lost_on_an_error_or_going_back(
    client: FlaskClient, receiving_org: int
) -> None:
    fill_report(client, Answers())
    # Back from the wishes page keeps what was ticked there, even unfinished.
    response = client.post("/report/wishes", data={"actions": ["legal_advice"], "action": "back"})
    assert response.headers["Location"].endswith("/report/where")
    assert checked(page_text(client.get("/report/wishes")), "actions") == ["legal_advice"]

    # An invalid email: the page says so, and keeps everything else that was typed.
    response = client.post(
        "/report/where",
        data={"country": "FR", "language": "fr", "contact": "email", "email": "not an address"},
    )
    html = page_text(response)
    assert response.status_code == 200
    assert "Enter an email address like name@example.org." in html
    assert input_value(html, "email") == "not an address"
    assert selected(html, "country") == ["FR"]
    assert checked(html, "language") == ["fr"]
    assert checked(html, "contact") == ["email"]
    # The page shows its last answers again when reopened, and later pages wait for it.
    assert input_value(page_text(client.get("/report/where")), "email") == "not an address"
    assert client.get("/report/wishes").headers["Location"].endswith("/report/where")


def test_a_report_is_not_sent_without_consent_and_the_draft_stays(
    client: FlaskClient, receiving_org: int
) -> None:
    fill_report(client, Answers())
    response = client.post("/report/wishes", data={"actions": ["takedown"]})
    assert response.status_code == 200
    assert "We can only act with your agreement" in page_text(response)
    assert client.post("/report/submit").headers["Location"].endswith("/report/wishes")
    assert db.session.scalar(select(Case)) is None


def test_without_a_receiving_organisation_nothing_is_saved_and_the_draft_is_kept(
    app: Flask, client: FlaskClient
) -> None:
    factories.org(receives_public_reports=False)
    db.session.commit()
    fill_report(client, Answers(screenshots=[("a.png", photo(7, "PNG"))]))
    before = row_counts(db.session)
    response = client.post("/report/submit")
    assert response.status_code == 503
    assert "Nothing you entered is lost" in page_text(response)
    assert row_counts(db.session) == before
    assert stored_evidence(app) == []
    assert client.get("/report/review").status_code == 200


def test_discarding_a_draft_deletes_it_from_the_server(
    app: Flask, client: FlaskClient, receiving_org: int
) -> None:
    fill_report(client, Answers(screenshots=[("a.png", photo(8, "PNG"))]))
    assert draft_parts()
    response = client.post("/report/discard", data={"confirm": "yes"})
    assert response.headers["Location"].endswith("/report/")
    assert draft_parts() == []
    assert client.get("/report/review").headers["Location"].endswith("/report/")


def test_step_one_asks_about_acting_for_someone_only_of_those_who_do(
    client: FlaskClient, receiving_org: int
) -> None:
    first = page_text(client.get("/report/"))
    section = first.split('class="conditional"', 1)[1].split(">", 1)[0]
    assert "hidden disabled" in section  # not shown, and not sent, to the person themselves
    # The person filing for themselves moves on; nothing about a relationship is kept.
    response = client.post(
        "/report/", data={"filer": "subject", "relationship": "friend", "authority": "y"}
    )
    assert_moves_on(response, "/report/age")
    again = page_text(client.get("/report/"))
    kept = again.split('id="relationship"', 1)[1].split("</select>", 1)[0]
    assert '<option selected value="">' in kept and kept.count("selected") == 1

    # Without JavaScript the hidden questions are not sent: they follow, without an error.
    follow_up = client.post("/report/", data={"filer": "representative"})
    html = page_text(follow_up)
    assert follow_up.status_code == 200
    assert "Tell us how you are related to the person, then continue." in html
    section = html.split('class="conditional"', 1)[1].split(">", 1)[0]
    assert "hidden" not in section and "disabled" not in section
    assert "error-summary" not in html
    assert client.get("/report/age").headers["Location"].endswith("/report/")
    # Answered, they are checked like any other question.
    refused = client.post("/report/", data={"filer": "representative", "relationship": ""})
    assert "Choose your relationship to the person." in page_text(refused)
    answered = client.post(
        "/report/",
        data={"filer": "representative", "relationship": "parent_guardian", "authority": "y"},
    )
    assert_moves_on(answered, "/report/age")


def test_switching_language_mid_step_keeps_what_was_typed(
    client: FlaskClient, receiving_org: int
) -> None:
    client.post("/report/", data={"filer": "subject"})
    client.post("/report/age", data={"minor": "no"})
    page = page_text(client.get("/report/posts"))
    assert 'form="step-form" name="lang" value="fr"' in page and 'id="step-form"' in page
    # Enter in a field presses the form's first button: it must be Continue, not a language.
    first = page.split('form="step-form"', 1)[1].split(">", 1)[0]
    assert 'value="continue" hidden' in first
    typed = "https://x.com/grokfan/status/2008000000000000101\nhttps://x.com/half-typ"
    response = client.post("/report/posts", data={"links": typed, "lang": "fr"})
    assert response.headers["Location"].endswith("/report/posts")
    again = page_text(client.get("/report/posts"))
    assert 'lang="fr"' in again
    assert textarea(again, "links") == typed
    assert "error-summary" not in again  # switching is not an attempt to continue


def test_each_page_has_its_own_step_number(client: FlaskClient, receiving_org: int) -> None:
    fill_report(client, Answers())
    shown = {
        path: page_text(client.get(path)).split('class="step-count">', 1)[1].split("<", 1)[0]
        for path in ("/report/posts", "/report/posts/details", "/report/screenshots")
    }
    assert shown == {
        "/report/posts": "Step 3 of 8",
        "/report/posts/details": "Step 4 of 8",
        "/report/screenshots": "Step 5 of 8",
    }


def test_stopping_asks_first_and_deletes_nothing_until_confirmed(
    app: Flask, client: FlaskClient, receiving_org: int
) -> None:
    fill_report(client, Answers())
    where = page_text(client.get("/report/where"))
    assert 'href="/report/discard?from=where"' in where
    asked = page_text(client.get("/report/discard?from=where"))
    assert "Delete what you entered?" in asked
    assert 'href="/report/where"' in asked  # going back returns to the page left
    assert 'name="confirm" value="yes"' in asked
    # Without the confirmation (an old form, a stray click), nothing is deleted.
    response = client.post("/report/discard")
    assert response.status_code == 200 and "Delete what you entered?" in page_text(response)
    assert draft_parts()
    assert client.get("/report/review").status_code == 200
    # A page name that is not ours goes back to the start, never elsewhere.
    assert 'href="/report/"' in page_text(client.get("/report/discard?from=//evil.example"))


def test_the_form_and_the_email_are_in_french(client: FlaskClient, receiving_org: int) -> None:
    headers = {"Accept-Language": "fr-FR,fr;q=0.9"}
    page = page_text(client.get("/report/", headers=headers))
    assert 'lang="fr"' in page
    assert "Qui fait ce signalement ?" in page
    assert "Sortie rapide" in page
    client.post("/report/", data={"filer": "subject"}, headers=headers)
    client.post("/report/age", data={"minor": "no"}, headers=headers)
    response = client.post(
        "/report/posts", data={"links": "https://x.com/grokfan"}, headers=headers
    )
    assert "Ligne 1" in page_text(response)
    assert "lien vers un profil" in page_text(response)

    client.post("/report/discard", data={"confirm": "yes"})
    fill_report(client, Answers(language="fr", country="FR"))
    confirmation_page = client.post("/report/submit", headers=headers)
    assert "Votre signalement a été envoyé" in page_text(confirmation_page)
    # The code is drawn from the French list, and marked as French for screen readers.
    code = re.search(r'class="access-value code" lang="fr">([^<]+)<', page_text(confirmation_page))
    assert code is not None
    assert all(word in wordlist("fr") for word in code.group(1).split())
    email = db.session.scalars(select(OutgoingEmail)).one()
    assert "Votre signalement" in email.subject
    assert "code d’accès" in email.body or "code d'accès" in email.body


def test_each_screenshot_is_filed_under_the_post_the_person_says_it_shows(
    client: FlaskClient, receiving_org: int
) -> None:
    jpeg, png, third = photo(1, "JPEG"), photo(2, "PNG"), photo(3, "JPEG")
    fill_report(
        client,
        Answers(links=[POST_A, POST_B], screenshots=[("first.jpg", jpeg), ("second.png", png)]),
    )
    page = page_text(client.get("/report/screenshots"))
    # The stored copies are cleaned of hidden data, so their hashes are read from the page.
    first, second = re.findall(r'name="post-([0-9a-f]{64})" form="shots-form"', page)
    assert 'id="shots-form"' in page
    assert "None of these, or not sure" in page and "Which post does first.jpg show?" in page
    post_b = POST_B.split("/status/", 1)[1].split("?", 1)[0]
    # One to the second post, one "not sure"; a forged answer is "not sure", never a post.
    response = client.post(
        "/report/screenshots",
        data={
            f"post-{first}": post_b,
            f"post-{second}": "9999",
            "screenshots": [(io.BytesIO(third), "third.jpg")],
            "action": "upload",
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    page = page_text(client.get("/report/screenshots"))
    chosen = page.split(f'name="post-{first}"', 1)[1].split("</select>", 1)[0]
    assert f'value="{post_b}" selected>' in chosen
    assert " selected" not in page.split(f'name="post-{second}"', 1)[1].split("</select>", 1)[0]
    assert_moves_on(
        client.post("/report/screenshots", data={"action": "continue"}), "/report/review"
    )
    review = page_text(client.get("/report/review"))
    assert "1 matched to the post it shows" in review
    submit(client)

    files = {f.original_name: f for f in db.session.scalars(select(EvidenceFile))}
    assert files["first.jpg"].item is not None
    assert files["first.jpg"].item.status_id == int(post_b)
    assert files["second.png"].item_id is None
    assert files["third.jpg"].item_id is None


def test_the_confirmation_offers_a_case_card_with_nothing_about_the_report(
    client: FlaskClient,
) -> None:
    confirmation = sent_report(client, Answers(email="someone.private@example.org"))
    card = re.search(r'id="case-card">(.*?)</div>', confirmation.html, re.S)
    assert card is not None
    text = unescape(re.sub(r"<[^>]+>", " ", card.group(1)))
    assert confirmation.reference in text and confirmation.access_code in text
    assert re.search(r"https?://\S+/my-case/", text)
    # Nothing the person reported: no link, no detail, no country.
    assert "x.com" not in text and "someone.private" not in text
    assert "data-print" in confirmation.html and "Print command" in confirmation.html
    assert all(word in wordlist("en") for word in confirmation.access_code.split())


def test_the_purge_command_deletes_drafts_left_for_longer_than_the_limit(
    app: Flask, client: FlaskClient
) -> None:
    client.post("/report/", data={"filer": "subject"})
    result = app.test_cli_runner().invoke(args=["casework", "purge-drafts"])
    assert "Deleted 0 expired draft reports." in result.output
    age_out_drafts(timedelta(hours=app.config["DRAFT_MAX_AGE_HOURS"], minutes=1))
    result = app.test_cli_runner().invoke(args=["casework", "purge-drafts"])
    assert result.exit_code == 0
    assert "Deleted 1 expired draft reports." in result.output
    assert draft_parts() == []
    # The browser holding the old id is told, once, and starts again.
    assert client.get("/report/age").headers["Location"].endswith("/report/")
    assert "what you had entered was deleted after 6 hours" in page_text(client.get("/report/"))
    assert "was deleted after" not in page_text(client.get("/report/"))


def unseal_for(email: OutgoingEmail) -> str:
    assert email.sealed_secret is not None
    return unseal(email.sealed_secret, created_at=email.created_at, now=utcnow())
