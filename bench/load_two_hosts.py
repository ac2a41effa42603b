"""Scaling out: whole reports against one web server, then two, with the same total threads.

    python bench/load_two_hosts.py [--scenario report-share] [--clients 8] [--duration 30]
                                   [--threads 4]

Two runs on this machine, each on a fresh PostgreSQL database (created on
--database-server, dropped afterwards) and the Redis at --redis-url, production settings
with the evidence kept in the database (CASEWORK_EVIDENCE_STORE=database):

- one host: `gunicorn -w 2 --threads T`, every client talking to it;
- two hosts: two `gunicorn -w 1 --threads T`, each with its own instance folder as on
  two machines, and every client sending each request to the other one in turn, as a
  load balancer without sticky sessions would (one cookie jar for both).

The same --clients closed-loop clients run the report scenario of bench/load_intake.py
(every page of the public form with its CSRF token, through to the confirmation) for
--duration seconds. For each run it prints reports per second, request and whole-report
latency percentiles, errors, and what the rest of the stack did meanwhile: PostgreSQL
connections of the run's database by state (sampled every 0.25 s from
pg_stat_activity), Redis commands per second and clients, and the CPU each part used
(from /proc: the gunicorn processes, the run database's PostgreSQL backends and
PostgreSQL's own background processes, redis-server, and this load generator), in
cores. Then the zero-loss check: every confirmation names one case with its posts and
as many evidence files, each readable through the configured store.

Bounded like load_intake.py: at most 64 clients and 600 seconds a run, on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import http.client
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from redis import Redis

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from bench.load_intake import (  # noqa: E402
    MAX_CLIENTS,
    MAX_DURATION,
    Budget,
    Client,
    Landing,
    Report,
    ReportShare,
    ScenarioError,
    Stats,
    add_bench_organisation,
    app_environment,
    gunicorn,
    machine,
    percentile,
    run_clients,
)
from tests.databases import throwaway_database  # noqa: E402

SCENARIOS: dict[str, type[Report]] = {s.name: s for s in (Report, ReportShare)}
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
IDLE_REUSE = 1.0  # seconds a keep-alive connection may sit idle and still be reused


# -- the client behind a round-robin load balancer -----------------------------------------


class RoundRobinClient(Client):
    """One visitor whose every request goes to the next server in turn, one cookie jar for
    all (they serve one domain), a keep-alive connection to each."""

    def __init__(self, ports: list[int], timeout: float = 30.0) -> None:
        super().__init__(ports[0], timeout)
        self.ports = ports
        self.turn = 0
        self.connections: dict[int, http.client.HTTPConnection] = {}
        self.last_used: dict[int, float] = {}

    def _connection(self) -> http.client.HTTPConnection:
        port = self.ports[self.turn % len(self.ports)]
        self.turn += 1
        now = time.monotonic()
        # gunicorn closes a keep-alive connection idle for 2 s; while the other server
        # answers a slow request this one can sit that long, so a connection idle for
        # 1 s is replaced rather than found closed mid-request.
        if port in self.connections and now - self.last_used.get(port, now) > IDLE_REUSE:
            self.connections.pop(port).close()
        if port not in self.connections:
            self.connections[port] = http.client.HTTPConnection(
                "127.0.0.1", port, timeout=self.timeout
            )
        self.last_used[port] = now
        self.conn = self.connections[port]
        return self.conn

    def close(self) -> None:
        for conn in self.connections.values():
            conn.close()
        self.connections.clear()
        self.conn = None


def client_loop(
    scenario: Report, ports: list[int], stop_at: float, budget: Budget, stats: Stats
) -> None:
    client = RoundRobinClient(ports)
    try:
        while time.monotonic() < stop_at and budget.take():
            started = time.perf_counter()
            try:
                scenario.run_once(client, stats)
                stats.operations += 1
                stats.by_request.setdefault("whole report", []).append(
                    time.perf_counter() - started
                )
            except ScenarioError as exc:
                stats.errors[f"unexpected answer: {exc}"] += 1
            except (OSError, http.client.HTTPException) as exc:
                stats.errors[f"connection: {type(exc).__name__}"] += 1
    finally:
        client.close()


def run_load(scenario: Report, ports: list[int], clients: int, duration: float) -> Stats:
    stop_at = time.monotonic() + duration
    budget = Budget(500_000)
    return run_clients(clients, lambda stats: client_loop(scenario, ports, stop_at, budget, stats))


# -- what the rest of the stack did -------------------------------------------------------


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of one process so far, or None once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def process_group(leader: int) -> list[int]:
    """The processes of a group: a gunicorn master and its workers."""
    members = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            if int(fields[2]) == leader:
                members.append(int(entry.name))
    return members


def machine_busy() -> tuple[float, float]:
    """(busy, total) jiffies of all CPUs so far, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


@dataclass
class CpuMeter:
    """CPU used by groups of processes between start and stop; a process seen for the
    first time counts from then."""

    first: dict[int, float] = field(default_factory=dict)
    last: dict[int, float] = field(default_factory=dict)
    group_of: dict[int, str] = field(default_factory=dict)

    def see(self, group: str, pids: list[int]) -> None:
        for pid in pids:
            used = cpu_seconds(pid)
            if used is None:
                continue
            self.first.setdefault(pid, used)
            self.last[pid] = used
            self.group_of[pid] = group

    def by_group(self) -> dict[str, float]:
        totals: dict[str, float] = {}
        for pid, group in self.group_of.items():
            totals[group] = totals.get(group, 0.0) + self.last[pid] - self.first[pid]
        return totals


@dataclass
class Stack:
    """Samples of PostgreSQL, Redis and CPU taken while the load runs."""

    database_url: str
    database: str
    redis: Redis
    servers: list[int]
    states: list[Counter[str]] = field(default_factory=list)
    redis_clients: list[int] = field(default_factory=list)
    cpu: CpuMeter = field(default_factory=CpuMeter)
    stop: threading.Event = field(default_factory=threading.Event)

    def sample(self, conn: psycopg.Connection[Any]) -> None:
        rows = conn.execute(
            "SELECT pid, datname, state, backend_type FROM pg_stat_activity "
            "WHERE pid <> pg_backend_pid()"
        ).fetchall()
        ours = [r for r in rows if r[1] == self.database and r[3] == "client backend"]
        self.states.append(Counter(str(r[2]) for r in ours))
        self.cpu.see("postgresql (run's backends)", [r[0] for r in ours])
        self.cpu.see("postgresql (background)", [r[0] for r in rows if r[1] is None])
        self.redis_clients.append(int(self.redis.info("clients")["connected_clients"]))
        for leader in self.servers:
            self.cpu.see("gunicorn", process_group(leader))

    def watch(self) -> None:
        with psycopg.connect(self.database_url, autocommit=True) as conn:
            while not self.stop.is_set():
                self.sample(conn)
                self.stop.wait(0.25)
            self.sample(conn)


@dataclass
class Measured:
    label: str
    stats: Stats
    elapsed: float
    stack: Stack
    redis_commands: int
    cpu: dict[str, float]
    machine_busy: float
    problems: list[str]


@contextmanager
def measured(stack: Stack) -> Iterator[dict[str, Any]]:
    """Watch the stack while the block runs; fills in redis commands and CPU figures."""
    found: dict[str, Any] = {}
    redis_pid = int(stack.redis.info("server")["process_id"])
    stack.cpu.see("redis-server", [redis_pid])
    stack.cpu.see("load generator (this process)", [os.getpid()])
    commands = int(stack.redis.info("stats")["total_commands_processed"])
    busy, total = machine_busy()
    watcher = threading.Thread(target=stack.watch, daemon=True)
    watcher.start()
    try:
        yield found
    finally:
        stack.stop.set()
        watcher.join()
        stack.cpu.see("redis-server", [redis_pid])
        stack.cpu.see("load generator (this process)", [os.getpid()])
        found["redis_commands"] = (
            int(stack.redis.info("stats")["total_commands_processed"]) - commands
        )
        busy_after, total_after = machine_busy()
        found["machine_busy"] = (busy_after - busy) / max(1, total_after - total)
        found["cpu"] = stack.cpu.by_group()


# -- one configuration --------------------------------------------------------------------


def host_env(shared: dict[str, str], instance: Path) -> dict[str, str]:
    env = dict(shared)
    env["CASEWORK_INSTANCE_PATH"] = str(instance)
    env["CASEWORK_EVIDENCE_DIR"] = str(instance / "evidence")
    return env


def measure(label: str, hosts: int, args: argparse.Namespace, folder: Path) -> Measured:
    """A fresh database, `hosts` gunicorns sharing it, the scenario's load, the samples."""
    workers = args.workers_total // hosts
    with (
        throwaway_database(args.database_server, "casework_scale") as database_url,
        ExitStack() as servers,
    ):
        shared = app_environment(database_url, args.redis_url, folder / label / "first")
        shared["CASEWORK_EVIDENCE_STORE"] = "database"
        subprocess.run(
            [sys.executable, "-m", "flask", "db", "upgrade"],
            cwd=REPO_ROOT, env=shared, check=True, capture_output=True,
        )  # fmt: skip
        with psycopg.connect(database_url) as conn:
            add_bench_organisation(conn)
        envs = [host_env(shared, folder / label / f"host-{n}") for n in range(hosts)]
        started = [servers.enter_context(gunicorn(env, workers, args.threads)) for env in envs]
        ports = [port for port, _ in started]
        run_load_warm_up(ports)
        scenario = SCENARIOS[args.scenario]()
        stack = Stack(
            database_url=database_url,
            database=database_url.rsplit("/", 1)[1],
            redis=Redis.from_url(args.redis_url),
            servers=[pid for _, pid in started],
        )
        with measured(stack) as found:
            began = time.monotonic()
            stats = run_load(scenario, ports, args.clients, args.duration)
            elapsed = time.monotonic() - began
        problems = check_reports(envs[0], stats)
        return Measured(
            label=f"{label}: {hosts} x gunicorn -w {workers} --threads {args.threads}",
            stats=stats,
            elapsed=elapsed,
            stack=stack,
            redis_commands=found["redis_commands"],
            cpu=found["cpu"],
            machine_busy=found["machine_busy"],
            problems=problems,
        )


def run_load_warm_up(ports: list[int]) -> None:
    """Every worker imports and connects before the clock starts, on pages that write nothing."""
    for port in ports:
        client = Client(port)
        try:
            for _ in range(10):
                Landing().run_once(client, Stats())
        finally:
            client.close()


def check_reports(env: dict[str, str], stats: Stats) -> list[str]:
    """Every confirmation is one case with its posts and files, each file readable through
    the store the hosts use (read here as one more host would)."""
    saved = dict(os.environ)
    os.environ.update(env)
    try:
        from casework import create_app
        from casework.evidence.files import evidence_storage
        from casework.extensions import db

        app = create_app(instance_path=env["CASEWORK_INSTANCE_PATH"])
    finally:
        os.environ.clear()
        os.environ.update(saved)
    problems: list[str] = []
    with app.app_context():
        storage = evidence_storage(app.config, db.session)
        connection = psycopg.connect(env["DATABASE_URL"])
        for sent in stats.results:
            cases = connection.execute(
                "SELECT id FROM cases WHERE reference = %s", (sent.reference,)
            ).fetchall()
            if len(cases) != 1:
                problems.append(f"{sent.reference}: {len(cases)} cases")
                continue
            case_id = cases[0][0]
            posts = {
                int(r[0])
                for r in connection.execute(
                    "SELECT status_id FROM items WHERE case_id = %s", (case_id,)
                )
            }
            if posts != set(sent.status_ids):
                problems.append(f"{sent.reference}: posts {sorted(posts)}")
            files = connection.execute(
                "SELECT storage_key FROM evidence_files WHERE case_id = %s", (case_id,)
            ).fetchall()
            if len(files) != sent.files:
                problems.append(f"{sent.reference}: {len(files)} files, {sent.files} sent")
            for (key,) in files:
                try:
                    storage.get(key)
                except Exception as exc:  # any failure to read back is a lost file
                    problems.append(f"{sent.reference}: file unreadable ({type(exc).__name__})")
        connection.close()
        db.engine.dispose()
    return problems


# -- the report ---------------------------------------------------------------------------


def print_run(run: Measured) -> None:
    stats, elapsed = run.stats, run.elapsed
    requests = sorted(v * 1000 for v in stats.latencies)
    reports = sorted(v * 1000 for v in stats.by_request.get("whole report", []))
    print(f"== {run.label}")
    print(
        f"  reports: {stats.operations} in {elapsed:.1f} s = {stats.operations / elapsed:.2f}/s; "
        f"requests: {len(requests) / elapsed:.1f}/s"
    )
    print(
        f"  request ms: p50 {percentile(requests, 0.5):.0f}  p95 {percentile(requests, 0.95):.0f}"
        f"  p99 {percentile(requests, 0.99):.0f}; whole report ms: "
        f"p50 {percentile(reports, 0.5):.0f}  p95 {percentile(reports, 0.95):.0f}"
    )
    submits = sorted(v * 1000 for v in stats.by_request.get("POST /report/submit", []))
    if submits:
        print(
            f"  submit ms: p50 {percentile(submits, 0.5):.0f}  p95 {percentile(submits, 0.95):.0f}"
        )
    errors = sum(stats.errors.values())
    print(f"  errors: {errors}; server errors (5xx): {stats.server_errors}")
    for kind, count in stats.errors.most_common(5):
        print(f"    {count:5d}  {kind}")
    states = run.stack.states
    if states:
        totals = [sum(c.values()) for c in states]
        active = [c.get("active", 0) for c in states]
        in_tx = [c.get("idle in transaction", 0) for c in states]
        print(
            f"  postgresql connections (run's database): mean {statistics.fmean(totals):.1f} "
            f"max {max(totals)}; active mean {statistics.fmean(active):.2f} max {max(active)}; "
            f"idle in transaction max {max(in_tx)}"
        )
    clients = run.stack.redis_clients
    if clients:
        print(
            f"  redis: {run.redis_commands / elapsed:.0f} commands/s, "
            f"{max(clients)} clients at most"
        )
    print(f"  cpu, in cores (of {os.cpu_count()}); machine busy {run.machine_busy * 100:.0f}%:")
    for group, used in sorted(run.cpu.items(), key=lambda kv: -kv[1]):
        print(f"    {used / elapsed:5.2f}  {group}")
    cores = os.cpu_count() or 1
    others = run.machine_busy * cores - sum(run.cpu.values()) / elapsed
    print(f"    {max(0.0, others):5.2f}  everything else on the machine")
    reports_cpu = sum(run.cpu.get(g, 0.0) for g in run.cpu if not g.startswith("load"))
    if stats.operations:
        print(
            f"  server-side cpu per report: {reports_cpu / stats.operations * 1000:.0f} ms "
            "(gunicorn + postgresql + redis)"
        )
    for problem in run.problems:
        print(f"  LOST: {problem}")
    if not run.problems:
        print(f"  zero-loss check: passed ({len(stats.results)} reports)")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", choices=sorted(SCENARIOS), default="report-share")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--duration", type=float, default=30.0, help="seconds of load a run")
    parser.add_argument(
        "--workers-total",
        type=int,
        default=2,
        help="gunicorn worker processes in all, split between the hosts",
    )
    parser.add_argument("--threads", type=int, default=4, help="threads per gunicorn worker")
    parser.add_argument(
        "--database-server",
        default=os.environ.get(
            "BENCH_DATABASE_SERVER", "postgresql://postgres@127.0.0.1:5432/postgres"
        ),
    )
    parser.add_argument(
        "--redis-url", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
    )
    args = parser.parse_args(argv)
    if not 1 <= args.clients <= MAX_CLIENTS:
        parser.error(f"--clients must be between 1 and {MAX_CLIENTS}")
    if not 0 < args.duration <= MAX_DURATION:
        parser.error(f"--duration must be more than 0 and at most {MAX_DURATION:.0f} seconds")
    if args.workers_total < 2 or args.workers_total % 2:
        parser.error("--workers-total must be even, so that two hosts share it equally")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    print(f"machine: {machine()}")
    print(
        f"scenario {args.scenario}: {args.clients} clients, {args.duration:.0f} s a run, "
        f"{args.workers_total} gunicorn workers x {args.threads} threads in all"
    )
    with tempfile.TemporaryDirectory(prefix="casework-scale-") as tmp:
        runs = [
            measure("one host", 1, args, Path(tmp)),
            measure("two hosts", 2, args, Path(tmp)),
        ]
    for run in runs:
        print_run(run)
    one, two = (r.stats.operations / r.elapsed for r in runs)
    if one:
        print(f"two hosts / one host, reports per second: {two / one:.2f}")
    failed = any(r.stats.errors or r.stats.server_errors or r.problems for r in runs)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
