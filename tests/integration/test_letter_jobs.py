"""Bulk letters through Redis and a real RQ worker process, and the job's own rules."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from flask import Flask
from redis import Redis
from rq import Queue
from sqlalchemy import select

from casework.accounts.models import Role
from casework.actors import Actor
from casework.cli import cli_group
from casework.config import REPO_ROOT
from casework.extensions import db
from casework.jobs import QUEUE_LETTERS
from casework.notices.bulk import enqueue_letters
from casework.notices.jobs import generate_letter_job
from casework.notices.models import Letter
from casework.notices.services import NoticeError
from casework.registry import default_registry
from tests import factories
from tests.letter_cases import realistic_case

TIDA = default_registry().route("us.tida.removal")


def _run_worker(app: Flask, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """`python worker.py --burst --queues letters` against this test's database and Redis."""
    env = {
        **os.environ,
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "REDIS_URL": app.config["REDIS_URL"],
        "SECRET_KEY": app.config["SECRET_KEY"],
        "CASEWORK_EVIDENCE_KEY": app.config["CASEWORK_EVIDENCE_KEY"],
        "CASEWORK_AUDIT_KEY": app.config["CASEWORK_AUDIT_KEY"],
        "CASEWORK_EVIDENCE_DIR": app.config["EVIDENCE_DIR"],
        "CASEWORK_EVIDENCE_STORE": app.config["EVIDENCE_STORE"],
        "CASEWORK_INSTANCE_PATH": str(tmp_path / "worker-instance"),
    }
    return subprocess.run(
        [sys.executable, "worker.py", "--burst", "--queues", QUEUE_LETTERS],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


@pytest.mark.redis
def test_bulk_letters_go_through_a_real_worker_once_each(
    app: Flask, redis_url: str, tmp_path: Path
) -> None:
    app.config["REDIS_URL"] = redis_url
    Queue(QUEUE_LETTERS, connection=Redis.from_url(redis_url)).empty()
    org = factories.org()
    caseworker = factories.user(org, Role.CASEWORKER)
    actor = Actor.staff(caseworker.id, "caseworker")
    first = realistic_case(org, TIDA)
    second = realistic_case(org, TIDA, with_files=False)
    db.session.commit()

    assert enqueue_letters([first.id, second.id, first.id], TIDA.key, actor) == 2
    result = _run_worker(app, tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    db.session.expire_all()
    letters = db.session.scalars(select(Letter).order_by(Letter.case_id)).all()
    assert [(letter.case_id, letter.version) for letter in letters] == [
        (first.id, 1),
        (second.id, 1),
    ]
    assert all(letter.created_by_id == caseworker.id for letter in letters)

    # The same job again with nothing changed adds no identical version.
    assert enqueue_letters([first.id], TIDA.key, actor) == 1
    assert _run_worker(app, tmp_path).returncode == 0
    db.session.expire_all()
    assert db.session.scalars(select(Letter.version).where(Letter.case_id == first.id)).all() == [1]


def test_an_unknown_route_queues_nothing(app: Flask) -> None:
    org = factories.org()
    caseworker = factories.user(org, Role.CASEWORKER)
    with pytest.raises(NoticeError, match="no legal route"):
        enqueue_letters([1], "us.no_such_route", Actor.staff(caseworker.id, "caseworker"))


def test_the_job_returns_quietly_when_the_case_or_the_right_is_gone(app: Flask) -> None:
    org = factories.org()
    caseworker = factories.user(org, Role.CASEWORKER)
    outsider = factories.user(factories.org(), Role.LAWYER)
    case = realistic_case(org, TIDA, with_files=False)
    db.session.commit()
    assert generate_letter_job(case.id + 1000, TIDA.key, caseworker.id) is None
    assert generate_letter_job(case.id, TIDA.key, outsider.id) is None
    assert generate_letter_job(case.id, "us.no_such_route", caseworker.id) is None
    assert db.session.scalars(select(Letter)).all() == []
    made = generate_letter_job(case.id, TIDA.key, caseworker.id)
    again = generate_letter_job(case.id, TIDA.key, caseworker.id)
    assert made is not None and again == made


def test_letter_command_renders_the_route_for_a_case(app: Flask, tmp_path: Path) -> None:
    org = factories.org()
    case = realistic_case(org, TIDA, with_files=False)
    db.session.commit()
    out = tmp_path / "letter.pdf"
    runner = app.test_cli_runner()
    result = runner.invoke(cli_group, ["letter", case.reference, TIDA.key, "--out", str(out)])
    assert result.exit_code == 0, result.output
    stored = db.session.scalars(select(Letter)).one()
    assert out.read_bytes() == stored.pdf
    assert f"v1 sha256 {stored.sha256}" in result.output
    assert "draft: missing signature" in result.output  # no notice signed yet

    result = runner.invoke(cli_group, ["letter", "CW-1999-000000", TIDA.key, "--out", str(out)])
    assert result.exit_code != 0
    assert "No case CW-1999-000000" in result.output


def test_routes_command_lists_deadlines_and_verification(app: Flask) -> None:
    result = app.test_cli_runner().invoke(cli_group, ["routes"])
    assert result.exit_code == 0, result.output
    lines = {line.split()[0]: line for line in result.output.splitlines()[1:]}
    assert set(lines) == {route.key for route in default_registry().routes}
    assert "48 hours from receipt" in lines["us.tida.removal"]
    assert lines["us.tida.removal"].endswith("  verified")
    assert "2 hours from receipt (24 hours before 2026-02-20)" in lines["in.grievance.ncii"]
    assert (
        "UNVERIFIED: route, citation, deadline, addressee.name"
        in lines["gb.osa.intimate_image_report"]
    )
    assert "24 hours from the regulator's notice" in lines["au.esafety.iba_complaint"]
    assert "UNVERIFIED: deadline.counting" in lines["eu.gdpr.erasure_x"]
    routes = default_registry().routes
    for route in routes:
        assert f"checked {route.oldest_check.isoformat()}" in lines[route.key]
    oldest = min(route.oldest_check for route in routes)
    assert f"oldest check {oldest.isoformat()}" in result.output.splitlines()[0]


def test_the_readme_lists_every_route_as_the_registry_has_it(app: Flask) -> None:
    result = app.test_cli_runner().invoke(cli_group, ["routes", "--markdown"])
    assert result.exit_code == 0, result.output
    rows = result.output.splitlines()[2:]
    assert len(rows) == len(default_registry().routes)
    for route in default_registry().routes:
        row = next(r for r in rows if f"(`{route.key}`)" in r)
        assert route.addressee.name in row and route.citation in row
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    assert result.output in readme, "regenerate: flask casework routes --markdown"
