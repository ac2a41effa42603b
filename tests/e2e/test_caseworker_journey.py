"""Journey: a caseworker signs in, takes a new case from Unassigned and merges its duplicate.

Two reports arrive about one person: hers, and one a friend filed a little later that
shares one of her posts, which grouping proposes as the same person. The caseworker
signs in through the real form, finds the case in Unassigned, assigns it to herself,
opens it, and merges the friend's report into it; the victim's reference lives on.

Runs on PostgreSQL, the production database, where the merge's SQL matters most.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from casework.accounts.models import Role
from casework.audit.models import AuditEvent
from casework.cases.models import Case, CaseStatus, FilerRole
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
    return {str(row.inner_text()) for row in page.locator(".queue-table tbody th a").all()}


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
    page.wait_for_url("**/staff/cases/?queue=unassigned")
    assert references_listed(page) == {seeded.reference, seeded.duplicate}
    screen(page, shoot, "unassigned queue")

    # Assign it to herself from the queue.
    page.get_by_label(f"Select {seeded.reference}").check()
    page.get_by_label("Action").select_option(label="Assign")
    page.get_by_label("Assign to", exact=True).select_option(label=CASEWORKER)
    page.get_by_role("button", name="Apply to selected cases").click()
    page.wait_for_url("**/staff/cases/?queue=unassigned")
    assert page.get_by_role("status").filter(has_text="1 case updated.").count() == 1
    assert references_listed(page) == {seeded.duplicate}
    screen(page, shoot, "assigned")

    page.get_by_role("navigation", name="Queues").get_by_role("link", name="Mine").click()
    page.wait_for_url("**/staff/cases/?queue=mine")
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
        f"{seeded.duplicate} was merged into this case (1 posts moved, 1 combined)."
    )
    assert page.locator("#items-h").inner_text() == "Posts (4)"
    assert (
        page.locator("p.hint", has_text="Merged into this case:")
        .inner_text()
        .endswith(seeded.duplicate)
    )
    assert page.locator("#links tbody tr").count() == 0
    screen(page, shoot, "merged")

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
