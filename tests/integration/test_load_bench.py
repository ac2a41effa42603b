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


def test_load_bench_refuses_unbounded_runs() -> None:
    for arguments in (["--clients", "500"], ["--duration", "7200"], ["--max-requests", "0"]):
        result = subprocess.run(
            [sys.executable, "bench/load_intake.py", *arguments],
            cwd=REPO_ROOT, capture_output=True, text=True, timeout=30, check=False,
        )  # fmt: skip
        assert result.returncode == 2, arguments
        assert "must be" in result.stderr
