"""Hostile files sent through the real upload routes: refused by name, nothing kept.

Decompression bombs, absurd dimensions and files that are two things at once (a GIF
that is also a ZIP, a PDF carrying a JPEG, HTML behind a PNG signature, an SVG with
script) are refused on the report form and on the victim's case page, with the reason
next to the field; the database, the draft and the evidence folder stay as they were.
A JPEG that is also a ZIP is a real picture, so it is kept, but only as its pixels:
what is stored opens as a picture and as nothing else.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from casework.evidence.files import evidence_storage
from casework.evidence.models import EvidenceFile
from casework.extensions import db
from tests.hostile_files import (
    ZIP_MARKER,
    crafted_png,
    flat_png,
    gif_zip_polyglot,
    html_behind_png_magic,
    jpeg_zip_polyglot,
    pdf_jpeg_polyglot,
    picture,
    svg_with_script,
)
from tests.intake_support import (
    StoredEvidence,
    draft_parts,
    filled_report,
    page_text,
    row_counts,
    sent_report,
    stored_evidence,
    submit,
)

SAFELY = "We could not open this picture safely."
TOO_LARGE = "This picture is too large for us to process."
NOT_A_PICTURE = "This file is not a picture we can read."
NOT_ACCEPTED = "We cannot accept this type of picture."
DAMAGED = "This picture seems to be damaged or incomplete"

HOSTILE = [
    pytest.param("bomb.png", crafted_png(30_000, 30_000), SAFELY, id="bomb-900-megapixels"),
    pytest.param("quiet.png", crafted_png(7_000, 7_000), SAFELY, id="bomb-49-megapixels"),
    pytest.param("black.png", flat_png(6_320, 6_320), SAFELY, id="116-kb-of-40-megapixels"),
    pytest.param("flat.png", flat_png(4_470, 4_470), SAFELY, id="58-kb-of-20-megapixels"),
    pytest.param("strip.png", crafted_png(20_000, 2), TOO_LARGE, id="20000-pixels-wide"),
    pytest.param("gifar.gif", gif_zip_polyglot(), NOT_ACCEPTED, id="gif-and-zip"),
    pytest.param("scan.jpg", pdf_jpeg_polyglot(), NOT_A_PICTURE, id="pdf-carrying-a-jpeg"),
    pytest.param("page.png", html_behind_png_magic(), DAMAGED, id="html-behind-png-magic"),
    pytest.param("vector.png", svg_with_script(), NOT_ACCEPTED, id="svg-with-script"),
]


def post_files(client: FlaskClient, url: str, files: list[tuple[str, bytes]], **fields: Any) -> Any:
    data: dict[str, Any] = {"screenshots": [(io.BytesIO(b), n) for n, b in files], **fields}
    return client.post(url, data=data, content_type="multipart/form-data")


def stored_files(app: Flask) -> list[StoredEvidence]:
    return stored_evidence(app)


def draft_files(app: Flask) -> list[bytes]:
    return [blob for _, blob in draft_parts()]


@pytest.fixture
def at_screenshots(app: Flask, client: FlaskClient) -> FlaskClient:
    filled_report(client)
    return client


@pytest.fixture
def victim(app: Flask, client: FlaskClient) -> FlaskClient:
    """Signed in to her case, as the confirmation page leaves her."""
    sent_report(client)
    return client


@pytest.mark.parametrize(("name", "data", "reason"), HOSTILE)
def test_the_report_form_refuses_it_and_keeps_nothing(
    app: Flask, at_screenshots: FlaskClient, name: str, data: bytes, reason: str
) -> None:
    rows, drafts = row_counts(db.session), draft_files(app)
    response = post_files(at_screenshots, "/report/screenshots", [(name, data)], action="continue")
    assert response.status_code == 200
    html = page_text(response)
    assert f"{name}: {reason}" in html
    assert 'class="error-summary"' in html
    assert row_counts(db.session) == rows
    # The draft's answers are written again (encrypted anew), but no image joins them.
    assert len(draft_files(app)) == len(drafts)
    assert stored_files(app) == []


@pytest.mark.parametrize(("name", "data", "reason"), HOSTILE)
def test_the_case_page_refuses_it_and_keeps_nothing(
    app: Flask, victim: FlaskClient, name: str, data: bytes, reason: str
) -> None:
    rows, files = row_counts(db.session), stored_files(app)
    response = post_files(victim, "/my-case/images", [(name, data)])
    assert response.status_code == 200
    assert f"{name}: {reason}" in page_text(response)
    assert row_counts(db.session) == rows
    assert stored_files(app) == files


def test_a_jpeg_that_is_also_a_zip_is_kept_as_pixels_only(
    app: Flask, at_screenshots: FlaskClient
) -> None:
    polyglot = jpeg_zip_polyglot()
    response = post_files(
        at_screenshots, "/report/screenshots", [("holiday.jpg", polyglot)], action="continue"
    )
    assert response.status_code == 302
    fill_where_and_wishes(at_screenshots)
    submit(at_screenshots)

    row = db.session.scalars(select(EvidenceFile)).one()
    assert row.storage_key is not None
    stored = evidence_storage(app.config, db.session).get(row.storage_key)
    assert stored.startswith(b"\xff\xd8\xff") and stored.endswith(b"\xff\xd9")
    assert not zipfile.is_zipfile(io.BytesIO(stored))
    assert b"PK\x03\x04" not in stored and ZIP_MARKER not in stored
    # The hash on record is of what was kept, not of what was sent.
    assert row.sha256 == hashlib.sha256(stored).hexdigest()
    assert row.sha256 != hashlib.sha256(polyglot).hexdigest()
    # And on disk it is ciphertext: neither the picture nor the archive can be read there.
    (path,) = stored_files(app)
    on_disk = path.read_bytes()
    assert b"\xff\xd8\xff" not in on_disk[:16] and b"PK\x03\x04" not in on_disk


def fill_where_and_wishes(client: FlaskClient) -> None:
    client.post(
        "/report/where",
        data={"country": "GB", "language": "en", "contact": "none", "timezone": "UTC"},
    )
    client.post("/report/wishes", data={"actions": ["takedown"], "consent": "y"})


def test_a_report_that_cannot_be_saved_leaves_no_evidence_file_behind(
    app: Flask, at_screenshots: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Screenshots go to storage before the case is opened; a failure removes them again."""
    response = post_files(
        at_screenshots, "/report/screenshots", [("shot.png", picture("PNG"))], action="continue"
    )
    assert response.status_code == 302
    fill_where_and_wishes(at_screenshots)
    rows = row_counts(db.session)

    def database_gone(*_: Any, **__: Any) -> None:
        raise OperationalError("INSERT INTO cases", {}, ConnectionError("server closed"))

    monkeypatch.setattr("casework.intake.services.open_case", database_gone)
    response = at_screenshots.post("/report/submit")
    assert response.status_code == 500
    assert "We could not save your report" in page_text(response)
    assert row_counts(db.session) == rows
    assert stored_files(app) == []

    # Nothing entered is lost: once the database is back, the same report goes through.
    monkeypatch.undo()
    submit(at_screenshots)
    (row,) = db.session.scalars(select(EvidenceFile)).all()
    assert [p.name for p in stored_files(app)] == [f"{row.storage_key}.bin"]
