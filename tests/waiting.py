"""Waiting for a condition with a deadline, instead of sleeping for a guessed time."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_until(
    condition: Callable[[], T | None],
    timeout: float,
    what: str | Callable[[], str],
    *,
    interval: float = 0.1,
) -> T:
    """Ask `condition` again every `interval` seconds until it answers something truthy, and
    return that answer; after `timeout` seconds fail, saying `what` was awaited (a callable
    `what` is asked then, to describe the last state seen)."""
    limit = time.monotonic() + timeout
    while True:
        answer = condition()
        if answer:
            return answer
        if time.monotonic() >= limit:
            description = what() if callable(what) else what
            raise AssertionError(f"timed out after {timeout:g} s waiting for {description}")
        time.sleep(interval)
