"""The background worker: an RQ worker with RQ's scheduler and cron on Casework's queues.

python worker.py                   work until stopped; sweep every minute
python worker.py --burst           sweep once, process what is queued, then exit
python worker.py --max-jobs 5000   start afresh (same command, new process) every 5000 jobs

Any number of these may run at once, on any number of hosts: RQ hands each job to one
worker, RQ's scheduler lock lets one worker at a time release scheduled jobs, a Redis
lock per period lets one cron scheduler enqueue each sweep, and the sweep and jobs
claim their database rows so a deadline is handled once whoever gets there first.

A worker is meant to run for months: its Redis client outlasts RQ's blocking pops, a
lost Redis is waited for with backoff (logged once when lost, once when back) and never
ends the process, and a heartbeat every few seconds lets the health checks tell a live
worker from a dead one. Only a stop signal (or --burst, or --max-jobs) ends it.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import signal
import socket
import sys
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from flask import Flask
from redis import Redis
from redis.exceptions import RedisError
from rq import Queue, SimpleWorker
from rq.cron import CronJob, CronScheduler
from rq.exceptions import StopRequested
from rq.job import Job
from rq.scheduler import RQScheduler
from rq.utils import now as rq_now

from casework import heartbeat
from casework.audit.jobs import anchor_audit_job
from casework.cases.jobs import purge_expired_cases_job
from casework.deadlines.jobs import sweep_job
from casework.intake.jobs import purge_expired_drafts_job
from casework.jobs import (
    QUEUE_DEADLINES,
    QUEUE_LETTERS,
    QUEUES,
    log_job_ids,
    worker_redis_connection,
)
from casework.notices.rendering import warm_up
from casework.orm import utcnow
from casework.wsgi import create_app_or_exit

log = logging.getLogger("casework.worker")

SWEEP_CRON_NAME = "casework.sweep"
PURGE_CRON_NAME = "casework.retention-purge"
ANCHOR_CRON_NAME = "casework.audit-anchor"
DRAFT_PURGE_CRON_NAME = "casework.draft-purge"
HOUR = 3600
DAY = 24 * HOUR
CRON_LOCK_PREFIX = "casework:cron-lock:"
# Waits between attempts to reach a Redis that does not answer: doubling, then capped.
BACKOFF_FIRST_SECONDS = 1.0
BACKOFF_MAX_SECONDS = 30.0

# Set by SIGINT or SIGTERM: the process is to stop, not to start its worker again.
STOP = threading.Event()


class Backoff:
    """Waits that double from BACKOFF_FIRST_SECONDS up to BACKOFF_MAX_SECONDS."""

    def __init__(self) -> None:
        self.attempts = 0

    def next(self) -> float:
        wait = min(BACKOFF_FIRST_SECONDS * 2**self.attempts, BACKOFF_MAX_SECONDS)
        self.attempts += 1
        return wait

    def reset(self) -> None:
        self.attempts = 0


class OutageLog:
    """Says once that Redis is lost and once that it is back, however many retries between.

    Shared by the worker loop, the housekeeping thread and RQ's own log records, so one
    outage makes two lines in the log, not one per retry.
    """

    def __init__(self, level: int = logging.WARNING) -> None:
        self.level = level
        self.since: float | None = None
        self.lock = threading.Lock()

    @property
    def down(self) -> bool:
        return self.since is not None

    def lost(self, cause: BaseException | str) -> None:
        with self.lock:
            if self.since is not None:
                return
            self.since = time.monotonic()
        reason = cause if isinstance(cause, str) else type(cause).__name__
        log.log(self.level, "Redis unreachable (%s): retrying with backoff", reason)

    def back(self) -> None:
        with self.lock:
            if self.since is None:
                return
            lasted = time.monotonic() - self.since
            self.since = None
        log.log(self.level, "Redis reachable again after %.0f s", lasted)


class RQOutageFilter(logging.Filter):
    """Folds RQ's own per-retry Redis errors into the OutageLog's single line."""

    MARKERS = ("could not connect to Redis", "Redis connection timeout")

    def __init__(self, outage: OutageLog) -> None:
        super().__init__()
        self.outage = outage

    def filter(self, record: logging.LogRecord) -> bool:
        if any(marker in str(record.msg) for marker in self.MARKERS):
            self.outage.lost("connection lost")
            return False
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, RedisError):
            self.outage.lost(error)
            return False
        return True


def sleep_unless_stopped(seconds: float, stopped: Callable[[], bool]) -> None:
    deadline = time.monotonic() + seconds
    while not stopped() and (left := deadline - time.monotonic()) > 0:
        time.sleep(min(left, 0.5))


class SteadyScheduler(RQScheduler):
    """RQ's scheduler (it releases jobs scheduled for a time), kept alive through outages.

    RQ's own loop ends its process at the first Redis error, and the worker starts a new
    one only at its next maintenance, up to ten minutes later; meanwhile nothing scheduled
    is released. This loop retries with backoff instead.
    """

    outage = OutageLog(level=logging.DEBUG)
    worker_pid = 0

    def start(self) -> Any:
        self.worker_pid = os.getpid()
        return super().start()

    def stopping(self) -> bool:
        return self._stop_requested or STOP.is_set()

    def orphaned(self) -> bool:
        # A worker killed outright (SIGKILL, out of memory) cannot stop its scheduler; the
        # scheduler must not outlive it and keep the scheduler locks from its successor.
        return bool(self.worker_pid) and os.getppid() != self.worker_pid

    def work(self) -> None:
        self._install_signal_handlers()
        backoff = Backoff()
        born = False
        # STOP: a signal that came before this process had its own handlers.
        while not self.stopping():
            if self.orphaned():
                self.log.warning("Scheduler: its worker is gone; stopping")
                break
            try:
                if not born:
                    self.register_birth()
                    born = True
                if self.should_reacquire_locks:
                    self.acquire_locks()
                self.heartbeat()
                self.enqueue_scheduled_jobs()
            except RedisError as exc:
                self.outage.lost(exc)
                sleep_unless_stopped(backoff.next(), self.stopping)
                continue
            self.outage.back()
            backoff.reset()
            sleep_unless_stopped(self.interval, self.stopping)
        with contextlib.suppress(RedisError):
            self.stop()


class CaseworkWorker(SimpleWorker):
    """Runs jobs in its own process (no fork per job) inside a fresh app context each."""

    app: Flask
    outage: OutageLog
    # Set by a stop signal: a worker asked to stop must not replace itself.
    signalled = False
    jobs_done = 0

    def execute_job(self, job: Job, queue: Queue) -> None:
        with self.app.app_context():
            super().execute_job(job, queue)
        self.jobs_done += 1

    def heartbeat(self, *args: Any, **kwargs: Any) -> None:
        super().heartbeat(*args, **kwargs)
        self.outage.back()

    def request_stop(self, signum: Any, frame: Any) -> None:
        self.signalled = True
        STOP.set()
        super().request_stop(signum, frame)

    def check_for_suspension(self, burst: bool) -> None:
        # A stop signal that came before RQ's own handlers were in place (while the
        # worker was starting) was only noted: act on it at the top of the first loop.
        if STOP.is_set():
            raise StopRequested()
        super().check_for_suspension(burst)

    def _start_scheduler(
        self,
        burst: bool = False,
        logging_level: str | None = "INFO",
        date_format: str = "%H:%M:%S",
        log_format: str = "%(asctime)s %(message)s",
    ) -> None:
        # RQ's own start-up of its scheduler, with the scheduler that survives outages.
        if STOP.is_set():
            return
        self.scheduler = SteadyScheduler(
            self.queues,
            connection=self.connection,
            logging_level=logging_level if logging_level is not None else self.log.level,
            date_format=date_format,
            log_format=log_format,
            serializer=self.serializer,
        )
        self.scheduler.acquire_locks()
        if not self.scheduler.acquired_locks:
            return
        if burst:
            try:
                self.scheduler.register_birth()
                self.scheduler.enqueue_scheduled_jobs()
            finally:
                self.scheduler.release_locks()
                self.scheduler.register_death()
        else:
            self.scheduler.start()


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


class Housekeeping(threading.Thread):
    """Beside the worker: a heartbeat every few seconds and, when sweeping, RQ's cron.

    RQ's cron scheduler is driven here rather than by its own loop, whose signal
    handlers would take the worker's. A Redis error is retried with backoff.
    """

    def __init__(self, connection: Redis, outage: OutageLog, cron: CronScheduler | None) -> None:
        super().__init__(name="casework-housekeeping", daemon=True)
        self.connection = connection
        self.outage = outage
        self.cron = cron
        self.stopping = threading.Event()
        self.process = f"{socket.gethostname()}:{os.getpid()}"

    def beat(self) -> heartbeat.Heartbeat:
        return heartbeat.Heartbeat(
            worker=self.process,
            hostname=socket.gethostname(),
            pid=os.getpid(),
            at=utcnow(),
            sweeping=self.cron is not None,
        )

    def run(self) -> None:
        backoff = Backoff()
        cron_born = False
        while not self.stopping.is_set():
            wait = heartbeat.INTERVAL_SECONDS
            try:
                heartbeat.write(self.connection, self.beat())
                if self.cron is not None:
                    if not cron_born:
                        self.cron.register_birth()
                        cron_born = True
                    if self.cron.enqueue_jobs():
                        self.cron.save()
                        log.info("cron: sweep enqueued on %s", QUEUE_DEADLINES)
                    self.cron.heartbeat()
                    wait = min(wait, max(self.cron.calculate_sleep_interval(), 0.2))
            except RedisError as exc:
                self.outage.lost(exc)
                wait = backoff.next()
            else:
                self.outage.back()
                backoff.reset()
            self.stopping.wait(wait)
        with contextlib.suppress(RedisError):
            heartbeat.remove(self.connection, self.process)
            if self.cron is not None and cron_born:
                self.cron.register_death()

    def stop(self) -> None:
        self.stopping.set()
        self.join(timeout=10)


def sweep_cron(connection: Redis, interval: int, name: str) -> LockedCronScheduler:
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
    # Hourly: a draft past its time is refused on sight already; this deletes what is left.
    scheduler.register(
        purge_expired_drafts_job,
        QUEUE_DEADLINES,
        interval=HOUR,
        job_timeout=600,
        name=DRAFT_PURGE_CRON_NAME,
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


def wait_for_redis(connection: Redis, outage: OutageLog) -> bool:
    """Block until Redis answers (True) or the process is asked to stop (False)."""
    backoff = Backoff()
    while not STOP.is_set():
        try:
            connection.ping()
        except RedisError as exc:
            outage.lost(exc)
            sleep_unless_stopped(backoff.next(), STOP.is_set)
        else:
            outage.back()
            return True
    return False


def _stop_on_signal(signum: int, _frame: Any) -> None:
    STOP.set()


def install_stop_handlers() -> None:
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, _stop_on_signal)


def build_worker(
    app: Flask, connection: Redis, args: argparse.Namespace, outage: OutageLog, generation: int
) -> CaseworkWorker:
    queues = [Queue(name, connection=connection) for name in args.queues]
    # A worker started again after an outage takes a new name: the old one's registration
    # may outlive it in Redis until its time to live runs out.
    name = args.name if generation == 0 or not args.name else f"{args.name}.{generation}"
    worker = CaseworkWorker(queues, connection=connection, name=name)
    worker.app = app
    worker.outage = outage
    return worker


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    app = create_app_or_exit()
    log_job_ids()
    outage = OutageLog()
    for name in ("rq.worker", "rq.scheduler"):
        logging.getLogger(name).addFilter(RQOutageFilter(outage))
    install_stop_handlers()
    with app.app_context():
        connection = worker_redis_connection(app.config["REDIS_URL"])
        if args.burst:
            try:
                connection.ping()
            except RedisError as exc:
                print(
                    f"casework: worker cannot start: Redis at {app.config['REDIS_URL']} is "
                    f"unreachable ({type(exc).__name__}); deadline tracking is paused.",
                    file=sys.stderr,
                )
                return 2
        elif not wait_for_redis(connection, outage):
            return 0
        interval = args.sweep_interval or int(app.config.get("SWEEP_INTERVAL_SECONDS", 60))
        sweeping = not args.no_sweep and QUEUE_DEADLINES in args.queues
        process_name = args.name or uuid.uuid4().hex
        log.info(
            "worker %s (pid %s) on queues %s; %s; %s",
            process_name,
            os.getpid(),
            ", ".join(args.queues),
            "burst: exits when the queues are empty" if args.burst else "runs until stopped",
            f"sweep every {interval}s" if sweeping else "no sweep from this worker",
        )
        housekeeping: Housekeeping | None = None
        if sweeping and args.burst:
            Queue(QUEUE_DEADLINES, connection=connection).enqueue(sweep_job, job_timeout=600)
            log.info("burst: one sweep enqueued")
        elif not args.burst:
            cron = sweep_cron(connection, interval, process_name) if sweeping else None
            housekeeping = Housekeeping(connection, outage, cron)
            housekeeping.start()
        if QUEUE_LETTERS in args.queues:
            # Load fonts and the stylesheet once, not in the first letter job.
            warm_up()
        work_options: dict[str, Any] = {
            "with_scheduler": True,
            "burst": args.burst,
            "logging_level": "INFO",
        }
        if args.max_jobs and not args.burst:
            work_options["max_jobs"] = args.max_jobs
        args.name = process_name
        generation = 0
        done = False
        try:
            while True:
                worker: CaseworkWorker | None = None
                try:
                    worker = build_worker(app, connection, args, outage, generation)
                    worker.work(**work_options)
                except RedisError as exc:
                    outage.lost(exc)
                finally:
                    # RQ's handlers stay after its loop: a signal now only marks the stop.
                    install_stop_handlers()
                if worker is not None:
                    done = bool(args.max_jobs) and worker.jobs_done >= args.max_jobs
                if args.burst or done or STOP.is_set():
                    break
                # RQ's loop ends on a Redis error it does not retry itself; deadline
                # tracking must not end with it.
                log.warning("worker %s stopped on its own; starting it again", process_name)
                if not wait_for_redis(connection, outage):
                    break
                generation += 1
        finally:
            if housekeeping is not None:
                housekeeping.stop()
        recycle = done and not args.burst and not STOP.is_set()
    if recycle:
        log.info("worker %s: %s jobs done, starting a fresh process", process_name, args.max_jobs)
        sys.stdout.flush()
        sys.stderr.flush()
        # The same interpreter with the same arguments: nothing here comes from outside.
        os.execv(sys.executable, [sys.executable, *sys.argv])  # noqa: S606  # nosec B606
    return 0


if __name__ == "__main__":
    sys.exit(main())
