"""Rate limits: storage chosen at start-up, named limits from config, and the wait in seconds."""

from __future__ import annotations

import logging
import time

from flask import Flask, current_app
from flask_limiter import RouteLimit
from redis import Redis
from redis.exceptions import RedisError

from casework.extensions import limiter

log = logging.getLogger(__name__)

# What a client is told to wait when the limit's own reset time cannot be read.
FALLBACK_RETRY_SECONDS = 60


def _redis_answers(url: str) -> bool:
    """One quick ping: start-up must not hang on a missing Redis."""
    try:
        client = Redis.from_url(url, socket_connect_timeout=0.3, socket_timeout=0.5)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except (RedisError, OSError, ValueError):
        return False


def storage_uri_for(redis_url: str) -> str:
    """Shared counters in Redis when it answers, otherwise counters in this process."""
    if redis_url.startswith(("redis://", "rediss://", "unix://")) and _redis_answers(redis_url):
        return redis_url
    log.warning("rate limits kept in memory: Redis does not answer at start-up")
    return "memory://"


def init_rate_limits(app: Flask) -> None:
    """Bind the limiter to the app with storage that never turns an outage into an error page."""
    config = app.config
    if config.get("RATELIMIT_ENABLED", True) and not config.get("RATELIMIT_STORAGE_URI"):
        config["RATELIMIT_STORAGE_URI"] = storage_uri_for(config["REDIS_URL"])
    config.setdefault("RATELIMIT_STORAGE_URI", "memory://")
    config.setdefault(
        "RATELIMIT_STORAGE_OPTIONS", {"socket_connect_timeout": 0.5, "socket_timeout": 1.0}
    )
    # If Redis goes away later, count in memory rather than failing the request.
    config.setdefault("RATELIMIT_IN_MEMORY_FALLBACK_ENABLED", True)
    config.setdefault("RATELIMIT_SWALLOW_ERRORS", True)
    limiter.init_app(app)
    # The limiter object outlives apps (tests, the CLI): storage just bound starts out alive.
    limiter._storage_dead = False


def rate_limit(config_key: str, *, methods: tuple[str, ...] = ("POST",)) -> RouteLimit:
    """Limit a view per client address with the limit named in config (e.g. RATELIMIT_SIGN_IN).

    Only the given methods count, so showing a form is free and submitting it is not.
    """

    def limit_value() -> str:
        return str(current_app.config[config_key])

    return limiter.limit(limit_value, methods=list(methods))


def seconds_until_reset() -> float:
    """How long until the limit breached by the current request lets the client in again."""
    current = limiter.current_limit
    if current is None:
        return FALLBACK_RETRY_SECONDS
    try:
        reset_time = current.window[0]
    except Exception:  # storage gone between the breach and this read
        log.warning("rate limit reset time unavailable", exc_info=True)
        return FALLBACK_RETRY_SECONDS
    return max(1.0, reset_time - time.time())
