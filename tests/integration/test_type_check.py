"""mypy finds nothing in the shipped code, with the settings in pyproject.toml."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_mypy_is_clean_on_the_shipped_code() -> None:
    # The same command as scripts/test (files and flags come from pyproject.toml), so a run of
    # pytest alone catches it too; after scripts/test the cache makes this take under a second.
    result = subprocess.run(
        [sys.executable, "-m", "mypy"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-4000:]
