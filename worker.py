"""The background worker: an RQ worker with RQ's scheduler and cron on Casework's queues.

python worker.py                   work until stopped; sweep every minute
python worker.py --burst           sweep once, process what is queued, then exit
python worker.py --max-jobs 5000   start afresh (same command, new process) every 5000 jobs

Any number of these may run at once, on any number of hosts: RQ hands each job to one
worker, RQ's scheduler lock lets one worker at a time release scheduled jobs, a Redis
lock per period lets one cron scheduler enqueue each sweep, and the sweep and jobs
claim their database rows so a deadline is handled once whoever gets there first.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
import threading
import time
from typing import Any

from flask import Flask
from redis import Redis
from redis.exceptions import RedisError
from rq import Queue, SimpleWorker
from rq.cron import CronJob, CronScheduler
from rq.job import Job
from rq.utils import now as rq_now

from casework.jobs import QUEUE_DEADLINES, QUEUE_LETTERS, QUEUES
from casework.wsgi import create_app_or_exit

log = logging.getLogger("casework.worker")

SWEEP_CRON_NAME = "casework.sweep"
PURGE_CRON_NAME = "casework.retention-purge"
ANCHOR_CRON_NAME = "casework.audit-anchor"
DAY = 24 * 3600
CRON_LOCK_PREFIX = "casework:cron-lock:"


class CaseworkWorker(SimpleWorker):
    """Runs jobs in its own process (no fork per job) inside a fresh app context each."""

    app: Flask
    # Set by a stop signal: a worker asked to stop must not replace itself.
    signalled = False

    def execute_job(self, job: Job, queue: Queue) -> None:
        with self.app.app_context():
            super().execute_job(job, queue)

    def request_stop(self, signum: Any, frame: Any) -> None:
        self.signalled = True
        super().request_stop(signum, frame)


class LockedCronScheduler(CronScheduler):
    """RQ's cron scheduler, made safe to run in every worker: per period, one enqueues.

    Each period (e.g. each minute for a 60-second sweep) has a Redis key taken with
    SET NX; the scheduler that takes it enqueues the job, the others skip that period.
    """

    def enqueue_jobs(self) -> list[CronJob]:
        enqueued: list[CronJob] = []
        moment = time.time()
        for cron_job in self._cron_jobs:
            if not cron_job.should_run():
                continue
            interval = cron_job.interval or 60
            period = int(moment // interval)
            key = f"{CRON_LOCK_PREFIX}{cron_job.name}:{period}"
            if self.connection.set(key, self.name, nx=True, ex=interval * 2):
                cron_job.enqueue(self.connection)
                enqueued.append(cron_job)
            else:
                self.log.debug("%s: period %s taken by another scheduler", cron_job.name, period)
            cron_job.set_enqueue_time(rq_now())
        return enqueued


class CronThread(threading.Thread):
    """Drives the cron scheduler next to the worker, without RQ's signal handlers."""

    def __init__(self, scheduler: CronScheduler) -> None:
        super().__init__(name="casework-cron", daemon=True)
        self.scheduler = scheduler
        self.stopping = threading.Event()

    def run(self) -> None:
        try:
            self.scheduler.register_birth()
        except RedisError as exc:
            log.warning("cron scheduler could not register (%s)", type(exc).__name__)
        while not self.stopping.is_set():
            try:
                if self.scheduler.enqueue_jobs():
                    self.scheduler.save()
                    log.info("cron: sweep enqueued on %s", QUEUE_DEADLINES)
                self.scheduler.heartbeat()
            except RedisError as exc:
                log.warning("cron: Redis unreachable (%s), retrying", type(exc).__name__)
            self.stopping.wait(max(min(self.scheduler.calculate_sleep_interval(), 5.0), 0.2))
        with contextlib.suppress(RedisError):
            self.scheduler.register_death()

    def stop(self) -> None:
        self.stopping.set()
        self.join(timeout=10)


def sweep_cron(connection: Redis, interval: int, name: str) -> LockedCronScheduler:
    from casework.audit.jobs import anchor_audit_job
    from casework.cases.jobs import purge_expired_cases_job
    from casework.deadlines.jobs import sweep_job

    scheduler = LockedCronScheduler(connection=connection, name=f"{name}:cron")
    scheduler.register(
        sweep_job,
        QUEUE_DEADLINES,
        interval=interval,
        job_timeout=max(interval * 5, 300),
        name=SWEEP_CRON_NAME,
    )
    # Daily, and once when workers start: the per-period lock makes it once per UTC day.
    scheduler.register(
        purge_expired_cases_job,
        QUEUE_DEADLINES,
        interval=DAY,
        job_timeout=3600,
        name=PURGE_CRON_NAME,
    )
    scheduler.register(
        anchor_audit_job, QUEUE_DEADLINES, interval=DAY, job_timeout=600, name=ANCHOR_CRON_NAME
    )
    return scheduler


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Run a Casework background worker.")
    parser.add_argument("--burst", action="store_true", help="exit when the queues are empty")
    parser.add_argument(
        "--queues", nargs="+", default=list(QUEUES), choices=list(QUEUES), metavar="QUEUE"
    )
    parser.add_argument("--name", default=None, help="worker name (default: host, pid, random)")
    parser.add_argument(
        "--max-jobs",
        type=int,
        default=None,
        help="after this many jobs, replace this process with a fresh one (not with --burst)",
    )
    parser.add_argument(
        "--sweep-interval",
        type=int,
        default=None,
        help="seconds between sweeps (default: CASEWORK_SWEEP_INTERVAL or 60)",
    )
    parser.add_argument(
        "--no-sweep",
        action="store_true",
        help="do not run the periodic sweep from this worker (other workers still do)",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    app = create_app_or_exit()
    with app.app_context():
        # The worker blocks on Redis while it waits for work, so no short read timeout here
        # (the app's own client keeps one: a web request must never hang on Redis).
        connection = Redis.from_url(app.config["REDIS_URL"], health_check_interval=30)
        try:
            connection.ping()
        except RedisError as exc:
            print(
                f"casework: worker cannot start: Redis at {app.config['REDIS_URL']} is "
                f"unreachable ({type(exc).__name__}); deadline tracking is paused.",
                file=sys.stderr,
            )
            return 2
        if QUEUE_LETTERS in args.queues:
            # Load fonts and the stylesheet once, not in the first letter job.
            from casework.notices.rendering import warm_up

            warm_up()
        queues = [Queue(name, connection=connection) for name in args.queues]
        worker = CaseworkWorker(queues, connection=connection, name=args.name)
        worker.app = app
        interval = args.sweep_interval or int(app.config.get("SWEEP_INTERVAL_SECONDS", 60))
        sweeping = not args.no_sweep and QUEUE_DEADLINES in args.queues
        log.info(
            "worker %s (pid %s) on queues %s; %s; %s",
            worker.name,
            os.getpid(),
            ", ".join(args.queues),
            "burst: exits when the queues are empty" if args.burst else "runs until stopped",
            f"sweep every {interval}s" if sweeping else "no sweep from this worker",
        )
        cron: CronThread | None = None
        if sweeping and args.burst:
            from casework.deadlines.jobs import sweep_job

            Queue(QUEUE_DEADLINES, connection=connection).enqueue(sweep_job, job_timeout=600)
            log.info("burst: one sweep enqueued")
        elif sweeping:
            cron = CronThread(sweep_cron(connection, interval, worker.name))
            cron.start()
        work_options: dict[str, Any] = {
            "with_scheduler": True,
            "burst": args.burst,
            "logging_level": "INFO",
        }
        if args.max_jobs and not args.burst:
            work_options["max_jobs"] = args.max_jobs
        try:
            worker.work(**work_options)
        finally:
            if cron is not None:
                cron.stop()
        recycle = bool(args.max_jobs) and not args.burst and not worker.signalled
    if recycle:
        log.info("worker %s: %s jobs done, starting a fresh process", worker.name, args.max_jobs)
        sys.stdout.flush()
        sys.stderr.flush()
        # The same interpreter with the same arguments: nothing here comes from outside.
        os.execv(sys.executable, [sys.executable, *sys.argv])  # noqa: S606  # nosec B606
    return 0


if __name__ == "__main__":
    sys.exit(main())
