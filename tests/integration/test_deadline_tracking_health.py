"""Health tells the truth about deadline tracking: /readyz, `flask casework check`, Operations.

Deadline tracking runs when a worker has sent a heartbeat in the last two minutes, one
live worker sweeps, and no deadline is overdue and unhandled. Workers are real
processes; a stale heartbeat is written as an old worker would have left it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from redis import Redis

from casework import heartbeat
from casework.accounts.models import Role
from casework.cli import cli_group
from casework.extensions import db
from tests import factories
from tests.deadline_factories import quick_deadline, staffed_case
from tests.waiting import wait_until
from tests.worker_process import start_worker, stop_worker

pytestmark = pytest.mark.redis

OUTSIDER = {"REMOTE_ADDR": "203.0.113.7"}


def _readyz(app: Flask, **environ: Any) -> dict[str, Any]:
    headers = environ.pop("headers", {})
    response = app.test_client().get("/readyz", environ_base=environ, headers=headers)
    assert response.status_code == 200, response.json
    body = response.json
    assert isinstance(body, dict)
    return body


def _wait_until_running(app: Flask, timeout: float = 60) -> dict[str, Any]:
    seen: list[dict[str, Any]] = []

    def running() -> dict[str, Any] | None:
        seen.append(_readyz(app))
        return seen[-1] if seen[-1]["deadline_tracking"]["running"] else None

    return wait_until(running, timeout, lambda: f"deadline tracking to run: {seen[-1]}")


def test_readyz_says_plainly_when_no_worker_is_running(app: Flask, redis: Redis) -> None:
    body = _readyz(app)
    assert body["ready"] is True
    tracking = body["deadline_tracking"]
    assert tracking["running"] is False
    assert tracking["state"] == "not running"
    assert any("No worker has sent a heartbeat for 2 min" in p for p in tracking["problems"])


def test_a_live_worker_makes_tracking_run_and_its_stop_makes_it_stop(
    app: Flask, redis: Redis
) -> None:
    worker = start_worker(app, "--sweep-interval", "3600")
    try:
        body = _wait_until_running(app)
        assert body["worker"]["workers_alive"] == 1
        assert body["worker"]["worker_last_heartbeat"] is not None
    finally:
        stop_worker(worker)
    assert _readyz(app)["deadline_tracking"]["running"] is False


def test_a_heartbeat_older_than_two_minutes_is_a_dead_worker(app: Flask, redis: Redis) -> None:
    beat = heartbeat.Heartbeat(
        worker="old-host:4242",
        hostname="old-host",
        pid=4242,
        at=datetime.now(UTC) - timedelta(seconds=121),
        sweeping=True,
    )
    heartbeat.write(redis, beat)
    body = _readyz(app)
    assert body["worker"]["workers_alive"] == 0
    assert body["deadline_tracking"]["running"] is False
    fresh = heartbeat.Heartbeat(**{**beat.__dict__, "at": datetime.now(UTC)})
    heartbeat.write(redis, fresh)
    assert _readyz(app)["deadline_tracking"]["running"] is True


def test_an_overdue_unhandled_deadline_means_tracking_is_not_running(
    app: Flask, redis: Redis
) -> None:
    heartbeat.write(
        redis,
        heartbeat.Heartbeat("host:1", "host", 1, datetime.now(UTC), sweeping=True),
    )
    case, _ = staffed_case()
    quick_deadline(case, due_in=-600)
    db.session.commit()
    tracking = _readyz(app)["deadline_tracking"]
    assert tracking["running"] is False
    assert tracking["problems"] == ["Deadlines overdue and not handled: 1."]


def test_workers_that_do_not_sweep_are_not_enough(app: Flask, redis: Redis) -> None:
    heartbeat.write(
        redis,
        heartbeat.Heartbeat("host:1", "host", 1, datetime.now(UTC), sweeping=False),
    )
    tracking = _readyz(app)["deadline_tracking"]
    assert tracking["running"] is False
    assert "--no-sweep" in tracking["problems"][0]


def test_the_public_answer_says_only_whether_the_app_is_ready(app: Flask, redis: Redis) -> None:
    app.config["OPERATOR_TOKEN"] = "operator-token-" + "z" * 24
    assert _readyz(app, **OUTSIDER) == {"ready": True}
    wrong = {"Authorization": "Bearer not-the-token"}
    assert _readyz(app, headers=wrong, **OUTSIDER) == {"ready": True}
    right = {"Authorization": "Bearer " + app.config["OPERATOR_TOKEN"]}
    detailed = _readyz(app, headers=right, **OUTSIDER)
    assert detailed["deadline_tracking"]["running"] is False
    assert "queues" in detailed["worker"]


def test_the_check_command_fails_while_deadline_tracking_is_not_running(
    app: Flask, redis: Redis
) -> None:
    result = app.test_cli_runner().invoke(cli_group, ["check"])
    assert result.exit_code == 1, result.output
    assert "database: ok" in result.output
    assert "redis: ok" in result.output
    assert "deadline tracking: PROBLEM - not running" in result.output
    assert "No worker has sent a heartbeat" in result.output
    heartbeat.write(
        redis,
        heartbeat.Heartbeat("host:1", "host", 1, datetime.now(UTC), sweeping=True),
    )
    result = app.test_cli_runner().invoke(cli_group, ["check"])
    assert result.exit_code == 0, result.output
    assert "deadline tracking: ok" in result.output


def test_the_operations_page_shows_stopped_tracking_as_an_alert(
    app: Flask, client: FlaskClient, redis: Redis
) -> None:
    admin = factories.user(factories.org(), Role.ADMIN)
    db.session.commit()
    factories.sign_in(client, admin)
    page = client.get("/staff/ops/").get_data(as_text=True)
    assert 'class="flash error ops-figure bad" role="alert" id="deadline-tracking"' in page
    assert "Deadline tracking is not running." in page
    assert "No worker has sent a heartbeat for 2 minutes" in page
    heartbeat.write(
        redis,
        heartbeat.Heartbeat("host:1", "host", 1, datetime.now(UTC), sweeping=True),
    )
    page = client.get("/staff/ops/").get_data(as_text=True)
    assert "Deadline tracking is running" in page
    assert 'role="alert" id="deadline-tracking"' not in page
