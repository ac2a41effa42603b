"""A job for the failed-jobs tests: it fails until the test sets a key in Redis."""

from __future__ import annotations

import os

from redis import Redis


def fails_until_fixed(key: str) -> str:
    if not Redis.from_url(os.environ["REDIS_URL"]).exists(key):
        raise RuntimeError("upstream refused the request (test failure)")
    return "fixed"


def echo(n: int) -> int:
    return n
