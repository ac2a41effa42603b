"""Readiness checks shared by /readyz and `flask casework check`."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import Flask
from redis.exceptions import RedisError
from rq import Queue, Worker
from rq.cron import CronScheduler
from rq.registry import FailedJobRegistry, ScheduledJobRegistry, StartedJobRegistry
from rq.scheduler import RQScheduler
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from casework import heartbeat
from casework.deadlines.sweep import REDIS_LAST_RUN_KEY, last_run, overdue_unhandled
from casework.extensions import db
from casework.jobs import QUEUES, redis_connection
from casework.orm import utcnow


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str

    def as_dict(self) -> dict[str, object]:
        return {"ok": self.ok, "detail": self.detail}


def check_database(app: Flask) -> Check:
    with app.app_context():
        try:
            db.session.execute(text("SELECT 1"))
        except SQLAlchemyError as exc:
            cause = getattr(exc, "orig", None) or exc
            return Check("database", False, f"unreachable ({type(cause).__name__})")
        finally:
            db.session.remove()
        return Check("database", True, db.engine.dialect.name)


def check_redis(app: Flask) -> Check:
    try:
        redis_connection(app).ping()
    except (RedisError, OSError) as exc:
        return Check(
            "redis",
            False,
            f"unreachable ({type(exc).__name__}); deadline tracking is paused until it is back",
        )
    return Check("redis", True, "reachable")


def worker_status(app: Flask) -> dict[str, Any]:
    """What the background worker is doing: workers alive, queues, scheduler, cron, sweep.

    Redis facts come from RQ's own registries; the sweep's last run and the count of
    overdue, unhandled deadlines come from the database, so they are right even when
    Redis has been flushed.
    """
    now = utcnow()
    status: dict[str, Any] = {"checked_at": now.isoformat(), "redis": True}
    with app.app_context():
        try:
            run = last_run(db.session)
            status["sweep_last_run"] = run.finished_at.isoformat() if run else None
            status["sweep_last_counts"] = dict(run.counts) if run else {}
            status["overdue_unhandled"] = overdue_unhandled(
                db.session, now=now, grace_seconds=int(app.config["OVERDUE_GRACE_SECONDS"])
            )
        except SQLAlchemyError:
            status["sweep_last_run"] = None
            status["overdue_unhandled"] = None
        finally:
            db.session.remove()
    connection = redis_connection(app)
    try:
        workers = Worker.all(connection=connection)
        status["workers"] = [
            {
                "name": w.name,
                "hostname": w.hostname,
                "pid": w.pid,
                "state": str(w.get_state()),
                "queues": w.queue_names(),
                "last_heartbeat": w.last_heartbeat.isoformat() if w.last_heartbeat else None,
                "successful_jobs": w.successful_job_count,
                "failed_jobs": w.failed_job_count,
            }
            for w in workers
        ]
        queues = {}
        for name in QUEUES:
            queue = Queue(name, connection=connection)
            queues[name] = {
                "queued": queue.count,
                "scheduled": ScheduledJobRegistry(queue=queue).count,
                "started": StartedJobRegistry(queue=queue).count,
                "failed": FailedJobRegistry(queue=queue).count,
            }
        status["queues"] = queues
        scheduler_beats = []
        for name in QUEUES:
            holder = connection.get(RQScheduler.get_locking_key(name))
            if holder:
                beat = connection.hget(f"rq:scheduler:{_text(holder)}", "last_heartbeat")
                if beat:
                    scheduler_beats.append(_text(beat))
        status["scheduler_last_heartbeat"] = max(scheduler_beats) if scheduler_beats else None
        crons = CronScheduler.all(connection)
        cron_beats = [c.last_heartbeat for c in crons if c.last_heartbeat]
        status["cron_schedulers"] = len(crons)
        status["cron_last_heartbeat"] = max(cron_beats).isoformat() if cron_beats else None
        raw = connection.get(REDIS_LAST_RUN_KEY)
        status["sweep_last_run_redis"] = json.loads(raw)["finished_at"] if raw else None
        beats = heartbeat.read_all(connection)
    except (RedisError, OSError) as exc:
        beats = []
        status.update(
            redis=False,
            redis_error=type(exc).__name__,
            workers=[],
            queues={},
            scheduler_last_heartbeat=None,
            cron_schedulers=0,
            cron_last_heartbeat=None,
        )
    fresh_after = now - timedelta(seconds=int(app.config["WORKER_HEARTBEAT_STALE_SECONDS"]))
    live = [b for b in beats if b.at >= fresh_after]
    status["workers_alive"] = len(live)
    status["worker_last_heartbeat"] = beats[0].at.isoformat() if beats else None
    status["worker_processes"] = [
        {
            "process": b.worker,
            "hostname": b.hostname,
            "pid": b.pid,
            "last_heartbeat": b.at.isoformat(),
            "alive": b.at >= fresh_after,
            "sweeping": b.sweeping,
        }
        for b in beats
    ]
    stale_after = timedelta(seconds=int(app.config["SWEEP_INTERVAL_SECONDS"]) * 3)
    last = status.get("sweep_last_run")
    status["sweep_stale"] = last is None or now - datetime.fromisoformat(last) > stale_after
    status["deadline_tracking"] = deadline_tracking(
        status, live, stale_seconds=int(app.config["WORKER_HEARTBEAT_STALE_SECONDS"])
    )
    return status


# English, for /readyz and the command line; the Operations page words them in the
# reader's language from the reasons' codes.
_PROBLEMS = {
    "redis_down": "Redis is unreachable: no job runs and nothing is released on time.",
    "no_heartbeat": "No worker has sent a heartbeat for {minutes} min: start python worker.py.",
    "no_sweep": "No running worker runs the periodic sweep (all run with --no-sweep).",
    "database": "The database could not be read for overdue deadlines.",
    "overdue": "Deadlines overdue and not handled: {count}.",
}


def deadline_tracking(
    status: dict[str, Any], live: list[heartbeat.Heartbeat], *, stale_seconds: int
) -> dict[str, Any]:
    """Whether deadlines are being watched now, and if not, each reason in plain words.

    Running means: Redis answers, a worker has sent a heartbeat within stale_seconds,
    one of the live workers runs the periodic sweep, and no deadline is overdue and
    unhandled. Anything else is degraded.
    """
    reasons: list[dict[str, Any]] = []
    if not status["redis"]:
        reasons.append({"code": "redis_down"})
    if not live:
        reasons.append({"code": "no_heartbeat", "minutes": max(stale_seconds // 60, 1)})
    elif not any(b.sweeping for b in live):
        reasons.append({"code": "no_sweep"})
    overdue = status.get("overdue_unhandled")
    if overdue is None:
        reasons.append({"code": "database"})
    elif overdue:
        reasons.append({"code": "overdue", "count": overdue})
    problems = [_PROBLEMS[r["code"]].format(**r) for r in reasons]
    return {"running": not reasons, "problems": problems, "reasons": reasons}


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
