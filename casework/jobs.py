"""The one way to enqueue background work: queue names, Redis connection, sync mode for tests."""

from __future__ import annotations

import functools
import logging
import os
import socket
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any, ParamSpec, TypeVar

from flask import Flask, current_app, has_app_context
from redis import Redis
from redis.exceptions import RedisError
from rq import Queue, Retry, get_current_job
from rq.defaults import DEFAULT_WORKER_TTL
from rq.job import Job

from casework.extensions import current_app_object

log = logging.getLogger(__name__)

QUEUE_DEADLINES = "deadlines"
QUEUE_LETTERS = "letters"
QUEUE_NOTIFICATIONS = "notifications"
QUEUE_DEFAULT = "default"
QUEUES = (QUEUE_DEADLINES, QUEUE_NOTIFICATIONS, QUEUE_LETTERS, QUEUE_DEFAULT)


def redis_connection(app: Flask | None = None) -> Redis:
    """A Redis client with short timeouts: a missing Redis must never hang a request."""
    app = app or current_app
    existing = app.extensions.get("casework_redis")
    if existing is None:
        existing = Redis.from_url(
            app.config["REDIS_URL"], socket_connect_timeout=0.5, socket_timeout=2.0
        )
        app.extensions["casework_redis"] = existing
    return existing


# RQ's worker waits for work in a blocking pop of up to worker_ttl - 15 seconds (405 by
# default) and reads its answer on a pooled connection. RQ raises the pool's read timeout
# for connections opened after the worker is built, not for one already open (a ping made
# first, say): every connection of the worker's client is made with a read timeout above
# the longest blocking pop from the start, whichever connection the pop gets.
WORKER_SOCKET_TIMEOUT = DEFAULT_WORKER_TTL + 60


def worker_redis_connection(url: str) -> Redis:
    """The worker's Redis client: read timeouts that fit RQ's blocking reads, keepalive on,
    and an idle connection checked before use so a dropped one is replaced, not failed."""
    return Redis.from_url(
        url,
        socket_timeout=WORKER_SOCKET_TIMEOUT,
        socket_connect_timeout=5,
        socket_keepalive=True,
        health_check_interval=30,
    )


def get_queue(name: str, app: Flask | None = None) -> Queue:
    return Queue(name, connection=redis_connection(app))


def enqueue(
    queue_name: str,
    func: Callable[..., Any],
    *args: Any,
    at: datetime | None = None,
    job_id: str | None = None,
    retry: Retry | None = None,
) -> Job | None:
    """Enqueue a job (at a time, if given); return None when Redis is unreachable.

    Callers have already committed the rows the job works on, and a periodic
    sweep finds anything a lost job would have done, so a Redis outage only
    delays work: it is logged, never raised.
    """
    app = current_app_object()
    if app.config.get("JOBS_SYNC"):
        # Work for later has no one to wait for it in sync mode: the sweep does it when due.
        if at is not None and at > datetime.now(UTC):
            return None
        func(*args)
        return None
    try:
        queue = get_queue(queue_name, app)
        options: dict[str, Any] = {"job_id": job_id, "retry": retry}
        if at is not None:
            return queue.enqueue_at(at, func, *args, **options)
        return queue.enqueue(func, *args, **options)
    except RedisError as exc:
        log.warning("redis unreachable, %s not enqueued (%s)", func.__name__, type(exc).__name__)
        return None


# The app's log format with the id of the RQ job that wrote the line ("-" outside a job).
JOB_LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s [job %(job_id)s] %(message)s"


class JobIdFilter(logging.Filter):
    """Gives every record passing through a handler the running RQ job's id as `job_id`."""

    def filter(self, record: logging.LogRecord) -> bool:
        job = get_current_job()
        record.job_id = job.id if job is not None else "-"
        return True


def log_job_ids(handlers: Iterable[logging.Handler] | None = None) -> None:
    """Make these handlers (the root logger's by default) print each line's job id.

    On the handlers rather than on each logger: a logger's filters do not see what its
    children log, a handler's see every line that reaches it, RQ's own included.
    """
    for handler in logging.getLogger().handlers if handlers is None else handlers:
        if not any(isinstance(f, JobIdFilter) for f in handler.filters):
            handler.addFilter(JobIdFilter())
        handler.setFormatter(logging.Formatter(JOB_LOG_FORMAT))


P = ParamSpec("P")
R = TypeVar("R")
_process_app: Flask | None = None
_app_factory: Callable[[], Flask] | None = None
# RQ's name (module and function) of every job declared with @app_job.
APP_JOBS: set[str] = set()


def use_app_factory(factory: Callable[[], Flask]) -> None:
    """How app_job builds an app where none is pushed: the package gives its create_app."""
    global _app_factory
    _app_factory = factory


def app_job(func: Callable[P, R]) -> Callable[P, R]:
    """Run a job inside an app context: the worker's own, or one built once per process.

    worker.py pushes a fresh context per job and prints job ids in its log; the fallback
    lets RQ's own CLI or a worker pool run Casework jobs too, their log lines with ids.
    """

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        if has_app_context():
            return func(*args, **kwargs)
        global _process_app
        if _process_app is None:
            if _app_factory is None:
                raise RuntimeError("no app factory: import casework before running its jobs")
            _process_app = _app_factory()
            log_job_ids()
        with _process_app.app_context():
            return func(*args, **kwargs)

    APP_JOBS.add(f"{func.__module__}.{func.__qualname__}")
    return wrapper


def runner_label(kind: str) -> str:
    """Who handled something, for the handled_by columns: the kind of run, host and pid."""
    return f"{kind}:{socket.gethostname()}:{os.getpid()}"[:80]
