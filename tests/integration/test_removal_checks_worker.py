"""With removal checks on, the real worker alone decides each deadline from X's answers.

Two notices go out, each with a deadline ten minutes away, and their jobs are scheduled
as recording a notice does. `python worker.py --burst` runs three times against a
loopback stand-in for X (tests/fake_x.py): now (the checks of a notice just sent: every
post up), then with its clock moved to 55 seconds before the deadlines (libfaketime),
after the platform took down one notice's posts (the last check before the deadline),
then with its clock past the deadlines. No staff action is taken at any point.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from redis import Redis
from sqlalchemy import select

from casework.audit.models import AuditEvent
from casework.cases.models import Case, CaseStatus, Item, RemovalState
from casework.deadlines.jobs import schedule_deadline_jobs
from casework.deadlines.models import Deadline, DeadlineState, RemovalCheck
from casework.extensions import db
from tests import fake_x as fx
from tests.deadline_factories import quick_deadline, staffed_case
from tests.worker_process import run_worker, worker_env

pytestmark = pytest.mark.redis

DUE_IN_SECONDS = 600


@pytest.fixture
def x_server() -> Iterator[fx.FakeX]:
    with fx.fake_x() as fake:
        yield fake


def run_worker_at(app: Flask, fake: fx.FakeX, faketime: str, ahead: str | None) -> str:
    """One `python worker.py --burst`, its clock `ahead` of ours (seconds) if given."""
    env = worker_env(
        app,
        CASEWORK_REMOVAL_CHECKS="1",
        CASEWORK_REMOVAL_CHECK_OEMBED_URL=fake.oembed_url,
        CASEWORK_REMOVAL_CHECK_SYNDICATION_URL=fake.syndication_url,
        CASEWORK_REMOVAL_CHECK_TIMEOUT="2",
        # No wait between requests: libfaketime refuses time.sleep when only the wall
        # clock is moved (the limiter's spacing is tested in test_removal_checks.py).
        CASEWORK_REMOVAL_CHECK_HOST_INTERVAL="0",
    )
    clock = (faketime, ahead) if ahead is not None else None
    return run_worker(app, env=env, clock_ahead=clock, timeout=120).stderr


def _checks(case: Case) -> list[RemovalCheck]:
    return list(
        db.session.scalars(
            select(RemovalCheck)
            .join(Item, Item.id == RemovalCheck.item_id)
            .where(Item.case_id == case.id)
            .order_by(RemovalCheck.id)
        )
    )


def test_posts_gone_before_the_deadline_meet_it_and_posts_left_up_escalate(
    app: Flask, redis: Redis, x_server: fx.FakeX, faketime: str
) -> None:
    app.config.update(
        REMOVAL_CHECKS_ENABLED=True,
        REMOVAL_CHECK_OEMBED_URL=x_server.oembed_url,
        REMOVAL_CHECK_SYNDICATION_URL=x_server.syndication_url,
    )
    acted, _ = staffed_case(links=2)
    ignored, _ = staffed_case()
    deadlines = [quick_deadline(c, due_in=DUE_IN_SECONDS) for c in (acted, ignored)]
    db.session.commit()
    acted_id, ignored_id = acted.id, ignored.id
    met_id, missed_id = (d.id for d in deadlines)
    due_at = deadlines[0].due_at
    # As recording the notices as sent does once committed.
    schedule_deadline_jobs([met_id, missed_id])

    log = run_worker_at(app, x_server, faketime, None)
    db.session.expire_all()
    for case_id in (acted_id, ignored_id):
        case = db.session.get(Case, case_id)
        assert case is not None
        assert [(c.reason.value, c.outcome.value) for c in _checks(case)] == [("sent", "up")] * len(
            case.items
        ), log

    # The platform takes down every post of the first notice, some minutes later.
    for item in acted.items:
        x_server.behaviour[str(item.status_id)] = fx.DELETED
    log = run_worker_at(app, x_server, faketime, f"+{DUE_IN_SECONDS - 55}")
    db.session.expire_all()
    acted_checks = _checks(acted)
    last = [c for c in acted_checks if c.reason.value == "before_deadline"]
    assert [c.outcome.value for c in last] == ["removed", "removed"], log
    assert all(c.checked_at < due_at for c in last)
    ignored_checks = _checks(ignored)
    assert [c.outcome.value for c in ignored_checks if c.reason.value == "before_deadline"] == [
        "up"
    ], log
    for deadline_id in (met_id, missed_id):
        deadline = db.session.get(Deadline, deadline_id)
        assert deadline is not None and deadline.state == DeadlineState.PENDING

    log = run_worker_at(app, x_server, faketime, f"+{DUE_IN_SECONDS + 60}")
    db.session.expire_all()
    met = db.session.get(Deadline, met_id)
    missed = db.session.get(Deadline, missed_id)
    assert met is not None and missed is not None
    assert (met.state, missed.state) == (DeadlineState.MET, DeadlineState.MISSED), log
    acted_case = db.session.get(Case, acted_id)
    ignored_case = db.session.get(Case, ignored_id)
    assert acted_case is not None and ignored_case is not None
    assert acted_case.status == CaseStatus.AWAITING_PLATFORM
    assert ignored_case.status == CaseStatus.ESCALATED
    assert all(i.removal_state == RemovalState.REMOVED for i in acted_case.items)
    event = db.session.scalars(
        select(AuditEvent).where(
            AuditEvent.action == "deadline.met", AuditEvent.object_id == met_id
        )
    ).one()
    assert event.details["removal_recorded_by"] == "check"
    assert event.details["removal_checks"] == sorted(c.id for c in last)
    # Nobody but the system acted on either case.
    actors = set(
        db.session.scalars(
            select(AuditEvent.actor_type).where(AuditEvent.case_id.in_([acted_id, ignored_id]))
        )
    )
    assert actors <= {"system"}
    # Just after the deadline, each post was checked once more, for the record.
    assert {c.reason.value for c in _checks(ignored_case)} >= {"after_deadline"}
