"""Load test: the app under gunicorn on PostgreSQL and Redis, driven by concurrent clients.

    python bench/load_intake.py [--scenario report-links] [--clients 16] [--duration 60]
                                [--chaos worker|redis]

What it does, every run from scratch: creates a fresh PostgreSQL database on the
server at --database-server (dropped afterwards), applies the migrations with
`flask db upgrade`, starts `gunicorn -w 2 --threads 8 casework.wsgi:app` on a free
port of 127.0.0.1 (CASEWORK_ENV=production, rate limits off because every client
shares one address), then runs --clients concurrent clients for --duration seconds,
each a thread with its own keep-alive connection and cookie jar. It prints requests
per second, latency percentiles (p50/p95/p99/max) of every request and errors by
kind, then the scenario's own check of what reached the database.

Scenarios:
- landing: GET / (the public landing page: templates, session, CSRF token).
- language: GET / then POST /language with the page's CSRF token, following the
  redirect: a session cookie and a CSRF-protected form across gunicorn workers.
- report-links: a whole report as a victim files it, each time as a new visitor (a
  fresh cookie jar): every page of the form with its CSRF token, every redirect
  followed as a browser does, three links to posts, no images, through to the
  confirmation page, whose reference and access code are recorded. 21 requests.
- report-share: the same with two screenshots (distinct PNGs, 360 x 640) uploaded on
  the screenshots page, as when a phone shares its screenshots to the form.

The report scenarios end with the zero-loss check: every confirmation a client
received names exactly one case in the database, with exactly the posts that client
sent and as many evidence files, each stored, readable with the key and matching its
SHA-256; any case no client heard about is listed (a connection cut after the commit
leaves one, and only then).

Chaos (report scenarios only), while the clients run:
- --chaos worker: `python worker.py` runs beside gunicorn, is killed with SIGKILL
  --chaos-events times during the run and restarted a second later, as a supervisor
  would;
- --chaos redis: redis-server is killed and started again, empty, --chaos-events
  times; the worker is restarted whenever it exits. Rate limits are on here (with
  limits no run can reach), so every form post counts in Redis while it is there and
  in memory while it is not.
A chaos run has a private redis-server of its own (never --redis-url), so its worker
takes no one else's jobs. Every report asks for email; a loopback SMTP server receives
the mail, which the worker's sweep sends (every 2 seconds). After the load the run
waits, at most --drain-timeout seconds, for the outbox to empty: every confirmation
email must have been sent, and received.

Bounded by design: at most 64 clients, 600 seconds and --max-requests scenario runs,
all to the gunicorn it started on 127.0.0.1; it never talks to another web host.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import http.client
import io
import itertools
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
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import psycopg

REPO_ROOT = Path(__file__).resolve().parents[1]
# A script, not a package module: make the repo root importable when run by path.
sys.path.insert(0, str(REPO_ROOT))

from tests.databases import throwaway_database  # noqa: E402

MAX_CLIENTS = 64
MAX_DURATION = 600.0
HOST = "127.0.0.1"
CSRF_RE = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')
REFERENCE_RE = re.compile(r'class="access-value reference">([^<]+)<')
CODE_RE = re.compile(r'class="access-value code"[^>]*>([^<]+)<')
# Limits no run can reach, so that with --chaos redis the counting still happens.
UNREACHABLE_LIMITS = "1000000 per minute"


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

    def post_form(
        self, path: str, fields: dict[str, str] | list[tuple[str, str]]
    ) -> tuple[int, dict[str, str], bytes]:
        body = urlencode(fields).encode()
        return self.request("POST", path, body, "application/x-www-form-urlencoded")

    def post_multipart(
        self, path: str, fields: list[tuple[str, str]], files: list[tuple[str, str, bytes]]
    ) -> tuple[int, dict[str, str], bytes]:
        """A multipart form as a browser sends it; files are (field, file name, PNG bytes)."""
        boundary = "----casework" + uuid.uuid4().hex
        parts: list[bytes] = []
        for name, value in fields:
            parts.append(
                f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
                f"{value}\r\n".encode()
            )
        for name, filename, data in files:
            parts.append(
                f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
                f'filename="{filename}"\r\nContent-Type: image/png\r\n\r\n'.encode()
                + data
                + b"\r\n"
            )
        parts.append(f"--{boundary}--\r\n".encode())
        return self.request(
            "POST", path, b"".join(parts), f"multipart/form-data; boundary={boundary}"
        )


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
    by_request: dict[str, list[float]] = field(default_factory=dict)
    errors: Counter[str] = field(default_factory=Counter)
    operations: int = 0
    results: list[Any] = field(default_factory=list)
    server_errors: int = 0  # answers with a 5xx status, whatever the scenario expected
    unanswered_submits: int = 0  # the report was sent and no answer came back

    def record(self, what: str, seconds: float) -> None:
        self.latencies.append(seconds)
        self.by_request.setdefault(what, []).append(seconds)

    def merge(self, other: Stats) -> None:
        self.latencies.extend(other.latencies)
        for what, values in other.by_request.items():
            self.by_request.setdefault(what, []).extend(values)
        self.errors.update(other.errors)
        self.operations += other.operations
        self.results.extend(other.results)
        self.server_errors += other.server_errors
        self.unanswered_submits += other.unanswered_submits


@dataclass(frozen=True)
class System:
    """What a scenario's check may read: the database, and the evidence with its key."""

    database_url: str
    evidence_dir: Path
    evidence_key: str
    emails_expected: bool


class Scenario:
    """One user journey, run again and again by each client."""

    name = ""

    def timed(
        self, stats: Stats, client: Client, method: str, path: str, **form: str
    ) -> tuple[int, dict[str, str], bytes]:
        started = time.perf_counter()
        answer = client.get(path) if method == "GET" else client.post_form(path, form)
        stats.record(f"{method} {path}", time.perf_counter() - started)
        return answer

    def run_once(self, client: Client, stats: Stats) -> None:
        raise NotImplementedError

    def verify(self, system: System, stats: Stats) -> list[str]:
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


@dataclass(frozen=True)
class Sent:
    """What one client sent, and the confirmation it was given."""

    reference: str
    status_ids: tuple[int, ...]
    files: int
    email: str | None


@dataclass(frozen=True)
class Filled:
    """A report filled in up to its review page: what submitting it needs."""

    token: str
    status_ids: tuple[int, ...]
    files: int
    email: str | None
    cookies: dict[str, str]


# A real-looking snowflake (January 2026); each report's posts are its own.
STATUS_BASE = 2_008_000_000_000_000_000
LINKS_PER_REPORT = 3


def screenshot(number: int, which: int) -> bytes:
    """A distinct 360 x 640 PNG per report and per file, like a phone's screenshot."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (360, 640), (246, 246, 250))
    draw = ImageDraw.Draw(image)
    rng = (number * 7919 + which * 104729) % 2**32
    for row in range(12):
        rng = (rng * 1103515245 + 12345) % 2**31
        width = 120 + rng % 220
        draw.rectangle((16, 40 + row * 48, 16 + width, 60 + row * 48), fill=(30, 30, 60))
    draw.rectangle((16, 600, 16 + number % 320, 620), fill=(200, 40, 90 + which * 60))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


class Report(Scenario):
    """The whole report form, as a new visitor each time, through to the confirmation."""

    name = "report-links"
    screenshots = 0

    def __init__(self, *, with_email: bool = False) -> None:
        self.with_email = with_email
        self.numbers = itertools.count(1)
        self.lock = threading.Lock()

    def _number(self) -> int:
        with self.lock:
            return next(self.numbers)

    def _step(
        self,
        stats: Stats,
        client: Client,
        path: str,
        fields: list[tuple[str, str]],
        then: str,
        files: list[tuple[str, str, bytes]] | None = None,
    ) -> bytes:
        """Post a page, expect to be sent on to `then`, and follow, as a browser does."""
        started = time.perf_counter()
        if files is None:
            status, headers, _ = client.post_form(path, fields)
        else:
            status, headers, _ = client.post_multipart(path, fields, files)
        stats.record(f"POST {path}", time.perf_counter() - started)
        _count_server_error(stats, status)
        location = headers.get("location", "")
        if status != 302 or not location.endswith(then):
            raise ScenarioError(f"{path}: {status} to {location or 'nowhere'}")
        status, _, page = self.timed(stats, client, "GET", then)
        _count_server_error(stats, status)
        if status != 200:
            raise ScenarioError(f"{then}: {status}")
        return page

    def run_once(self, client: Client, stats: Stats) -> None:
        self.submit(client, stats, self.fill(client, stats))

    def fill(self, client: Client, stats: Stats) -> Filled:
        """Every page of the form as a new visitor, up to the review page, not sent."""
        client.cookies.clear()  # a new visitor
        number = self._number()
        status_ids = tuple(
            STATUS_BASE + number * LINKS_PER_REPORT + i for i in range(LINKS_PER_REPORT)
        )
        email = f"bench-{number}@example.org" if self.with_email else None

        status, _, page = self.timed(stats, client, "GET", "/report/")
        _count_server_error(stats, status)
        if status != 200:
            raise ScenarioError(f"/report/: {status}")
        token = ("csrf_token", csrf_token(page))
        go_on = ("action", "continue")
        self._step(stats, client, "/report/", [token, ("filer", "subject"), go_on], "/report/age")
        self._step(stats, client, "/report/age", [token, ("minor", "no"), go_on], "/report/posts")
        links = "\n".join(f"https://x.com/poster{number}/status/{sid}" for sid in status_ids)
        self._step(
            stats,
            client,
            "/report/posts",
            [token, ("links", links), go_on],
            "/report/posts/details",
        )
        kinds = ["ai_image", "prompt_reply", "repost"]
        details = [token, go_on]
        for index in range(LINKS_PER_REPORT):
            details.append((f"posts-{index}-kind", kinds[index % len(kinds)]))
            details.append((f"posts-{index}-prompt", "put her in a bikini" if index == 1 else ""))
        self._step(stats, client, "/report/posts/details", details, "/report/screenshots")
        shots = [
            ("screenshots", f"screenshot-{which}.png", screenshot(number, which))
            for which in range(self.screenshots)
        ]
        # The form is multipart; with nothing chosen a browser sends an empty file part.
        self._step(
            stats,
            client,
            "/report/screenshots",
            [token, go_on],
            "/report/where",
            files=shots or [("screenshots", "", b"")],
        )
        contact = [("contact", "email"), ("email", email)] if email else [("contact", "none")]
        where = [token, ("country", "GB"), ("language", "en"), *contact, go_on]
        self._step(
            stats,
            client,
            "/report/where",
            [*where, ("timezone", "Europe/London")],
            "/report/wishes",
        )
        page = self._step(
            stats,
            client,
            "/report/wishes",
            [token, ("actions", "takedown"), ("consent", "y"), go_on],
            "/report/review",
        )
        return Filled(csrf_token(page), status_ids, len(shots), email, dict(client.cookies))

    def submit(self, client: Client, stats: Stats, filled: Filled) -> None:
        """Send a filled form from the review page; record the confirmation."""
        client.cookies = dict(filled.cookies)
        started = time.perf_counter()
        try:
            status, _, page = client.post_form("/report/submit", [("csrf_token", filled.token)])
        except (OSError, http.client.HTTPException):
            stats.unanswered_submits += 1
            raise
        stats.record("POST /report/submit", time.perf_counter() - started)
        _count_server_error(stats, status)
        text = page.decode("utf-8", "replace")
        reference, code = REFERENCE_RE.search(text), CODE_RE.search(text)
        if status != 200 or reference is None or code is None:
            raise ScenarioError(f"/report/submit: {status}")
        stats.results.append(
            Sent(reference.group(1).strip(), filled.status_ids, filled.files, filled.email)
        )

    def verify(self, system: System, stats: Stats) -> list[str]:
        return verify_reports(system, stats)


class ReportShare(Report):
    name = "report-share"
    screenshots = 2


def _count_server_error(stats: Stats, status: int) -> None:
    if status >= 500:
        stats.server_errors += 1


SCENARIOS: dict[str, type[Scenario]] = {s.name: s for s in (Landing, Language, Report, ReportShare)}


# -- the zero-loss check ------------------------------------------------------------------


def verify_reports(system: System, stats: Stats) -> list[str]:
    """Every confirmation names one case with everything sent; list anything else found."""
    from casework.evidence.crypto import load_key
    from casework.evidence.storage import LocalEncryptedStorage

    storage = LocalEncryptedStorage(system.evidence_dir, load_key(system.evidence_key))
    problems: list[str] = []
    with psycopg.connect(system.database_url) as conn:
        cases: dict[str, list[int]] = {}
        for case_id, reference in conn.execute("SELECT id, reference FROM cases"):
            cases.setdefault(reference, []).append(case_id)
        items: dict[int, set[int]] = {}
        for case_id, status_id in conn.execute("SELECT case_id, status_id FROM items"):
            items.setdefault(case_id, set()).add(int(status_id))
        evidence: dict[int, list[tuple[str | None, str]]] = {}
        for case_id, key, sha in conn.execute(
            "SELECT case_id, storage_key, sha256 FROM evidence_files"
        ):
            evidence.setdefault(case_id, []).append((key, sha))
        emails: dict[str, list[str]] = {}
        for recipient, state in conn.execute("SELECT recipient, state FROM outgoing_emails"):
            emails.setdefault(recipient, []).append(str(state))

    told = set()
    for sent in stats.results:
        told.add(sent.reference)
        found = cases.get(sent.reference, [])
        if len(found) != 1:
            problems.append(f"{sent.reference}: {len(found)} cases in the database")
            continue
        case_id = found[0]
        if items.get(case_id, set()) != set(sent.status_ids):
            problems.append(f"{sent.reference}: posts {sorted(items.get(case_id, set()))}")
        files = evidence.get(case_id, [])
        if len(files) != sent.files:
            problems.append(f"{sent.reference}: {len(files)} evidence files, {sent.files} sent")
        for key, sha in files:
            try:
                data = storage.get(key) if key else b""
            except Exception as exc:  # any failure to read back is a lost file
                problems.append(f"{sent.reference}: evidence {key} unreadable ({exc})")
                continue
            if hashlib.sha256(data).hexdigest() != sha:
                problems.append(f"{sent.reference}: evidence {key} does not match its hash")
        if sent.email and system.emails_expected:
            states = emails.get(sent.email, [])
            if states != ["sent"]:
                problems.append(f"{sent.reference}: confirmation email {states or 'missing'}")
    untold = sorted(set(cases) - told)
    # A connection cut after the commit leaves a case its client never heard of; that is
    # the only way one may appear, and never more of them than such cuts.
    if len(untold) > stats.unanswered_submits:
        problems.append(f"{len(untold)} cases no client was told about: {untold[:5]}")
    return problems


# -- the system under test ----------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def app_environment(
    database_url: str, redis_url: str, instance: Path, *, rate_limits: bool = False
) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "CASEWORK_ENV": "production",
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "SECRET_KEY": secrets.token_urlsafe(48),
            "CASEWORK_EVIDENCE_KEY": base64.urlsafe_b64encode(os.urandom(32)).decode(),
            # Production needs its public address; clients reach it as this host.
            "CASEWORK_BASE_URL": f"https://{HOST}",
            "CASEWORK_AUDIT_KEY": "bench-audit-key-" + "b" * 32,
            "CASEWORK_INSTANCE_PATH": str(instance),
            "CASEWORK_EVIDENCE_DIR": str(instance / "evidence"),
            # Every client comes from 127.0.0.1: per-address limits would stop the test.
            "CASEWORK_RATELIMIT": "1" if rate_limits else "0",
            "FLASK_APP": "casework.wsgi",
        }
    )
    if rate_limits:
        for key in (
            "RATELIMIT_INTAKE_STEPS",
            "RATELIMIT_INTAKE",
            "RATELIMIT_ACCESS_CODE",
            "RATELIMIT_LANGUAGE",
        ):
            env["CASEWORK_" + key] = UNREACHABLE_LIMITS
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


def stop_process(process: subprocess.Popen[Any], sig: int = signal.SIGTERM) -> None:
    """Signal the process's whole group and wait for it; SIGKILL if it will not go."""
    if process.poll() is None:
        with suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


@contextmanager
def gunicorn(env: dict[str, str], workers: int, threads: int) -> Iterator[tuple[int, int]]:
    """gunicorn on a free port: the port and the server's process id."""
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
        yield port, process.pid
    finally:
        stop_process(process)


def gil_profile(output: Path) -> Path:
    """Where the flame graph of the threads holding the GIL goes, beside `output`."""
    return output.with_name(output.stem + "-gil" + output.suffix)


@contextmanager
def profiled(pid: int, output: Path | None) -> Iterator[None]:
    """With an output, py-spy samples the server and its workers meanwhile and writes two
    flame graphs at the end: every thread that is not idle, at `output` (waits for the
    database, and for the GIL after a call that released it, show in the calls that
    wait), and only the threads holding the GIL, beside it (where the CPU goes in
    Python). Without an output, nothing."""
    if output is None:
        yield
        return
    output.parent.mkdir(parents=True, exist_ok=True)
    spies = [
        subprocess.Popen(
            [
                str(Path(sys.executable).parent / "py-spy"),
                "record", "--pid", str(pid), "--subprocesses", "--nonblocking",
                "--rate", "100", "--output", str(path), *extra,
            ],
            stdout=subprocess.DEVNULL,
            start_new_session=True,
        )
        for path, extra in ((output, []), (gil_profile(output), ["--gil"]))
    ]  # fmt: skip
    time.sleep(1.0)  # py-spy finds the workers before the load starts
    try:
        yield
    finally:
        for spy in spies:
            spy.send_signal(signal.SIGINT)  # py-spy writes its flame graph and exits
        for spy in spies:
            try:
                spy.wait(timeout=60)
            except subprocess.TimeoutExpired:
                spy.kill()
                spy.wait()


# -- what --chaos kills: a private Redis, the worker, and the mail they lead to -----------


class PrivateRedis:
    """A non-persistent redis-server of the run's own, on a free port: killing it is safe."""

    def __init__(self, folder: Path) -> None:
        self.port = free_port()
        self.folder = folder
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://{HOST}:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                "redis-server", "--port", str(self.port), "--bind", HOST,
                "--save", "", "--appendonly", "no", "--dir", str(self.folder),
            ],
            stdout=subprocess.DEVNULL,
            start_new_session=True,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection((HOST, self.port), timeout=0.5) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                time.sleep(0.05)
        raise SystemExit("redis-server did not start")

    def kill(self) -> None:
        if self.process is not None:
            stop_process(self.process, signal.SIGKILL)
            self.process = None


class SupervisedWorker:
    """`python worker.py`, restarted a second after it exits, as systemd's Restart= would."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.env = env
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0
        self.stopping = threading.Event()
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self._watch, name="worker-supervisor", daemon=True)

    def start(self) -> None:
        self._launch()
        self.thread.start()

    def _launch(self) -> None:
        with self.lock, self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "worker.py", "--sweep-interval", "2"],
                cwd=REPO_ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            self.starts += 1

    def _watch(self) -> None:
        while not self.stopping.wait(0.25):
            process = self.process
            if process is not None and process.poll() is not None:
                self.stopping.wait(1.0)
                if not self.stopping.is_set():
                    self._launch()

    def kill(self) -> None:
        """kill -9 the worker's process group (its cron thread dies with it)."""
        with self.lock:
            if self.process is not None and self.process.poll() is None:
                os.killpg(self.process.pid, signal.SIGKILL)

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join(timeout=5)
        if self.process is not None:
            stop_process(self.process)


class MailSink:
    """An SMTP server on loopback that counts what it receives, by recipient."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        self.port = free_port()
        self.received: Counter[str] = Counter()
        self.controller = Controller(self, hostname=HOST, port=self.port)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        for recipient in envelope.rcpt_tos:
            self.received[recipient] += 1
        return "250 Message accepted for delivery"

    def __enter__(self) -> MailSink:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()


@dataclass
class Chaos:
    """Kills at even intervals during the load, and what they did."""

    mode: str
    events: int
    duration: float
    redis: PrivateRedis | None
    worker: SupervisedWorker
    done: list[str] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        started = time.monotonic()
        for n in range(1, self.events + 1):
            at = started + self.duration * n / (self.events + 1)
            if self.stop.wait(max(0.0, at - time.monotonic())):
                return
            moment = time.monotonic() - started
            if self.mode == "worker":
                self.worker.kill()
                self.done.append(f"worker killed at {moment:.1f} s")
            elif self.redis is not None:
                self.redis.kill()
                down = time.monotonic()
                self.stop.wait(2.0)  # long enough for requests and the worker to notice
                self.redis.start()
                self.done.append(
                    f"redis killed at {moment:.1f} s, back {time.monotonic() - down:.1f} s later"
                )


def wait_for_outbox(database_url: str, timeout: float) -> tuple[int, float]:
    """Wait until no email is waiting to be sent; returns (still waiting, seconds waited)."""
    started = time.monotonic()
    waiting = -1
    while time.monotonic() - started < timeout:
        with psycopg.connect(database_url) as conn:
            row = conn.execute(
                "SELECT count(*) FROM outgoing_emails WHERE state <> 'sent'"
            ).fetchone()
        waiting = int(row[0]) if row else 0
        if waiting == 0:
            break
        time.sleep(1.0)
    return waiting, time.monotonic() - started


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


def run_clients(clients: int, client: Callable[[Stats], None]) -> Stats:
    """Run `clients` threads of client, each counting into its own Stats; their sum."""
    per_client = [Stats() for _ in range(clients)]
    threads = [threading.Thread(target=client, args=(stats,)) for stats in per_client]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    total = Stats()
    for stats in per_client:
        total.merge(stats)
    return total


def run_load(scenario: Scenario, port: int, clients: int, duration: float, limit: int) -> Stats:
    stop_at = time.monotonic() + duration
    budget = Budget(limit)
    return run_clients(clients, lambda stats: client_loop(scenario, port, stop_at, budget, stats))


def add_bench_organisation(conn: psycopg.Connection[Any]) -> None:
    """The organisation that receives the benchmark's public reports."""
    conn.execute(
        "INSERT INTO organisations (slug, name, receives_public_reports, "
        "timezone, escalation_emails, created_at) "
        "VALUES ('bench', 'Bench', true, 'UTC', '', now())"
    )


def percentile(sorted_values: list[float], fraction: float) -> float:
    if not sorted_values:
        return float("nan")
    # Nearest rank: the smallest value with at least `fraction` of all values at or below it.
    index = min(len(sorted_values) - 1, max(0, math.ceil(fraction * len(sorted_values)) - 1))
    return sorted_values[index]


def machine() -> str:
    try:
        load = f", load average {os.getloadavg()[0]:.1f}"
    except OSError:
        load = ""
    return f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs{load}"


def report(stats: Stats, elapsed: float, args: argparse.Namespace, pg_version: str) -> None:
    latencies = sorted(stats.latencies)
    ms = [v * 1000 for v in latencies]
    print(f"machine: {machine()}, Python {platform.python_version()}, {pg_version}")
    print(
        f"scenario {args.scenario}: {args.clients} clients for {elapsed:.1f} s against "
        f"gunicorn -w {args.workers} --threads {args.threads}"
        + (f", chaos: {args.chaos}" if args.chaos else "")
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
    if len(stats.by_request) > 1:
        print("by request (ms):      p50     p95     p99   count")
        for what, values in sorted(stats.by_request.items()):
            each = sorted(v * 1000 for v in values)
            print(
                f"  {what:<28} {percentile(each, 0.5):7.1f} {percentile(each, 0.95):7.1f} "
                f"{percentile(each, 0.99):7.1f} {len(each):7d}"
            )
    errors = sum(stats.errors.values())
    print(f"errors: {errors}; server errors (5xx): {stats.server_errors}")
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
    parser.add_argument(
        "--chaos",
        choices=["worker", "redis"],
        default=None,
        help="kill the worker, or a private redis-server, during the run (report scenarios)",
    )
    parser.add_argument("--chaos-events", type=int, default=3, help="how many kills")
    parser.add_argument(
        "--profile",
        type=Path,
        default=None,
        metavar="SVG",
        help="sample gunicorn with py-spy during the run: flame graphs at SVG and, of the "
        "threads holding the GIL only, at SVG with -gil before its suffix",
    )
    parser.add_argument(
        "--drain-timeout",
        type=float,
        default=120.0,
        help="with --chaos, seconds to wait for the outbox to empty after the load",
    )
    args = parser.parse_args(argv)
    if not 1 <= args.clients <= MAX_CLIENTS:
        parser.error(f"--clients must be between 1 and {MAX_CLIENTS}")
    if not 0 < args.duration <= MAX_DURATION:
        parser.error(f"--duration must be more than 0 and at most {MAX_DURATION:.0f} seconds")
    if args.max_requests < 1:
        parser.error("--max-requests must be at least 1")
    if args.chaos and not issubclass(SCENARIOS[args.scenario], Report):
        parser.error("--chaos needs a report scenario (report-links or report-share)")
    if not 1 <= args.chaos_events <= 20:
        parser.error("--chaos-events must be between 1 and 20")
    if not 0 < args.drain_timeout <= MAX_DURATION:
        parser.error(f"--drain-timeout must be more than 0 and at most {MAX_DURATION:.0f}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    chaos = args.chaos
    scenario_class = SCENARIOS[args.scenario]
    scenario = scenario_class(with_email=True) if chaos else scenario_class()  # type: ignore[call-arg]
    with (
        tempfile.TemporaryDirectory(prefix="casework-bench-") as tmp,
        throwaway_database(args.database_server, "casework_bench") as database_url,
        MailSink() if chaos else _nothing() as mail,
    ):
        folder = Path(tmp)
        # A chaos run's worker takes jobs from its own Redis only, never a shared one.
        redis = PrivateRedis(folder) if chaos else None
        if redis is not None:
            redis.start()
        env = app_environment(
            database_url,
            redis.url if redis else args.redis_url,
            folder / "instance",
            rate_limits=chaos == "redis",
        )
        worker: SupervisedWorker | None = None
        try:
            subprocess.run(
                [sys.executable, "-m", "flask", "db", "upgrade"],
                cwd=REPO_ROOT, env=env, check=True, capture_output=True,
            )  # fmt: skip
            with psycopg.connect(database_url) as conn:
                row = conn.execute("SHOW server_version").fetchone()
                pg_version = f"PostgreSQL {row[0] if row else '?'}"
                if issubclass(scenario_class, Report):
                    add_bench_organisation(conn)
            if chaos:
                worker_env = {
                    **env,
                    "MAIL_SERVER": HOST,
                    "MAIL_PORT": str(mail.port),
                    # A send cut short by a kill is tried again soon, not after ten minutes.
                    "MAIL_LEASE_SECONDS": "5",
                    "MAIL_RETRY_BASE_SECONDS": "1",
                }
                worker = SupervisedWorker(worker_env, folder / "worker.log")
                worker.start()
            with gunicorn(env, args.workers, args.threads) as (port, pid):
                # Warm up the workers on a page that writes nothing the check would count.
                run_load(Landing(), port, clients=2, duration=1.0, limit=50)
                warm = Stats()
                if args.profile:  # and on the scenario itself, so imports are not profiled
                    warm = run_load(scenario, port, args.clients, 5.0, args.max_requests)
                agent = (
                    Chaos(chaos, args.chaos_events, args.duration, redis, worker)
                    if chaos and worker
                    else None
                )
                thread = threading.Thread(target=agent.run, daemon=True) if agent else None
                if thread:
                    thread.start()
                with profiled(pid, args.profile):
                    started = time.monotonic()
                    stats = run_load(scenario, port, args.clients, args.duration, args.max_requests)
                    elapsed = time.monotonic() - started
                if agent and thread:
                    agent.stop.set()
                    thread.join()
            report(stats, elapsed, args, pg_version)
            if warm.operations or warm.errors:
                print(
                    f"warm-up before profiling: {warm.operations} runs, "
                    f"{sum(warm.errors.values())} errors (checked below with the rest)"
                )
                stats.results.extend(warm.results)
                stats.errors.update(warm.errors)
                stats.server_errors += warm.server_errors
            if agent and worker:
                for line in agent.done:
                    print(f"chaos: {line}")
                print(f"chaos: the worker was started {worker.starts} times in all")
                waiting, waited = wait_for_outbox(database_url, args.drain_timeout)
                print(f"outbox: {waiting} emails still waiting after {waited:.1f} s")
            system = System(
                database_url=database_url,
                evidence_dir=Path(env["CASEWORK_EVIDENCE_DIR"]),
                evidence_key=env["CASEWORK_EVIDENCE_KEY"],
                emails_expected=bool(chaos),
            )
            problems = scenario.verify(system, stats)
            if chaos and mail is not None:
                expected = [s.email for s in stats.results if s.email]
                unreceived = [e for e in expected if mail.received[e] < 1]
                twice = sum(1 for e in expected if mail.received[e] > 1)
                print(
                    f"mail: {len(expected) - len(unreceived)} of {len(expected)} confirmation "
                    f"emails received; {twice} received more than once"
                )
                problems += [
                    f"{address}: confirmation email not received" for address in unreceived
                ]
        finally:
            if worker is not None:
                worker.stop()
            if redis is not None:
                redis.kill()
        for problem in problems:
            print(f"LOST OR DUPLICATED: {problem}")
        if not problems:
            print(
                "zero-loss check: "
                + (
                    f"passed ({len(stats.results)} reports)"
                    if stats.results
                    else "nothing to check"
                )
            )
    return 1 if problems or stats.errors or stats.server_errors else 0


@contextmanager
def _nothing() -> Iterator[None]:
    yield None


if __name__ == "__main__":
    sys.exit(main())
