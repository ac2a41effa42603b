"""Run the real worker (python worker.py) against the test's database and Redis."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from flask import Flask

REPO_ROOT = Path(__file__).resolve().parent.parent


def worker_env(app: Flask, **extra: Any) -> dict[str, str]:
    """The environment a worker process needs to see what the test's app sees."""
    config = app.config
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CASEWORK_", "MAIL_"))}
    env.update(
        {
            "DATABASE_URL": config["SQLALCHEMY_DATABASE_URI"],
            "REDIS_URL": config["REDIS_URL"],
            "SECRET_KEY": config["SECRET_KEY"],
            "CASEWORK_EVIDENCE_KEY": config["CASEWORK_EVIDENCE_KEY"],
            "CASEWORK_AUDIT_KEY": config["CASEWORK_AUDIT_KEY"],
            "CASEWORK_INSTANCE_PATH": str(Path(app.instance_path)),
            "CASEWORK_EVIDENCE_DIR": config["EVIDENCE_DIR"],
            "CASEWORK_EVIDENCE_STORE": config["EVIDENCE_STORE"],
            "MAIL_SERVER": str(config["MAIL_SERVER"]),
            "MAIL_PORT": str(config["MAIL_PORT"]),
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update({key: str(value) for key, value in extra.items()})
    return env


def run_worker(
    app: Flask,
    *args: str,
    timeout: float = 90,
    env: dict[str, str] | None = None,
    clock_ahead: tuple[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """`python worker.py --burst ...` to completion; fails the test if it does not exit 0.

    clock_ahead, (libfaketime's launcher, an offset such as "+49h"), runs the worker with
    its wall clock moved; its monotonic time stays real so timeouts behave.
    """
    command = [sys.executable, "worker.py", "--burst", *args]
    env = dict(env or worker_env(app))
    if clock_ahead is not None:
        faketime, offset = clock_ahead
        command = [faketime, "-m", "-f", offset, *command]
        env["FAKETIME_DONT_FAKE_MONOTONIC"] = "1"
    result = subprocess.run(
        command,
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def start_worker(
    app: Flask, *args: str, env: dict[str, str] | None = None
) -> subprocess.Popen[str]:
    """A worker process in its own process group, so the test can stop all of it."""
    return subprocess.Popen(
        [sys.executable, "worker.py", *args],
        cwd=REPO_ROOT,
        env=env or worker_env(app),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def stop_worker(process: subprocess.Popen[str], sig: int = signal.SIGTERM) -> str:
    """Signal the worker's whole process group (its scheduler too) and collect its output."""
    if process.poll() is None:
        os.killpg(process.pid, sig)
    try:
        output, _ = process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        output, _ = process.communicate(timeout=10)
    return output or ""
