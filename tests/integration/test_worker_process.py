"""The real worker process, real Redis and a real database: deadlines are handled once, always.

Times are real but short: deadlines fall seconds from now, and nothing waits for hours.
"""

from __future__ import annotations

import io
import os
import signal
import socket
import time
from pathlib import Path

import pytest
from flask import Flask
from pypdf import PdfReader
from redis import Redis
from rq import Queue
from rq.registry import StartedJobRegistry
from sqlalchemy import create_engine, func, select, text

from casework import heartbeat
from casework.audit.models import AuditEvent
from casework.cases.models import Case, CaseStatus
from casework.cli import cli_group
from casework.deadlines.jobs import handle_deadline, schedule_deadline_jobs
from casework.deadlines.messages import KIND_MISSED, KIND_REMINDER
from casework.deadlines.models import Deadline, DeadlineState, Escalation, Reminder, SweepRun
from casework.extensions import db
from casework.jobs import QUEUE_DEADLINES, QUEUE_LETTERS, QUEUE_NOTIFICATIONS
from casework.notices.jobs import generate_letter_job
from casework.notices.models import Letter
from casework.notifications.models import Notification
from tests.deadline_factories import quick_deadline, staffed_case
from tests.waiting import wait_until
from tests.worker_process import run_worker, start_worker, stop_worker, worker_env

pytestmark = pytest.mark.redis


def _count(model: type, *where: object) -> int:
    db.session.expire_all()
    return int(db.session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def _deadlines(n: int, *, due_in: float, **case_fields: object) -> list[int]:
    ids = []
    for _ in range(n):
        case, _ = staffed_case(**case_fields)
        ids.append(quick_deadline(case, due_in=due_in).id)
    db.session.commit()
    return ids


def test_a_due_deadline_is_handled_once_by_its_job_and_escalates(app: Flask, redis: Redis) -> None:
    (deadline_id,) = _deadlines(1, due_in=-1)
    assert schedule_deadline_jobs([deadline_id]) == 1

    run_worker(app, "--no-sweep")
    deadline = db.session.get(Deadline, deadline_id)
    assert deadline is not None
    db.session.refresh(deadline)
    assert deadline.state == DeadlineState.MISSED
    assert deadline.handled_by is not None and deadline.handled_by.startswith("job:")
    case = db.session.get(Case, deadline.case_id)
    assert case is not None
    db.session.refresh(case)
    assert case.status == CaseStatus.ESCALATED

    # The sweep and a re-scheduled job, later, change nothing.
    schedule_deadline_jobs([deadline_id])
    Queue(QUEUE_DEADLINES, connection=redis).enqueue(handle_deadline, deadline_id)
    run_worker(app)
    assert _count(Escalation) == 1
    assert _count(Notification, Notification.kind == KIND_MISSED) == 1
    assert _count(AuditEvent, AuditEvent.action == "deadline.missed") == 1
    assert _count(SweepRun) == 1


def test_a_case_the_worker_escalates_is_ready_for_legal_action_in_both_lists(
    app: Flask, redis: Redis
) -> None:
    from casework.cases.worklists import WorklistKey, fetch_page, worklist_spec
    from casework.notices.queries import ready_for_legal_action

    case, caseworker = staffed_case()
    deadline = quick_deadline(case, due_in=-1)
    db.session.commit()
    case_id, org_id = case.id, case.organisation_id
    assert schedule_deadline_jobs([deadline.id]) == 1
    legal = worklist_spec(WorklistKey.LEGAL, organisation_id=org_id, user_id=caseworker.id)
    assert fetch_page(db.session, legal, None, page_size=50).cases == []

    run_worker(app, "--no-sweep", "--queues", "deadlines")
    db.session.expire_all()
    escalated = db.session.get_one(Case, case_id)
    assert escalated.status == CaseStatus.ESCALATED
    assert escalated.legal_ready is True
    assert [c.id for c in fetch_page(db.session, legal, None, page_size=50).cases] == [case_id]
    ready = ready_for_legal_action(db.session, org_id, caseworker.id)
    assert [row.case.id for row in ready.rows] == [case_id]


def test_a_missed_deadline_gets_its_escalation_letter_drafted_by_the_worker(
    app: Flask, redis: Redis
) -> None:
    (deadline_id,) = _deadlines(1, due_in=-1)
    schedule_deadline_jobs([deadline_id])
    run_worker(app, "--no-sweep")

    db.session.expire_all()
    escalation = db.session.scalars(select(Escalation)).one()
    assert escalation.route_key == "us.ftc.complaint"
    assert escalation.letter_id is not None
    letter = db.session.get(Letter, escalation.letter_id)
    assert letter is not None
    assert letter.route_key == "us.ftc.complaint"
    assert letter.pdf.startswith(b"%PDF")
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(letter.pdf)).pages)
    assert "Federal Trade Commission" in text
    assert "47 USC 223a" in text


def test_each_line_a_job_logs_carries_its_rq_job_id(app: Flask, redis: Redis) -> None:
    queue = Queue(QUEUE_LETTERS, connection=redis)
    # Letter jobs for cases that do not exist: each logs one line and returns.
    jobs = {
        case_id: queue.enqueue(generate_letter_job, case_id, "us.tida.removal", None)
        for case_id in (424242, 424243)
    }
    result = run_worker(app, "--no-sweep", "--queues", QUEUE_LETTERS)
    for case_id, job in jobs.items():
        (line,) = [
            line
            for line in result.stderr.splitlines()
            if f"letter job: case {case_id} is gone" in line
        ]
        assert f"[job {job.id}]" in line


def test_a_flushed_redis_loses_nothing(app: Flask, redis: Redis) -> None:
    ids = _deadlines(3, due_in=-5)
    case, _ = staffed_case()
    reminder_deadline = quick_deadline(case, due_in=3600, remind_in=[-2])
    db.session.commit()
    assert schedule_deadline_jobs([*ids, reminder_deadline.id]) == 5

    redis.flushdb()  # its own database only: other runs may share the server
    run_worker(app)

    db.session.expire_all()
    states = dict(db.session.execute(select(Deadline.id, Deadline.state)).tuples().all())
    assert {states[i] for i in ids} == {DeadlineState.MISSED}
    assert states[reminder_deadline.id] == DeadlineState.PENDING
    handlers = set(db.session.scalars(select(Deadline.handled_by).where(Deadline.id.in_(ids))))
    assert all(h.startswith("sweep:") for h in handlers if h)
    assert _count(Reminder, Reminder.sent_at.is_(None)) == 0
    assert _count(Notification, Notification.kind == KIND_REMINDER) == 1
    assert _count(Escalation) == 3


def test_two_workers_racing_handle_each_deadline_once(app: Flask, redis: Redis) -> None:
    ids = _deadlines(40, due_in=-1)
    queue = Queue(QUEUE_DEADLINES, connection=redis)
    # Every deadline is on the queue twice over, and both workers also sweep.
    for deadline_id in ids:
        queue.enqueue(handle_deadline, deadline_id)
        queue.enqueue(handle_deadline, deadline_id)
    env = worker_env(app)
    # The race is over deadlines; drafting the 40 escalation letters is the letters
    # queue's work, left out so the race stays about handling each deadline once.
    queues = ("--queues", QUEUE_DEADLINES, QUEUE_NOTIFICATIONS)
    first = start_worker(app, "--burst", *queues, env=env)
    second = start_worker(app, "--burst", *queues, env=env)
    outputs = [first.communicate(timeout=120)[0], second.communicate(timeout=120)[0]]
    assert first.returncode == 0 and second.returncode == 0, outputs
    # Both workers did some of the work.
    assert all("handle_deadline" in out for out in outputs)

    assert _count(Deadline, Deadline.state == DeadlineState.MISSED) == 40
    assert _count(Escalation) == 40
    assert _count(Notification, Notification.kind == KIND_MISSED) == 40
    assert _count(AuditEvent, AuditEvent.action == "deadline.missed") == 40
    assert _count(AuditEvent, AuditEvent.action == "case.status_changed") == 40


def test_a_worker_killed_mid_job_leaves_the_deadline_for_the_next_run(
    app: Flask, redis: Redis, backend: str
) -> None:
    (deadline_id,) = _deadlines(1, due_in=-1)
    case_id = db.session.get(Deadline, deadline_id).case_id  # type: ignore[union-attr]
    schedule_deadline_jobs([deadline_id])
    db.session.remove()

    # Another transaction holds the case row, so the job stops half-way through.
    blocker = create_engine(app.config["SQLALCHEMY_DATABASE_URI"])
    connection = blocker.connect()
    if backend == "postgresql":
        connection.execute(text("SELECT id FROM cases WHERE id = :id FOR UPDATE"), {"id": case_id})
    else:
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    try:
        worker = start_worker(app, "--burst", "--no-sweep")
        started = StartedJobRegistry(QUEUE_DEADLINES, connection=redis)
        wait_until(lambda: started.count > 0, 30, "the job to start")
        if backend == "postgresql":
            # The job has claimed the deadline and now waits for the case row.
            wait_until(
                lambda: (
                    connection.execute(
                        text(
                            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                            "AND datname = current_database()"
                        )
                    ).scalar()
                    == 1
                ),
                30,
                "the job to block on the case row",
            )
        else:
            # SQLite shows no waiting lock to look for: let the job reach the held one.
            time.sleep(1.0)
        os.killpg(worker.pid, signal.SIGKILL)
        worker.communicate(timeout=10)
    finally:
        connection.rollback()
        connection.close()
        blocker.dispose()

    if backend == "postgresql":
        probe = create_engine(app.config["SQLALCHEMY_DATABASE_URI"])
        with probe.connect() as conn:
            # The dead worker's session ends once the server sees its client gone.
            wait_until(
                lambda: (
                    conn.execute(
                        text(
                            "SELECT count(*) FROM pg_stat_activity "
                            "WHERE datname = current_database() "
                            "AND state LIKE 'idle in transaction%'"
                        )
                    ).scalar()
                    == 0
                ),
                30,
                "the killed worker's transaction to end",
            )
        probe.dispose()

    assert db.session.get(Deadline, deadline_id).state == DeadlineState.PENDING  # type: ignore[union-attr]
    run_worker(app)
    db.session.expire_all()
    deadline = db.session.get(Deadline, deadline_id)
    assert deadline is not None
    assert deadline.state == DeadlineState.MISSED
    assert _count(Escalation) == 1
    assert _count(AuditEvent, AuditEvent.action == "deadline.missed") == 1


def test_reminders_and_deadline_fire_at_their_times_with_the_worker_running(
    app: Flask, redis: Redis
) -> None:
    worker = start_worker(app, "--sweep-interval", "3600")
    output = ""
    try:
        # The deadline is made after the worker's start-up sweep, however slow the start:
        # from then on only its own jobs, at their times, can handle it.
        wait_until(lambda: _count(SweepRun) == 1, 60, "the worker's start-up sweep")
        case, _ = staffed_case()
        deadline = quick_deadline(case, due_in=9, remind_in=[5, 7])
        db.session.commit()
        deadline_id = deadline.id
        schedule_deadline_jobs([deadline_id])
        wait_until(
            lambda: _count(Deadline, Deadline.id == deadline_id, Deadline.state != "pending") == 1,
            40,
            "the deadline to be handled",
        )
    except AssertionError as exc:
        output = stop_worker(worker)
        raise AssertionError(output[-4000:]) from exc
    finally:
        output = output or stop_worker(worker)
    db.session.expire_all()
    deadline = db.session.get(Deadline, deadline_id)
    assert deadline is not None, output
    assert deadline.handled_at is not None
    assert deadline.handled_by is not None and deadline.handled_by.startswith("job:"), output
    lateness = (deadline.handled_at - deadline.due_at).total_seconds()
    assert 0 <= lateness <= 5, output
    for reminder in deadline.reminders:
        assert reminder.sent_at is not None, output
        assert 0 <= (reminder.sent_at - reminder.remind_at).total_seconds() <= 5, output
    assert _count(Notification, Notification.kind == KIND_REMINDER) == 2
    assert _count(Notification, Notification.kind == KIND_MISSED) == 1


def test_redis_down_when_scheduling_still_leaves_the_rows_for_the_sweep(app: Flask) -> None:
    app.config["REDIS_URL"] = f"redis://127.0.0.1:{_free_port()}/0"
    app.extensions.pop("casework_redis", None)
    (deadline_id,) = _deadlines(1, due_in=-1)
    assert schedule_deadline_jobs([deadline_id]) == 0
    assert _count(Deadline, Deadline.state == DeadlineState.PENDING) == 1


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_many_workers_enqueue_each_periodic_sweep_once(app: Flask, redis: Redis) -> None:
    from rq.cron import get_cron_job_ids
    from rq.job import Job

    from worker import SWEEP_CRON_NAME

    def periods() -> list[int]:
        ids = get_cron_job_ids(SWEEP_CRON_NAME, redis)
        jobs = [j for j in Job.fetch_many(ids, connection=redis) if j is not None]
        return [int(j.enqueued_at.timestamp() // 2) for j in jobs if j.enqueued_at]

    env = worker_env(app)
    workers = [start_worker(app, "--sweep-interval", "2", env=env) for _ in range(3)]
    try:
        # Three periods after all three workers are up, however long they take to start.
        wait_until(lambda: len(heartbeat.read_all(redis)) == 3, 60, "three workers' heartbeats")
        first = max(periods(), default=0)
        wait_until(lambda: len(periods()) >= 3 and max(periods()) >= first + 3, 60, "sweeps")
    finally:
        outputs = [stop_worker(w) for w in workers]
    seen = periods()
    assert len(seen) >= 3, outputs
    assert len(seen) == len(set(seen)), outputs
    assert _count(SweepRun) == 1


def test_a_worker_replaces_itself_after_max_jobs(app: Flask, redis: Redis) -> None:
    from tests.jobs_for_tests import echo

    queue = Queue("default", connection=redis)
    jobs = [queue.enqueue(echo, n) for n in range(5)]
    worker = start_worker(app, "--max-jobs", "2", "--no-sweep", "--queues", "default")
    try:
        wait_until(
            lambda: all(j.get_status(refresh=True) == "finished" for j in jobs), 60, "the jobs"
        )
    finally:
        output = stop_worker(worker)
    assert [j.return_value(refresh=True) for j in jobs] == [0, 1, 2, 3, 4]
    assert output.count("starting a fresh process") >= 2, output


def test_workers_purge_expired_cases_and_anchor_the_audit_chains_daily(
    app: Flask, redis: Redis
) -> None:
    from rq.cron import get_cron_job_ids

    from tests import factories
    from worker import ANCHOR_CRON_NAME, PURGE_CRON_NAME

    org = factories.org()
    expired = factories.case(org, status=CaseStatus.CLOSED)
    expired.status_changed_at = factories.utc(2000, 1, 1)
    kept = factories.case(org, status=CaseStatus.CLOSED)
    db.session.commit()
    expired_id, kept_id = expired.id, kept.id
    anchor_file = Path(app.config["AUDIT_ANCHOR_FILE"])
    env = worker_env(app, CASEWORK_AUDIT_ANCHOR_FILE=str(anchor_file))
    workers = [start_worker(app, "--sweep-interval", "2", env=env) for _ in range(2)]
    try:
        wait_until(lambda: _count(Case, Case.id == expired_id) == 0, 60, "the purge")
        wait_until(anchor_file.exists, 60, "the anchors")
    finally:
        outputs = [stop_worker(w) for w in workers]
    assert _count(Case, Case.id == kept_id) == 1, outputs
    # One purge and one anchoring per day, however many workers run.
    assert len(get_cron_job_ids(PURGE_CRON_NAME, redis)) == 1
    assert len(get_cron_job_ids(ANCHOR_CRON_NAME, redis)) == 1
    result = app.test_cli_runner().invoke(cli_group, ["verify-audit"])
    assert result.exit_code == 0, result.output
    assert "anchors: ok" in result.output
