"""Journey: a caseworker files a case for a person who phoned, imports their list of links
and logs one more post from X with the bookmarklet; every step is audited to her.

The person phoned with two links and a screenshot: she opens the case for them on the
staff page with the report form's questions, filing the screenshot under the post it
shows. The person then sends a list of 50 links: three lines are not links to posts and
two posts are already in a colleague's case, which the import proposes as a link rather
than copying them. Last, reading X, she finds one more post and logs it with the
bookmarklet from her account page.

The post on X is served by the browser itself: requests to https://x.com/ are answered
by Playwright with a local page, so the bookmarklet runs on a page whose address is a
real X post link while nothing leaves the machine. Any other request to x.com fails
the journey, as a request to any host but the app does.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from PIL import Image
from sqlalchemy import select

from casework.accounts.models import Role
from casework.actors import ActorKind
from casework.audit.models import AuditEvent
from casework.cases.models import Case, CaseLink
from casework.evidence.models import EvidenceFile
from tests import factories
from tests.e2e.conftest import BrowserGuard, LiveServer
from tests.e2e.journeys import database, screen, sign_in_staff

pytestmark = pytest.mark.e2e

CASEWORKER = "Nadia Benali"
PHONED_POSTS = [
    "https://x.com/deepfaker/status/2008000000000001001",
    "https://x.com/deepfaker/status/2008000000000001002",
]
# Already in a colleague's case: the list must not copy them silently.
IN_COLLEAGUES_CASE = [
    "https://x.com/reposter/status/2008000000000002001",
    "https://x.com/reposter/status/2008000000000002002",
]
BAD_LINES = ["https://x.com/deepfaker", "see the thread above", "https://example.com/status/1"]
NEW_IN_LIST = [f"https://x.com/spreader{n % 5}/status/{2008000000000003000 + n}" for n in range(45)]
LOGGED_POST = "https://x.com/lastone/status/2008000000000004242"
FAKE_X_POST = (
    "<!doctype html><html lang=en><head><meta charset=utf-8><title>Post on X</title>"
    "<link rel=icon href='data:,'></head><body><article><p>A post.</p></article></body></html>"
)


@dataclass(frozen=True)
class Seeded:
    email: str
    user_id: int
    colleagues_case: str


def seed(app: Flask) -> Seeded:
    with database(app) as session:
        organisation = factories.org()
        nadia = factories.user(organisation, Role.CASEWORKER, name=CASEWORKER)
        colleague = factories.user(organisation, Role.CASEWORKER, name="Léa Martin")
        theirs = factories.case(
            organisation, links=IN_COLLEAGUES_CASE, assignee_id=colleague.id, country="FR"
        )
        session.commit()
        return Seeded(nadia.email, nadia.id, theirs.reference)


def screenshot_file(tmp_path: Path) -> Path:
    """A phone screenshot the person emailed: a PNG with some pixels worth keeping."""
    image = Image.new("RGB", (360, 640), (240, 244, 250))
    for y in range(60, 580, 36):
        image.paste((40, 30, 70), (24, y, 336, y + 14))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    path = tmp_path / "screenshot-from-person.png"
    path.write_bytes(buffer.getvalue())
    return path


def the_list() -> str:
    """50 lines as the person sent them: the good, the bad and the already known, mixed."""
    lines = list(NEW_IN_LIST)
    lines.insert(7, BAD_LINES[0])
    lines.insert(15, IN_COLLEAGUES_CASE[0])
    lines.insert(23, BAD_LINES[1])
    lines.insert(31, IN_COLLEAGUES_CASE[1])
    lines.insert(40, BAD_LINES[2])
    assert len(lines) == 50
    return "\n".join(lines)


def serve_x_post_locally(page: Any, guard: BrowserGuard) -> None:
    """Answer the browser's request for the logged post's page on X with a local page.

    Page routes come before the guard's context route: only this exact address is
    answered; any other request to x.com is aborted and fails the journey.
    """

    def answer(route: Any) -> None:
        if route.request.url == LOGGED_POST:
            route.fulfill(status=200, content_type="text/html; charset=utf-8", body=FAKE_X_POST)
        else:
            guard.on_route(route)

    page.route(re.compile(r"^https://(x|twitter)\.com/"), answer)


def test_a_caseworker_files_for_a_caller_imports_a_list_and_logs_a_post(
    live_server: LiveServer, page: Any, shoot: Any, browser_guard: BrowserGuard, tmp_path: Path
) -> None:
    seeded = seed(live_server.app)
    page.goto("/staff/sign-in")
    sign_in_staff(page, seeded.email, factories.PASSWORD)
    page.wait_for_url("**/staff/cases/")

    # 1. The person phoned: two links and a screenshot, filed for them.
    page.get_by_role("link", name="New case for a person").click()
    page.wait_for_url("**/staff/cases/new")
    page.get_by_label("The person in the images", exact=True).check()
    page.get_by_label("No, they are 18 or older").check()
    page.get_by_label("Links to the posts on X, one per line").fill("\n".join(PHONED_POSTS))
    page.get_by_label("Screenshots (optional)").set_input_files(str(screenshot_file(tmp_path)))
    page.get_by_label("Country where the person lives").select_option("FR")
    page.get_by_label("Français").check()
    page.get_by_label("Not by email: they will check their case page, or we call them").check()
    page.get_by_label("Get the posts taken down").check()
    page.get_by_label("The person agrees that we may act for them", exact=False).check()
    screen(page, shoot, "new case for a caller")
    page.get_by_role("button", name="Continue").click()

    page.locator(".file-list").wait_for()
    assert "screenshot-from-person.png" in page.locator(".file-list").inner_text()
    for index in range(len(PHONED_POSTS)):
        page.locator(f"select[name=posts-{index}-kind]").select_option("ai_image")
    page.get_by_label("Which post does screenshot-from-person.png show?").select_option(
        label=PHONED_POSTS[1].replace("https://", "")
    )
    screen(page, shoot, "about each post and the screenshot")
    page.get_by_role("button", name="Open the case").click()

    heading = page.locator("h1")
    heading.filter(has_text="opened").wait_for()
    reference = re.search(r"CW-\d{4}-\d{6}", heading.inner_text())
    assert reference
    reference_text = reference.group(0)
    assert page.locator(".access-value.code").inner_text().strip()
    screen(page, shoot, "case opened with the access code")
    page.get_by_role("link", name="Go to the case").click()
    page.wait_for_url(re.compile(r"/staff/cases/\d+$"))
    case_id = int(page.url.rsplit("/", 1)[1])
    assert page.locator("#items-h").inner_text() == "Posts (2)"

    # 2. The list the person sent afterwards, pasted into their case.
    page.get_by_role("link", name="Import a list of links").click()
    page.wait_for_url(f"**/staff/cases/{case_id}/import")
    page.get_by_label("Paste links to posts on X, one per line").fill(the_list())
    page.get_by_role("button", name="Check the list").click()
    preview = page.locator("#preview-h").locator("..")
    preview.wait_for()
    headings = preview.locator("h3").all_inner_texts()
    assert headings == [
        "45 new posts",
        "2 posts already in other cases",
        "3 lines are not links to posts",
    ]
    assert preview.get_by_role("link", name=seeded.colleagues_case).count() == 2
    for line in (8, 24, 41):
        assert preview.get_by_text(f"Line {line} (", exact=False).count() == 1
    screen(page, shoot, "list preview")
    page.get_by_role("button", name="Confirm the import").click()
    page.wait_for_url(re.compile(rf"/staff/cases/{case_id}#items$"))
    assert page.get_by_role("status").filter(has_text="45 posts added.").count() == 1
    proposed = page.get_by_role("status").filter(has_text="A link to 1 other case was proposed.")
    assert proposed.count() == 1
    assert page.locator("#items-h").inner_text() == "Posts (47)"
    assert page.locator("#links tbody tr").filter(has_text=seeded.colleagues_case).count() >= 1
    screen(page, shoot, "case after the import")

    # 3. One more post, found on X and logged with the bookmarklet.
    page.goto("/staff/account")
    bookmarklet = page.locator("#bookmarklet-code").inner_text()
    assert bookmarklet.startswith("javascript:")
    screen(page, shoot, "account with the bookmarklet")
    serve_x_post_locally(page, browser_guard)
    page.goto(LOGGED_POST)
    assert page.url == LOGGED_POST
    # What clicking the bookmark does: its script runs on the page of the post on X.
    page.evaluate(bookmarklet.removeprefix("javascript:"))
    page.wait_for_url(re.compile(r"/staff/log\?url="))
    assert page.get_by_label("Link to the post on X").input_value() == LOGGED_POST
    assert page.get_by_text("No case of your organisation has this post yet.").count() == 1
    page.get_by_label(reference_text, exact=False).check()
    screen(page, shoot, "log the post")
    page.get_by_role("button", name="Add the post to this case").click()
    page.wait_for_url(re.compile(rf"/staff/cases/{case_id}#items$"))
    added = f"The post was added to {reference_text}."
    assert page.get_by_role("status").filter(has_text=added).count() == 1
    assert page.locator("#items-h").inner_text() == "Posts (48)"
    screen(page, shoot, "case with the logged post")

    # Every step is in the audit log, in her name.
    with database(live_server.app) as session:
        case = session.get(Case, case_id)
        assert case is not None and case.filed_by_id == seeded.user_id
        shot = session.scalars(select(EvidenceFile).where(EvidenceFile.case_id == case_id)).one()
        assert shot.item is not None and shot.item.url == PHONED_POSTS[1]
        events = session.scalars(
            select(AuditEvent).where(AuditEvent.case_id == case_id).order_by(AuditEvent.seq)
        ).all()
        # Opening the case with its screenshot, the import and its batch, the logged post.
        for action in ("case.opened", "evidence.added", "case.links_imported"):
            (event,) = [e for e in events if e.action == action]
            assert event.actor_type == ActorKind.USER.value, action
            assert event.actor_id == seeded.user_id, action
        imported = [e for e in events if e.action == "case.links_imported"]
        assert [e.details for e in imported] == [{"posts": 47, "added": 45, "linked_cases": 1}]
        batches = [e for e in events if e.action == "case.items_added"]
        assert [len(e.details["items"]) for e in batches] == [45, 1]
        assert all(
            e.actor_type == ActorKind.USER.value and e.actor_id == seeded.user_id for e in batches
        )
        linked = session.scalars(select(CaseLink)).all()
        assert linked and all(case_id in (c.case_a_id, c.case_b_id) for c in linked)


def test_a_caseworker_opens_a_case_from_a_list(
    live_server: LiveServer, page: Any, shoot: Any, browser_guard: BrowserGuard
) -> None:
    """The list comes first: previewed, then the person's questions, then the case."""
    seeded = seed(live_server.app)
    # The page naming a missing answer is a 400, which Chromium logs.
    browser_guard.expect_console_error(r"status of 400 .*/staff/cases/new/import/confirm")
    page.goto("/staff/sign-in")
    sign_in_staff(page, seeded.email, factories.PASSWORD)
    page.wait_for_url("**/staff/cases/")
    page.get_by_role("link", name="New case from a list of links").click()
    page.wait_for_url("**/staff/cases/new/import")
    page.get_by_label("Paste links to posts on X, one per line").fill(the_list())
    page.get_by_role("button", name="Check the list").click()
    page.locator("#preview-h").wait_for()
    # Nothing is written yet; a missing answer is named beside its question.
    page.get_by_label("The person in the images", exact=True).check()
    page.get_by_label("No, they are 18 or older").check()
    page.get_by_label("Country where the person lives").select_option("FR")
    page.get_by_label("English").check()
    page.get_by_label("Not by email: they will check their case page, or we call them").check()
    page.get_by_label("Get the posts taken down").check()
    screen(page, shoot, "list previewed with the questions")
    page.get_by_role("button", name="Open the case").click()
    page.locator("#consent-error").wait_for()
    assert "Tick the box to confirm." in page.locator("#consent-error").inner_text()
    assert page.get_by_label("English").is_checked()  # what she answered is kept
    screen(page, shoot, "consent missing")
    page.get_by_label("The person agrees that we may act for them").check()
    page.get_by_role("button", name="Open the case").click()

    page.locator("h1").filter(has_text="opened").wait_for()
    assert page.get_by_role("status").filter(has_text="45 posts added.").count() == 1
    screen(page, shoot, "case opened from the list")
    page.get_by_role("link", name="Go to the case").click()
    page.wait_for_url(re.compile(r"/staff/cases/\d+$"))
    assert page.locator("#items-h").inner_text() == "Posts (45)"
    assert page.locator("#links tbody tr").filter(has_text=seeded.colleagues_case).count() >= 1
