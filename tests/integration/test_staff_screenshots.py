"""Staff add screenshots to a case on its screen, through the victim's upload pipeline."""

from __future__ import annotations

import io
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from casework.accounts.models import Role
from casework.audit.models import AuditEvent
from casework.cases.models import Case, CaseLink, LinkReason, MinorStatus
from casework.evidence.files import evidence_storage
from casework.evidence.models import EvidenceFile
from casework.extensions import db
from casework.intake.uploads import MAX_IMAGES_PER_CASE
from tests import factories
from tests.hostile_files import crafted_png
from tests.intake_support import (
    GPS_MARKER,
    IMAGE_SIGNATURES,
    MAKE_MARKER,
    StoredEvidence,
    page_text,
    photo,
    row_counts,
    stored_evidence,
)


@pytest.fixture
def desk(app: Flask, client: Any) -> dict[str, Any]:
    org = factories.org()
    me = factories.user(org, Role.CASEWORKER, password=None, name="Casey Worker")
    lawyer = factories.user(org, Role.LAWYER, password=None)
    case = factories.case(
        org, links=[factories.post_url("first_acct"), factories.post_url("other")]
    )
    db.session.commit()
    factories.sign_in(client, me)
    return {"org": org, "me": me, "lawyer": lawyer, "case": case, "client": client}


def upload(client: Any, case: Case, files: list[tuple[str, bytes]], item: str = "") -> Any:
    return client.post(
        f"/staff/cases/{case.id}/screenshots",
        data={"screenshots": [(io.BytesIO(data), name) for name, data in files], "item": item},
        content_type="multipart/form-data",
    )


def stored(app: Flask) -> list[StoredEvidence]:
    return stored_evidence(app)


def test_a_caseworker_adds_screenshots_filed_under_the_post_they_show(
    app: Flask, desk: dict[str, Any]
) -> None:
    client, case, me = desk["client"], desk["case"], desk["me"]
    page = client.get(f"/staff/cases/{case.id}").get_data(as_text=True)
    assert 'enctype="multipart/form-data"' in page and 'name="screenshots"' in page
    assert "None of the posts, or not sure" in page
    post = case.items[1]
    response = upload(
        client, case, [("a.jpg", photo(1, "JPEG")), ("b.png", photo(2, "PNG"))], str(post.id)
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/staff/cases/{case.id}#items")
    assert "2 images added." in page_text(client.get(f"/staff/cases/{case.id}"))

    rows = db.session.scalars(select(EvidenceFile).order_by(EvidenceFile.id)).all()
    assert [(r.item_id, r.kept_on_device, r.original_name) for r in rows] == [
        (post.id, False, "a.jpg"),
        (post.id, False, "b.png"),
    ]
    # Encrypted on disk; decrypted, the metadata (camera, location) is gone.
    storage = evidence_storage(app.config, db.session)
    for path in stored(app):
        assert not any(path.read_bytes().startswith(sig) for sig in IMAGE_SIGNATURES)
    for row in rows:
        assert row.storage_key is not None
        plain = storage.get(row.storage_key)
        assert MAKE_MARKER.encode() not in plain and GPS_MARKER.encode() not in plain
        assert b"Exif" not in plain
    # Audited to the caseworker, naming the post.
    [event] = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "evidence.added"))
    assert (event.actor_type, event.actor_id) == ("user", me.id)
    assert event.details == {
        "evidence_files": [r.id for r in rows],
        "hash_only": 0,
        "item_id": post.id,
    }

    # The same file again is not stored twice; "none / not sure" files under no post.
    response = upload(client, case, [("a-again.jpg", photo(1, "JPEG")), ("c.jpg", photo(3))])
    assert "1 image was already in this case." in page_text(
        client.get(response.headers["Location"])
    )
    newest = db.session.scalars(select(EvidenceFile).order_by(EvidenceFile.id.desc())).first()
    assert newest is not None and newest.item_id is None
    assert len(stored(app)) == 3


def test_an_image_already_in_another_case_is_proposed_as_a_link(
    app: Flask, desk: dict[str, Any]
) -> None:
    client, case = desk["client"], desk["case"]
    other = factories.case(desk["org"], links=[factories.post_url("elsewhere")])
    db.session.commit()
    assert upload(client, other, [("x.png", photo(5, "PNG"))]).status_code == 302
    assert upload(client, case, [("y.png", photo(5, "PNG"))]).status_code == 302
    links = db.session.scalars(select(CaseLink).where(CaseLink.reason == LinkReason.SHA256)).all()
    assert {(link.case_a_id, link.case_b_id) for link in links} == {
        tuple(sorted((case.id, other.id)))
    }


def test_bad_files_are_refused_next_to_the_field_and_nothing_is_written(
    app: Flask, desk: dict[str, Any]
) -> None:
    client, case = desk["client"], desk["case"]
    before = row_counts(db.session)
    response = upload(
        client,
        case,
        [
            ("good.jpg", photo(1)),
            ("x.webp", b"%PDF-1.7 not really"),
            ("strip.png", crafted_png(20_000, 2)),
            ("bomb.png", crafted_png(30_000, 30_000)),
        ],
    )
    assert response.status_code == 400
    text = page_text(response)
    assert 'id="new-screenshots-error"' in response.get_data(as_text=True)
    assert "x.webp: This file is not a picture we can read." in text
    assert "strip.png: This picture is too large for us to process." in text
    assert "bomb.png: We could not open this picture safely." in text
    assert row_counts(db.session) == before
    assert stored(app) == []

    # Nothing chosen.
    response = upload(client, case, [])
    assert response.status_code == 400 and "Choose at least one image." in page_text(response)

    # A post of another case is not offered, so it is refused.
    other = factories.case(desk["org"], links=[factories.post_url("elsewhere")])
    db.session.commit()
    before = row_counts(db.session)
    response = upload(client, case, [("a.jpg", photo(1))], str(other.items[0].id))
    assert response.status_code == 400 and 'id="new-item-error"' in response.get_data(as_text=True)
    assert row_counts(db.session) == before and stored(app) == []


def test_the_size_limit_and_the_count_per_case_apply(app: Flask, desk: dict[str, Any]) -> None:
    client, case = desk["client"], desk["case"]
    app.config["MAX_UPLOAD_BYTES"] = 2000
    response = upload(client, case, [("big.jpg", photo(1, size=(400, 300)))])
    assert response.status_code == 400
    assert "big.jpg: This file is too big for us to accept." in page_text(response)
    app.config["MAX_UPLOAD_BYTES"] = 10 * 1024 * 1024

    for seed in range(MAX_IMAGES_PER_CASE - 1):
        factories.evidence(case, seed=100 + seed)
    db.session.commit()
    response = upload(client, case, [("last.jpg", photo(7)), ("one-too-many.jpg", photo(8))])
    assert response.status_code == 400
    assert "one-too-many.jpg: not added. You can send up to 5 images at a time and 10 in all." in (
        page_text(response)
    )
    assert upload(client, case, [("last.jpg", photo(7))]).status_code == 302


@pytest.mark.parametrize("minor", [MinorStatus.YES, MinorStatus.UNSURE])
def test_a_minors_case_takes_no_image_from_staff(
    app: Flask, desk: dict[str, Any], minor: MinorStatus
) -> None:
    client = desk["client"]
    case = factories.case(desk["org"], minor=minor)
    db.session.commit()
    page = page_text(client.get(f"/staff/cases/{case.id}"))
    assert 'name="screenshots"' not in page
    assert "No image is accepted for this case" in page
    before = row_counts(db.session)
    response = upload(client, case, [("a.jpg", photo(1))])
    assert response.status_code == 302
    assert "we do not accept images or screenshots" in page_text(
        client.get(response.headers["Location"])
    )
    assert row_counts(db.session) == before
    assert stored(app) == []


def test_a_failed_save_leaves_no_file_behind(
    app: Flask, desk: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    client, case = desk["client"], desk["case"]
    before = row_counts(db.session)

    def database_gone(*_: Any, **__: Any) -> None:
        raise OperationalError("INSERT INTO case_links", {}, ConnectionError("server closed"))

    monkeypatch.setattr("casework.cases.services.link_evidence", database_gone)
    response = upload(client, case, [("a.jpg", photo(1)), ("b.png", photo(2, "PNG"))])
    assert response.status_code == 400
    assert "The images could not be saved. Nothing was changed" in page_text(response)
    assert row_counts(db.session) == before
    assert stored(app) == []


def test_only_caseworkers_and_admins_add_screenshots(app: Flask, desk: dict[str, Any]) -> None:
    client, case = desk["client"], desk["case"]
    factories.sign_in(client, desk["lawyer"])
    assert 'name="screenshots"' not in client.get(f"/staff/cases/{case.id}").get_data(as_text=True)
    assert upload(client, case, [("a.jpg", photo(1))]).status_code == 403
    outsider = factories.user(factories.org(), Role.ADMIN, password=None)
    db.session.commit()
    factories.sign_in(client, outsider)
    assert upload(client, case, [("a.jpg", photo(1))]).status_code == 404
    assert stored(app) == []
