"""Benchmark letters: a two-page notice, a 200-item annex, and 1,000 letters through RQ workers.

    python bench/bench_letters.py [--database-url SERVER] [--redis-url URL] [--sqlite]

A throwaway database is created on the PostgreSQL server (BENCH_DATABASE_URL, default
127.0.0.1:5432) and dropped afterwards; --sqlite uses a temporary file instead. The worker
part starts real `python worker.py --burst --queues letters` processes against the Redis
at --redis-url (BENCH_REDIS_URL, default the private one scripts/bench starts on 6398) and
is skipped, saying so, when that Redis does not answer.
"""

from __future__ import annotations

import argparse
import ctypes.util
import gc
import os
import platform
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

# A script, not a package module: make the repo root importable when run by path.
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from flask import Flask  # noqa: E402
from sqlalchemy import func, select  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from tests.databases import throwaway_database  # noqa: E402


def rss_mib(pid: int | str = "self") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def harfbuzz_subset() -> str:
    """Whether libharfbuzz-subset (which lets WeasyPrint subset fonts natively) is present."""
    library = ctypes.util.find_library("harfbuzz-subset")
    package = "unknown"
    if shutil.which("dpkg-query"):
        result = subprocess.run(
            ["dpkg-query", "-W", "-f=${Status} ${Version}", "libharfbuzz-subset0"],
            capture_output=True,
            text=True,
            check=False,
        )
        package = result.stdout.strip() if result.returncode == 0 else "not installed"
    return f"{'present' if library else 'ABSENT'} ({library or 'no library'}; dpkg: {package})"


def redis_answers(url: str) -> bool:
    from redis import Redis
    from redis.exceptions import RedisError

    try:
        return bool(Redis.from_url(url, socket_connect_timeout=1).ping())
    except RedisError:
        return False


def machine() -> list[str]:
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    import weasyprint

    return [
        f"machine: {os.cpu_count()} CPUs, {cpu}, load average {os.getloadavg()[0]:.2f}",
        f"python {platform.python_version()}, WeasyPrint {weasyprint.__version__}",
        f"libharfbuzz-subset0: {harfbuzz_subset()}",
    ]


@contextmanager
def database(url: str | None, workdir: Path) -> Iterator[str]:
    if not url:
        yield "sqlite:///" + str(workdir / "bench.db")
        return
    server = make_url(url).set(drivername="postgresql+psycopg")
    with throwaway_database(server.render_as_string(hide_password=False), "casework_bench") as new:
        yield new


def make_app(database_url: str, redis_url: str, workdir: Path) -> tuple[Flask, dict[str, str]]:
    from casework import create_app

    settings = {
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "SECRET_KEY": secrets.token_urlsafe(32),
        "CASEWORK_EVIDENCE_KEY": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        "CASEWORK_AUDIT_KEY": "bench-audit-key-" + "b" * 32,
        "CASEWORK_EVIDENCE_DIR": str(workdir / "evidence"),
        "CASEWORK_INSTANCE_PATH": str(workdir / "instance"),
    }
    os.environ.update(settings)
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": database_url,
            "REDIS_URL": redis_url,
            "CASEWORK_EVIDENCE_KEY": settings["CASEWORK_EVIDENCE_KEY"],
            "CASEWORK_AUDIT_KEY": settings["CASEWORK_AUDIT_KEY"],
            "EVIDENCE_DIR": settings["CASEWORK_EVIDENCE_DIR"],
            "JOBS_SYNC": False,
        },
        instance_path=settings["CASEWORK_INSTANCE_PATH"],
    )
    return app, settings


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return statistics.median(ordered) * 1000, p95 * 1000


def time_renders(render: Callable[[], bytes], count: int) -> tuple[list[float], list[float]]:
    wall: list[float] = []
    cpu: list[float] = []
    for _ in range(count):
        started, started_cpu = time.perf_counter(), time.process_time()
        render()
        wall.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
    return wall, cpu


def letter_case(items: int, files: int) -> tuple[Any, Any]:
    """A US case with `items` posts, `files` of them with a stored screenshot, and a notice."""
    from casework.accounts.models import Role
    from casework.cases.models import ContentCategory, ItemKind
    from casework.registry import default_registry
    from tests import factories
    from tests.letter_cases import complete_notice, evidence_file

    route = default_registry().route("us.tida.removal")
    org = factories.org(name="Safe Harbour Network")
    lawyer = factories.user(org, Role.LAWYER)
    handles = ("grok_edits_4u", "anon_pixel", "deepreply99", "nightfeed", "repost_king")
    links = [factories.post_url(handles[i % len(handles)]) for i in range(items)]
    case = factories.case(org, links=links)
    for index, item in enumerate(case.items):
        item.category = ContentCategory.NUDE_SEXUAL
        item.kind = ItemKind.AI_IMAGE
        if index < files:
            evidence_file(item, colour=(index % 255, 90, 160))
    return case, complete_notice(case, route, lawyer)


def bench_render(app: Flask, renders: int, memory_renders: int) -> None:
    from pypdf import PdfReader

    from casework.actors import SYSTEM
    from casework.extensions import db
    from casework.notices.letters import create_letter
    from casework.notices.rendering import render_letter_pdf

    with app.app_context():
        notices = {}
        for label, items, files in (
            ("two-page notice, 20 items", 20, 10),
            ("200-item annex", 200, 200),
        ):
            case, notice = letter_case(items, files)
            letter = create_letter(
                db.session, case=case, route_key=notice.route_key, actor=SYSTEM, notice=notice
            )
            notices[label] = (letter.data_snapshot, letter.template)
        db.session.commit()

    import io

    for label, (snapshot, template) in notices.items():

        def render(snapshot: dict[str, Any] = snapshot, template: str = template) -> bytes:
            return render_letter_pdf(snapshot, template)

        pdf = render()
        pages = len(PdfReader(io.BytesIO(pdf)).pages)
        count = renders if "20 items" in label else max(renders // 5, 5)
        time_renders(render, 3)  # warm
        wall, cpu = time_renders(render, count)
        p50, p95 = percentiles(wall)
        c50, c95 = percentiles(cpu)
        print(
            f"{label}: {pages} pages, {len(pdf) // 1024} KiB; {count} renders: "
            f"p50 {p50:.1f} ms, p95 {p95:.1f} ms (CPU p50 {c50:.1f} ms, p95 {c95:.1f} ms)"
        )

    snapshot, template = notices["two-page notice, 20 items"]
    gc.collect()
    before = rss_mib()
    started = time.perf_counter()
    for _ in range(memory_renders):
        render_letter_pdf(snapshot, template)
    gc.collect()
    after = rss_mib()
    print(
        f"renderer memory over {memory_renders} renders in one process: {before:.1f} -> "
        f"{after:.1f} MiB RSS ({after - before:+.1f} MiB), "
        f"{memory_renders / (time.perf_counter() - started):.1f} letters/s on one core"
    )


def bench_workers(app: Flask, settings: dict[str, str], letters: int, workers: int) -> None:
    from redis import Redis
    from rq import Queue

    from casework.accounts.models import Role
    from casework.actors import Actor
    from casework.cases.models import ContentCategory
    from casework.extensions import db
    from casework.jobs import QUEUE_LETTERS
    from casework.notices.bulk import enqueue_letters
    from casework.notices.models import Letter
    from tests import factories

    with app.app_context():
        org = factories.org(name="Safe Harbour Network")
        caseworker = factories.user(org, Role.CASEWORKER)
        actor = Actor.staff(caseworker.id, "caseworker")
        case_ids = []
        for _ in range(letters):
            case = factories.case(
                org, links=[factories.post_url("grok_edits_4u") for _ in range(3)]
            )
            for item in case.items:
                # The letter lists only the posts its law covers.
                item.category = ContentCategory.NUDE_SEXUAL
            case_ids.append(case.id)
        db.session.commit()
        redis = Redis.from_url(settings["REDIS_URL"])
        Queue(QUEUE_LETTERS, connection=redis).empty()
        from rq.registry import FailedJobRegistry

        failures = FailedJobRegistry(QUEUE_LETTERS, connection=redis)
        for job_id in failures.get_job_ids():
            failures.remove(job_id, delete_job=True)
        queued = enqueue_letters(case_ids, "us.tida.removal", actor)
        if queued != letters:
            raise SystemExit(f"only {queued} of {letters} jobs were queued (is Redis up?)")

    env = {**os.environ, **settings}
    started = time.perf_counter()
    processes = [
        subprocess.Popen(
            [sys.executable, "worker.py", "--burst", "--queues", QUEUE_LETTERS],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(workers)
    ]
    peaks = {p.pid: (0.0, 0.0) for p in processes}
    while any(p.poll() is None for p in processes):
        for p in processes:
            if p.poll() is None:
                try:
                    now = rss_mib(p.pid)
                except (FileNotFoundError, ProcessLookupError):
                    continue
                first, peak = peaks[p.pid]
                peaks[p.pid] = (first or now, max(peak, now))
        time.sleep(0.2)
    elapsed = time.perf_counter() - started
    failed = [p.returncode for p in processes if p.returncode != 0]

    with app.app_context():
        made = db.session.scalar(
            select(func.count()).select_from(Letter).where(Letter.case_id.in_(case_ids))
        )
        first, last = db.session.execute(
            select(func.min(Letter.created_at), func.max(Letter.created_at)).where(
                Letter.case_id.in_(case_ids)
            )
        ).one()
    from rq.registry import FailedJobRegistry

    failed_jobs = len(
        FailedJobRegistry(
            QUEUE_LETTERS, connection=Redis.from_url(settings["REDIS_URL"])
        ).get_job_ids()
    )
    busy = (last - first).total_seconds() if first and last else float("nan")
    print(
        f"{letters} letters through {workers} RQ workers (worker.py --burst): {made} made, "
        f"{elapsed:.1f} s including start-up = {made / elapsed:.1f} letters/s; "
        f"{made / busy:.1f} letters/s from first to last letter"
        + (f"; worker exit codes {failed}" if failed else "")
        + (f"; {failed_jobs} FAILED jobs" if failed_jobs else "")
    )
    for pid, (first_rss, peak) in peaks.items():
        print(f"  worker {pid}: RSS {first_rss:.1f} MiB at start, peak {peak:.1f} MiB")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432"),
    )
    parser.add_argument("--sqlite", action="store_true", help="a temporary SQLite file instead")
    parser.add_argument(
        "--redis-url", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6398/15")
    )
    parser.add_argument("--renders", type=int, default=100)
    parser.add_argument("--memory-renders", type=int, default=1000)
    parser.add_argument("--worker-letters", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--skip-workers", action="store_true")
    args = parser.parse_args()

    for line in machine():
        print(line)
    from flask_migrate import upgrade

    with tempfile.TemporaryDirectory(prefix="casework-bench-") as directory:
        workdir = Path(directory)
        with database(None if args.sqlite else args.database_url, workdir) as url:
            app, settings = make_app(url, args.redis_url, workdir)
            with app.app_context():
                upgrade()
            print(f"database: {make_url(url).get_backend_name()}")
            bench_render(app, args.renders, args.memory_renders)
            if args.skip_workers:
                pass
            elif not redis_answers(args.redis_url):
                print(f"worker benchmark skipped: no Redis answers at {args.redis_url}")
            else:
                bench_workers(app, settings, args.worker_letters, args.workers)
            with app.app_context():
                from casework.extensions import db

                db.engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
