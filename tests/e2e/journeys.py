"""What the browser journeys share: a French phone, reading the database, staff sign-in."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flask import Flask

from casework.accounts import totp
from casework.extensions import db
from casework.orm import DbSession
from tests.e2e.conftest import PHONE

# A phone as a person in France would hold it: French first, Paris time.
FRENCH_PHONE = {"locale": "fr-FR", "timezone_id": "Europe/Paris"}


def french_phone(new_page: Callable[..., Any], playwright_driver: Any) -> Any:
    return new_page(**playwright_driver.devices[PHONE], **FRENCH_PHONE)


@contextmanager
def database(app: Flask) -> Iterator[DbSession]:
    """The live server's database, read afresh (nothing cached from an earlier look)."""
    with app.app_context():
        db.session.expire_all()
        try:
            yield db.session
        finally:
            db.session.remove()


def fits_the_screen(page: Any) -> None:
    """Nothing sticks out sideways: on a phone that means no sideways scrolling to read."""
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"{page.url} is {overflow}px wider than the screen"


# Hidden inputs are left out: no label points at them (each form's csrf_token shares one id).
DUPLICATE_IDS = """() => {
  const seen = {};
  for (const el of document.querySelectorAll("[id]:not(input[type=hidden])")) {
    seen[el.id] = (seen[el.id] || 0) + 1;
  }
  return Object.keys(seen).filter((id) => seen[id] > 1);
}"""


def ids_are_unique(page: Any) -> None:
    """A label points at one control: with a repeated id it can name the wrong one."""
    repeated = page.evaluate(DUPLICATE_IDS)
    assert repeated == [], f"ids used twice on {page.url}: {repeated}"


def screen(page: Any, shoot: Callable[[Any, str], Path], name: str) -> None:
    """A key screen: it fits, its ids are unique, and its screenshot is kept."""
    fits_the_screen(page)
    ids_are_unique(page)
    shoot(page, name)


def sign_in_staff(page: Any, email: str, password: str) -> None:
    """Through the real sign-in form, as a person types it (CSRF token and all)."""
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def set_up_two_step(page: Any) -> str:
    """What an admin or lawyer does at a first sign-in: type the key shown into an app, then
    the app's code. Returns the key, for later codes."""
    page.wait_for_url("**/staff/sign-in/set-up-two-step")
    page.get_by_text("Cannot scan? Type the key instead").click()
    secret = page.locator("code.secret").inner_text().replace(" ", "")
    page.get_by_label("Code from your authenticator app").fill(
        totp.code_at(secret, datetime.now(UTC))
    )
    page.get_by_role("button", name="Turn on two-step sign-in").click()
    return secret
