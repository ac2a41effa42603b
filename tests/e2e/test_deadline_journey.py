"""Journey: the platform lets its deadline pass; the worker escalates; a lawyer takes it on.

The case stands where the caseworker journey leaves it: assigned, a takedown notice
recorded as sent under the US TAKE IT DOWN Act (48 hours), its deadline rows written
and its jobs scheduled in Redis. The test then moves the clock of a real
`python worker.py --burst` process 49 hours ahead (libfaketime): that worker, and
nothing in the test, finds the deadline missed, escalates the case and tells the
caseworker, by notification and by email to an SMTP server on loopback. In the browser
the case has left Awaiting platform for Escalated. Then a lawyer signs in, finds the case
ready for legal action, and downloads the complaint to the FTC the worker drafted; the
test reads the PDF's text.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from casework.accounts.models import Role, User
from casework.actors import Actor
from casework.audit.models import AuditEvent
from casework.cases.models import Case, CaseStatus, ContentCategory
from casework.deadlines.jobs import schedule_deadline_jobs
from casework.deadlines.models import Deadline, DeadlineState, Escalation
from casework.jobs import redis_connection
from casework.notices.letters import create_letter
from casework.notices.models import Letter
from casework.notices.services import record_sent
from casework.registry import default_registry
from tests import factories
from tests.deadline_factories import TIDA
from tests.e2e.conftest import LiveServer
from tests.e2e.journeys import database, screen, set_up_two_step, sign_in_staff
from tests.letter_cases import complete_notice, pdf_text
from tests.smtp_server import Inbox, smtp_server
from tests.worker_process import run_worker, worker_env

pytestmark = pytest.mark.e2e

CASEWORKER = "Amina Diallo"
LAWYER = "Maître Claire Dubois"
FTC_COMPLAINT = "Complaint to the FTC: platform missed the TAKE IT DOWN Act deadline"
# TAKE IT DOWN gives the platform 48 hours from receipt; the worker lives an hour past it.
WORKER_CLOCK_AHEAD = "+49h"


@pytest.fixture
def live_backend() -> str:
    return "postgresql"


@pytest.fixture
def inbox() -> Iterator[tuple[Inbox, int]]:
    with smtp_server() as running:
        yield running


@pytest.fixture
def clean_queues(live_server: LiveServer) -> None:
    """Jobs left in Redis by other tests would run in this worker with a moved clock."""
    with live_server.app.app_context():
        redis_connection(live_server.app).flushdb()


@dataclass(frozen=True)
class Seeded:
    email: str
    lawyer_email: str
    reference: str
    case_id: int
    due_at: datetime
    post_url: str


def notice_sent_just_now(app: Flask) -> Seeded:
    """The caseworker journey's end: her case, its notice sent, the platform's clock running."""
    with database(app) as session:
        organisation = factories.org(receives_public_reports=True)
        amina = factories.user(organisation, Role.CASEWORKER, name=CASEWORKER)
        claire = factories.user(organisation, Role.LAWYER, name=LAWYER)
        case = factories.case(organisation, status=CaseStatus.ACTION, assignee_id=amina.id)
        # She has classified the post: the TAKE IT DOWN Act covers nude or sexual images.
        for item in case.items:
            item.category = ContentCategory.NUDE_SEXUAL
        # As she does on the notice screen: completes the notice, generates its letter and
        # records that version as sent; the FTC complaint will annex it.
        notice = complete_notice(case, default_registry().route(TIDA), amina)
        actor = Actor.staff(amina.id, "caseworker")
        now = datetime.now(UTC)
        letter = create_letter(
            session, case=case, route_key=TIDA, actor=actor, notice=notice, now=now
        )
        assert not letter.draft, letter.data_snapshot["missing"]
        record_sent(
            session, notice, channel="email", received_at=now, actor=actor, letter=letter, now=now
        )
        session.commit()
        deadline = session.scalars(select(Deadline).where(Deadline.notice_id == notice.id)).one()
        # As recording a notice does once its transaction has committed.
        assert schedule_deadline_jobs([deadline.id]) > 0
        return Seeded(
            amina.email, claire.email, case.reference, case.id, deadline.due_at, case.items[0].url
        )


def run_worker_hours_later(app: Flask, faketime: str, smtp_port: int) -> str:
    env = worker_env(app, MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp_port)
    return run_worker(app, env=env, clock_ahead=(faketime, WORKER_CLOCK_AHEAD), timeout=120).stderr


def queue_references(page: Any, queue: str) -> set[str]:
    page.goto(f"/staff/cases/?worklist={queue}")
    return {str(a.inner_text()) for a in page.locator(".worklist-table tbody th a").all()}


def test_a_missed_deadline_is_escalated_by_the_worker_and_shown_to_the_caseworker(
    live_server: LiveServer,
    page: Any,
    shoot: Any,
    new_page: Callable[..., Any],
    faketime: str,
    inbox: tuple[Inbox, int],
    clean_queues: None,
) -> None:
    seeded = notice_sent_just_now(live_server.app)
    messages, smtp_port = inbox

    page.goto("/staff/sign-in")
    sign_in_staff(page, seeded.email, factories.PASSWORD)
    page.wait_for_url("**/staff/cases/")
    assert queue_references(page, "awaiting") == {seeded.reference}
    assert queue_references(page, "escalated") == set()
    screen(page, shoot, "escalated queue still empty")

    # Two days pass for the worker; the platform has done nothing.
    run_worker_hours_later(live_server.app, faketime, smtp_port)

    with database(live_server.app) as session:
        case = session.get_one(Case, seeded.case_id)
        assert case.status is CaseStatus.ESCALATED
        deadline = session.scalars(select(Deadline).where(Deadline.case_id == case.id)).one()
        assert deadline.state is DeadlineState.MISSED
        # Handled on the worker's clock, after the due time; and once, though both the
        # scheduled job and the sweep came for it.
        assert deadline.handled_at is not None and deadline.handled_at > seeded.due_at
        assert len(session.scalars(select(Escalation)).all()) == 1

    assert queue_references(page, "awaiting") == set()
    assert queue_references(page, "escalated") == {seeded.reference}
    screen(page, shoot, "escalated queue")

    page.get_by_role("link", name=seeded.reference, exact=True).click()
    page.wait_for_url(f"**/staff/cases/{seeded.case_id}")
    assert page.locator("h1 .badge").last.inner_text() == "escalated"
    screen(page, shoot, "escalated case")

    page.goto("/staff/notifications/")
    missed = page.locator("ul.notifications li").filter(has_text="missed its deadline")
    assert missed.count() == 1
    assert seeded.reference in missed.inner_text()
    screen(page, shoot, "notification")

    # And she was told by email, through the worker, in one message about this case.
    to_her = [m for m in messages.messages if m["To"] == seeded.email]
    missed_emails = [m for m in to_her if str(m["Subject"]).startswith("Deadline missed")]
    assert len(missed_emails) == 1
    assert seeded.reference in str(missed_emails[0]["Subject"])

    # A lawyer, in her own browser, takes the case from Ready for legal action.
    lawyer = new_page()
    lawyer.goto("/staff/sign-in")
    sign_in_staff(lawyer, seeded.lawyer_email, factories.PASSWORD)
    # Lawyers download unblurred evidence: her first sign-in sets up the second factor.
    set_up_two_step(lawyer)
    lawyer.wait_for_url("**/staff/notices/")
    ready = lawyer.locator("table tbody tr", has_text=seeded.reference)
    assert "escalated" in ready.inner_text()
    screen(lawyer, shoot, "ready for legal action")
    ready.get_by_role("link", name=seeded.reference, exact=True).click()
    lawyer.wait_for_url(f"**/staff/notices/cases/{seeded.case_id}")
    assert lawyer.get_by_role("heading", name=FTC_COMPLAINT).count() == 1
    # Version 1, made by the system (the worker), not by a person.
    drafted = lawyer.locator(f"h3:has-text('{FTC_COMPLAINT}') + .table-wrap tbody tr")
    assert drafted.count() == 1
    assert drafted.locator("td").nth(2).inner_text() == "system"
    screen(lawyer, shoot, "letters of the case")
    with lawyer.expect_download() as downloading:
        drafted.get_by_role("link", name="Download").click()
    download = downloading.value
    assert download.suggested_filename.endswith(".pdf")
    pdf = Path(download.path()).read_bytes()
    assert pdf.startswith(b"%PDF-")
    text = pdf_text(pdf)
    assert "Federal Trade Commission" in text
    assert "did not comply with 47 USC 223a" in text
    assert "not later than 48 hours after receiving it" in text
    assert seeded.reference in text
    assert seeded.post_url in text

    with database(live_server.app) as session:
        escalation = session.scalars(select(Escalation)).one()
        assert escalation.letter_id is not None
        letter = session.get_one(Letter, escalation.letter_id)
        assert letter.route_key == "us.ftc.complaint"
        assert hashlib.sha256(pdf).hexdigest() == letter.sha256  # the very version on record
        lawyer_id = session.scalars(select(User.id).where(User.email == seeded.lawyer_email)).one()
        (downloaded,) = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "letter.downloaded")
        )
        assert (downloaded.actor_type, downloaded.actor_id) == ("user", lawyer_id)
