"""The journey harness itself: its guards catch what they exist to catch."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.conftest import BrowserGuard, LiveServer

pytestmark = pytest.mark.e2e


def test_the_landing_page_loads_its_own_css_and_script_and_nothing_else(
    page: Any, live_server: LiveServer, shoot: Any
) -> None:
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto("/")
    page.wait_for_load_state("networkidle")
    shoot(page, "landing")
    assert page.locator("h1").inner_text().startswith("Get AI-made intimate images")
    assert f"{live_server.url}/static/css/casework.css" in requested
    assert f"{live_server.url}/static/js/quick-exit.js" in requested
    assert all(url.startswith(live_server.url) for url in requested)
    # The stylesheet applied: the quick-exit button is the danger red, not a plain link.
    colour = page.eval_on_selector("#quick-exit", "el => getComputedStyle(el).backgroundColor")
    assert colour == "rgb(163, 38, 27)"


def test_a_request_to_another_host_is_blocked_and_reported(
    page: Any, browser_guard: BrowserGuard
) -> None:
    page.goto("/")
    # The CSP stops images and scripts from elsewhere; a link followed is up to the guard.
    page.evaluate(
        "() => { const a = document.createElement('a'); a.id = 'away';"
        " a.href = 'http://198.51.100.7/page'; a.textContent = 'away'; document.body.append(a); }"
    )
    with page.expect_event("requestfailed"):
        page.click("#away", no_wait_after=True)
    assert browser_guard.foreign_requests == ["GET http://198.51.100.7/page"]
    browser_guard.foreign_requests.clear()
    browser_guard.console_errors.clear()


def test_an_inline_script_is_refused_by_the_csp_and_reported(
    page: Any, browser_guard: BrowserGuard
) -> None:
    page.goto("/")
    page.evaluate(
        "() => { const s = document.createElement('script');"
        " s.textContent = 'window.injected = true'; document.body.append(s); }"
    )
    assert page.evaluate("window.injected === undefined")
    assert any("Content Security Policy" in line for line in browser_guard.console_errors)
    browser_guard.console_errors.clear()


def test_an_uncaught_script_error_is_reported(page: Any, browser_guard: BrowserGuard) -> None:
    page.goto("/")
    with page.expect_event("pageerror"):
        page.evaluate("() => { setTimeout(() => { throw new Error('boom'); }, 0); }")
    assert any("boom" in line for line in browser_guard.console_errors)
    browser_guard.console_errors.clear()


@pytest.mark.parametrize("live_backend", ["postgresql"])
def test_the_live_server_runs_on_postgresql_with_csrf_on(
    page: Any, live_server: LiveServer
) -> None:
    assert live_server.app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql")
    assert live_server.app.config["WTF_CSRF_ENABLED"] is True
    page.goto("/readyz")
    assert '"ready":true' in page.inner_text("body").replace(" ", "")


def test_an_exception_in_the_app_is_reported_and_the_visitor_sees_the_500_page(
    page: Any, live_server: LiveServer, browser_guard: BrowserGuard, shoot: Any
) -> None:
    def explode() -> str:
        raise RuntimeError("kaboom")

    # Added to this test's app before its first request; the shipped app has no such route.
    live_server.app.add_url_rule("/explode", "explode", explode)
    browser_guard.expect_console_error(r"status of 500")
    page.goto("/explode")
    assert page.locator("h1").inner_text() == "Something went wrong on our side"
    assert "kaboom" not in page.content()
    shoot(page, "server-error")
    assert live_server.server_errors == ["RuntimeError: kaboom"]
    live_server.server_errors.clear()
