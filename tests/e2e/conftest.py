"""Browser journeys: the real app on a loopback port, headless Chromium, and guards.

`live_server` runs create_app() on a fresh database (a SQLite file by default;
parametrize `live_backend` with "postgresql" where the server database matters),
with the migrations applied, the Redis at TEST_REDIS_URL, CSRF on and the shipped
rate limits. It is served by werkzeug's threaded server from a background thread
on 127.0.0.1 and a free port: unlike a gunicorn subprocess, the test can open an
app context on the very app the browser talks to (to seed rows and to check what
was written), and an exception inside any request fails the test that caused it.

The browser is Debian's `chromium` driven by Playwright (never `playwright install`).
Every page gets three guards, checked when the test ends: a request to any origin
other than the live server (and origins a test allows explicitly) is aborted and
fails the test; so does a console error or an uncaught script error (a CSP
violation shows up as one). `shoot(page, name)` saves a screenshot under
test-artifacts/<test>/NN-name.png, and a failing test gets a screenshot of every
open page.

The rate limiter is one object per process, so a journey seeds data through
`live_server.app`, never through the `app` fixture (which would rebind it).
"""

from __future__ import annotations

import os
import re
import shutil
import threading
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask import Flask, got_request_exception
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from casework import create_app
from casework.extensions import db, limiter
from tests.conftest import IN_CI, _fresh_schema, base_config

REPO_ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(os.environ.get("CASEWORK_TEST_ARTIFACTS") or REPO_ROOT / "test-artifacts")
CHROMIUM = os.environ.get("CASEWORK_CHROMIUM") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
# Fail fast: a journey step that needs longer than this is a bug, not a slow machine.
STEP_TIMEOUT_MS = 10_000
PHONE = "Pixel 7"


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


# -- the app under test ------------------------------------------------------------------


class _QuietHandler(WSGIRequestHandler):
    """No access log: URLs of a victim's journey do not belong in test output either."""

    def log_request(self, *args: Any, **kwargs: Any) -> None:
        pass


@dataclass
class LiveServer:
    app: Flask
    url: str
    server_errors: list[str] = field(default_factory=list)

    @property
    def origin(self) -> str:
        return origin_of(self.url)


@pytest.fixture
def live_backend() -> str:
    """The database the live server uses; parametrize with "postgresql" where it matters."""
    return "sqlite"


@pytest.fixture
def live_database_url(live_backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if live_backend == "postgresql":
        return str(request.getfixturevalue("postgres_url"))
    return "sqlite:///" + str(tmp_path / "live.db")


@pytest.fixture
def live_config(live_database_url: str, redis_url: str, tmp_path: Path) -> dict[str, Any]:
    """The live server's settings: as in production except for secrets and storage paths.

    Tests may override this fixture to change a setting (e.g. QUICK_EXIT_URL).
    """
    config = base_config(live_database_url, tmp_path)
    config.update(
        {
            "TESTING": False,
            "REDIS_URL": redis_url,
            "WTF_CSRF_ENABLED": True,
            "RATELIMIT_ENABLED": True,
        }
    )
    return config


@pytest.fixture
def live_server(live_config: dict[str, Any], tmp_path: Path) -> Iterator[LiveServer]:
    app = create_app(live_config, instance_path=str(tmp_path / "live-instance"))
    _fresh_schema(app)
    # Counters are kept in Redis per client address, and every journey comes from
    # 127.0.0.1: start each test with none, as a new visitor would.
    with app.app_context():
        limiter.reset()

    server: BaseWSGIServer = make_server(
        "127.0.0.1", 0, app, threaded=True, request_handler=_QuietHandler
    )
    live = LiveServer(app=app, url=f"http://127.0.0.1:{server.server_port}")
    # Links in emails point at the configured public address: this server.
    app.config["BASE_URL"] = live.url

    def record(sender: Flask, exception: BaseException, **_: Any) -> None:
        live.server_errors.append(f"{type(exception).__name__}: {exception}")

    got_request_exception.connect(record, app)
    # A short poll interval: shutting the server down at teardown waits for one poll.
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="live-server", daemon=True
    )
    thread.start()
    try:
        yield live
    finally:
        server.shutdown()
        thread.join(timeout=5)
        server.server_close()
        got_request_exception.disconnect(record, app)
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
    assert live.server_errors == [], "the app raised while serving the journey"


# -- a neutral site on loopback, for the quick exit ---------------------------------------

NEUTRAL_TITLE = "Weather forecast"
NEUTRAL_PAGE = (
    "<!doctype html><html lang=en><head><meta charset=utf-8>"
    f"<title>{NEUTRAL_TITLE}</title><link rel=icon href='data:,'></head>"
    "<body><h1>Weather forecast</h1><p>Sunny spells, light winds.</p></body></html>"
).encode()


class _NeutralHandler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(NEUTRAL_PAGE)))
        self.end_headers()
        self.wfile.write(NEUTRAL_PAGE)

    def log_message(self, *args: Any) -> None:
        pass


@dataclass(frozen=True)
class NeutralSite:
    url: str
    title: str = NEUTRAL_TITLE

    @property
    def origin(self) -> str:
        return origin_of(self.url)


@pytest.fixture
def neutral_site() -> Iterator[NeutralSite]:
    """A harmless page on another loopback port, standing in for the quick exit's target."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _NeutralHandler)
    thread = threading.Thread(
        target=server.serve_forever,
        kwargs={"poll_interval": 0.05},
        name="neutral-site",
        daemon=True,
    )
    thread.start()
    try:
        yield NeutralSite(url=f"http://127.0.0.1:{server.server_address[1]}/weather")
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


# -- the browser and its guards -----------------------------------------------------------


@pytest.fixture(scope="session")
def chromium_path() -> str:
    """Debian's chromium; a missing browser skips locally and fails in CI."""
    if not Path(CHROMIUM).exists():
        message = f"Chromium not found at {CHROMIUM}: apt-get install chromium"
        if IN_CI:
            pytest.fail(message + " (required in CI)")
        pytest.skip(message)
    return CHROMIUM


@pytest.fixture(scope="session")
def playwright_driver(chromium_path: str) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright_driver: Any, chromium_path: str) -> Iterator[Any]:
    launched = playwright_driver.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
    try:
        yield launched
    finally:
        launched.close()


@dataclass
class BrowserGuard:
    """What the pages of one test did that they must not: foreign requests and script errors."""

    allowed_origins: set[str]
    foreign_requests: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    expected_console: list[re.Pattern[str]] = field(default_factory=list)

    def expect_console_error(self, pattern: str) -> None:
        """Allow console errors matching `pattern` (a journey that visits an error page)."""
        self.expected_console.append(re.compile(pattern))

    def on_route(self, route: Any) -> None:
        request = route.request
        if origin_of(request.url) in self.allowed_origins:
            route.continue_()
            return
        self.foreign_requests.append(f"{request.method} {request.url}")
        route.abort("blockedbyclient")

    def on_console(self, message: Any) -> None:
        if message.type == "error":
            where = (message.location or {}).get("url", "")
            self.console_errors.append(f"console error: {message.text} ({where})")

    def on_page_error(self, error: Any) -> None:
        self.console_errors.append(f"uncaught script error: {error}")

    def watch(self, page: Any) -> None:
        page.on("console", self.on_console)
        page.on("pageerror", self.on_page_error)

    def problems(self) -> list[str]:
        unexpected = [
            line
            for line in self.console_errors
            if not any(p.search(line) for p in self.expected_console)
        ]
        foreign = [f"request to a foreign host: {line}" for line in self.foreign_requests]
        return foreign + unexpected


@pytest.fixture
def allowed_origins(live_server: LiveServer) -> list[str]:
    """Origins pages may reach; a test overrides this fixture to allow one more, explicitly."""
    return [live_server.origin]


@pytest.fixture
def browser_guard(allowed_origins: list[str]) -> BrowserGuard:
    return BrowserGuard(allowed_origins=set(allowed_origins))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.when == "call":
        item.casework_failed = report.failed  # type: ignore[attr-defined]
    return report


def _artifact_dir(item: pytest.Item) -> Path:
    return ARTIFACTS / re.sub(r"[^A-Za-z0-9_.-]+", "-", item.name).strip("-")


@pytest.fixture
def shoot(request: pytest.FixtureRequest) -> Callable[[Any, str], Path]:
    """shoot(page, name) saves a full-page screenshot as test-artifacts/<test>/NN-name.png."""
    folder = _artifact_dir(request.node)
    shutil.rmtree(folder, ignore_errors=True)
    counter = iter(range(1, 100))

    def take(page: Any, name: str) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
        path = folder / f"{next(counter):02d}-{slug}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


@pytest.fixture
def new_page(
    browser: Any,
    live_server: LiveServer,
    browser_guard: BrowserGuard,
    shoot: Callable[[Any, str], Path],
    request: pytest.FixtureRequest,
) -> Iterator[Callable[..., Any]]:
    """new_page(**context_options): a guarded tab in a fresh browser context (no cookies)."""
    contexts: list[Any] = []

    def make(**options: Any) -> Any:
        options.pop("default_browser_type", None)
        context = browser.new_context(base_url=live_server.url, **options)
        context.set_default_timeout(STEP_TIMEOUT_MS)
        context.route("**/*", browser_guard.on_route)
        context.on("page", browser_guard.watch)
        contexts.append(context)
        return context.new_page()

    yield make

    if getattr(request.node, "casework_failed", False):
        for context in contexts:
            for index, page in enumerate(context.pages):
                try:
                    shoot(page, f"failure-{index}")
                except Exception as exc:  # a crashed page cannot be photographed
                    print(f"no failure screenshot: {exc}")
    for context in contexts:
        context.close()
    problems = browser_guard.problems()
    assert problems == [], "the browser did something a journey must never do"


@pytest.fixture
def page(new_page: Callable[..., Any]) -> Any:
    """A desktop-sized tab."""
    return new_page(viewport={"width": 1280, "height": 800}, locale="en-GB")


@pytest.fixture
def phone_page(new_page: Callable[..., Any], playwright_driver: Any) -> Any:
    """A phone-sized tab with touch, as most victims will use."""
    return new_page(**playwright_driver.devices[PHONE])
