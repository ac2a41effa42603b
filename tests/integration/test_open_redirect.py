"""A `next=` target can never send the browser to another site, however it is written."""

from __future__ import annotations

from typing import Any
from urllib.parse import urljoin, urlsplit

import pytest
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

VECTORS = [
    "https://evil.example/",
    "//evil.example/",
    "///evil.example/",
    "/\\evil.example",
    "\\/evil.example",
    "/\t/evil.example",
    "/\n/evil.example",
    "http:evil.example",
    "https:/evil.example",
    "javascript:alert(1)",
    "/%2F%2Fevil.example",
    "/\u3000/evil.example",
    "/ok\r\nLocation: https://evil.example",
]


def where_a_browser_goes(location: str) -> str:
    """Resolve Location as browsers do: tabs and newlines dropped, backslash as slash."""
    cleaned = location.replace("\t", "").replace("\n", "").replace("\r", "").replace("\\", "/")
    return urlsplit(urljoin("http://localhost/privacy", cleaned)).netloc


def switch_language(app: Flask, target: str) -> Any:
    return app.test_client().post("/language", data={"lang": "fr", "next": target})


@pytest.mark.parametrize("target", VECTORS)
def test_language_switch_never_redirects_off_site(app: Flask, target: str) -> None:
    response = switch_language(app, target)
    assert response.status_code == 302
    assert where_a_browser_goes(response.headers["Location"]) == "localhost"


def test_language_switch_returns_to_the_page_it_came_from(app: Flask) -> None:
    response = switch_language(app, "/privacy?x=1")
    assert response.headers["Location"] == "/privacy?x=1"


@settings(
    max_examples=100,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    target=st.one_of(
        st.text(max_size=40),
        st.builds(
            str.__add__,
            st.sampled_from(["/", "//", "/\\", "\\", "http:", "/%2f"]),
            st.text(max_size=30),
        ),
    )
)
def test_any_next_value_stays_on_the_site(app: Flask, target: str) -> None:
    response = switch_language(app, target)
    assert response.status_code == 302
    assert where_a_browser_goes(response.headers["Location"]) == "localhost"
