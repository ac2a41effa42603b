"""The static checks of scripts/test, run by pytest too so that a run of pytest alone
catches what they catch: bandit, mypy and the import-linter contracts find nothing in the
shipped code (their settings are in pyproject.toml)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def run(*command: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=300, check=False
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    return result


def test_bandit_is_clean_on_the_shipped_code() -> None:
    # Each finding is fixed or justified where it is (# nosec BXXX).
    result = run(
        sys.executable, "-m", "bandit", "-q", "-c", "pyproject.toml", "-r", "casework", "worker.py"
    )
    assert "No issues identified" in result.stdout or result.stdout.strip() == ""


def test_mypy_is_clean_on_the_shipped_code() -> None:
    # After scripts/test its cache makes this take under a second.
    assert "Success" in run(sys.executable, "-m", "mypy").stdout


def test_the_layers_hold_and_no_import_cycle_is_back() -> None:
    lint_imports = Path(sys.executable).with_name("lint-imports")
    assert "0 broken" in run(str(lint_imports), "--no-cache").stdout
