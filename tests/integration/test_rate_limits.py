"""Rate limits: counted in Redis when it answers, in memory otherwise, and a clear 429 page."""

from __future__ import annotations

import secrets
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from redis import Redis

from casework import create_app
from tests.redis_server import PrivateRedis


def client_address() -> str:
    """A client address of this test alone, so counters never carry over between tests."""
    return "10.{}.{}.{}".format(*secrets.token_bytes(3))


def limited_app(app_config: dict[str, Any], tmp_path: Path, **overrides: Any) -> Flask:
    config = {**app_config, "RATELIMIT_ENABLED": True, "RATELIMIT_LANGUAGE": "2 per minute"}
    config.pop("RATELIMIT_STORAGE_URI", None)
    config.update(overrides)
    return create_app(config, instance_path=str(tmp_path / secrets.token_hex(4)))


def switch_language(app: Flask, address: str) -> Any:
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client.post("/language", data={"lang": "fr", "next": "/privacy"})


@pytest.mark.redis
def test_limit_is_counted_in_redis_and_answered_with_a_clear_page(
    app: Flask, app_config: dict[str, Any], tmp_path: Path, redis_url: str
) -> None:
    limited = limited_app(app_config, tmp_path, REDIS_URL=redis_url)
    assert limited.config["RATELIMIT_STORAGE_URI"] == redis_url
    address = client_address()

    assert switch_language(limited, address).status_code == 302
    assert switch_language(limited, address).status_code == 302
    refused = switch_language(limited, address)

    assert refused.status_code == 429
    page = refused.get_data(as_text=True)
    assert "Too many attempts" in page
    assert "Try again in 1 minute." in page
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    # The counter lives in Redis, shared by every web process.
    keys = Redis.from_url(redis_url).keys(f"LIMITS*{address}*")
    assert keys, "no rate-limit counter for this client in Redis"
    # Another client is not affected.
    assert switch_language(limited, client_address()).status_code == 302


@pytest.mark.redis
def test_wait_is_stated_in_minutes_for_long_windows(
    app: Flask, app_config: dict[str, Any], tmp_path: Path, redis_url: str
) -> None:
    limited = limited_app(
        app_config, tmp_path, REDIS_URL=redis_url, RATELIMIT_LANGUAGE="1 per 15 minutes"
    )
    address = client_address()
    switch_language(limited, address)
    refused = switch_language(limited, address)
    assert refused.status_code == 429
    assert 14 * 60 <= int(refused.headers["Retry-After"]) <= 15 * 60
    assert "Try again in 15 minutes." in refused.get_data(as_text=True)


def test_without_redis_limits_are_kept_in_memory(
    app: Flask, app_config: dict[str, Any], tmp_path: Path
) -> None:
    started = time.monotonic()
    limited = limited_app(app_config, tmp_path, REDIS_URL="redis://127.0.0.1:9/0")
    assert time.monotonic() - started < 2, "start-up waited too long for a missing Redis"
    assert limited.config["RATELIMIT_STORAGE_URI"] == "memory://"
    address = client_address()
    assert [switch_language(limited, address).status_code for _ in range(3)] == [302, 302, 429]


def test_showing_a_form_does_not_count(
    app: Flask, app_config: dict[str, Any], tmp_path: Path
) -> None:
    limited = limited_app(app_config, tmp_path, REDIS_URL="redis://127.0.0.1:9/0")
    address = client_address()
    client = limited.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    for _ in range(5):
        assert client.get("/").status_code == 200
    assert switch_language(limited, address).status_code == 302


@pytest.fixture
def doomed_redis(tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """A private redis-server this test may stop."""
    server = PrivateRedis(tmp_path).start()
    assert server.process is not None
    try:
        yield server.url, server.process
    finally:
        server.stop()


def test_redis_going_away_never_turns_a_request_into_an_error(
    app: Flask,
    app_config: dict[str, Any],
    tmp_path: Path,
    doomed_redis: tuple[str, subprocess.Popen[bytes]],
) -> None:
    url, process = doomed_redis
    limited = limited_app(app_config, tmp_path, REDIS_URL=url)
    assert limited.config["RATELIMIT_STORAGE_URI"] == url
    address = client_address()
    assert switch_language(limited, address).status_code == 302

    process.kill()
    process.wait()

    # Counting carries on in memory: requests still answer, and the limit still holds.
    statuses = [switch_language(limited, address).status_code for _ in range(3)]
    assert 500 not in statuses
    assert statuses[0] == 302
    assert statuses[-1] == 429
