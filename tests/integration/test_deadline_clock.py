"""Starting a notice's clock writes deadlines and reminders exactly as the registry says."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flask import Flask

from casework.deadlines.services import FOLLOW_UP, RESPONSE, start_clock
from casework.extensions import db
from casework.notices.models import Notice, NoticeState
from casework.registry import default_registry
from tests import factories

RECEIVED = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def _notice(route_key: str) -> Notice:
    org = factories.org()
    case = factories.case(org)
    notice = Notice(
        case_id=case.id,
        route_key=route_key,
        jurisdiction=route_key.split(".")[0].upper(),
        state=NoticeState.SENT,
        sent_at=RECEIVED,
        received_at=RECEIVED,
    )
    db.session.add(notice)
    db.session.flush()
    return notice


def test_take_it_down_act_gives_48_hours_with_reminders(app: Flask) -> None:
    notice = _notice("us.tida.removal")
    route = default_registry().route("us.tida.removal")
    (deadline,) = start_clock(db.session, notice, route, clock_started_at=RECEIVED)
    db.session.commit()
    assert deadline.stage == RESPONSE
    assert deadline.due_at == RECEIVED + timedelta(hours=48)
    assert [r.remind_at for r in deadline.reminders] == [
        RECEIVED + timedelta(hours=24),
        RECEIVED + timedelta(hours=43, minutes=12),
        RECEIVED + timedelta(hours=46),
    ]
    case = notice.case
    assert case.sort_deadline_at == deadline.due_at


def test_india_two_hours_since_february_2026(app: Flask) -> None:
    notice = _notice("in.grievance.ncii")
    route = default_registry().route("in.grievance.ncii")
    (deadline,) = start_clock(db.session, notice, route, clock_started_at=RECEIVED)
    assert deadline.due_at == RECEIVED + timedelta(hours=2)


def test_california_stages_each_get_a_deadline(app: Flask) -> None:
    registry = default_registry()
    route = next(
        r for r in registry.routes if r.jurisdiction == "us-ca" and r.deadline.kind == "staged"
    )
    notice = _notice(route.key)
    deadlines = start_clock(db.session, notice, route, clock_started_at=RECEIVED)
    assert len(deadlines) == len(route.deadline.stages) >= 2
    assert all(d.due_at > RECEIVED for d in deadlines)


def test_a_route_without_a_legal_deadline_gets_only_our_follow_up(app: Flask) -> None:
    registry = default_registry()
    route = next(r for r in registry.routes if r.deadline.is_none and r.follow_up_days)
    notice = _notice(route.key)
    (deadline,) = start_clock(db.session, notice, route, clock_started_at=RECEIVED)
    assert deadline.stage == FOLLOW_UP
    assert deadline.due_at == RECEIVED + timedelta(days=route.follow_up_days or 0)
