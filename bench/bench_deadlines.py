"""Benchmark the deadline worker: due-now query, sweep, lateness, jobs per second per worker.

    python bench/bench_deadlines.py [--server postgresql://postgres@127.0.0.1:5432/postgres]
                                    [--redis redis://127.0.0.1:6379/15] [--pending 1000000]
                                    [--due 10000]

It creates its own PostgreSQL database (dropped at the end), COPYs the pending
deadlines in, and prints the figures. The Redis database it is given is flushed.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from redis import Redis  # noqa: E402
from rq import Queue  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from tests.databases import throwaway_database  # noqa: E402


def noop(n: int) -> int:
    """The trivial job for the throughput figure."""
    return n


def _app(database_url: str, redis_url: str, instance: str):  # type: ignore[no-untyped-def]
    from casework import create_app

    return create_app(
        {
            "SQLALCHEMY_DATABASE_URI": database_url,
            "REDIS_URL": redis_url,
            "SECRET_KEY": "bench-" + "x" * 40,
            "CASEWORK_EVIDENCE_KEY": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
            "CASEWORK_AUDIT_KEY": "bench-audit-key-" + "b" * 32,
            "MAIL_SERVER": "127.0.0.1",
            "MAIL_PORT": 1,
        },
        instance_path=instance,
    )


def _seed(database_url: str, pending: int, due: int, now: datetime) -> None:
    """Cases, notices and items with SQL, then the deadlines with COPY."""
    engine = create_engine(database_url)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO organisations (id, name, slug, receives_public_reports, "
                "escalation_emails, timezone, created_at) VALUES "
                "(1, 'Bench', 'bench', false, 'duty@bench.example', 'UTC', now())"
            )
        )
        conn.execute(
            text(
                "INSERT INTO users (id, organisation_id, email, name, role, is_active, "
                "failed_logins, session_version, locale, timezone, created_at) VALUES "
                "(1, 1, 'cw@bench.example', 'Caseworker', 'caseworker', true, 0, 1, 'en', "
                "'UTC', now())"
            )
        )
        # Case 1 holds the pending-but-not-due deadlines; cases 2.. get one due deadline each.
        conn.execute(
            text(
                "INSERT INTO cases (id, reference, organisation_id, status, priority, "
                "assignee_id, minor, filer_role, has_authority, language, timezone, "
                "wanted_actions, spreading, created_at, updated_at, status_changed_at, "
                "sort_deadline_at) "
                "SELECT g, 'CW-BENCH-' || g, 1, 'awaiting_platform', 2, 1, 'no', 'subject', "
                "true, 'en', 'UTC', '[]', false, now(), now(), now(), now() "
                "FROM generate_series(1, :n) g"
            ),
            {"n": due + 1},
        )
        conn.execute(
            text(
                "INSERT INTO items (id, case_id, status_id, url, handle, handle_lower, kind, "
                "category, removal_state, added_by_victim, created_at) "
                "SELECT g, g, 2008000000000000000 + g, "
                "'https://x.com/poster/status/' || (2008000000000000000 + g), 'poster', "
                "'poster', 'ai_image', 'unknown', 'unknown', true, now() "
                "FROM generate_series(1, :n) g"
            ),
            {"n": due + 1},
        )
        conn.execute(
            text(
                "INSERT INTO notices (id, case_id, route_key, jurisdiction, state, channel, "
                "sent_at, received_at, created_at) "
                "SELECT g, g, 'us.tida.removal', 'US', 'sent', 'webform', :start, :start, now() "
                "FROM generate_series(1, :n) g"
            ),
            {"n": due + 1, "start": now - timedelta(hours=48)},
        )
        conn.execute(
            text(
                "INSERT INTO notice_items (notice_id, item_id) "
                "SELECT g, g FROM generate_series(1, :n) g"
            ),
            {"n": due + 1},
        )
        for table in ("organisations", "users", "cases", "items", "notices"):
            conn.execute(
                text(
                    "SELECT setval(pg_get_serial_sequence(:table, 'id'), "  # noqa: S608
                    f"(SELECT max(id) FROM {table}))"  # table names are the literals above
                ),
                {"table": table},
            )
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        buffer = io.StringIO()
        created = now.isoformat()
        # Due ones: 10 minutes to 1 second ago, one per case 2..due+1.
        for i in range(due):
            due_at = now - timedelta(seconds=1 + (i % 600))
            buffer.write(f"{i + 2}\t{i + 2}\tresponse\t{due_at.isoformat()}\tpending\t{created}\n")
        # Pending ones: spread over the next 60 days.
        for i in range(pending - due):
            due_at = now + timedelta(seconds=60 + (i * 5184000 // max(pending, 1)))
            buffer.write(f"1\t1\tresponse\t{due_at.isoformat()}\tpending\t{created}\n")
        buffer.seek(0)
        with cursor.copy(
            "COPY deadlines (notice_id, case_id, stage, due_at, state, created_at) FROM STDIN"
        ) as copy:
            while chunk := buffer.read(1 << 20):
                copy.write(chunk)
        raw.commit()
    finally:
        raw.close()
    with engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE"))
    engine.dispose()


def _due_query_ms(database_url: str, now: datetime, runs: int = 30) -> tuple[float, str]:
    engine = create_engine(database_url)
    query = text(
        "SELECT id FROM deadlines WHERE state = 'pending' AND due_at <= :now "
        "ORDER BY due_at LIMIT 500 FOR UPDATE SKIP LOCKED"
    )
    times = []
    with engine.connect() as conn:
        plan = "\n".join(
            r[0] for r in conn.execute(text("EXPLAIN ANALYZE " + str(query)), {"now": now})
        )
        conn.rollback()
        for _ in range(runs):
            start = time.perf_counter()
            conn.execute(query, {"now": now}).all()
            times.append((time.perf_counter() - start) * 1000)
            conn.rollback()
    engine.dispose()
    return statistics.median(times), plan


def _worker_env(database_url: str, redis_url: str, instance: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        SECRET_KEY="bench-" + "x" * 40,
        CASEWORK_EVIDENCE_KEY="AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        CASEWORK_AUDIT_KEY="bench-audit-key-" + "b" * 32,
        CASEWORK_INSTANCE_PATH=instance,
        MAIL_SERVER="127.0.0.1",
        MAIL_PORT="1",
        PYTHONPATH=str(REPO_ROOT),
    )
    return env


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--redis", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/15"))
    parser.add_argument("--pending", type=int, default=1_000_000)
    parser.add_argument("--due", type=int, default=10_000)
    parser.add_argument("--jobs", type=int, default=5_000)
    args = parser.parse_args()

    server = make_url(args.server).set(drivername="postgresql+psycopg")
    with throwaway_database(server.render_as_string(hide_password=False), "casework_bench") as url:
        return _run(args, url)


def _run(args: argparse.Namespace, database_url: str) -> int:
    instance = tempfile.mkdtemp(prefix="casework-bench-")
    redis = Redis.from_url(args.redis)
    redis.flushdb()
    try:
        app = _app(database_url, args.redis, instance)
        with app.app_context():
            from flask_migrate import upgrade

            upgrade()
        now = datetime.now(UTC).replace(microsecond=0)
        started = time.perf_counter()
        _seed(database_url, args.pending, args.due, now)
        print(
            f"seeded {args.pending:,} pending deadlines ({args.due:,} due) in "
            f"{time.perf_counter() - started:.1f} s"
        )

        median_ms, plan = _due_query_ms(database_url, now)
        index_used = "ix_deadlines_pending_due" in plan
        print(
            f"due-now query (LIMIT 500, FOR UPDATE SKIP LOCKED): median {median_ms:.2f} ms "
            f"over 30 runs; partial index used: {index_used}"
        )

        from casework.deadlines.sweep import sweep
        from casework.extensions import db

        with app.app_context():
            start = time.perf_counter()
            report = sweep(db.session, now=now, by="bench", batch_size=500)
            elapsed = time.perf_counter() - start
        handled = sum(report.deadlines.values())
        print(
            f"sweep: {handled:,} due deadlines handled in {elapsed:.2f} s "
            f"({handled / elapsed:,.0f}/s); outcomes {dict(report.deadlines)}"
        )
        with app.app_context():
            start = time.perf_counter()
            again = sweep(db.session, now=now, by="bench")
            print(
                f"sweep with nothing due: {(time.perf_counter() - start) * 1000:.1f} ms "
                f"(handled {sum(again.deadlines.values())})"
            )

        _two_workers(app, database_url, args.redis, instance, args.due)
        _lateness(app, database_url, args.redis, instance)
        _throughput(database_url, args.redis, instance, args.jobs)
        _throughput(database_url, args.redis, instance, min(args.jobs, 500), forking=True)
    finally:
        redis.flushdb()
    return 0


def _two_workers(app, database_url: str, redis_url: str, instance: str, due: int) -> None:  # type: ignore[no-untyped-def]
    """The same due deadlines again, handled by two running workers sweeping side by side."""
    engine = create_engine(database_url)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM escalations"))
        conn.execute(
            text(
                "UPDATE deadlines SET state = 'pending', handled_at = NULL, handled_by = NULL "
                "WHERE case_id > 1"
            )
        )
        conn.execute(text("UPDATE cases SET status = 'awaiting_platform' WHERE id > 1"))
    Redis.from_url(redis_url).flushdb()
    env = _worker_env(database_url, redis_url, instance)
    launched = time.monotonic()
    first_seen: float | None = None
    workers = [
        subprocess.Popen(
            [sys.executable, "worker.py"],
            cwd=REPO_ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        for _ in range(2)
    ]
    try:
        with engine.connect() as conn:
            stop = time.monotonic() + 120
            while time.monotonic() < stop:
                left = conn.execute(
                    text("SELECT count(*) FROM deadlines WHERE case_id > 1 AND state = 'pending'")
                ).scalar()
                conn.rollback()
                if left is not None and left < due and first_seen is None:
                    first_seen = time.monotonic()
                if left == 0:
                    break
                time.sleep(0.05)
            finished = time.monotonic()
            handlers = conn.execute(
                text("SELECT count(DISTINCT handled_by) FROM deadlines WHERE case_id > 1")
            ).scalar()
    finally:
        for worker in workers:
            os.killpg(worker.pid, 15)
        for worker in workers:
            worker.wait(timeout=30)
        engine.dispose()
    print(
        f"two workers started on {due:,} due deadlines: all handled {finished - launched:.2f} s "
        f"after launch (process start-up included), {finished - (first_seen or launched):.2f} s "
        f"after the first batch committed; by {handlers} sweeps side by side"
    )


def _lateness(app, database_url: str, redis_url: str, instance: str) -> None:  # type: ignore[no-untyped-def]
    """Deadlines due a few seconds from now, with a worker running: how late are they handled?"""
    from sqlalchemy import select

    from casework.deadlines.jobs import schedule_deadline_jobs
    from casework.deadlines.models import Deadline
    from casework.extensions import db

    with app.app_context():
        base = datetime.now(UTC)
        rows = [
            Deadline(notice_id=1, case_id=1, due_at=base + timedelta(seconds=4 + i * 0.37))
            for i in range(30)
        ]
        db.session.add_all(rows)
        db.session.commit()
        ids = [d.id for d in rows]
        schedule_deadline_jobs(ids)
    worker = subprocess.Popen(
        [sys.executable, "worker.py", "--sweep-interval", "3600"],
        cwd=REPO_ROOT,
        env=_worker_env(database_url, redis_url, instance),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        with app.app_context():
            while time.monotonic() < deadline:
                db.session.expire_all()
                done = db.session.execute(
                    select(Deadline.due_at, Deadline.handled_at).where(
                        Deadline.id.in_(ids), Deadline.handled_at.is_not(None)
                    )
                ).all()
                db.session.rollback()
                if len(done) == len(ids):
                    break
                time.sleep(0.2)
    finally:
        os.killpg(worker.pid, 15)
        worker.wait(timeout=30)
    late = [(h - d).total_seconds() for d, h in done]
    print(
        f"lateness with a worker running ({len(late)}/{len(ids)} handled): min {min(late):.2f} s, "
        f"median {statistics.median(late):.2f} s, max {max(late):.2f} s; "
        f"handled before due: {sum(1 for x in late if x < 0)}"
    )


def _throughput(
    database_url: str, redis_url: str, instance: str, jobs: int, *, forking: bool = False
) -> None:
    """Trivial jobs through one worker, timed from the jobs' own timestamps.

    forking=True runs RQ's own default worker (a fork per job) for comparison.
    """
    import importlib

    # Enqueue by the module's importable name, not __main__, so the worker can load it.
    job_func = importlib.import_module("bench.bench_deadlines").noop
    connection = Redis.from_url(redis_url)
    queue = Queue("default", connection=connection)
    queue.empty()
    with connection.pipeline() as pipe:
        enqueued = [queue.enqueue(job_func, i, pipeline=pipe, result_ttl=600) for i in range(jobs)]
        pipe.execute()
    command = [sys.executable, "worker.py", "--burst", "--no-sweep", "--queues", "default"]
    if forking:
        rq_cli = str(Path(sys.executable).with_name("rq"))
        command = [rq_cli, "worker", "--burst", "--url", redis_url, "default"]
    subprocess.run(
        command,
        cwd=REPO_ROOT,
        env=_worker_env(database_url, redis_url, instance),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=True,
    )
    for job in (enqueued[0], enqueued[-1]):
        job.refresh()
    first, last = enqueued[0].started_at, enqueued[-1].ended_at
    if first is None or last is None:
        raise RuntimeError("the worker did not run the jobs")
    seconds = (last - first).total_seconds()
    print(
        f"throughput: {jobs:,} trivial jobs in {seconds:.2f} s = {jobs / seconds:,.0f} jobs/s "
        f"with one worker ({'RQ default, fork per job' if forking else 'worker.py, no fork'})"
    )


if __name__ == "__main__":
    sys.exit(main())
