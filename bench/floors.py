"""Casework against the floor of its own stack, in the same run: one table of ratios.

    python bench/floors.py [--database-server URL] [--redis-url URL] [--runs 3]

Each measure runs Casework and its floor in turn, --runs pairs, and prints the median of
the pair-by-pair ratios (bench/ratios.py):

- public pages: Casework's landing, privacy and report-form pages under
  `gunicorn -w 2 --threads 4`, against a minimal Flask app (bench/floor_app.py) under the
  same gunicorn settings sending pages of the same size; the same closed-loop client,
  --clients keep-alive connections, --page-seconds a run; pages per second.
- report submit: forms filled in beforehand up to their review page, then sent by
  --clients clients at once; against a bare SQLAlchemy insert, in one transaction, of the
  rows one submit adds (read back from the database around a probe submit), into copies
  of those tables without indexes or constraints, by as many threads; per second.
- letters: a two-page notice (20 items, 10 with files) rendered by Casework against bare
  WeasyPrint rendering the same HTML with the same stylesheet, each in its own process
  (bench/letter_run.py); median milliseconds a letter; and Casework's memory over
  --memory-renders renders in one process.
- jobs: --jobs no-op jobs through one `worker.py --burst` against a bare RQ SimpleWorker
  (`rq worker --burst -w rq.worker.SimpleWorker`), timed from the jobs' own timestamps.
- PDQ index: a search at distance <= 31 over --pdq-hashes hashes, PdqIndex against a
  numpy XOR-and-popcount scan; median milliseconds a query.

Everything runs on 127.0.0.1: a throwaway database (dropped afterwards), the Redis at
--redis-url (its queue "default" is emptied before and after: give a Redis of the
benchmark's own), gunicorn on --port and --port + 1 (free ports when not given).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
from psycopg.rows import dict_row

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from bench.load_intake import (  # noqa: E402
    HOST,
    Client,
    Filled,
    Report,
    Stats,
    add_bench_organisation,
    app_environment,
    free_port,
    stop_process,
    wait_until_up,
)
from bench.ratios import Measure, table  # noqa: E402
from tests.databases import throwaway_database  # noqa: E402

PAGES = (
    ("landing page /", "/"),
    ("privacy page /privacy", "/privacy"),
    ("report form, first page", "/report/"),
    ("report form, where page", "/report/where"),
)
JOBS_QUEUE = "default"


def machine() -> list[str]:
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return [
        f"machine: nproc {os.cpu_count()}, {cpu}, load average {load}",
        f"python {platform.python_version()}; the machine may be shared: the ratios of "
        "runs taken side by side are the figures to read, not the absolute ones",
    ]


def alternate(runs: int, casework: Callable[[], float], floor: Callable[[], float]) -> Measure:
    """Casework, floor, Casework, floor... (runs pairs); the figures in a Measure."""
    measure = Measure(name="", unit="", higher_is_better=True)
    for _ in range(runs):
        measure.casework.append(casework())
        measure.floor.append(floor())
    return measure


def progress(text: str) -> None:
    print(f"  {text}", file=sys.stderr, flush=True)


# -- servers ---------------------------------------------------------------------------


@contextmanager
def gunicorn(app: str, env: dict[str, str], port: int) -> Iterator[int]:
    command = [
        str(Path(sys.executable).parent / "gunicorn"),
        "--workers", "2",
        "--threads", "4",
        "--bind", f"{HOST}:{port}",
        "--log-level", "warning",
        app,
    ]  # fmt: skip
    process = subprocess.Popen(command, cwd=REPO_ROOT, env=env, start_new_session=True)
    try:
        wait_until_up(port, process)
        yield port
    finally:
        stop_process(process)


# -- public pages ----------------------------------------------------------------------


class Errors:
    def __init__(self) -> None:
        self.count = 0
        self.lock = threading.Lock()

    def add(self, n: int = 1) -> None:
        with self.lock:
            self.count += n


def closed_loop(
    port: int, path: str, clients: int, seconds: float, cookies: dict[str, str], errors: Errors
) -> float:
    """--clients keep-alive clients asking for path again and again; answers per second."""
    done = [0] * clients
    start = threading.Barrier(clients + 1)

    def client(index: int) -> None:
        c = Client(port)
        c.cookies = dict(cookies)
        start.wait()
        stop_at = time.monotonic() + seconds
        try:
            while time.monotonic() < stop_at:
                try:
                    status, _, _ = c.get(path)
                except (OSError, http.client.HTTPException):
                    errors.add()
                    continue
                if status == 200:
                    done[index] += 1
                else:
                    errors.add()
        finally:
            c.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    start.wait()
    started = time.monotonic()
    for thread in threads:
        thread.join()
    return sum(done) / (time.monotonic() - started)


def page_sizes(port: int, cookies: dict[str, str]) -> dict[str, int]:
    sizes = {}
    for _, path in PAGES:
        client = Client(port)
        client.cookies = dict(cookies)
        status, _, body = client.get(path)
        client.close()
        if status != 200:
            raise SystemExit(f"Casework answered {path} with {status}")
        sizes[path] = len(body)
    return sizes


def public_pages(
    args: argparse.Namespace, casework_port: int, floor_port: int, cookies: dict[str, str]
) -> list[Measure]:
    measures = []
    for name, path in PAGES:
        errors = Errors()
        measure = alternate(
            args.runs,
            lambda path=path, errors=errors: closed_loop(
                casework_port, path, args.clients, args.page_seconds, cookies, errors
            ),
            lambda path=path, errors=errors: closed_loop(
                floor_port, path, args.clients, args.page_seconds, {}, errors
            ),
        )
        measure.name, measure.unit, measure.target = name, "pages/s", 0.6
        measure.errors = errors.count
        progress(f"{name}: {measure.casework} vs {measure.floor}")
        measures.append(measure)
    return measures


# -- report submit ---------------------------------------------------------------------


def fill_reports(port: int, count: int, clients: int) -> list[Filled]:
    """count reports filled up to their review page by `clients` clients at once."""
    scenario = Report()
    filled: list[Filled] = []
    lock = threading.Lock()
    failures = Errors()

    def client(n: int) -> None:
        c = Client(port)
        stats = Stats()
        try:
            for _ in range(n):
                try:
                    one = scenario.fill(c, stats)
                except Exception:  # counted; the run then fails
                    failures.add()
                    c.close()
                    continue
                with lock:
                    filled.append(one)
        finally:
            c.close()

    shares = [count // clients + (1 if i < count % clients else 0) for i in range(clients)]
    threads = [threading.Thread(target=client, args=(n,)) for n in shares]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures.count:
        raise SystemExit(f"{failures.count} reports could not be filled in")
    return filled


def submit_all(port: int, batch: list[Filled], clients: int, errors: Errors) -> float:
    """Send every filled report, `clients` at once; submits per second."""
    scenario = Report()
    queue = list(batch)
    lock = threading.Lock()
    start = threading.Barrier(clients + 1)

    def client() -> None:
        c = Client(port)
        stats = Stats()
        start.wait()
        try:
            while True:
                with lock:
                    if not queue:
                        return
                    one = queue.pop()
                try:
                    scenario.submit(c, stats, one)
                except Exception:  # any failure is an error of the run
                    errors.add()
                    c.close()
        finally:
            errors.add(stats.server_errors)
            c.close()

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    start.wait()
    started = time.monotonic()
    for thread in threads:
        thread.join()
    return len(batch) / (time.monotonic() - started)


def table_rows(conn: psycopg.Connection[Any]) -> dict[str, dict[str, dict[str, Any]]]:
    """Every row of every table, keyed by its printed form (the database is small here)."""
    names = [
        r["tablename"]
        for r in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
            "AND tablename <> 'alembic_version'"
        )
    ]
    return {
        name: {repr(tuple(row.values())): row for row in conn.execute(f'SELECT * FROM "{name}"')}  # noqa: S608 - names from pg_tables
        for name in names
    }


def rows_of_one_submit(
    database_url: str, port: int, probe: Filled
) -> dict[str, list[dict[str, Any]]]:
    """The rows a submit adds (a changed row counts as added), table by table."""
    with psycopg.connect(database_url, row_factory=dict_row) as conn:
        before = table_rows(conn)
        errors = Errors()
        submit_all(port, [probe], 1, errors)
        if errors.count:
            raise SystemExit("the probe submit failed")
        after = table_rows(conn)
    return {
        name: [row for key, row in rows.items() if key not in before.get(name, {})]
        for name, rows in after.items()
        if any(key not in before.get(name, {}) for key in rows)
    }


def insert_floor(
    database_url: str, plan: dict[str, list[dict[str, Any]]], transactions: int, clients: int
) -> Callable[[], float]:
    """Copies of the tables (columns and defaults only) and a run of bare inserts."""
    from sqlalchemy import MetaData, Table, create_engine, text
    from sqlalchemy.engine import make_url

    url = make_url(database_url).set(drivername="postgresql+psycopg")
    engine = create_engine(url, pool_size=clients, max_overflow=0)
    with engine.begin() as conn:
        conn.execute(text("CREATE SCHEMA IF NOT EXISTS floor"))
        for name in plan:
            like = f'LIKE public."{name}" INCLUDING DEFAULTS'
            conn.execute(text(f'CREATE TABLE floor."{name}" ({like})'))
    metadata = MetaData(schema="floor")
    tables = [(Table(name, metadata, autoload_with=engine), rows) for name, rows in plan.items()]

    def run() -> float:
        left = [transactions]
        lock = threading.Lock()
        start = threading.Barrier(clients + 1)

        def client() -> None:
            start.wait()
            while True:
                with lock:
                    if left[0] <= 0:
                        return
                    left[0] -= 1
                with engine.begin() as conn:
                    for table, rows in tables:
                        conn.execute(table.insert(), rows)

        threads = [threading.Thread(target=client) for _ in range(clients)]
        for thread in threads:
            thread.start()
        start.wait()
        started = time.monotonic()
        for thread in threads:
            thread.join()
        return transactions / (time.monotonic() - started)

    return run


def report_submit(args: argparse.Namespace, database_url: str, port: int) -> Measure:
    per_run = args.submits
    progress(f"filling in {per_run * args.runs + 1} reports up to their review page")
    filled = fill_reports(port, per_run * args.runs + 1, args.clients)
    plan = rows_of_one_submit(database_url, port, filled.pop())
    progress("one submit adds: " + ", ".join(f"{len(r)} {n}" for n, r in plan.items()))
    batches = [filled[i * per_run : (i + 1) * per_run] for i in range(args.runs)]
    errors = Errors()
    floor = insert_floor(database_url, plan, per_run, args.clients)
    measure = alternate(
        args.runs,
        lambda: submit_all(port, batches.pop(), args.clients, errors),
        floor,
    )
    # A rate: Casework's submits/s over the floor's inserts/s; "within 2x" is >= 0.5.
    measure.name = (
        f"report submit ({sum(len(r) for r in plan.values())} rows in {len(plan)} tables)"
    )
    measure.unit, measure.target, measure.errors = "per s", 0.5, errors.count
    progress(f"submit: {measure.casework} vs {measure.floor}")
    return measure


# -- letters ---------------------------------------------------------------------------


def letter_file(database_url: str, redis_url: str, folder: Path) -> Path:
    """A two-page notice's snapshot, template, HTML and stylesheet, written to a file."""
    from bench.bench_letters import letter_case, make_app
    from casework.actors import SYSTEM
    from casework.extensions import db
    from casework.notices.letters import create_letter
    from casework.notices.rendering import STYLESHEET, TEMPLATES_DIR, render_letter_html

    app, _ = make_app(database_url, redis_url, folder)
    with app.app_context():
        case, notice = letter_case(20, 10)
        letter = create_letter(
            db.session, case=case, route_key=notice.route_key, actor=SYSTEM, notice=notice
        )
        snapshot, template = letter.data_snapshot, letter.template
        db.session.commit()
        db.engine.dispose()
    path = folder / "letter.json"
    path.write_text(
        json.dumps(
            {
                "snapshot": snapshot,
                "template": template,
                "html": render_letter_html(snapshot, template),
                "stylesheet": str(STYLESHEET),
                "base_url": TEMPLATES_DIR.as_uri() + "/",
            }
        )
    )
    return path


def letter_run(side: str, letter: Path, renders: int, memory: int = 0) -> dict[str, float]:
    result = subprocess.run(
        [sys.executable, "bench/letter_run.py", side, str(letter), "--renders", str(renders)]
        + (["--memory", str(memory)] if memory else []),
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


def letters(args: argparse.Namespace, database_url: str, folder: Path) -> list[Measure]:
    path = letter_file(database_url, args.redis_url, folder)
    pages: dict[str, float] = {}

    def side(name: str) -> float:
        result = letter_run(name, path, args.letter_renders)
        pages[name] = result["pages"]
        return result["ms"]

    measure = alternate(args.runs, lambda: side("casework"), lambda: side("floor"))
    measure.name = (
        f"two-page letter ({pages['casework']:.0f} pages; bare: {pages['floor']:.0f}), render"
    )
    measure.unit, measure.higher_is_better, measure.target = "ms", False, 1.15
    progress(f"letter: {measure.casework} vs {measure.floor}")
    result = letter_run("casework", path, 1, args.memory_renders)
    growth = result["rss_after"] - result["rss_before"]
    progress(f"letter memory: {result['rss_before']:.1f} -> {result['rss_after']:.1f} MiB")
    memory = Measure(
        name=f"letter memory growth over {args.memory_renders:,} renders, one process",
        unit="MiB",
        higher_is_better=False,
        casework=[growth],
        limit=10.0,
    )
    return [measure, memory]


# -- jobs ------------------------------------------------------------------------------


def jobs_run(command: list[str], env: dict[str, str], redis_url: str, jobs: int) -> float:
    from redis import Redis
    from rq import Queue

    from bench.noop_job import noop

    connection = Redis.from_url(redis_url)
    queue = Queue(JOBS_QUEUE, connection=connection)
    queue.empty()
    with connection.pipeline() as pipe:
        enqueued = [queue.enqueue(noop, i, pipeline=pipe, result_ttl=60) for i in range(jobs)]
        pipe.execute()
    subprocess.run(
        command,
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=True,
        timeout=300,
    )
    for job in (enqueued[0], enqueued[-1]):
        job.refresh()
    first, last = enqueued[0].started_at, enqueued[-1].ended_at
    if first is None or last is None:
        raise SystemExit("the worker did not run the jobs")
    with connection.pipeline() as pipe:
        for job in enqueued:
            pipe.delete(job.key)
        pipe.execute()
    queue.empty()
    return jobs / (last - first).total_seconds()


def jobs(args: argparse.Namespace, env: dict[str, str]) -> Measure:
    worker = [sys.executable, "worker.py", "--burst", "--no-sweep", "--queues", JOBS_QUEUE]
    simple = [
        str(Path(sys.executable).with_name("rq")),
        "worker", "--burst", "--worker-class", "rq.worker.SimpleWorker",
        "--url", args.redis_url, JOBS_QUEUE,
    ]  # fmt: skip
    measure = alternate(
        args.runs,
        lambda: jobs_run(worker, env, args.redis_url, args.jobs),
        lambda: jobs_run(simple, env, args.redis_url, args.jobs),
    )
    measure.name = f"no-op jobs, one worker ({args.jobs:,} a run)"
    measure.unit, measure.target = "jobs/s", 0.9
    progress(f"jobs: {measure.casework} vs {measure.floor}")
    return measure


# -- PDQ -------------------------------------------------------------------------------


def pdq(args: argparse.Namespace) -> Measure:
    import numpy as np

    from bench.bench_pdq_index import make_data, numpy_scan
    from casework.evidence.pdq_index import PdqIndex

    rng = np.random.default_rng(12345)
    raw, queries = make_data(args.pdq_hashes, 100, rng)
    index = PdqIndex.build(np.arange(len(raw), dtype=np.int64), raw)
    words = np.ascontiguousarray(raw.view(np.uint64).T)
    mixed = np.concatenate([queries["random"][:50], queries["clustered"][:50]])
    hexes = [q.tobytes().hex() for q in mixed]

    def timed(fn: Callable[[int], object], count: int) -> float:
        times = []
        for i in range(count):
            started = time.perf_counter()
            fn(i)
            times.append(time.perf_counter() - started)
        return statistics.median(times) * 1000

    measure = alternate(
        args.runs,
        lambda: timed(lambda i: index.search(hexes[i], 31), len(hexes)),
        lambda: timed(lambda i: numpy_scan(words, mixed[i], 31), 20),
    )
    measure.name = f"PDQ search, distance ≤ 31 over {len(raw):,} hashes"
    measure.unit, measure.higher_is_better = "ms", False
    return measure


# -- main ------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--database-server",
        default=os.environ.get(
            "BENCH_DATABASE_SERVER", "postgresql://postgres@127.0.0.1:5432/postgres"
        ),
    )
    parser.add_argument(
        "--redis-url",
        # The private Redis scripts/bench starts: the run empties the queue "default".
        default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6398/15"),
    )
    parser.add_argument("--port", type=int, default=0, help="Casework's; the floor's is +1")
    parser.add_argument("--runs", type=int, default=3, help="pairs of runs per measure")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--page-seconds", type=float, default=2.0)
    parser.add_argument("--submits", type=int, default=64, help="reports sent per run")
    parser.add_argument("--letter-renders", type=int, default=15)
    parser.add_argument("--memory-renders", type=int, default=1000)
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--pdq-hashes", type=int, default=1_000_000)
    parser.add_argument(
        "--only",
        nargs="+",
        choices=["pages", "submit", "letters", "jobs", "pdq"],
        default=["pages", "submit", "letters", "jobs", "pdq"],
    )
    args = parser.parse_args(argv)
    if not 1 <= args.runs <= 10 or not 1 <= args.clients <= 64:
        parser.error("--runs must be 1 to 10 and --clients 1 to 64")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    for line in machine():
        print(line)
    started = time.monotonic()
    measures: list[Measure] = []
    with (
        tempfile.TemporaryDirectory(prefix="casework-floors-") as tmp,
        throwaway_database(args.database_server, "casework_floors") as database_url,
    ):
        folder = Path(tmp)
        env = app_environment(database_url, args.redis_url, folder / "instance")
        subprocess.run(
            [sys.executable, "-m", "flask", "db", "upgrade"],
            cwd=REPO_ROOT, env=env, check=True, capture_output=True,
        )  # fmt: skip
        with psycopg.connect(database_url) as conn:
            add_bench_organisation(conn)
        if {"pages", "submit"} & set(args.only):
            port = args.port or free_port()
            with gunicorn("casework.wsgi:app", env, port) as casework_port:
                # A visitor whose report is filled in: the where page needs a draft.
                visitor = fill_reports(casework_port, 1, 1)[0].cookies
                sizes = page_sizes(casework_port, visitor)
                floor_env = {**env, "FLOOR_PAGE_BYTES": json.dumps(sizes)}
                floor_port = args.port + 1 if args.port else free_port()
                with gunicorn("bench.floor_app:app", floor_env, floor_port):
                    for warm in (casework_port, floor_port):
                        closed_loop(warm, "/", 2, 1.0, {}, Errors())
                    if "pages" in args.only:
                        measures += public_pages(args, casework_port, floor_port, visitor)
                if "submit" in args.only:
                    measures.append(report_submit(args, database_url, casework_port))
        if "letters" in args.only:
            measures += letters(args, database_url, folder)
        if "jobs" in args.only:
            measures.append(jobs(args, env))
    if "pdq" in args.only:
        measures.append(pdq(args))
    print(
        f"\n{args.runs} runs each of Casework and its floor, alternating; "
        f"{args.clients} clients where there are clients; {time.monotonic() - started:.0f} s\n"
    )
    print(table(measures))
    return 1 if any(m.errors for m in measures) else 0


if __name__ == "__main__":
    sys.exit(main())
