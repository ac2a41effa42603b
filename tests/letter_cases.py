"""Realistic cases and complete notices for every legal route, for the letter tests."""

from __future__ import annotations

import subprocess
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from flask import g, has_app_context

from casework.accounts.models import Organisation, User
from casework.actors import Actor
from casework.cases.models import Case, ContentCategory, ItemKind, MinorStatus
from casework.extensions import db
from casework.notices.completeness import STATEMENT_ELEMENTS, TEXT_ELEMENTS
from casework.notices.models import Notice
from casework.notices.rendering import french_typography
from casework.notices.services import NoticeDetails, create_notice, record_sent, update_notice
from casework.registry import Route, default_registry
from tests import factories

# The letters are generated "now" = this moment, so every date they print is known.
NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


@dataclass(frozen=True)
class Place:
    country: str
    region: str | None = None
    minor: bool = False


# Where the person depicted lives for a realistic case under each jurisdiction's routes.
PLACES = {
    "us": Place("US"),
    "us-ca": Place("US", "CA"),
    "gb": Place("GB"),
    "eu": Place("IE"),
    "fr": Place("FR"),
    "au": Place("AU"),
    "in": Place("IN"),
    "ie": Place("IE"),
    "de": Place("DE"),
    "my": Place("MY"),
    "id": Place("ID"),
    "any": Place("US"),
}
# Routes only for data collected while the person was a minor.
MINOR_ONLY = {"fr.lil51.effacement", "fr.cnil.plainte"}
PER_CASE_ADDRESSEES = {
    "fr.plainte.procureur": ("Procureur de la République", "Tribunal judiciaire de Lyon"),
    "de.strafanzeige": ("Staatsanwaltschaft Berlin", "Turmstraße 91\n10559 Berlin"),
    "eu.gdpr.erasure_generator": ("Example Imaging AI Ltd.", "1 Example Street\nDublin"),
    "eu.gdpr.access_generator": ("Example Imaging AI Ltd.", "1 Example Street\nDublin"),
    "eu.dsa.ods_art21": ("Example Dispute Settlement Body", "2 Example Square\nDublin"),
    "any.preservation.request": ("X Corp.", ""),
    "ie.garda.report": ("Pearse Street Garda Station", "Pearse Street\nDublin 2"),
    "in.police.fir": ("Station House Officer, Cyber Crime Police Station", "Bengaluru"),
    "au.police.report": ("NSW Police Force", ""),
    "us.police.report": ("Example City Police Department", "1 Example Street\nExample City"),
}
EXPLANATION = (
    "The posts answer a photograph the person published with requests to undress her; "
    "the replies show her apparently naked."
)
DEPICTED_PERSON = "Jane Doe"
COPYRIGHTED_WORK = "A selfie the person took on 2 January 2026 and posted on her own account."
# What a complaint states, as the caseworker writes it in (completeness.TEXT_ELEMENTS).
PARTICULARS = {
    "complainant_identity": "Jane Doe, born 4 May 1994 in Lyon, 12 rue de la Paix, 69002 Lyon",
    "facts_dates_places": "Posted on X between 1 and 3 February 2026; seen in Lyon.",
    "harm_suffered": "Distress, time off work and harassment from strangers.",
}


HANDLES = ("grok_edits_4u", "anon_pixel", "deepreply99")


def evidence_file(item: Case | Any, *, colour: tuple[int, int, int] = (200, 80, 60)) -> Any:
    """A real sanitised PNG stored encrypted for an item, as intake stores a screenshot."""
    import io

    from flask import current_app
    from PIL import Image

    from casework.evidence.files import evidence_storage
    from casework.evidence.images import sanitise_image
    from casework.evidence.models import EvidenceFile

    buffer = io.BytesIO()
    image = Image.new("RGB", (96, 64), colour)
    for x in range(0, 96, 8):
        image.putpixel((x, x % 64), (0, 0, 0))
    image.save(buffer, format="PNG")
    clean = sanitise_image(buffer.getvalue(), max_bytes=current_app.config["MAX_UPLOAD_BYTES"])
    key = evidence_storage(current_app.config, db.session).put(clean.sha256, clean.data)
    row = EvidenceFile(
        case_id=item.case_id,
        item_id=item.id,
        storage_key=key,
        sha256=clean.sha256,
        pdq=clean.pdq,
        pdq_quality=clean.pdq_quality,
        media_type=clean.media_type,
        size_bytes=len(clean.data),
        width=clean.width,
        height=clean.height,
    )
    db.session.add(row)
    db.session.flush()
    return row


def sign_in(client: Any, staff: User) -> None:
    """factories.sign_in, then forget the user Flask-Login cached in the shared app context."""
    factories.sign_in(client, staff)
    if has_app_context():
        g.pop("_login_user", None)


def realistic_case(
    organisation: Organisation,
    route: Route,
    *,
    country: str | None = None,
    items: int = 3,
    with_files: bool = True,
    minor: bool = False,
) -> Case:
    """A case whose person, items and files fit the route: covered categories, real files."""
    place = PLACES[route.jurisdiction]
    minor = minor or place.minor or route.key in MINOR_ONLY or route.covers == ("minor",)
    links = [
        factories.post_url(HANDLES[i % len(HANDLES)], factories.status_id()) for i in range(items)
    ]
    case = factories.case(
        organisation,
        links=links,
        country=country or place.country,
        region=place.region,
        minor=MinorStatus.YES if minor else MinorStatus.NO,
    )
    category = ContentCategory.MINOR if minor else ContentCategory.NUDE_SEXUAL
    for item in case.items:
        item.category = category
        item.kind = ItemKind.AI_IMAGE
    if with_files and not minor:
        for index, item in enumerate(case.items):
            evidence_file(item, colour=(40 * index % 255, 90, 160))
    db.session.flush()
    return case


def complete_notice(
    case: Case,
    route: Route,
    staff: User,
    *,
    related: Notice | None = None,
    capacity: str = "subject",
    items: list[Any] | None = None,
) -> Notice:
    """A draft notice about `items` (all the case's by default) holding every element the
    route requires or recommends."""
    actor = Actor.staff(staff.id, staff.role.value)
    notice = create_notice(
        db.session,
        case,
        route.key,
        [item.id for item in (case.items if items is None else items)],
        actor,
        related_notice_id=related.id if related is not None else None,
    )
    elements = {*route.required_elements, *route.recommended_elements}
    addressee = PER_CASE_ADDRESSEES.get(route.key, (None, None))
    update_notice(
        db.session,
        notice,
        NoticeDetails(
            signature_name="Jane Doe",
            capacity=capacity,
            contact="Safe Harbour Network\ncases@safe-harbour.example\n+44 20 7946 0000",
            statements=tuple(code for code in STATEMENT_ELEMENTS if code in elements),
            explanation=EXPLANATION,
            copyrighted_work=COPYRIGHTED_WORK,
            depicted_person=DEPICTED_PERSON,
            addressee_name=addressee[0],
            addressee_address=addressee[1],
            particulars={code: PARTICULARS[code] for code in TEXT_ELEMENTS if code in elements},
        ),
        actor,
        now=NOW - timedelta(hours=1),
    )
    return notice


def sent_earlier_notice(
    case: Case, route: Route, staff: User, *, replied: bool, days_ago: int = 40
) -> Notice:
    """An earlier notice under `route`, sent as a letter `days_ago` days ago, maybe answered."""
    from casework.notices.letters import create_letter

    notice = complete_notice(case, route, staff)
    when = NOW - timedelta(days=days_ago)
    actor = Actor.staff(staff.id, staff.role.value)
    letter = create_letter(
        db.session, case=case, route_key=route.key, actor=actor, notice=notice, now=when
    )
    assert not letter.draft, letter.data_snapshot["missing"]
    record_sent(
        db.session,
        notice,
        channel="email",
        received_at=when,
        actor=actor,
        letter=letter,
        clock_started_at=when if route.deadline.clock_starts == "regulator_notice" else None,
        now=when,
    )
    if replied:
        notice.response = "We reviewed the reported content and found no violation of our rules."
        notice.response_at = when + timedelta(days=2)
    db.session.flush()
    return notice


def earlier_route_for(route: Route) -> Route | None:
    """The first route the registry says this one follows, if any."""
    if route.follows is None:
        return None
    return default_registry().route(route.follows.steps[0].route)


def as_printed(route: Route, words: str) -> str:
    """Words as the letter prints them: French letters with French typography, and every
    space folded as pdf_text folds it."""
    if route.language == "fr":
        words = french_typography(words)
    return " ".join(words.split())


def pdf_text(pdf: bytes, *, first: int | None = None, last: int | None = None) -> str:
    """The PDF's text as pdftotext reads it (pages `first`..`last`), whitespace folded."""
    pages = [*(["-f", str(first)] if first else []), *(["-l", str(last)] if last else [])]
    result = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", *pages, "-", "-"],
        input=pdf,
        capture_output=True,
        check=True,
    )
    return " ".join(result.stdout.decode("utf-8").split())


def page_count(pdf: bytes) -> int:
    import io

    from pypdf import PdfReader

    return len(PdfReader(io.BytesIO(pdf)).pages)


def own_pages(letter: Any) -> int:
    """How many pages of a letter are its own, before the earlier letter it annexes."""
    related = letter.data_snapshot.get("related")
    if not related:
        return page_count(letter.pdf)
    annexed = db.session.get(type(letter), related["letter"]["id"])
    return page_count(letter.pdf) - page_count(annexed.pdf)


def own_text(letter: Any) -> str:
    """The text of the letter itself, without the annexed earlier letter."""
    return pdf_text(letter.pdf, last=own_pages(letter))


def qpdf_check(pdf: bytes) -> subprocess.CompletedProcess[bytes]:
    """`qpdf --check` on the PDF (qpdf reads files only, so through a temporary one)."""
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "letter.pdf"
        path.write_bytes(pdf)
        return subprocess.run(["qpdf", "--check", str(path)], capture_output=True, check=False)
