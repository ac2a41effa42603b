"""Layout rules the pages rely on (the phone-width ones are also measured in tests/e2e)."""

from __future__ import annotations

import re
from pathlib import Path

CSS = (Path(__file__).resolve().parents[2] / "casework/static/css/casework.css").read_text()


def rule(selector: str) -> str:
    found = re.search(rf"(?m)^{re.escape(selector)} {{([^}}]*)}}", CSS)
    assert found is not None, f"no rule for {selector}"
    return found.group(1)


def test_the_staff_header_spans_the_wide_workspace_and_its_links_do_not_wrap() -> None:
    """At 1,440 px the header held to 60rem wrapped its links onto a second line."""
    assert "max-width: 90rem" in rule("body.staff header.site .bar")
    assert "max-width: 90rem" in rule("main.wide")
    assert "white-space: nowrap" in rule(".staff-nav a")


def test_case_references_never_split_and_long_links_in_errors_break() -> None:
    assert "white-space: nowrap" in rule(".reference")
    assert "overflow-wrap: anywhere" in rule(".error-summary, .error-message")
