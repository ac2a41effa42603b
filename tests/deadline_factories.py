"""Factories for notices whose clock is running, for the deadline and worker tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from casework.accounts.models import Organisation, Role, User
from casework.cases.models import Case, CaseStatus
from casework.deadlines.models import Deadline, Reminder
from casework.deadlines.services import start_clock
from casework.extensions import db
from casework.notices.models import Notice, NoticeItem, NoticeState
from casework.registry import default_registry
from tests import factories

TIDA = "us.tida.removal"  # 48 hours from receipt


def staffed_case(
    *, escalation_emails: str = "", links: int = 1, **case_fields: object
) -> tuple[Case, User]:
    """An organisation, a caseworker, and a case assigned to them awaiting the platform."""
    organisation: Organisation = factories.org(escalation_emails=escalation_emails)
    caseworker = factories.user(organisation, Role.CASEWORKER)
    fields: dict[str, object] = {
        "status": CaseStatus.AWAITING_PLATFORM,
        "assignee_id": caseworker.id,
        **case_fields,
    }
    case = factories.case(
        organisation, links=[factories.post_url() for _ in range(links)], **fields
    )
    return case, caseworker


def sent_notice(case: Case, *, route_key: str = TIDA, received_at: datetime) -> Notice:
    """A notice recorded as sent for all the case's items, with its clock started."""
    route = default_registry().route(route_key)
    notice = Notice(
        case_id=case.id,
        route_key=route_key,
        jurisdiction=route.jurisdiction.upper(),
        state=NoticeState.SENT,
        channel="web_form",
        sent_at=received_at,
        received_at=received_at,
    )
    notice.items = [NoticeItem(item_id=item.id) for item in case.items]
    db.session.add(notice)
    db.session.flush()
    start_clock(db.session, notice, route, clock_started_at=received_at)
    return notice


def quick_deadline(case: Case, *, due_in: float, remind_in: list[float] = ()) -> Deadline:  # type: ignore[assignment]
    """A notice whose deadline falls seconds from now (real time), for worker-process tests."""
    now = datetime.now(UTC)
    notice = Notice(
        case_id=case.id,
        route_key=TIDA,
        jurisdiction="US",
        state=NoticeState.SENT,
        channel="web_form",
        sent_at=now,
        received_at=now,
    )
    notice.items = [NoticeItem(item_id=item.id) for item in case.items]
    db.session.add(notice)
    db.session.flush()
    deadline = Deadline(
        notice_id=notice.id,
        case_id=case.id,
        due_at=now + timedelta(seconds=due_in),
        reminders=[Reminder(remind_at=now + timedelta(seconds=s)) for s in remind_in],
    )
    db.session.add(deadline)
    db.session.flush()
    return deadline
