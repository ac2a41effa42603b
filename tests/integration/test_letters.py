"""Stored letter versions: repeatable, self-describing PDFs made from a frozen snapshot."""

from __future__ import annotations

import io
import json
import subprocess
import tempfile
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from pypdf import PdfReader
from sqlalchemy import select

from casework.accounts.models import Role
from casework.actors import SYSTEM, Actor
from casework.audit.models import AuditEvent
from casework.cases.models import MinorStatus
from casework.evidence.models import EvidenceFile
from casework.extensions import db
from casework.notices.letters import create_letter
from casework.notices.pdf_engine import _LetterFetcher
from casework.notices.rendering import (
    TEMPLATES_DIR,
    LetterRenderError,
    render_letter_pdf,
    template_version,
)
from casework.registry import default_registry
from tests import factories
from tests.letter_cases import NOW, complete_notice, pdf_text, realistic_case, sent_earlier_notice

REGISTRY = default_registry()
TIDA = REGISTRY.route("us.tida.removal")


def _images_in(pdf: bytes) -> int:
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "letter.pdf"
        path.write_bytes(pdf)
        listing = subprocess.run(
            ["pdfimages", "-list", str(path)], capture_output=True, text=True, check=True
        ).stdout
    return len(listing.splitlines()) - 2  # two header lines


def _lawyer_case(route_key: str = TIDA.key, **options: object):  # type: ignore[no-untyped-def]
    org = factories.org(name="Safe Harbour Network")
    lawyer = factories.user(org, Role.LAWYER)
    case = realistic_case(org, REGISTRY.route(route_key), **options)  # type: ignore[arg-type]
    return org, lawyer, case


def test_every_route_in_the_registry_has_its_template() -> None:
    assert REGISTRY.missing_templates(TEMPLATES_DIR) == ()


def test_a_letter_is_the_same_pdf_when_rendered_again_from_its_snapshot(app: Flask) -> None:
    _org, lawyer, case = _lawyer_case()
    notice = complete_notice(case, TIDA, lawyer)
    letter = create_letter(
        db.session,
        case=case,
        route_key=TIDA.key,
        actor=Actor.staff(lawyer.id, "lawyer"),
        notice=notice,
        now=NOW,
    )
    db.session.commit()
    again = render_letter_pdf(letter.data_snapshot, letter.template)
    assert pdf_text(again) == pdf_text(letter.pdf)
    assert again == letter.pdf  # byte for byte: the fonts subset and the dates are fixed
    assert letter.template_version == template_version(TIDA.templates[0])
    assert letter.registry_version == REGISTRY.version
    assert letter.created_by_id == lawyer.id
    (event,) = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "letter.generated")
    ).all()
    assert event.details["sha256"] == letter.sha256
    assert event.details["version"] == 1
    assert event.details["missing"] == []


def test_the_pdf_is_pdfa_3b_with_metadata_and_the_item_manifest_attached(app: Flask) -> None:
    _org, lawyer, case = _lawyer_case()
    notice = complete_notice(case, TIDA, lawyer)
    letter = create_letter(
        db.session, case=case, route_key=TIDA.key, actor=SYSTEM, notice=notice, now=NOW
    )
    reader = PdfReader(io.BytesIO(letter.pdf))
    info = reader.metadata
    assert info is not None
    assert info.title == f"TAKE IT DOWN Act removal request – {case.reference}"
    assert info.author == "Safe Harbour Network"
    assert info.subject == "47 USC 223a"
    assert reader.trailer["/Root"]["/Lang"] == "en"
    xmp = reader.trailer["/Root"]["/Metadata"].get_object().get_data().decode()
    assert "<pdfaid:part>3</pdfaid:part>" in xmp or 'pdfaid:part="3"' in xmp
    assert 'pdfaid:conformance="B"' in xmp or "<pdfaid:conformance>B" in xmp
    (manifest_bytes,) = reader.attachments["manifest.json"]
    manifest = json.loads(manifest_bytes)
    assert manifest["case"] == case.reference
    assert [i["url"] for i in manifest["items"]] == [item.url for item in case.items]
    assert [i["status_id"] for i in manifest["items"]] == [str(i.status_id) for i in case.items]
    files = db.session.scalars(select(EvidenceFile)).all()
    assert {f["sha256"] for i in manifest["items"] for f in i["files"]} == {f.sha256 for f in files}
    assert all(f["pdq"] for i in manifest["items"] for f in i["files"])


def test_french_letters_declare_their_language(app: Flask) -> None:
    route = REGISTRY.route("fr.dsa.signalement")
    _org, _lawyer, case = _lawyer_case(route.key)
    letter = create_letter(db.session, case=case, route_key=route.key, actor=SYSTEM, now=NOW)
    reader = PdfReader(io.BytesIO(letter.pdf))
    assert reader.trailer["/Root"]["/Lang"] == "fr"
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "letter.pdf"
        path.write_bytes(letter.pdf)
        fonts = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True)
    names = [line.split()[0] for line in fonts.stdout.splitlines()[2:]]
    assert names and all("+Letter-" in name for name in names)  # no system font slipped in


def test_screenshots_appear_only_when_asked_and_blurred_by_default(app: Flask) -> None:
    _org, lawyer, case = _lawyer_case()
    actor = Actor.staff(lawyer.id, "lawyer")
    plain = create_letter(db.session, case=case, route_key=TIDA.key, actor=actor)
    assert _images_in(plain.pdf) == 0
    assert all(e["image"] is None for e in plain.data_snapshot["exhibits"])

    shown = create_letter(
        db.session, case=case, route_key=TIDA.key, actor=actor, include_screenshots=True
    )
    assert _images_in(shown.pdf) == len(case.items)
    assert {e["image"] for e in shown.data_snapshot["exhibits"]} == {"blurred"}
    assert "Screenshot (deliberately blurred)" in pdf_text(shown.pdf)

    clear = create_letter(
        db.session,
        case=case,
        route_key=TIDA.key,
        actor=actor,
        include_screenshots=True,
        blur_screenshots=False,
    )
    assert {e["image"] for e in clear.data_snapshot["exhibits"]} == {"clear"}
    assert [plain.version, shown.version, clear.version] == [1, 2, 3]


def test_a_minor_s_letter_never_shows_an_image(app: Flask) -> None:
    _org, _lawyer, case = _lawyer_case()
    case.minor = MinorStatus.UNSURE
    letter = create_letter(
        db.session, case=case, route_key=TIDA.key, actor=SYSTEM, include_screenshots=True
    )
    assert _images_in(letter.pdf) == 0
    text = pdf_text(letter.pdf)
    assert "The person depicted is or may be under 18" in text


def test_the_worker_drafts_the_escalation_letter_without_a_notice(app: Flask) -> None:
    _org, lawyer, case = _lawyer_case()
    missed = sent_earlier_notice(case, TIDA, lawyer, replied=False)
    extra = factories.post_url("someone_else")
    from casework.cases.services import NewItem, add_items
    from casework.evidence.xlinks import parse_x_link

    add_items(db.session, case, [NewItem(post=parse_x_link(extra))], SYSTEM)
    assert TIDA.escalation is not None and TIDA.escalation.route == "us.ftc.complaint"

    letter = create_letter(
        db.session, case=case, route_key=TIDA.escalation.route, actor=SYSTEM, now=NOW
    )
    db.session.commit()
    assert letter.notice_id is None and letter.created_by_id is None
    snapshot = letter.data_snapshot
    assert [i["url"] for i in snapshot["items"]] == [link.item.url for link in missed.items]
    assert snapshot["related"]["id"] == missed.id
    # The FTC needs the copy of the missed request, which is on file; only a signature is
    # missing, and for want of it the letter is a draft for the caseworker to complete.
    assert snapshot["missing"] == ["signature"]
    assert letter.draft
    text = pdf_text(letter.pdf)
    assert extra not in text
    due = missed.received_at + timedelta(hours=48)  # type: ignore[operator]
    assert due.strftime("%-d %B %Y") in text
    assert "Annex: the earlier notice, as sent" in text
    assert missed.sent_letter is not None and missed.sent_letter.sha256 in text
    (event,) = db.session.scalars(
        select(AuditEvent).where(
            AuditEvent.action == "letter.generated", AuditEvent.object_id == letter.id
        )
    ).all()
    assert event.actor_type == "system"
    assert event.details["annexed_letter"] == missed.sent_letter_id


def test_the_renderer_fetches_nothing_outside_letters(app: Flask, tmp_path: Path) -> None:
    fetcher = _LetterFetcher()
    font = (TEMPLATES_DIR.parent / "fonts" / "DejaVuSerif.ttf").as_uri()
    assert fetcher.fetch(font).read(4) == b"\x00\x01\x00\x00"
    outside = tmp_path / "secret.txt"
    outside.write_text("secret")
    for url in (
        outside.as_uri(),
        "file:///etc/hostname",
        (TEMPLATES_DIR / ".." / ".." / "README.md").as_uri(),
        "https://fonts.example.com/font.ttf",
        "http://169.254.169.254/latest/meta-data/",
        "data:text/plain,hello",
    ):
        with pytest.raises(PermissionError):
            fetcher.fetch(url)


def test_warming_up_renders_a_sample_letter_in_every_letter_language() -> None:
    from casework.notices.rendering import warm_up

    warm_up()  # raises if a template no longer fits the snapshot's shape


def test_loading_the_renderer_keeps_truncated_images_refused() -> None:
    from PIL import ImageFile

    import casework.notices.pdf_engine  # noqa: F401  (WeasyPrint's import flips the flag)

    assert ImageFile.LOAD_TRUNCATED_IMAGES is False


def test_a_snapshot_missing_a_value_raises_instead_of_printing_blank(app: Flask) -> None:
    _org, _lawyer, case = _lawyer_case()
    letter = create_letter(db.session, case=case, route_key=TIDA.key, actor=SYSTEM)
    broken = {k: v for k, v in letter.data_snapshot.items() if k != "addressee"}
    with pytest.raises(LetterRenderError, match="addressee"):
        render_letter_pdf(broken, letter.template)
    with pytest.raises(LetterRenderError, match="does not exist"):
        render_letter_pdf(letter.data_snapshot, "us/no_such_letter.html")
