"""Journey: from a report with screenshots to a signed TAKE IT DOWN Act letter.

A woman reports two posts with a screenshot of each, saying which post each shows. The
caseworker says what the images show, opens the letter the case screen recommends, and
asks her to sign its statement; she reads and signs it on her case page. The notice then
holds her name, her statement and her signature, and its PDF annexes each screenshot
under the post it shows. The test reads the PDF.
"""

from __future__ import annotations

import io
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import select

from casework.accounts.models import Role
from casework.cases.models import Case
from casework.evidence.models import EvidenceFile
from casework.notices.models import Letter, Notice
from tests import factories
from tests.e2e.conftest import LiveServer
from tests.e2e.journeys import database, screen, sign_in_staff
from tests.letter_cases import pdf_text

pytestmark = pytest.mark.e2e

POST_A = "https://x.com/grokfan/status/2008000000000000101"
POST_B = "https://x.com/reposteur/status/2008000000000000202"
HER_NAME = "Jane Example"
CASEWORKER = "Amina Diallo"
EXHIBIT_ROW = re.compile(r"\b(E\d+)\s+(\d+)\s+([0-9a-f]{64})\b")


def laid_out(pdf: bytes) -> str:
    """The PDF's text line by line as printed (the annex's table keeps its rows)."""
    result = subprocess.run(
        ["pdftotext", "-layout", "-enc", "UTF-8", "-", "-"],
        input=pdf,
        capture_output=True,
        check=True,
    )
    return result.stdout.decode("utf-8")


def picture(folder: Path, name: str, colour: tuple[int, int, int]) -> Path:
    buffer = io.BytesIO()
    image = Image.new("RGB", (320, 240), colour)
    for x in range(0, 320, 16):  # a pattern, so each picture is its own
        image.paste((x % 255, 255 - colour[1], colour[2] // 2), (x, 0, x + 8, 240))
    image.save(buffer, "JPEG", quality=90)
    path = folder / name
    path.write_bytes(buffer.getvalue())
    return path


def test_a_victims_screenshots_and_signed_statement_reach_the_take_it_down_letter(
    live_server: LiveServer, new_page: Any, shoot: Any, tmp_path: Path
) -> None:
    with database(live_server.app) as session:
        organisation = factories.org(receives_public_reports=True)
        amina = factories.user(organisation, Role.CASEWORKER, name=CASEWORKER)
        session.commit()
        amina_email = amina.email

    # She reports two posts, with a screenshot of each.
    her = new_page(locale="en-GB")
    her.goto("/report/")
    her.check("#filer-0")
    her.click("button[value=continue]")
    her.check("#minor-0")
    her.click("button[value=continue]")
    her.fill("#links", f"{POST_A}\n{POST_B}")
    her.click("button[value=continue]")
    her.click("button[value=continue]")
    her.wait_for_url("**/report/screenshots")
    first = picture(tmp_path, "first-post.jpg", (200, 40, 60))
    second = picture(tmp_path, "second-post.jpg", (30, 90, 200))
    her.set_input_files("#screenshots", [str(first), str(second)])
    her.click("button[value=upload]")
    her.wait_for_url("**/report/screenshots")
    her.get_by_label("Which post does first-post.jpg show?").select_option(
        label=POST_A.removeprefix("https://")
    )
    her.get_by_label("Which post does second-post.jpg show?").select_option(
        label=POST_B.removeprefix("https://")
    )
    screen(her, shoot, "screenshots assigned to posts")
    her.click("button[value=continue]")
    her.wait_for_url("**/report/where")
    her.select_option("#country", "US")
    her.check("#contact-0")
    her.fill("#email", "jane@example.org")
    her.click("button[value=continue]")
    her.check("#actions-0")
    her.check("#consent")
    her.click("button[value=continue]")
    her.wait_for_url("**/report/review")
    assert "2 matched to the posts they show" in her.inner_text("main")
    her.click("form[action$='/report/submit'] button[type=submit]")
    reference = her.inner_text(".access-value.reference").strip()
    code = her.inner_text(".access-value.code").strip()

    with database(live_server.app) as session:
        case = session.scalars(select(Case).where(Case.reference == reference)).one()
        case_id = case.id
        shown = {
            f.original_name: (f.sha256, f.item.url if f.item else None)
            for f in session.scalars(select(EvidenceFile))
        }
    assert shown["first-post.jpg"][1] == POST_A and shown["second-post.jpg"][1] == POST_B

    # The caseworker says what the images show and opens the recommended letter.
    desk = new_page()
    desk.goto("/staff/sign-in")
    sign_in_staff(desk, amina_email, factories.PASSWORD)
    desk.goto(f"/staff/cases/{case_id}")
    for choice in desk.locator("#items select[name^=category-]").all():
        choice.select_option(label="nude or sexual")
    desk.get_by_role("button", name="Save what the images show").click()
    desk.wait_for_url(re.compile(r"/staff/cases/\d+#items$"))
    recommended = desk.locator("#next-letters")
    recommended.get_by_role("link", name="TAKE IT DOWN Act removal request").click()
    desk.wait_for_url(re.compile(r"/notices/new\?route=us\.tida\.removal$"))
    desk.get_by_role("button", name="Open the notice").click()
    desk.wait_for_url(re.compile(r"/staff/notices/notices/\d+$"))
    notice_url = desk.url
    # The reply address her organisation offers, kept by saving the form.
    desk.get_by_role("button", name="Save", exact=True).click()
    desk.wait_for_url(re.compile(r"/staff/notices/notices/\d+$"))
    desk.get_by_role("button", name="Ask the person to sign").click()
    assert desk.get_by_role("status").filter(has_text="asked to sign").count() == 1
    screen(desk, shoot, "signature asked")

    # She comes back to her case page and signs.
    again = new_page(locale="en-GB")
    again.goto("/my-case/")
    again.get_by_label("Case reference").fill(reference)
    again.get_by_label("Access code").fill(code)
    again.get_by_role("button", name="Open my case").click()
    again.wait_for_url("**/my-case/case")
    statement = again.locator("#sign-title + p + blockquote").inner_text()
    assert "good faith" in statement.lower()
    again.get_by_label("Your name, as it should appear in the letter").fill(HER_NAME)
    again.get_by_label("Type your name again to sign").fill(HER_NAME)
    again.get_by_label("I confirm that these statements are true.").check()
    screen(again, shoot, "statement to sign")
    again.get_by_role("button", name="Sign", exact=True).click()
    again.wait_for_url("**/my-case/case")
    assert "Your signature was added to the letter" in again.inner_text("main")

    # The notice holds her name, statement and signature: complete, its letter final.
    desk.goto(notice_url)
    assert f"as “{HER_NAME}”" in desk.locator("#person-signs").inner_text()
    assert desk.locator("p.complete").inner_text().startswith("Complete:")
    desk.get_by_role("button", name="Generate the letter").click()
    desk.wait_for_url(re.compile(r"/staff/notices/\d+$"))
    screen(desk, shoot, "letter")

    with database(live_server.app) as session:
        notice = session.scalars(select(Notice).where(Notice.case_id == case_id)).one()
        assert (notice.signature_name, notice.depicted_person) == (HER_NAME, HER_NAME)
        assert notice.signatory_capacity == "subject"
        letter = session.scalars(select(Letter).where(Letter.case_id == case_id)).one()
        assert not letter.draft
        pdf = letter.pdf
    text = pdf_text(pdf)
    assert f"/s/ {HER_NAME}" in text
    assert "The person depicted has a good faith belief" in text
    # Each screenshot is an exhibit of the post it shows: post 1 is A, post 2 is B.
    exhibits = {sha: int(item) for _label, item, sha in EXHIBIT_ROW.findall(laid_out(pdf))}
    assert exhibits == {shown["first-post.jpg"][0]: 1, shown["second-post.jpg"][0]: 2}
    assert "No evidence files are attached" not in text
