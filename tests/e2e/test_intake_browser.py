"""The report form in a real Chromium: on-device hashing, no-JS fallback, quick exit, 360 px."""

from __future__ import annotations

import hashlib
import io
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from PIL import Image
from sqlalchemy import select
from werkzeug.serving import make_server

from casework.evidence.models import EvidenceFile
from casework.extensions import db
from tests import factories

pytestmark = pytest.mark.e2e

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.fixture(params=["sqlite"])
def backend(request: pytest.FixtureRequest) -> str:
    """One database is enough to drive a browser; the flows run on both in integration tests."""
    return str(request.param)


@pytest.fixture
def live_server(app: Flask) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}"
    # A page of our own stands in for the neutral site, so the test needs no network.
    app.config["QUICK_EXIT_URL"] = f"{base}/healthz"
    try:
        yield base
    finally:
        server.shutdown()
        thread.join(timeout=5)


def start_report(page: Any, base: str) -> None:
    """Steps 1 to 3 up to the screenshots page; step 1 by keyboard alone."""
    page.goto(f"{base}/report/")
    page.focus("#filer-0")
    page.keyboard.press("Space")
    page.keyboard.press("Enter")  # implicit submission presses the first button: Continue
    page.wait_for_url(f"{base}/report/age")
    page.check("#minor-0")
    page.click("button[value=continue]")
    page.fill("#links", "https://x.com/grokfan/status/2008000000000000101")
    page.click("button[value=continue]")
    page.select_option("#posts-0-kind", "ai_image")
    page.click("button[value=continue]")
    page.wait_for_url(f"{base}/report/screenshots")


def finish_report(page: Any, base: str) -> str:
    page.wait_for_url(f"{base}/report/where")
    page.select_option("#country", "GB")
    page.check("#contact-1")
    page.click("button[value=continue]")
    page.check("#actions-0")
    page.check("#consent")
    page.click("button[value=continue]")
    page.wait_for_url(f"{base}/report/review")
    page.click("form[action$='/report/submit'] button[type=submit]")
    page.wait_for_selector(".access-value.reference", timeout=5000)
    return str(page.inner_text(".access-value.reference"))


def test_keep_on_device_sends_the_hash_and_never_the_image(
    app: Flask, live_server: str, browser: Any, tmp_path: Path
) -> None:
    factories.org(receives_public_reports=True)
    db.session.commit()
    marker = b"CASEWORK-IMAGE-BYTES-MUST-STAY-HERE"
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 30, 90)).save(buffer, "PNG")
    image = buffer.getvalue() + marker  # trailing bytes after IEND: still a PNG to a browser
    path = tmp_path / "private.png"
    path.write_bytes(image)

    context = browser.new_context(viewport={"width": 360, "height": 800})
    page = context.new_page()
    bodies: list[bytes] = []
    page.on(
        "request",
        lambda request: (
            bodies.append(request.post_data_buffer or b"") if request.method == "POST" else None
        ),
    )
    start_report(page, live_server)
    assert page.is_hidden("[data-no-js]")
    assert page.is_visible("[data-js-only]")
    page.check("#keep_on_device")
    page.set_input_files("#screenshots", str(path))
    assert "Only their fingerprints will be sent" in page.inner_text("[data-hash-status]")
    page.click("button[value=continue]")
    reference = finish_report(page, live_server)

    digest = hashlib.sha256(image).hexdigest()
    assert any(digest.encode() in body for body in bodies)
    assert not any(marker in body for body in bodies)
    assert not any(b"\x89PNG" in body for body in bodies)
    row = db.session.scalars(select(EvidenceFile)).one()
    assert (row.sha256, row.kept_on_device, row.storage_key) == (digest, True, None)
    assert (row.original_name, row.size_bytes) == ("private.png", len(image))
    assert row.media_type == "image/png"
    assert reference.startswith("CW-")
    context.close()


def test_without_javascript_the_option_explains_itself_and_uploads_still_work(
    app: Flask, live_server: str, browser: Any, tmp_path: Path
) -> None:
    factories.org(receives_public_reports=True)
    db.session.commit()
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (20, 130, 90)).save(buffer, "JPEG")
    path = tmp_path / "shot.jpg"
    path.write_bytes(buffer.getvalue())

    context = browser.new_context(java_script_enabled=False, viewport={"width": 360, "height": 800})
    page = context.new_page()
    start_report(page, live_server)
    assert page.is_visible("[data-no-js]")
    assert "needs JavaScript" in page.inner_text("[data-no-js]")
    assert page.is_hidden("#keep_on_device")
    page.set_input_files("#screenshots", str(path))
    page.click("button[value=continue]")
    finish_report(page, live_server)
    row = db.session.scalars(select(EvidenceFile)).one()
    assert not row.kept_on_device and row.storage_key == row.sha256
    context.close()


def test_quick_exit_replaces_the_page_in_history(
    app: Flask, live_server: str, browser: Any
) -> None:
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{live_server}/")
    page.goto(f"{live_server}/report/")
    page.click("#quick-exit")
    page.wait_for_url(f"{live_server}/healthz")
    page.go_back()
    # Back leads to the page before the report form, never to the form itself.
    assert page.url == f"{live_server}/"
    # Pressing Escape twice leaves too.
    page.goto(f"{live_server}/my-case/")
    page.keyboard.press("Escape")
    page.keyboard.press("Escape")
    page.wait_for_url(f"{live_server}/healthz")
    context.close()


def test_every_page_fits_a_360_pixel_screen(app: Flask, live_server: str, browser: Any) -> None:
    factories.org(receives_public_reports=True)
    db.session.commit()
    context = browser.new_context(viewport={"width": 360, "height": 800}, device_scale_factor=2)
    page = context.new_page()
    ARTIFACTS.mkdir(exist_ok=True)

    def check(name: str) -> None:
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        page.screenshot(path=str(ARTIFACTS / f"intake-360-{name}.png"), full_page=True)
        assert overflow <= 0, f"{name} is {overflow}px wider than the screen"

    page.goto(f"{live_server}/report/")
    check("1-who")
    start_report(page, live_server)
    check("3-screenshots")
    page.click("button[value=continue]")
    page.wait_for_url(f"{live_server}/report/where")
    page.click("button[value=continue]")  # nothing chosen: the error page must fit too
    check("4-where-errors")
    finish_report(page, live_server)
    check("6-done")
    page.goto(f"{live_server}/my-case/case")
    check("case-page")
    # French runs longer; it must fit too.
    page.click("button[value=fr]")
    page.wait_for_selector("html[lang=fr]")
    check("case-page-fr")
    page.goto(f"{live_server}/report/")
    check("1-who-fr")
    page.goto(f"{live_server}/privacy")
    check("privacy-fr")
    context.close()


def test_a_long_pasted_link_in_the_errors_and_the_reference_fit_a_phone(
    app: Flask, live_server: str, browser: Any
) -> None:
    factories.org(receives_public_reports=True)
    db.session.commit()
    context = browser.new_context(viewport={"width": 360, "height": 800})
    page = context.new_page()

    def overflow() -> int:
        return int(page.evaluate("document.documentElement.scrollWidth - window.innerWidth"))

    page.goto(f"{live_server}/report/")
    page.check("#filer-0")
    page.click("button[value=continue]")
    page.check("#minor-0")
    page.click("button[value=continue]")
    long_link = "https://x.com/grokfan/photo/" + "A1b2C3d4" * 40
    page.fill("#links", long_link)
    page.click("button[value=continue]")
    page.wait_for_selector(".error-summary")
    assert long_link[:40] in page.inner_text(".error-summary")
    assert overflow() <= 0, f"the error summary is {overflow()}px wider than the screen"

    page.fill("#links", "https://x.com/grokfan/status/2008000000000000101")
    page.click("button[value=continue]")
    page.select_option("#posts-0-kind", "ai_image")
    page.click("button[value=continue]")
    page.wait_for_url(f"{live_server}/report/screenshots")
    page.click("button[value=continue]")
    finish_report(page, live_server)
    one_line = """(selector) => {
      const range = document.createRange();
      range.selectNodeContents(document.querySelector(selector));
      return new Set([...range.getClientRects()].map((r) => Math.round(r.top))).size === 1;
    }"""
    assert page.evaluate(one_line, ".access-value.reference"), "the reference is split"
    assert overflow() <= 0
    page.set_viewport_size({"width": 320, "height": 800})
    page.goto(f"{live_server}/my-case/case")
    page.click("button[value=fr]")
    page.wait_for_selector("html[lang=fr]")
    assert page.evaluate(one_line, "h1 .reference"), "the reference in the heading is split"
    assert overflow() <= 0
    context.close()


def test_acting_for_someone_reveals_its_questions_on_the_same_page(
    app: Flask, live_server: str, browser: Any
) -> None:
    factories.org(receives_public_reports=True)
    db.session.commit()
    context = browser.new_context(viewport={"width": 360, "height": 800})
    page = context.new_page()
    page.goto(f"{live_server}/report/")
    assert not page.is_visible("#relationship")
    page.check("#filer-1")
    assert page.is_visible("#relationship") and page.is_visible("#authority")
    page.check("#filer-0")
    assert not page.is_visible("#relationship")
    page.check("#filer-1")
    page.select_option("#relationship", "parent_guardian")
    page.check("#authority")
    page.click("button[value=continue]")
    page.wait_for_url(f"{live_server}/report/age")
    context.close()


def test_switching_language_while_typing_keeps_the_text(
    app: Flask, live_server: str, browser: Any
) -> None:
    factories.org(receives_public_reports=True)
    db.session.commit()
    context = browser.new_context(viewport={"width": 360, "height": 800})
    page = context.new_page()
    page.goto(f"{live_server}/report/")
    page.check("#filer-0")
    page.keyboard.press("Enter")  # Enter still means Continue, not a language
    page.wait_for_url(f"{live_server}/report/age")
    page.check("#minor-0")
    page.click("button[value=continue]")
    typed = "https://x.com/grokfan/status/2008000000000000101\nhttps://x.com/half"
    page.fill("#links", typed)
    page.click("button[lang=fr]")
    page.wait_for_selector("html[lang=fr]")
    assert page.input_value("#links") == typed
    context.close()
