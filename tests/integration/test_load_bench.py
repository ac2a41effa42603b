"""The load benchmark still runs end to end: PostgreSQL, migrations, gunicorn, clients."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import require_service

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.postgres
def test_load_bench_runs_a_short_language_scenario_without_errors() -> None:
    server = require_service("PostgreSQL", "TEST_DATABASE_URL")
    redis = require_service("Redis", "TEST_REDIS_URL")
    result = subprocess.run(
        [
            sys.executable, "bench/load_intake.py", "--scenario", "language",
            "--clients", "2", "--duration", "1", "--max-requests", "40",
            "--database-server", server, "--redis-url", redis,
        ],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    requests = re.search(r"requests: (\d+)", result.stdout)
    operations = re.search(r"operations: (\d+)", result.stdout)
    assert requests and operations, result.stdout
    # Three requests per operation, and the cap on operations holds.
    assert 0 < int(operations.group(1)) <= 40
    assert int(requests.group(1)) == 3 * int(operations.group(1))
    assert "errors: 0" in result.stdout
    assert re.search(r"p50 [\d.]+ +p95 [\d.]+ +p99 [\d.]+", result.stdout)


def run_bench(*arguments: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    server = require_service("PostgreSQL", "TEST_DATABASE_URL")
    redis = require_service("Redis", "TEST_REDIS_URL")
    return subprocess.run(
        [
            sys.executable, "bench/load_intake.py", *arguments,
            "--database-server", server, "--redis-url", redis,
        ],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=timeout, check=False,
    )  # fmt: skip


@pytest.mark.postgres
def test_reports_with_screenshots_lose_nothing_while_the_worker_is_killed() -> None:
    result = run_bench(
        "--scenario", "report-share", "--clients", "2", "--duration", "4",
        "--chaos", "worker", "--chaos-events", "1",
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    reports = re.search(r"zero-loss check: passed \((\d+) reports\)", result.stdout)
    assert reports and int(reports.group(1)) > 0, result.stdout
    # Sixteen requests a report, every one of them answered, none with a server error.
    requests = re.search(r"requests: (\d+)", result.stdout)
    assert requests and int(requests.group(1)) == 16 * int(reports.group(1))
    assert "errors: 0; server errors (5xx): 0" in result.stdout
    assert "chaos: worker killed at" in result.stdout
    assert re.search(r"the worker was started [2-9] times", result.stdout)
    received = re.search(r"mail: (\d+) of (\d+) confirmation emails received", result.stdout)
    assert received and received.group(1) == received.group(2) == reports.group(1)


@pytest.mark.postgres
def test_reports_lose_nothing_while_redis_restarts() -> None:
    result = run_bench(
        "--scenario", "report-links", "--clients", "2", "--duration", "5",
        "--chaos", "redis", "--chaos-events", "1",
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    assert re.search(r"zero-loss check: passed \(\d+ reports\)", result.stdout)
    assert "errors: 0; server errors (5xx): 0" in result.stdout
    assert re.search(r"chaos: redis killed at [\d.]+ s, back", result.stdout)
    received = re.search(r"mail: (\d+) of (\d+) confirmation emails received", result.stdout)
    assert received and received.group(1) == received.group(2)


def test_load_bench_refuses_unbounded_runs() -> None:
    for arguments in (
        ["--clients", "500"],
        ["--duration", "7200"],
        ["--max-requests", "0"],
        ["--scenario", "landing", "--chaos", "worker"],
    ):
        result = subprocess.run(
            [sys.executable, "bench/load_intake.py", *arguments],
            cwd=REPO_ROOT, capture_output=True, text=True, timeout=30, check=False,
        )  # fmt: skip
        assert result.returncode == 2, arguments
        assert "must be" in result.stderr or "needs a report scenario" in result.stderr


@pytest.mark.postgres
def test_scaling_bench_runs_one_host_then_two_without_losing_a_report() -> None:
    server = require_service("PostgreSQL", "TEST_DATABASE_URL")
    redis = require_service("Redis", "TEST_REDIS_URL")
    result = subprocess.run(
        [
            sys.executable, "bench/load_two_hosts.py", "--clients", "2", "--duration", "3",
            "--database-server", server, "--redis-url", redis,
        ],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=240, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    assert "== one host: 1 x gunicorn -w 2 --threads 4" in result.stdout
    assert "== two hosts: 2 x gunicorn -w 1 --threads 4" in result.stdout
    reports = [
        int(n) for n in re.findall(r"zero-loss check: passed \((\d+) reports\)", result.stdout)
    ]
    assert len(reports) == 2 and min(reports) > 0, result.stdout
    assert result.stdout.count("errors: 0; server errors (5xx): 0") == 2
    assert re.search(r"two hosts / one host, reports per second: [\d.]+", result.stdout)
    assert len(re.findall(r"postgresql connections \(run's database\): mean", result.stdout)) == 2
