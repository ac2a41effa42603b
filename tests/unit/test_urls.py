"""Redirect targets never leave the site."""

import pytest

from casework.urls import safe_next


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example/path",
        "/\\evil.example",
        "\\\\evil.example",
        "http:/evil.example",
        "javascript:alert(1)",
        "/ok\r\nLocation: https://evil.example",
        "",
        None,
        "relative/path",
    ],
)
def test_unsafe_targets_fall_back_to_the_default(target: str | None) -> None:
    assert safe_next(target, default="/home") == "/home"


@pytest.mark.parametrize("target", ["/staff/cases?worklist=mine", "/", "/my-case"])
def test_site_paths_are_kept(target: str) -> None:
    assert safe_next(target, default="/home") == target
