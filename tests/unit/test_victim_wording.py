"""How the victim's page writes times: in the person's zone and language, to the minute."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from flask import Flask
from flask_babel import Babel, force_locale

from casework.intake.victim.wording import local_datetime

AT = datetime(2026, 12, 5, 14, 5, 33, tzinfo=UTC)


@pytest.mark.parametrize(
    ("language", "expected"),
    [("en", "Dec 5, 2026, 3:05\u202fPM"), ("fr", "5 déc. 2026, 15:05")],
)
def test_timeline_times_are_to_the_minute_in_the_persons_zone(language: str, expected: str) -> None:
    app = Flask(__name__)
    Babel(app)
    with app.test_request_context(), force_locale(language):
        shown = local_datetime(AT, "Europe/Paris")
    assert shown == expected
    assert ":33" not in shown
