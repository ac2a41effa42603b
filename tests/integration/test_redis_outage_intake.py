"""Redis down: a victim's report and a notice recorded as sent are saved all the same, and
the sweep puts their deadlines and reminders on the schedule once Redis is back.

Redis here is a real server of the test's own, stopped while the person and the
caseworker use the app and started again for the worker.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from flask import Flask
from redis import Redis
from rq.registry import ScheduledJobRegistry
from sqlalchemy import select

from casework.accounts.models import Role
from casework.actors import Actor
from casework.cases.models import Case, CaseStatus
from casework.cases.workflow import transition
from casework.deadlines.models import Deadline, DeadlineState, Reminder
from casework.deadlines.scheduling import deadline_job_id, reminder_job_id
from casework.evidence.models import EvidenceFile
from casework.extensions import db
from casework.jobs import QUEUE_DEADLINES
from casework.notices.letters import create_letter
from casework.notices.models import Notice, NoticeState
from casework.notifications.models import OutgoingEmail
from casework.orm import utcnow
from casework.registry import default_registry
from tests import factories
from tests.intake_support import Answers, fill_report, photo, submit
from tests.letter_cases import complete_notice, realistic_case, sign_in
from tests.redis_server import PrivateRedis
from tests.worker_process import run_worker

TIDA = default_registry().route("us.tida.removal")


def _point_at(app: Flask, url: str) -> None:
    app.config["REDIS_URL"] = url
    app.extensions.pop("casework_redis", None)


def test_with_redis_down_work_is_saved_and_scheduled_once_redis_is_back(
    app: Flask, tmp_path: Path
) -> None:
    server = PrivateRedis(tmp_path).start()
    _point_at(app, server.url)
    org = factories.org(name="Safe Harbour Network", receives_public_reports=True)
    caseworker = factories.user(org, Role.CASEWORKER)
    admin = factories.user(org, Role.ADMIN)
    in_action = realistic_case(org, TIDA)
    for status in (CaseStatus.TRIAGE, CaseStatus.ACTION):
        transition(db.session, in_action, status, Actor.staff(admin.id, "admin"))
    notice = complete_notice(in_action, TIDA, caseworker)
    letter = create_letter(
        db.session,
        case=in_action,
        route_key=TIDA.key,
        actor=Actor.staff(caseworker.id, "caseworker"),
        notice=notice,
    )
    db.session.commit()
    notice_id, letter_id = notice.id, letter.id

    server.stop()

    # A person files a report, with a screenshot and an email address.
    victim = app.test_client()
    fill_report(victim, Answers(screenshots=[("shot.jpg", photo(3))], email="p@example.org"))
    confirmation = submit(victim)
    assert "CW-" in confirmation.reference and confirmation.access_code
    db.session.expire_all()
    filed = db.session.scalars(select(Case).where(Case.reference == confirmation.reference)).one()
    assert filed.items
    assert db.session.scalars(select(EvidenceFile).where(EvidenceFile.case_id == filed.id)).all()
    assert db.session.scalars(select(OutgoingEmail).where(OutgoingEmail.case_id == filed.id)).all()

    # A caseworker records the notice as sent.
    staff = app.test_client()
    sign_in(staff, caseworker)
    received = (utcnow() - timedelta(minutes=2)).replace(second=0, microsecond=0)
    response = staff.post(
        f"/staff/notices/notices/{notice_id}/sent",
        data={
            "channel": "web_form",
            "received_at": received.strftime("%Y-%m-%dT%H:%M"),
            "letter_id": str(letter_id),
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)[-2000:]
    db.session.expire_all()
    assert db.session.get_one(Notice, notice_id).state is NoticeState.SENT
    (deadline,) = db.session.scalars(select(Deadline).where(Deadline.notice_id == notice_id))
    assert deadline.state is DeadlineState.PENDING
    reminder_ids = [
        r.id
        for r in db.session.scalars(select(Reminder).where(Reminder.deadline_id == deadline.id))
        if r.remind_at > utcnow()
    ]
    assert reminder_ids, "the 48-hour deadline has reminders still to come"

    # Redis is back: one sweep by the real worker puts everything on RQ's schedule.
    server.start()
    try:
        connection = Redis.from_url(server.url)
        registry = ScheduledJobRegistry(QUEUE_DEADLINES, connection=connection)
        assert registry.get_job_ids() == []
        run_worker(app, "--queues", "deadlines")
        scheduled = set(registry.get_job_ids())
    finally:
        server.stop()
    assert deadline_job_id(deadline.id) in scheduled
    assert {reminder_job_id(i) for i in reminder_ids} <= scheduled
