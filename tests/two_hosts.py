"""Several hosts sharing one PostgreSQL and one Redis: web servers and a worker as processes.

Each web host is its own gunicorn with its own instance folder, as on separate machines:
whatever one host keeps on its local disk the others never see. They share only what
every host of a deployment shares: the database, Redis, and the settings that must be
identical everywhere (keys, public address, evidence store). The worker is a third
process with a folder of its own.

A `Browser` is one person behind a load balancer without sticky sessions: each request
goes to the next host in turn, with one cookie jar for all of them (they serve one
domain), unless the test pins it to a host for a while.
"""

from __future__ import annotations

import base64
import http.client
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from html import unescape
from pathlib import Path
from urllib.parse import urlencode

REPO_ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
CSRF_RE = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def shared_settings(database_url: str, redis_url: str, **extra: str) -> dict[str, str]:
    """What every host of one deployment is given alike (production, so nothing defaults)."""
    settings = {
        "CASEWORK_ENV": "production",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "SECRET_KEY": secrets.token_urlsafe(48),
        "CASEWORK_EVIDENCE_KEY": base64.urlsafe_b64encode(os.urandom(32)).decode(),
        "CASEWORK_AUDIT_KEY": secrets.token_urlsafe(48),
        # Every host answers to the one public address; the clients reach it as this host.
        "CASEWORK_BASE_URL": f"https://{HOST}",
        "CASEWORK_EVIDENCE_STORE": "database",
        "FLASK_APP": "casework.wsgi",
        "PYTHONUNBUFFERED": "1",
    }
    settings.update(extra)
    return settings


def host_environment(shared: dict[str, str], instance: Path) -> dict[str, str]:
    """One host's environment: the shared settings and a local folder of its own."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CASEWORK_", "MAIL_"))}
    env.update(shared)
    env["CASEWORK_INSTANCE_PATH"] = str(instance)
    return env


def migrate(env: dict[str, str]) -> None:
    subprocess.run(
        [sys.executable, "-m", "flask", "db", "upgrade"],
        cwd=REPO_ROOT, env=env, check=True, capture_output=True, timeout=120,
    )  # fmt: skip


@dataclass
class WebHost:
    """A gunicorn serving Casework on a port of its own."""

    name: str
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    def log_tail(self) -> str:
        return self.log.read_text(errors="replace")[-4000:] if self.log.exists() else ""


def start_web_host(
    name: str, env: dict[str, str], folder: Path, *, workers: int = 1, threads: int = 4
) -> WebHost:
    port = free_port()
    log = folder / f"{name}.log"
    command = [
        str(Path(sys.executable).parent / "gunicorn"),
        "--workers", str(workers),
        "--threads", str(threads),
        "--bind", f"{HOST}:{port}",
        "--log-level", "warning",
        "casework.wsgi:app",
    ]  # fmt: skip
    with log.open("ab") as output:
        process = subprocess.Popen(
            command,
            cwd=REPO_ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    host = WebHost(name, port, process, log)
    wait_until_up(host)
    return host


def wait_until_up(host: WebHost, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if host.process.poll() is not None:
            raise RuntimeError(f"{host.name} exited: {host.log_tail()}")
        with suppress(OSError, http.client.HTTPException):
            conn = http.client.HTTPConnection(HOST, host.port, timeout=2)
            try:
                conn.request("GET", "/healthz")
                if conn.getresponse().status == 200:
                    return
            finally:
                conn.close()
        time.sleep(0.2)
    raise RuntimeError(f"{host.name} did not answer /healthz in time: {host.log_tail()}")


def stop_process(process: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> None:
    """Signal the process's whole group and wait for it; SIGKILL if it will not go."""
    if process.poll() is None:
        with suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes
    host: str

    @property
    def text(self) -> str:
        return unescape(self.body.decode("utf-8", "replace"))

    @property
    def location(self) -> str:
        return self.headers.get("location", "")

    def csrf_token(self) -> str:
        match = CSRF_RE.search(self.body.decode("utf-8", "replace"))
        assert match, f"no CSRF token on the page from {self.host} ({self.status})"
        return match.group(1)


class Browser:
    """One person's browser behind a round-robin load balancer: one cookie jar, each
    request to the next host, or to one host while `pinned` to it."""

    def __init__(self, hosts: Sequence[WebHost], timeout: float = 60.0) -> None:
        self.hosts = list(hosts)
        self.timeout = timeout
        self.cookies: dict[str, str] = {}
        self.turn = 0
        self.pin: WebHost | None = None
        self.served_by: list[str] = []

    @contextmanager
    def pinned(self, host: WebHost) -> Iterator[None]:
        self.pin = host
        try:
            yield
        finally:
            self.pin = None

    def _next_host(self) -> WebHost:
        if self.pin is not None:
            return self.pin
        host = self.hosts[self.turn % len(self.hosts)]
        self.turn += 1
        return host

    def request(
        self, method: str, path: str, body: bytes | None = None, content_type: str | None = None
    ) -> Answer:
        host = self._next_host()
        headers = {"Accept-Language": "en"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if content_type:
            headers["Content-Type"] = content_type
        conn = http.client.HTTPConnection(HOST, host.port, timeout=self.timeout)
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            payload = response.read()
        finally:
            conn.close()
        for value in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = value.partition("=")
            cookie_value = rest.split(";", 1)[0]
            if "max-age=0" in value.lower() or "expires=thu, 01 jan 1970" in value.lower():
                self.cookies.pop(name.strip(), None)
            else:
                self.cookies[name.strip()] = cookie_value
        self.served_by.append(host.name)
        return Answer(
            response.status, {k.lower(): v for k, v in response.getheaders()}, payload, host.name
        )

    def get(self, path: str) -> Answer:
        return self.request("GET", path)

    def post(self, path: str, fields: Sequence[tuple[str, str]]) -> Answer:
        body = urlencode(list(fields)).encode()
        return self.request("POST", path, body, "application/x-www-form-urlencoded")

    def post_multipart(
        self,
        path: str,
        fields: Sequence[tuple[str, str]],
        files: Sequence[tuple[str, str, str, bytes]],
    ) -> Answer:
        """A multipart form as a browser sends it; files are (field, name, type, bytes)."""
        boundary = "----casework" + uuid.uuid4().hex
        parts: list[bytes] = []
        for name, value in fields:
            parts.append(
                f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
                f"{value}\r\n".encode()
            )
        for name, filename, media_type, data in files:
            parts.append(
                f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
                f'filename="{filename}"\r\nContent-Type: {media_type}\r\n\r\n'.encode()
                + data
                + b"\r\n"
            )
        parts.append(f"--{boundary}--\r\n".encode())
        return self.request(
            "POST", path, b"".join(parts), f"multipart/form-data; boundary={boundary}"
        )
