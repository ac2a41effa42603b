"""The worker stays up: idle past every Redis read timeout, through an outage, supervised.

The soak test runs the real `python worker.py` with its defaults (no --burst, a sweep
every 60 s) for CASEWORK_SOAK_SECONDS (150 s by default; `make soak` runs it for 11
minutes, past RQ's 405-second blocking pop), mostly idle, and checks that deadlines
scheduled before it started and while it ran are handled on time.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask
from redis import Redis
from rq import Queue
from sqlalchemy import select

from casework import heartbeat
from casework.deadlines.jobs import schedule_deadline_jobs
from casework.deadlines.models import Deadline
from casework.extensions import db
from casework.jobs import worker_redis_connection
from tests.deadline_factories import quick_deadline, staffed_case
from tests.jobs_for_tests import echo
from tests.redis_server import PrivateRedis
from tests.waiting import wait_until
from tests.worker_process import REPO_ROOT, start_worker, stop_worker, worker_env

pytestmark = pytest.mark.redis

# The database does not matter to these tests: PostgreSQL, as in production, only.
ON_POSTGRESQL = pytest.mark.parametrize("backend", ["postgresql"])
SOAK_SECONDS = float(os.environ.get("CASEWORK_SOAK_SECONDS", "150"))
# A run long enough to outlast one of RQ's blocking pops also has a deadline after it.
LATE_DUE_SECONDS = 450.0 if SOAK_SECONDS >= 480 else 120.0


def live_pids(connection: Redis) -> set[int]:
    return {beat.pid for beat in heartbeat.read_all(connection)}


def test_every_connection_of_the_workers_client_outlasts_rqs_blocking_pop(
    redis_url: str,
) -> None:
    from worker import CaseworkWorker

    connection = worker_redis_connection(redis_url)
    # The worker pings before it builds its RQ worker, which opens a pooled connection
    # first: that one too must wait out a blocking pop.
    connection.ping()
    worker = CaseworkWorker([Queue("default", connection=connection)], connection=connection)
    pool = connection.connection_pool
    taken = [pool.get_connection() for _ in range(3)]
    try:
        for pooled in taken:
            assert pooled.socket_timeout is not None
            assert pooled.socket_timeout > worker.dequeue_timeout
    finally:
        for pooled in taken:
            pool.release(pooled)


@ON_POSTGRESQL
def test_an_idle_worker_stays_up_and_handles_deadlines_on_time(app: Flask, redis: Redis) -> None:
    early_case, _ = staffed_case()
    late_case, _ = staffed_case()
    started_at = datetime.now(UTC)
    # Scheduled before the worker starts, due a minute in.
    early = quick_deadline(early_case, due_in=60)
    db.session.commit()
    early_id = early.id
    schedule_deadline_jobs([early_id])
    worker = start_worker(app)
    output = ""
    try:
        wait_until(lambda: heartbeat.read_all(redis), 60, "the worker's first heartbeat")
        # Scheduled while it runs, due LATE_DUE_SECONDS after it started.
        late_in = LATE_DUE_SECONDS - (datetime.now(UTC) - started_at).total_seconds()
        late = quick_deadline(late_case, due_in=late_in)
        db.session.commit()
        late_id = late.id
        schedule_deadline_jobs([late_id])
        end = time.monotonic() + SOAK_SECONDS - (datetime.now(UTC) - started_at).total_seconds()
        while time.monotonic() < end:
            assert worker.poll() is None, "the worker exited"
            time.sleep(1)  # the soak is time passing: look once a second that it is still up
        assert worker.poll() is None, "the worker exited"
        beats = heartbeat.read_all(redis)
        assert beats, "no heartbeat at the end"
        assert datetime.now(UTC) - beats[0].at < timedelta(seconds=15)
    finally:
        output = stop_worker(worker)
        # The whole log, for reading after a failure (test-artifacts/ is not committed).
        artifacts = REPO_ROOT / "test-artifacts"
        artifacts.mkdir(exist_ok=True)
        (artifacts / "worker-soak.log").write_text(output, encoding="utf-8")
    db.session.expire_all()
    for deadline_id in (early_id, late_id):
        deadline = db.session.scalars(select(Deadline).where(Deadline.id == deadline_id)).one()
        assert deadline.handled_at is not None, output[-4000:]
        lateness = (deadline.handled_at - deadline.due_at).total_seconds()
        assert 0 <= lateness <= 5, (deadline_id, lateness, output[-4000:])
    assert "quitting" not in output, output[-4000:]
    assert "Redis unreachable" not in output, output[-4000:]


@ON_POSTGRESQL
def test_the_worker_rides_out_a_redis_outage_and_logs_it_once(app: Flask, tmp_path: Path) -> None:
    server = PrivateRedis(tmp_path).start()
    app.config["REDIS_URL"] = server.url
    client = Redis.from_url(server.url)
    worker = start_worker(app, "--sweep-interval", "3600", env=worker_env(app))
    output = ""
    try:
        wait_until(lambda: heartbeat.read_all(client), 60, "the worker's first heartbeat")
        server.stop()
        # The outage under test: longer than redis-py's read timeout and several retries.
        time.sleep(8)
        assert worker.poll() is None, "the worker exited while Redis was away"
        server.start()
        wait_until(lambda: heartbeat.read_all(client), 40, "a heartbeat after the outage")
        queue = Queue("default", connection=client)
        now_job = queue.enqueue(echo, 7)
        later_job = queue.enqueue_in(timedelta(seconds=2), echo, 8)
        wait_until(
            lambda: (
                now_job.get_status(refresh=True) == "finished"
                and later_job.get_status(refresh=True) == "finished"
            ),
            90,
            "a job and a scheduled job after the outage",
        )
        assert worker.poll() is None
    finally:
        output = stop_worker(worker)
        server.stop()
    assert output.count("Redis unreachable") == 1, output[-4000:]
    assert output.count("Redis reachable again") == 1, output[-4000:]
    assert "Traceback" not in output, output[-4000:]


@ON_POSTGRESQL
def test_a_worker_killed_with_sigkill_is_running_again_within_ten_seconds(
    app: Flask, redis: Redis
) -> None:
    supervisor = subprocess.Popen(
        [
            str(REPO_ROOT / "scripts" / "supervise"),
            "worker",
            sys.executable,
            "worker.py",
            "--sweep-interval",
            "3600",
        ],
        cwd=REPO_ROOT,
        env=worker_env(app, SUPERVISE_PAUSE=1),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    output = ""
    seen: set[int] = set()
    try:
        wait_until(lambda: live_pids(redis), 60, "the first worker's heartbeat")
        (first,) = seen = live_pids(redis)
        os.kill(first, signal.SIGKILL)
        wait_until(lambda: live_pids(redis) - {first}, 10, "a new worker after SIGKILL")
        (second,) = live_pids(redis) - {first}
        seen = {first, second}
        supervisor.send_signal(signal.SIGTERM)
        try:
            output, _ = supervisor.communicate(timeout=60)
        except subprocess.TimeoutExpired as exc:
            output = exc.output or b""
            raise AssertionError(f"the supervisor did not stop: {output!r}"[-6000:]) from exc
    finally:
        # Each worker runs in a session of its own: leave none of them behind.
        for group in (supervisor.pid, *seen):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(group, signal.SIGKILL)
        supervisor.wait(timeout=10)
    assert supervisor.returncode == 0, output[-4000:]
    assert "worker exited (status 137); starting it again" in output, output[-4000:]
    # Stopping the supervisor stops its worker, and nothing starts another.
    with pytest.raises(ProcessLookupError):
        os.kill(second, 0)
    assert second not in live_pids(redis)
