"""Security headers on every route, HSTS only over HTTPS, cookie flags, and CSRF refusal."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from werkzeug.datastructures import Headers
from werkzeug.routing import Rule

from casework import create_app
from tests.factories import csrf_token

# Sources a directive may list: nothing from another host, nothing inline, nothing eval'd.
ALLOWED_SOURCES = {"'self'", "'none'", "data:", "blob:"}


def parse_csp(value: str) -> dict[str, list[str]]:
    directives: dict[str, list[str]] = {}
    for part in value.split(";"):
        words = part.split()
        if words:
            directives[words[0]] = words[1:]
    return directives


def header_problems(headers: Headers) -> list[str]:
    """Every way the headers fall short of the policy, in words."""
    problems = []
    csp = parse_csp(headers.get("Content-Security-Policy", ""))
    if csp.get("default-src") != ["'none'"]:
        problems.append(f"default-src is {csp.get('default-src')}")
    for directive in ("script-src", "style-src"):
        if csp.get(directive) != ["'self'"]:
            problems.append(f"{directive} is {csp.get(directive)}, not only 'self'")
    if csp.get("frame-ancestors") != ["'none'"]:
        problems.append(f"frame-ancestors is {csp.get('frame-ancestors')}")
    for directive, sources in csp.items():
        foreign = [s for s in sources if s not in ALLOWED_SOURCES]
        if foreign:
            problems.append(f"{directive} allows {foreign}")
    expected = {
        "Referrer-Policy": "no-referrer",
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
    }
    for name, value in expected.items():
        if headers.get(name) != value:
            problems.append(f"{name} is {headers.get(name)!r}")
    permissions = {
        feature.strip(): allow.strip()
        for feature, _, allow in (
            p.partition("=") for p in headers.get("Permissions-Policy", "").split(",")
        )
    }
    for feature in ("camera", "microphone", "geolocation"):
        if permissions.get(feature) != "()":
            problems.append(f"Permissions-Policy does not deny {feature}")
    return problems


def argument_free_get_rules(app: Flask) -> list[Rule]:
    return [
        rule
        for rule in app.url_map.iter_rules()
        if "GET" in (rule.methods or set()) and not rule.arguments
    ]


def test_every_argument_free_page_sends_the_security_headers(app: Flask) -> None:
    client = app.test_client()
    rules = argument_free_get_rules(app)
    paths = {rule.rule for rule in rules}
    assert {"/", "/privacy", "/healthz"} <= paths
    failures = {}
    for rule in rules:
        response = client.get(rule.rule)
        problems = header_problems(response.headers)
        if "Strict-Transport-Security" in response.headers:
            problems.append("HSTS sent over plain HTTP")
        if problems:
            failures[f"{rule.endpoint} {rule.rule} ({response.status_code})"] = problems
    assert failures == {}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/static/css/casework.css"),
        ("GET", "/static/js/quick-exit.js"),
        ("GET", "/no-such-page"),
        ("POST", "/language"),
        ("DELETE", "/"),
    ],
)
def test_static_files_errors_and_posts_carry_them_too(app: Flask, method: str, path: str) -> None:
    response = app.test_client().open(path, method=method)
    assert header_problems(response.headers) == []


def test_html_pages_are_never_cached(app: Flask) -> None:
    assert app.test_client().get("/").headers["Cache-Control"] == "no-store, private"


def test_hsts_only_over_https(app: Flask) -> None:
    client = app.test_client()
    over_https = client.get("/", base_url="https://localhost").headers
    hsts = over_https.get("Strict-Transport-Security", "")
    max_age = re.search(r"max-age=(\d+)", hsts)
    assert max_age and int(max_age.group(1)) >= 365 * 24 * 3600
    assert "Strict-Transport-Security" not in client.get("/").headers


def test_forwarded_https_counts_only_behind_a_trusted_proxy(
    app_config: dict[str, Any], tmp_path: Path
) -> None:
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.7"}
    direct = create_app(app_config, instance_path=str(tmp_path / "direct"))
    # Anyone can send the header; without a configured proxy it must change nothing.
    assert (
        "Strict-Transport-Security" not in direct.test_client().get("/", headers=forwarded).headers
    )

    proxied = create_app({**app_config, "PROXY_HOPS": 1}, instance_path=str(tmp_path / "proxied"))
    assert "Strict-Transport-Security" in proxied.test_client().get("/", headers=forwarded).headers


def _session_cookie(set_cookies: list[str]) -> str:
    matches = [c for c in set_cookies if c.startswith("session=")]
    assert matches, f"no session cookie set: {set_cookies}"
    return matches[-1]


def _cookie_flags(cookie: str) -> set[str]:
    return {part.strip().lower() for part in cookie.split(";")[1:]}


PRODUCTION_ADDRESS = "https://casework.example.org"


@pytest.fixture
def production_app(
    monkeypatch: pytest.MonkeyPatch, database_url: str, tmp_path: Path, app: Flask
) -> Flask:
    """The app configured from the environment as in production (the `app` fixture migrates)."""
    monkeypatch.setenv("CASEWORK_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "production-secret-" + "y" * 40)
    monkeypatch.setenv("CASEWORK_EVIDENCE_KEY", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")
    monkeypatch.setenv("CASEWORK_BASE_URL", PRODUCTION_ADDRESS)
    monkeypatch.setenv("CASEWORK_AUDIT_KEY", "production-audit-key-" + "z" * 40)
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("CASEWORK_RATELIMIT", "0")
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:9/0")
    application = create_app(instance_path=str(tmp_path / "production"))
    assert application.config["CASEWORK_ENV"] == "production"
    assert application.config["WTF_CSRF_ENABLED"] is not False
    return application


def test_production_session_cookie_is_secure_httponly_and_samesite(production_app: Flask) -> None:
    client = production_app.test_client()
    token = csrf_token(client, "/", base_url=PRODUCTION_ADDRESS)
    # No Referer: the pages ask browsers not to send one, and the form must still work.
    response = client.post(
        "/language",
        data={"lang": "fr", "next": "/privacy", "csrf_token": token},
        base_url=PRODUCTION_ADDRESS,
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/privacy"
    flags = _cookie_flags(_session_cookie(response.headers.getlist("Set-Cookie")))
    assert {"secure", "httponly"} <= flags
    assert flags & {"samesite=lax", "samesite=strict"}
    assert production_app.config["REMEMBER_COOKIE_SECURE"] is True
    assert production_app.config["REMEMBER_COOKIE_HTTPONLY"] is True
    assert production_app.config["REMEMBER_COOKIE_SAMESITE"] in {"Lax", "Strict"}


def test_development_cookies_are_httponly_and_samesite_without_requiring_https(
    app: Flask,
) -> None:
    client = app.test_client()
    client.post("/language", data={"lang": "fr", "next": "/"})
    response = client.post("/language", data={"lang": "en", "next": "/"})
    flags = _cookie_flags(_session_cookie(response.headers.getlist("Set-Cookie")))
    assert "httponly" in flags
    assert "samesite=lax" in flags
    assert "secure" not in flags


@pytest.fixture
def csrf_app(app_config: dict[str, Any], app: Flask, tmp_path: Path) -> Flask:
    return create_app({**app_config, "WTF_CSRF_ENABLED": True}, instance_path=str(tmp_path / "c"))


def test_a_form_post_without_a_csrf_token_is_refused(csrf_app: Flask) -> None:
    client = csrf_app.test_client()
    response = client.post("/language", data={"lang": "fr", "next": "/"})
    assert response.status_code == 400
    assert "This form has expired" in response.get_data(as_text=True)
    assert 'lang="en"' in client.get("/").get_data(as_text=True)


def test_a_form_post_with_another_sessions_token_is_refused(csrf_app: Flask) -> None:
    other_token = csrf_token(csrf_app.test_client())
    client = csrf_app.test_client()
    assert csrf_token(client) != other_token
    response = client.post("/language", data={"lang": "fr", "next": "/", "csrf_token": other_token})
    assert response.status_code == 400


def test_a_form_post_with_the_sessions_token_is_accepted(csrf_app: Flask) -> None:
    client = csrf_app.test_client()
    token = csrf_token(client)
    response = client.post("/language", data={"lang": "fr", "next": "/", "csrf_token": token})
    assert response.status_code == 302
    assert 'lang="fr"' in client.get("/").get_data(as_text=True)
