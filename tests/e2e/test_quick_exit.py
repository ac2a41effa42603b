"""Journey: someone walks in, the visitor hits Quick exit, and the tab holds no way back."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.conftest import BrowserGuard, LiveServer, NeutralSite

pytestmark = pytest.mark.e2e


@pytest.fixture
def live_config(live_config: dict[str, Any], neutral_site: NeutralSite) -> dict[str, Any]:
    return {**live_config, "QUICK_EXIT_URL": neutral_site.url}


@pytest.fixture
def allowed_origins(allowed_origins: list[str], neutral_site: NeutralSite) -> list[str]:
    # The one other place pages may lead: the neutral site the quick exit goes to.
    return [*allowed_origins, neutral_site.origin]


def history_length(page: Any) -> int:
    return int(page.evaluate("history.length"))


def assert_no_way_back_to(page: Any, site: LiveServer) -> list[str]:
    """Press Back until there is nowhere left to go; no entry may be a page of the site."""
    visited = [page.url]
    for _ in range(history_length(page)):
        if page.go_back() is None and page.url == visited[-1]:
            break
        visited.append(page.url)
    assert not [url for url in visited if url.startswith(site.url)], visited
    return visited


def open_privacy_page_from_landing(page: Any, shoot: Any) -> None:
    page.goto("/")
    shoot(page, "landing")
    page.get_by_role("link", name="Privacy: what we keep and who sees it").click()
    page.wait_for_url("**/privacy")
    assert page.locator("h1").inner_text() == "What we keep, for how long, and who can see it"
    shoot(page, "privacy")


def test_quick_exit_button_replaces_the_site_in_the_tabs_history(
    page: Any, live_server: LiveServer, neutral_site: NeutralSite, shoot: Any
) -> None:
    open_privacy_page_from_landing(page, shoot)
    entries_on_site = history_length(page)

    page.get_by_role("link", name="Quick exit").click()
    page.wait_for_url(neutral_site.url)

    assert page.title() == neutral_site.title
    shoot(page, "neutral-site")
    # The exit took the site's place in the history instead of adding an entry after it.
    assert history_length(page) == entries_on_site
    visited = assert_no_way_back_to(page, live_server)
    assert visited[-1] == "about:blank"
    shoot(page, "after-going-back")


def test_leaving_the_report_form_goes_back_to_the_page_before_it(
    page: Any, live_server: LiveServer, neutral_site: NeutralSite
) -> None:
    page.goto("/")
    page.goto("/report/")
    page.click("#quick-exit")
    page.wait_for_url(neutral_site.url)
    page.go_back()
    # Back leads to the page before the report form, never to the form itself.
    assert page.url == f"{live_server.url}/"
    # Pressing Escape twice leaves too.
    page.goto("/my-case/")
    page.keyboard.press("Escape")
    page.keyboard.press("Escape")
    page.wait_for_url(neutral_site.url)


def test_escape_twice_leaves_the_same_way(
    page: Any, live_server: LiveServer, neutral_site: NeutralSite, shoot: Any
) -> None:
    open_privacy_page_from_landing(page, shoot)
    entries_on_site = history_length(page)

    page.keyboard.press("Escape")
    page.keyboard.press("Escape")
    page.wait_for_url(neutral_site.url)

    assert page.title() == neutral_site.title
    shoot(page, "neutral-site")
    assert history_length(page) == entries_on_site
    assert_no_way_back_to(page, live_server)


# Counts the Escapes the page has handled; added after quick-exit.js, it hears each one
# only once the quick exit has.
COUNT_ESCAPES = """() => {
  window.escapesHandled = 0;
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape") { window.escapesHandled += 1; }
  });
}"""


def test_one_escape_alone_does_not_leave(page: Any, live_server: LiveServer) -> None:
    page.goto("/privacy")
    page.evaluate(COUNT_ESCAPES)
    page.keyboard.press("Escape")
    page.wait_for_timeout(700)  # the pause under test: longer than the 600 ms double press
    page.keyboard.press("Escape")
    page.wait_for_function("window.escapesHandled === 2 || location.pathname !== '/privacy'")
    # Leaving empties the page at once, before the neutral site loads: it is all still here.
    assert page.evaluate("document.body.childElementCount") > 0
    assert page.url == f"{live_server.url}/privacy"


def test_quick_exit_after_switching_language_leaves_no_way_back(
    page: Any, live_server: LiveServer, neutral_site: NeutralSite, shoot: Any
) -> None:
    page.goto("/")
    page.get_by_role("button", name="Français").click()
    page.wait_for_selector("html[lang=fr]", state="attached")
    shoot(page, "landing-in-french")
    page.locator("footer a").click()
    page.wait_for_url("**/privacy")
    assert page.evaluate("document.documentElement.lang") == "fr"
    shoot(page, "privacy-in-french")

    page.locator("#quick-exit").click()
    page.wait_for_url(neutral_site.url)
    assert_no_way_back_to(page, live_server)


def test_quick_exit_is_on_every_public_page_and_reachable_on_a_phone(
    phone_page: Any, neutral_site: NeutralSite, browser_guard: BrowserGuard, shoot: Any
) -> None:
    browser_guard.expect_console_error(r"status of 404 .*/no-such-page")
    for path in ("/", "/privacy", "/no-such-page"):
        phone_page.goto(path)
        button = phone_page.locator("#quick-exit")
        assert button.is_visible()
        box = button.bounding_box()
        # Within the first screen and big enough to hit with a thumb.
        assert box is not None and box["y"] < 200 and box["height"] >= 40
        assert button.get_attribute("href") == neutral_site.url
    shoot(phone_page, "not-found-on-a-phone")


def test_an_expired_form_still_shows_the_servers_page(
    page: Any, browser_guard: BrowserGuard, shoot: Any
) -> None:
    browser_guard.expect_console_error(r"status of 400 .*/language")
    page.goto("/privacy")
    page.evaluate(
        "() => { document.querySelector('.lang-switch [name=csrf_token]').value = 'stale'; }"
    )
    page.get_by_role("button", name="Français").click()
    page.wait_for_url("**/language")
    assert page.locator("h1").inner_text() == "This form has expired"
    shoot(page, "expired-form")


def test_skip_link_moves_focus_without_adding_history(page: Any) -> None:
    page.goto("/")
    before = history_length(page)
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "content"
    assert history_length(page) == before
