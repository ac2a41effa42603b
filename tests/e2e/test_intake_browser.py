"""The report form in a real Chromium: on-device hashing, the no-JS fallback, 360 px.

The journeys run under the guards of every browser journey (tests/e2e/conftest.py): the
shipped settings with CSRF on, and no request to another host nor any console error.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import select

from casework.evidence.images import sanitise_image
from casework.evidence.models import EvidenceFile
from tests import factories
from tests.e2e.conftest import LiveServer
from tests.e2e.journeys import database, fits_the_screen
from tests.intake_support import photo

pytestmark = pytest.mark.e2e

POST = "https://x.com/grokfan/status/2008000000000000101"
# The narrowest phone screen in common use.
NARROW = {"viewport": {"width": 360, "height": 800}, "locale": "en-GB"}


@pytest.fixture
def takes_reports(live_server: LiveServer) -> None:
    """An organisation that receives public reports, so a sent report opens a case."""
    with database(live_server.app) as session:
        factories.org(receives_public_reports=True)
        session.commit()


@pytest.fixture
def narrow_page(new_page: Callable[..., Any], takes_reports: None) -> Any:
    """A guarded 360-pixel tab on a site that takes reports."""
    return new_page(**NARROW)


def picture(folder: Path, name: str, fmt: str, colour: tuple[int, int, int]) -> Path:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), colour).save(buffer, fmt)
    path = folder / name
    path.write_bytes(buffer.getvalue())
    return path


def the_only_evidence_file(live_server: LiveServer) -> EvidenceFile:
    with database(live_server.app) as session:
        row = session.scalars(select(EvidenceFile)).one()
        session.expunge(row)
        return row


def overflow(page: Any) -> int:
    return int(page.evaluate("document.documentElement.scrollWidth - window.innerWidth"))


def start_report(page: Any) -> None:
    """Steps 1 to 3 up to the screenshots page; step 1 by keyboard alone."""
    page.goto("/report/")
    page.focus("#filer-0")
    page.keyboard.press("Space")
    page.keyboard.press("Enter")  # implicit submission presses the first button: Continue
    page.wait_for_url("**/report/age")
    page.check("#minor-0")
    page.click("button[value=continue]")
    page.fill("#links", POST)
    page.click("button[value=continue]")
    page.select_option("#posts-0-kind", "ai_image")
    page.click("button[value=continue]")
    page.wait_for_url("**/report/screenshots")


def finish_report(page: Any) -> str:
    page.wait_for_url("**/report/where")
    page.select_option("#country", "GB")
    page.check("#contact-1")
    page.click("button[value=continue]")
    page.check("#actions-0")
    page.check("#consent")
    page.click("button[value=continue]")
    page.wait_for_url("**/report/review")
    page.click("form[action$='/report/submit'] button[type=submit]")
    return str(page.inner_text(".access-value.reference"))


def test_keep_on_device_sends_the_hash_and_never_the_image(
    narrow_page: Any, live_server: LiveServer, tmp_path: Path
) -> None:
    page = narrow_page
    marker = b"CASEWORK-IMAGE-BYTES-MUST-STAY-HERE"
    path = tmp_path / "private.png"
    # trailing bytes after IEND: still a PNG to a browser
    image = photo(4, "PNG", gps=False, size=(160, 120)) + marker
    path.write_bytes(image)
    # The PDQ the server would have computed, had the image been uploaded.
    expected = sanitise_image(image, max_bytes=live_server.app.config["MAX_UPLOAD_BYTES"])

    bodies: list[bytes] = []
    page.on(
        "request",
        lambda request: (
            bodies.append(request.post_data_buffer or b"") if request.method == "POST" else None
        ),
    )
    start_report(page)
    assert page.is_hidden("[data-no-js]")
    assert page.is_visible("[data-js-only]")
    page.check("#keep_on_device")
    page.set_input_files("#screenshots", str(path))
    assert "Only their fingerprints will be sent" in page.inner_text("[data-hash-status]")
    page.click("button[value=continue]")
    reference = finish_report(page)

    digest = hashlib.sha256(image).hexdigest()
    assert any(digest.encode() in body for body in bodies)
    assert not any(marker in body for body in bodies)
    assert not any(b"\x89PNG" in body for body in bodies)
    row = the_only_evidence_file(live_server)
    assert (row.sha256, row.kept_on_device, row.storage_key) == (digest, True, None)
    assert (row.original_name, row.size_bytes) == ("private.png", len(image))
    assert row.media_type == "image/png"
    # pdq.js computed the PDQ and its quality in the page, exactly as the server does.
    assert any(expected.pdq.encode() in body for body in bodies)
    assert (row.pdq, row.pdq_quality) == (expected.pdq, expected.pdq_quality)
    assert reference.startswith("CW-")


def test_without_javascript_the_option_explains_itself_and_uploads_still_work(
    new_page: Callable[..., Any], takes_reports: None, live_server: LiveServer, tmp_path: Path
) -> None:
    path = picture(tmp_path, "shot.jpg", "JPEG", (20, 130, 90))
    page = new_page(java_script_enabled=False, **NARROW)
    start_report(page)
    assert page.is_visible("[data-no-js]")
    assert "needs JavaScript" in page.inner_text("[data-no-js]")
    assert page.is_hidden("#keep_on_device")
    page.set_input_files("#screenshots", str(path))
    page.click("button[value=continue]")
    finish_report(page)
    row = the_only_evidence_file(live_server)
    assert not row.kept_on_device and row.storage_key == row.sha256


def test_every_page_fits_a_360_pixel_screen(
    new_page: Callable[..., Any], takes_reports: None, shoot: Callable[[Any, str], Path]
) -> None:
    page = new_page(device_scale_factor=2, **NARROW)

    def check(name: str) -> None:
        shoot(page, name)
        fits_the_screen(page)

    page.goto("/report/")
    check("1-who")
    start_report(page)
    check("3-screenshots")
    page.click("button[value=continue]")
    page.wait_for_url("**/report/where")
    page.click("button[value=continue]")  # nothing chosen: the error page must fit too
    check("4-where-errors")
    finish_report(page)
    check("6-done")
    page.goto("/my-case/case")
    check("case-page")
    # French runs longer; it must fit too.
    page.click("button[value=fr]")
    page.wait_for_selector("html[lang=fr]")
    check("case-page-fr")
    page.goto("/report/")
    check("1-who-fr")
    page.goto("/privacy")
    check("privacy-fr")


def test_a_long_pasted_link_in_the_errors_and_the_reference_fit_a_phone(
    narrow_page: Any,
) -> None:
    page = narrow_page
    page.goto("/report/")
    page.check("#filer-0")
    page.click("button[value=continue]")
    page.check("#minor-0")
    page.click("button[value=continue]")
    long_link = "https://x.com/grokfan/photo/" + "A1b2C3d4" * 40
    page.fill("#links", long_link)
    page.click("button[value=continue]")
    page.wait_for_selector(".error-summary")
    assert long_link[:40] in page.inner_text(".error-summary")
    assert overflow(page) <= 0, f"the error summary is {overflow(page)}px wider than the screen"

    page.fill("#links", POST)
    page.click("button[value=continue]")
    page.select_option("#posts-0-kind", "ai_image")
    page.click("button[value=continue]")
    page.wait_for_url("**/report/screenshots")
    page.click("button[value=continue]")
    finish_report(page)
    one_line = """(selector) => {
      const range = document.createRange();
      range.selectNodeContents(document.querySelector(selector));
      return new Set([...range.getClientRects()].map((r) => Math.round(r.top))).size === 1;
    }"""
    assert page.evaluate(one_line, ".access-value.reference"), "the reference is split"
    assert overflow(page) <= 0
    page.set_viewport_size({"width": 320, "height": 800})
    page.goto("/my-case/case")
    page.click("button[value=fr]")
    page.wait_for_selector("html[lang=fr]")
    assert page.evaluate(one_line, "h1 .reference"), "the reference in the heading is split"
    assert overflow(page) <= 0


def test_acting_for_someone_reveals_its_questions_on_the_same_page(narrow_page: Any) -> None:
    page = narrow_page
    page.goto("/report/")
    assert not page.is_visible("#relationship")
    page.check("#filer-1")
    assert page.is_visible("#relationship") and page.is_visible("#authority")
    page.check("#filer-0")
    assert not page.is_visible("#relationship")
    page.check("#filer-1")
    page.select_option("#relationship", "parent_guardian")
    page.check("#authority")
    page.click("button[value=continue]")
    page.wait_for_url("**/report/age")


def test_switching_language_while_typing_keeps_the_text(narrow_page: Any) -> None:
    page = narrow_page
    page.goto("/report/")
    page.check("#filer-0")
    page.keyboard.press("Enter")  # Enter still means Continue, not a language
    page.wait_for_url("**/report/age")
    page.check("#minor-0")
    page.click("button[value=continue]")
    typed = f"{POST}\nhttps://x.com/half"
    page.fill("#links", typed)
    page.click("button[lang=fr]")
    page.wait_for_selector("html[lang=fr]")
    assert page.input_value("#links") == typed
