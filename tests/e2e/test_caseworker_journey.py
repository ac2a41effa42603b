"""Journey: a caseworker takes a new case, merges its duplicate and sends the takedown notice.

Two reports arrive about one person: hers, and one a friend filed a little later that
shares one of her posts, which grouping proposes as the same person. The caseworker
signs in through the real form, finds the case in Unassigned, assigns it to herself,
opens it, and merges the friend's report into it; the victim's reference lives on.
She then says what the images show, opens a DSA notice to X covering every post,
completes it, generates its letter and records it as sent: the follow-up clock starts.

Runs on PostgreSQL, the production database, where the merge's SQL matters most.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from casework.accounts.models import Role
from casework.audit.models import AuditEvent
from casework.cases.models import Case, CaseStatus, ContentCategory, FilerRole
from casework.deadlines.models import Deadline
from casework.notices.models import Letter, Notice, NoticeState
from tests import factories
from tests.e2e.conftest import LiveServer
from tests.e2e.journeys import database, screen, sign_in_staff

pytestmark = pytest.mark.e2e

SHARED_POST = "https://x.com/grokfan/status/2008000000000000101"
HER_POSTS = [
    SHARED_POST,
    "https://x.com/grokfan/status/2008000000000000303",
    "https://x.com/reposteur/status/2008000000000000202",
]
FRIENDS_POSTS = [SHARED_POST, "https://x.com/troisieme/status/2008000000000000505"]
CASEWORKER = "Amina Diallo"
SAME_POST = re.compile(r"\bthe same post\b")  # and not "the same posting account"
PREVIEW_SHOWN = """() => {
  const img = document.querySelector(".letter-preview img");
  return img !== null && img.complete && img.naturalWidth > 0;
}"""
DSA_NOTICE = "Notice of illegal content (DSA Art.16)"
EXPLANATION = (
    "These images are AI-generated sexual depictions of a real, identifiable woman, "
    "made and published without her consent."
)
BONA_FIDE = (
    "I confirm my bona fide belief that the information and allegations contained in this "
    "notice are accurate and complete."
)


@pytest.fixture
def live_backend() -> str:
    return "postgresql"


@dataclass(frozen=True)
class Seeded:
    email: str
    reference: str
    duplicate: str
    someone_elses: str


def seed(app: Flask) -> Seeded:
    """The organisation, its two caseworkers, and the cases waiting for them."""
    with database(app) as session:
        organisation = factories.org(receives_public_reports=True)
        amina = factories.user(organisation, Role.CASEWORKER, name=CASEWORKER)
        colleague = factories.user(organisation, Role.CASEWORKER, name="Léa Martin")
        # Already taken by a colleague: not in Unassigned.
        taken = factories.case(organisation, assignee_id=colleague.id)
        hers = factories.case(organisation, links=HER_POSTS, country="FR", language="fr")
        friends = factories.case(
            organisation,
            links=FRIENDS_POSTS,
            country="FR",
            filer_role=FilerRole.REPRESENTATIVE,
            filer_relationship="friend",
            has_authority=True,
        )
        session.commit()
        return Seeded(amina.email, hers.reference, friends.reference, taken.reference)


def references_listed(page: Any) -> set[str]:
    return {str(row.inner_text()) for row in page.locator(".worklist-table tbody th a").all()}


def test_a_caseworker_takes_a_new_case_and_merges_its_duplicate(
    live_server: LiveServer, page: Any, shoot: Any
) -> None:
    seeded = seed(live_server.app)

    # Signed out, the workspace sends her to sign in, and back to where she was going.
    page.goto("/staff/cases/")
    page.wait_for_url(re.compile(r"/staff/sign-in\?next=/staff/cases/$"))
    screen(page, shoot, "sign in")
    sign_in_staff(page, seeded.email, factories.PASSWORD)
    page.wait_for_url("**/staff/cases/")

    page.get_by_role("navigation", name="Queues").get_by_role("link", name="Unassigned").click()
    page.wait_for_url("**/staff/cases/?worklist=unassigned")
    assert references_listed(page) == {seeded.reference, seeded.duplicate}
    screen(page, shoot, "unassigned queue")

    # Assign it to herself from the queue.
    page.get_by_label(f"Select {seeded.reference}").check()
    page.get_by_label("Action").select_option(label="Assign")
    page.get_by_label("Assign to", exact=True).select_option(label=CASEWORKER)
    page.get_by_role("button", name="Apply to selected cases").click()
    page.wait_for_url("**/staff/cases/?worklist=unassigned")
    assert page.get_by_role("status").filter(has_text="1 case updated.").count() == 1
    assert references_listed(page) == {seeded.duplicate}
    screen(page, shoot, "assigned")

    page.get_by_role("navigation", name="Queues").get_by_role("link", name="Mine").click()
    page.wait_for_url("**/staff/cases/?worklist=mine")
    assert references_listed(page) == {seeded.reference}
    page.get_by_role("link", name=seeded.reference, exact=True).click()

    # Her case: assigned, and the friend's report proposed as the same person.
    page.wait_for_url(re.compile(r"/staff/cases/\d+$"))
    assert page.locator("h1").inner_text().startswith(seeded.reference)
    assert "Assigned to: " + CASEWORKER in page.locator("#work-h + p").inner_text()
    assert page.locator("#items-h").inner_text() == "Posts (3)"
    # Proposed for sharing a post (and so its posting account too), and nothing else.
    proposals = page.locator("#links tbody tr")
    assert {row.locator("td").first.inner_text().split()[0] for row in proposals.all()} == {
        seeded.duplicate
    }
    proposal = proposals.filter(has_text=SAME_POST)
    assert proposal.count() == 1
    screen(page, shoot, "case with a proposed duplicate")

    # The friend's report is the one to fold in, so the victim's reference lives on.
    proposal.get_by_role("link", name=seeded.duplicate, exact=True).click()
    page.wait_for_url(re.compile(r"/staff/cases/\d+$"))
    page.locator("#links tbody tr").filter(has_text=SAME_POST).get_by_role(
        "link", name=f"Merge this case into {seeded.reference}"
    ).click()
    page.wait_for_url(re.compile(r"/merge\?target=CW-"))
    comparison = page.locator("table.card tbody")
    assert comparison.locator("tr", has_text="Posts").inner_text().split() == ["Posts", "2", "3"]
    screen(page, shoot, "merge check")
    page.get_by_role("button", name=f"Merge {seeded.duplicate} into {seeded.reference}").click()

    page.wait_for_url(re.compile(r"/staff/cases/\d+$"))
    assert page.locator("h1").inner_text().startswith(seeded.reference)
    flash = page.get_by_role("status").filter(has_text="was merged into this case")
    assert flash.inner_text() == (
        f"{seeded.duplicate} was merged into this case (1 post moved, 1 already here)."
    )
    assert page.locator("#items-h").inner_text() == "Posts (4)"
    assert (
        page.locator("p.hint", has_text="Merged into this case:")
        .inner_text()
        .endswith(seeded.duplicate)
    )
    assert page.locator("#links tbody tr").count() == 0
    screen(page, shoot, "merged")

    # What the images show decides which laws cover them: all four are sexual deepfakes.
    selects = page.locator("#items select[name^=category-]")
    assert selects.count() == 4
    for choice in selects.all():
        choice.select_option(label="nude or sexual")
    page.get_by_role("button", name="Save what the images show").click()
    page.wait_for_url(re.compile(r"/staff/cases/\d+#items$"))
    assert page.get_by_role("status").filter(has_text="4 posts classified.").count() == 1

    # The takedown notice, opened from the case, covering every post.
    page.get_by_role("link", name="Open a notice").click()
    page.wait_for_url(re.compile(r"/staff/notices/cases/\d+/notices/new$"))
    page.get_by_label("Legal route").select_option("eu.dsa.notice")
    assert page.locator("input[name=item_ids]:checked").count() == 4
    screen(page, shoot, "open a notice")
    page.get_by_role("button", name="Open the notice").click()
    page.wait_for_url(re.compile(r"/staff/notices/notices/\d+$"))
    assert page.locator("h1").inner_text() == DSA_NOTICE
    assert page.locator(".missing-elements li").all_inner_texts() == [
        "Explanation of why the content is illegal",
        "Contact information for the reply",
        "Statement that the notice is accurate and complete",
        "Signature of the person depicted or their authorised representative",
    ]
    # Her organisation's address for the reply is offered; saving the form keeps it.
    assert seeded.email in page.get_by_label("Contact information for the reply").input_value()
    # Classified, every post falls inside what the DSA notice covers.
    assert page.locator(".scope-flags").count() == 0

    page.get_by_label("Why the content is illegal, or supporting information").fill(EXPLANATION)
    page.get_by_label(BONA_FIDE).check()
    # She signs it: a letter without a signature is a draft and cannot be sent.
    page.get_by_label("Typed signature: the full name of the person signing").fill(CASEWORKER)
    page.get_by_label("Their authorised representative").check()
    page.get_by_role("button", name="Save", exact=True).click()
    page.wait_for_url(re.compile(r"/staff/notices/notices/\d+$"))
    assert page.locator("p.complete").inner_text().startswith("Complete:")
    screen(page, shoot, "notice complete")

    page.get_by_role("button", name="Generate the letter").click()
    page.wait_for_url(re.compile(r"/staff/notices/\d+$"))
    assert page.get_by_role("status").filter(has_text="Version 1 of the letter is ready.").count()
    # The first page of the letter shows as an image (rendered by the server from the PDF).
    preview = page.get_by_role("img", name="Page 1 of", exact=False)
    preview.scroll_into_view_if_needed()
    page.wait_for_function(PREVIEW_SHOWN, timeout=15_000)
    screen(page, shoot, "letter")

    page.get_by_role("link", name="the notice").click()
    page.get_by_role("link", name="Record as sent").click()
    page.wait_for_url(re.compile(r"/staff/notices/notices/\d+/sent$"))
    page.get_by_label("How it was sent").select_option(label="The platform's web form")
    # "Received" is offered as now, in her time zone; she keeps it.
    assert page.get_by_label("When the addressee received it").input_value()
    screen(page, shoot, "record as sent")
    page.get_by_role("button", name="Record as sent").click()
    page.wait_for_url(re.compile(r"/staff/notices/notices/\d+$"))
    assert page.get_by_role("status").filter(has_text="The deadline clock has started.").count()

    page.get_by_role("link", name=seeded.reference, exact=True).click()
    page.get_by_role("link", name="Case screen").click()
    page.wait_for_url(re.compile(r"/staff/cases/\d+$"))
    assert page.locator("h1 .badge").last.inner_text() == "awaiting platform"
    sent = page.locator("#notices article.notice")
    assert sent.count() == 1
    assert "Concerns 4 posts." in sent.inner_text()
    assert "Sent " in sent.inner_text() and "(The platform's web form)" in sent.inner_text()
    assert "Deadline " in sent.locator(":scope > ul").inner_text()
    merged_entry = page.locator(".timeline li", has_text="was merged into").first.inner_text()
    assert (
        f"{seeded.duplicate} was merged into {seeded.reference}: 1 post moved, "
        "1 combined with a post already there, 0 evidence files, 0 notices." in merged_entry
    )
    screen(page, shoot, "notice sent")

    with database(live_server.app) as session:
        cases = {c.reference: c for c in session.scalars(select(Case))}
        hers, friends = cases[seeded.reference], cases[seeded.duplicate]
        assert friends.merged_into_id == hers.id
        assert friends.status is CaseStatus.CLOSED
        assert friends.items == []
        assert sorted(item.url for item in hers.items) == sorted({*HER_POSTS, *FRIENDS_POSTS})
        assert hers.assignee is not None and hers.assignee.name == CASEWORKER
        # The chain of custody says who assigned and who merged: her, signed in.
        done_by = {
            e.action: (e.actor_type, e.actor_id)
            for e in session.scalars(select(AuditEvent).where(AuditEvent.case_id == hers.id))
        }
        assert done_by["case.assigned"] == ("user", hers.assignee.id)
        assert done_by["case.merged"] == ("user", hers.assignee.id)
        assert done_by["notice.sent"] == ("user", hers.assignee.id)
        (notice,) = session.scalars(select(Notice).where(Notice.case_id == hers.id))
        assert notice.route_key == "eu.dsa.notice" and notice.state is NoticeState.SENT
        assert len(notice.items) == 4
        assert {item.category for item in hers.items} == {ContentCategory.NUDE_SEXUAL}
        # The DSA sets no deadline: ours is a follow-up a week after it was received.
        (deadline,) = session.scalars(select(Deadline).where(Deadline.notice_id == notice.id))
        assert notice.received_at is not None
        assert deadline.due_at - notice.received_at == timedelta(days=7)
        (letter,) = session.scalars(select(Letter).where(Letter.notice_id == notice.id))
        assert letter.version == 1 and letter.created_by_id == hers.assignee.id
