"""Helpers for driving the public report form, the staff forms filing for a person and the
victim's case page through the app."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from html import unescape
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from PIL import ExifTags, Image
from sqlalchemy import func, select, update

from casework.evidence.models import EvidenceBlob
from casework.extensions import db
from casework.intake.models import StoredDraft, StoredDraftScreenshot
from casework.orm import Base, DbSession
from tests import factories

GPS_MARKER = "CaseworkTestGPSArea"
MAKE_MARKER = "CaseworkTestCamera"

IMAGE_SIGNATURES = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"RIFF", b"GIF8", b"%PDF")


def photo(
    seed: int = 1, fmt: str = "JPEG", *, gps: bool = True, size: tuple[int, int] = (96, 64)
) -> bytes:
    """A small photo-like image, with EXIF GPS and camera data unless told otherwise."""
    img = Image.new("RGB", size)
    pixels = img.load()
    assert pixels is not None
    for x in range(size[0]):
        for y in range(size[1]):
            pixels[x, y] = ((x * seed * 7) % 256, (y * 13 + seed * 31) % 256, (x + y + seed) % 256)
    buffer = io.BytesIO()
    params: dict[str, Any] = {}
    if gps:
        exif = Image.Exif()
        exif[ExifTags.Base.Make] = MAKE_MARKER
        gps_ifd = exif.get_ifd(ExifTags.IFD.GPSInfo)
        gps_ifd[ExifTags.GPS.GPSLatitudeRef] = "N"
        gps_ifd[ExifTags.GPS.GPSLatitude] = (51.0, 30.0, 26.0)
        gps_ifd[ExifTags.GPS.GPSAreaInformation] = GPS_MARKER
        params["exif"] = exif
    img.save(buffer, fmt, **params)
    return buffer.getvalue()


def pdf_bytes() -> bytes:
    return (
        b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
        b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
    )


def page_text(response: Any) -> str:
    """The page as a reader sees it: entities decoded, French no-break spaces as plain ones."""
    return unescape(response.get_data(as_text=True)).replace("\u00a0", " ").replace("\u202f", " ")


DRAFT_TABLES = frozenset({StoredDraft.__tablename__, StoredDraftScreenshot.__tablename__})


def row_counts(session: DbSession) -> dict[str, int]:
    """Rows in every table but the drafts', to show that a refused request changed nothing.

    A draft keeps what was typed even on a refused page; draft_parts() shows the drafts.
    """
    session.expire_all()
    return {
        table.name: session.scalar(select(func.count()).select_from(table)) or 0
        for table in Base.metadata.sorted_tables
        if table.name not in DRAFT_TABLES
    }


def files_under(path: Any) -> list[Any]:
    return sorted(p for p in path.rglob("*") if p.is_file()) if path.exists() else []


@dataclass(frozen=True)
class StoredEvidence:
    """One evidence file as its store keeps it: a file of the local folder or a blob row."""

    key: str
    raw: bytes

    @property
    def name(self) -> str:
        return f"{self.key}.bin"

    def read_bytes(self) -> bytes:
        return self.raw


def stored_evidence(app: Flask) -> list[StoredEvidence]:
    """What the app's evidence store holds, by key, whichever store is configured.

    With the database store, nothing may be written to the evidence folder at all.
    """
    folder = Path(app.config["EVIDENCE_DIR"])
    if app.config["EVIDENCE_STORE"] == "database":
        assert files_under(folder) == [], "the database store wrote to the evidence folder"
        blobs = EvidenceBlob.__table__
        rows = db.session.execute(
            select(blobs.c.sha256, blobs.c.ciphertext).order_by(blobs.c.sha256)
        ).all()
        return [StoredEvidence(key, bytes(raw)) for key, raw in rows]
    return sorted(
        (StoredEvidence(path.stem, path.read_bytes()) for path in files_under(folder)),
        key=lambda stored: stored.key,
    )


def draft_parts() -> list[tuple[str, bytes]]:
    """Every stored part of every draft, as ("answers" or "screenshot", ciphertext).

    Read on a connection of its own, as the store writes on its own: what is committed.
    """
    drafts, screenshots = StoredDraft.__table__, StoredDraftScreenshot.__table__
    with db.engine.connect() as connection:
        answers = connection.execute(select(drafts.c.answers).order_by(drafts.c.key)).scalars()
        parts = [("answers", bytes(blob)) for blob in answers]
        images = connection.execute(
            select(screenshots.c.data).order_by(screenshots.c.draft_key, screenshots.c.sha256)
        ).scalars()
        parts += [("screenshot", bytes(blob)) for blob in images]
    return parts


def draft_part_names() -> list[str]:
    return [name for name, _ in draft_parts()]


def age_out_drafts(by: timedelta) -> None:
    """Make every draft as if last saved `by` earlier than it was."""
    drafts = StoredDraft.__table__
    with db.engine.begin() as connection:
        for key, saved_at, expires_at in connection.execute(
            select(drafts.c.key, drafts.c.saved_at, drafts.c.expires_at)
        ).all():
            connection.execute(
                update(drafts)
                .where(drafts.c.key == key)
                .values(saved_at=saved_at - by, expires_at=expires_at - by)
            )


@dataclass
class Answers:
    filer: str = "subject"
    relationship: str = ""
    authority: bool = False
    minor: str = "no"
    links: Sequence[str] = ("https://x.com/poster/status/2008000000000000001",)
    details: dict[int, dict[str, str]] = field(default_factory=dict)
    screenshots: Sequence[tuple[str, bytes]] = ()
    device_files: Sequence[dict[str, Any]] = ()
    country: str = "GB"
    region: str = ""
    language: str = "en"
    contact: str = "email"
    email: str = "person@example.org"
    actions: Sequence[str] = ("takedown",)
    consent: bool = True


def person_answers(**changes: Any) -> dict[str, Any]:
    """A caseworker's answers for the person on the staff forms (assisted intake, a new case
    from a list); a change to None leaves that answer out."""
    data: dict[str, Any] = {
        "filer": "subject",
        "minor": "no",
        "country": "FR",
        "language": "fr",
        "contact": "none",
        "actions": ["takedown"],
        "consent": "y",
        "access": "show",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def post_step(client: FlaskClient, url: str, data: dict[str, Any], **kwargs: Any) -> Any:
    return client.post(url, data=data, **kwargs)


def fill_report(client: FlaskClient, answers: Answers | None = None) -> Any:
    """Go through every page with valid answers, checking each moves on; returns the review page."""
    a = answers or Answers()
    who: dict[str, Any] = {"filer": a.filer, "relationship": a.relationship}
    if a.authority:
        who["authority"] = "y"
    assert_moves_on(post_step(client, "/report/", who), "/report/age")
    assert_moves_on(post_step(client, "/report/age", {"minor": a.minor}), "/report/posts")
    assert_moves_on(
        post_step(client, "/report/posts", {"links": "\n".join(a.links)}), "/report/posts/details"
    )
    details: dict[str, str] = {}
    for index in range(len(a.links)):
        entry = a.details.get(index, {})
        details[f"posts-{index}-kind"] = entry.get("kind", "unknown")
        details[f"posts-{index}-prompt"] = entry.get("prompt", "")
    response = post_step(client, "/report/posts/details", details)
    if a.minor == "no":
        assert_moves_on(response, "/report/screenshots")
        shots: dict[str, Any] = {
            "screenshots": [(io.BytesIO(data), name) for name, data in a.screenshots],
            "action": "continue",
        }
        if a.device_files:
            shots["keep_on_device"] = "y"
            shots["device_files"] = json.dumps(list(a.device_files))
        response = client.post(
            "/report/screenshots", data=shots, content_type="multipart/form-data"
        )
    assert_moves_on(response, "/report/where")
    where = {
        "country": a.country,
        "region": a.region,
        "language": a.language,
        "contact": a.contact,
        "email": a.email,
        "timezone": "Europe/London",
    }
    assert_moves_on(post_step(client, "/report/where", where), "/report/wishes")
    wishes: dict[str, Any] = {"actions": list(a.actions)}
    if a.consent:
        wishes["consent"] = "y"
    assert_moves_on(post_step(client, "/report/wishes", wishes), "/report/review")
    review = client.get("/report/review")
    assert review.status_code == 200
    return review


def assert_moves_on(response: Any, expected_path: str) -> None:
    assert response.status_code == 302, page_text(response)[-3000:]
    assert response.headers["Location"].endswith(expected_path), response.headers["Location"]


@dataclass(frozen=True)
class Confirmation:
    html: str
    reference: str
    access_code: str


def submit(client: FlaskClient) -> Confirmation:
    response = client.post("/report/submit")
    assert response.status_code == 200, page_text(response)[-3000:]
    html = page_text(response)
    reference = re.search(r'class="access-value reference">([^<]+)<', html)
    code = re.search(r'class="access-value code"[^>]*>([^<]+)<', html)
    assert reference and code, html
    return Confirmation(html, reference.group(1).strip(), code.group(1).strip())


def filled_report(client: FlaskClient, answers: Answers | None = None) -> Any:
    """The form filled in up to its review page, for an organisation that takes public
    reports; returns the review page."""
    factories.org(receives_public_reports=True)
    db.session.commit()
    return fill_report(client, answers)


def sent_report(client: FlaskClient, answers: Answers | None = None) -> Confirmation:
    """filled_report, then sent: the browser is left signed in to the new case."""
    filled_report(client, answers)
    return submit(client)


def report_and_sign_out(client: FlaskClient, answers: Answers | None = None) -> Confirmation:
    """sent_report, then the browser signs out, so the case opens again only with the
    reference and the access code."""
    confirmation = sent_report(client, answers)
    client.post("/my-case/sign-out")
    return confirmation


def sign_in(client: FlaskClient, reference: str, code: str) -> Any:
    return client.post("/my-case/", data={"reference": reference, "code": code})


def returning_browser(app: Flask, confirmation: Confirmation) -> FlaskClient:
    """A fresh browser (no cookies) signed in to the case with its reference and access
    code, as the victim comes back to it."""
    browser = app.test_client()
    sign_in(browser, confirmation.reference, confirmation.access_code)
    return browser


class _FormState(HTMLParser):
    """What a browser would send back from a page: checked boxes, selected options, values."""

    def __init__(self) -> None:
        super().__init__()
        self.inputs: list[dict[str, str | None]] = []
        self.selected: dict[str, list[str]] = {}
        self.textareas: dict[str, str] = {}
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "input":
            self.inputs.append(attributes)
        elif tag == "select":
            self._select = attributes.get("name")
        elif tag == "option" and self._select and "selected" in attributes:
            self.selected.setdefault(self._select, []).append(attributes.get("value") or "")
        elif tag == "textarea":
            self._textarea = attributes.get("name") or ""
            self.textareas[self._textarea] = ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None
        elif tag == "textarea" and self._textarea is not None:
            # Browsers drop the one line break that may follow <textarea>.
            text = self.textareas[self._textarea]
            self.textareas[self._textarea] = text.removeprefix("\r\n").removeprefix("\n")
            self._textarea = None

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self.textareas[self._textarea] += data


def form_state(html: str) -> _FormState:
    parser = _FormState()
    parser.feed(html)
    return parser


def checked(html: str, name: str) -> list[str]:
    return [
        str(i.get("value"))
        for i in form_state(html).inputs
        if i.get("name") == name and "checked" in i
    ]


def selected(html: str, name: str) -> list[str]:
    return form_state(html).selected.get(name, [])


def input_value(html: str, name: str) -> str | None:
    for i in form_state(html).inputs:
        if i.get("name") == name:
            return i.get("value")
    return None


def textarea(html: str, name: str) -> str:
    return form_state(html).textareas.get(name, "")
