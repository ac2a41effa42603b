"""Load test: the app under gunicorn on PostgreSQL and Redis, driven by concurrent clients.

    python bench/load_intake.py [--scenario landing] [--clients 16] [--duration 60]

What it does, every run from scratch: creates a fresh PostgreSQL database on the
server at --database-server (dropped afterwards), applies the migrations with
`flask db upgrade`, starts `gunicorn -w 2 --threads 8 casework.wsgi:app` on a free
port of 127.0.0.1 (CASEWORK_ENV=production, rate limits off because every client
shares one address), then runs --clients concurrent clients for --duration seconds,
each a thread with its own keep-alive connection and cookie jar. It prints
requests per second, latency percentiles (p50/p95/p99/max) and errors by kind, then
the scenario's own check of what reached the database.

Scenarios:
- landing: GET / (the public landing page: templates, session, CSRF token).
- language: GET / then POST /language with the page's CSRF token, following the
  redirect: a session cookie and a CSRF-protected form across gunicorn workers,
  the machinery every intake scenario is built on.

Scenarios the intake plugs in here (a Scenario subclass registered in SCENARIOS):
- report: the full multi-step report as a victim files it: each step's form
  with its CSRF token, links and screenshots (small generated PNGs), through to the
  confirmation page; the reference it shows is recorded.
- links-only: the same with links and no files (the route for minors).
- share: a report arriving from the phone's share sheet with screenshots attached.
Each ends with the zero-loss check (`verify`): every confirmation reference a
client received exists in the database exactly once, with all the items and files
that client sent, and no case exists that no client was told about.

Bounded by design: at most 64 clients, 600 seconds and --max-requests requests, all
to the gunicorn it started on 127.0.0.1; it never talks to another web host.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import math
import os
import platform
import re
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import psycopg
from psycopg import sql

REPO_ROOT = Path(__file__).resolve().parents[1]
MAX_CLIENTS = 64
MAX_DURATION = 600.0
HOST = "127.0.0.1"
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


# -- a minimal browser-like client -------------------------------------------------------


class Client:
    """One visitor: a keep-alive connection to the app and the cookies it was given."""

    def __init__(self, port: int, timeout: float = 30.0) -> None:
        self.port = port
        self.timeout = timeout
        self.cookies: dict[str, str] = {}
        self.conn: http.client.HTTPConnection | None = None

    def _connection(self) -> http.client.HTTPConnection:
        if self.conn is None:
            self.conn = http.client.HTTPConnection(HOST, self.port, timeout=self.timeout)
        return self.conn

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def request(
        self, method: str, path: str, body: bytes | None = None, content_type: str | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        headers = {"Accept-Language": "en"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if content_type:
            headers["Content-Type"] = content_type
        conn = self._connection()
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            payload = response.read()
        except (OSError, http.client.HTTPException):
            self.close()  # the next request opens a fresh connection
            raise
        for value in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = value.partition("=")
            self.cookies[name.strip()] = rest.split(";", 1)[0]
        if response.will_close:
            self.close()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, payload

    def get(self, path: str) -> tuple[int, dict[str, str], bytes]:
        return self.request("GET", path)

    def post_form(self, path: str, fields: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        body = urlencode(fields).encode()
        return self.request("POST", path, body, "application/x-www-form-urlencoded")


def csrf_token(page: bytes) -> str:
    match = CSRF_RE.search(page.decode("utf-8", "replace"))
    if match is None:
        raise ScenarioError("no CSRF token on the page")
    return match.group(1)


# -- scenarios ----------------------------------------------------------------------------


class ScenarioError(Exception):
    """A response the scenario did not expect; counted as an error of its kind."""


@dataclass
class Stats:
    """What the clients saw; each client thread owns one, merged at the end."""

    latencies: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    operations: int = 0
    results: list[str] = field(default_factory=list)

    def merge(self, other: Stats) -> None:
        self.latencies.extend(other.latencies)
        self.errors.update(other.errors)
        self.operations += other.operations
        self.results.extend(other.results)


class Scenario:
    """One user journey, run again and again by each client."""

    name = ""

    def timed(
        self, stats: Stats, client: Client, method: str, path: str, **form: str
    ) -> tuple[int, dict[str, str], bytes]:
        started = time.perf_counter()
        answer = client.get(path) if method == "GET" else client.post_form(path, form)
        stats.latencies.append(time.perf_counter() - started)
        return answer

    def run_once(self, client: Client, stats: Stats) -> None:
        raise NotImplementedError

    def verify(self, database_url: str, stats: Stats) -> list[str]:
        """Problems found in the database after the run; none for read-only scenarios."""
        return []


class Landing(Scenario):
    name = "landing"

    def run_once(self, client: Client, stats: Stats) -> None:
        status, _, page = self.timed(stats, client, "GET", "/")
        if status != 200 or b'id="quick-exit"' not in page:
            raise ScenarioError(f"landing {status}")


class Language(Scenario):
    name = "language"

    def run_once(self, client: Client, stats: Stats) -> None:
        status, _, page = self.timed(stats, client, "GET", "/")
        if status != 200:
            raise ScenarioError(f"landing {status}")
        lang = secrets.choice(["en", "fr"])
        status, headers, _ = self.timed(
            stats,
            client,
            "POST",
            "/language",
            lang=lang,
            next="/privacy",
            csrf_token=csrf_token(page),
        )
        if status != 302 or headers.get("location") != "/privacy":
            raise ScenarioError(f"language {status}")
        status, _, page = self.timed(stats, client, "GET", "/privacy")
        if status != 200 or f'lang="{lang}"'.encode() not in page:
            raise ScenarioError("language not kept in the session")


SCENARIOS: dict[str, type[Scenario]] = {s.name: s for s in (Landing, Language)}


# -- the system under test ----------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


@contextmanager
def fresh_database(server_url: str) -> Iterator[str]:
    """A new, empty PostgreSQL database on the server, dropped afterwards."""
    name = f"casework_bench_{os.getpid()}_{secrets.token_hex(3)}"
    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    parts = urlsplit(server_url)
    url = parts._replace(path=f"/{name}").geturl()
    try:
        yield url
    finally:
        with psycopg.connect(server_url, autocommit=True) as admin:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                (name,),
            )
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))


def app_environment(database_url: str, redis_url: str, instance: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "CASEWORK_ENV": "production",
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "SECRET_KEY": secrets.token_urlsafe(48),
            "CASEWORK_EVIDENCE_KEY": base64.urlsafe_b64encode(os.urandom(32)).decode(),
            "CASEWORK_INSTANCE_PATH": str(instance),
            "CASEWORK_EVIDENCE_DIR": str(instance / "evidence"),
            # Every client comes from 127.0.0.1: per-address limits would stop the test.
            "CASEWORK_RATELIMIT": "0",
            "FLASK_APP": "casework.wsgi",
        }
    )
    return env


def wait_until_up(port: int, process: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"gunicorn exited with status {process.returncode}")
        try:
            status, _, _ = Client(port, timeout=2).get("/healthz")
            if status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit("gunicorn did not answer /healthz in time")


@contextmanager
def gunicorn(env: dict[str, str], workers: int, threads: int) -> Iterator[int]:
    port = free_port()
    command = [
        str(Path(sys.executable).parent / "gunicorn"),
        "--workers", str(workers),
        "--threads", str(threads),
        "--bind", f"{HOST}:{port}",
        "--log-level", "warning",
        "casework.wsgi:app",
    ]  # fmt: skip
    process = subprocess.Popen(command, cwd=REPO_ROOT, env=env, start_new_session=True)
    try:
        wait_until_up(port, process)
        yield port
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


# -- driving the load ---------------------------------------------------------------------


def client_loop(
    scenario: Scenario, port: int, stop_at: float, budget: Budget, stats: Stats
) -> None:
    client = Client(port)
    try:
        while time.monotonic() < stop_at and budget.take():
            try:
                scenario.run_once(client, stats)
                stats.operations += 1
            except ScenarioError as exc:
                stats.errors[f"unexpected answer: {exc}"] += 1
            except (OSError, http.client.HTTPException) as exc:
                stats.errors[f"connection: {type(exc).__name__}"] += 1
    finally:
        client.close()


class Budget:
    """The run's cap on operations, shared by all clients."""

    def __init__(self, limit: int) -> None:
        self.left = limit
        self.lock = threading.Lock()

    def take(self) -> bool:
        with self.lock:
            if self.left <= 0:
                return False
            self.left -= 1
            return True


def run_load(scenario: Scenario, port: int, clients: int, duration: float, limit: int) -> Stats:
    stop_at = time.monotonic() + duration
    budget = Budget(limit)
    per_client = [Stats() for _ in range(clients)]
    threads = [
        threading.Thread(target=client_loop, args=(scenario, port, stop_at, budget, s))
        for s in per_client
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    total = Stats()
    for stats in per_client:
        total.merge(stats)
    return total


def percentile(sorted_values: list[float], fraction: float) -> float:
    if not sorted_values:
        return float("nan")
    # Nearest rank: the smallest value with at least `fraction` of all values at or below it.
    index = min(len(sorted_values) - 1, max(0, math.ceil(fraction * len(sorted_values)) - 1))
    return sorted_values[index]


def report(stats: Stats, elapsed: float, args: argparse.Namespace, pg_version: str) -> None:
    latencies = sorted(stats.latencies)
    ms = [v * 1000 for v in latencies]
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}, {pg_version}"
    )
    print(
        f"scenario {args.scenario}: {args.clients} clients for {elapsed:.1f} s against "
        f"gunicorn -w {args.workers} --threads {args.threads}"
    )
    print(
        f"requests: {len(latencies)} ({len(latencies) / elapsed:.1f}/s); "
        f"operations: {stats.operations} ({stats.operations / elapsed:.1f}/s)"
    )
    if ms:
        print(
            f"latency ms: p50 {percentile(ms, 0.50):.1f}  p95 {percentile(ms, 0.95):.1f}  "
            f"p99 {percentile(ms, 0.99):.1f}  max {ms[-1]:.1f}  mean {statistics.fmean(ms):.1f}"
        )
    errors = sum(stats.errors.values())
    print(f"errors: {errors}")
    for kind, count in stats.errors.most_common():
        print(f"  {count:6d}  {kind}")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", choices=sorted(SCENARIOS), default="landing")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of load")
    parser.add_argument(
        "--max-requests",
        type=int,
        default=500_000,
        help="stop after this many scenario runs, whatever the duration",
    )
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument(
        "--database-server",
        default=os.environ.get(
            "BENCH_DATABASE_SERVER", "postgresql://postgres@127.0.0.1:5432/postgres"
        ),
        help="PostgreSQL server on which a throwaway database is created",
    )
    parser.add_argument(
        "--redis-url", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
    )
    args = parser.parse_args(argv)
    if not 1 <= args.clients <= MAX_CLIENTS:
        parser.error(f"--clients must be between 1 and {MAX_CLIENTS}")
    if not 0 < args.duration <= MAX_DURATION:
        parser.error(f"--duration must be more than 0 and at most {MAX_DURATION:.0f} seconds")
    if args.max_requests < 1:
        parser.error("--max-requests must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    scenario = SCENARIOS[args.scenario]()
    with (
        tempfile.TemporaryDirectory(prefix="casework-bench-") as tmp,
        fresh_database(args.database_server) as database_url,
    ):
        env = app_environment(database_url, args.redis_url, Path(tmp))
        subprocess.run(
            [sys.executable, "-m", "flask", "db", "upgrade"],
            cwd=REPO_ROOT, env=env, check=True, capture_output=True,
        )  # fmt: skip
        with psycopg.connect(database_url) as conn:
            row = conn.execute("SHOW server_version").fetchone()
            pg_version = f"PostgreSQL {row[0] if row else '?'}"
        with gunicorn(env, args.workers, args.threads) as port:
            run_load(scenario, port, clients=2, duration=1.0, limit=50)  # warm up
            started = time.monotonic()
            stats = run_load(scenario, port, args.clients, args.duration, args.max_requests)
            elapsed = time.monotonic() - started
        report(stats, elapsed, args, pg_version)
        problems = scenario.verify(database_url, stats)
        for problem in problems:
            print(f"LOST OR DUPLICATED: {problem}")
        if not problems:
            print("zero-loss check: " + ("passed" if stats.results else "nothing to check"))
    return 1 if problems or stats.errors else 0


if __name__ == "__main__":
    sys.exit(main())
