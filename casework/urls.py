"""Redirect targets that cannot leave the site, and links that point at it from outside."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app


def safe_next(target: str | None, *, default: str) -> str:
    """Return target only if it is a path on this site, else default.

    Refuses absolute URLs, scheme-relative //host, backslash tricks and
    control characters, the usual open-redirect vectors.
    """
    if not target or any(ord(c) < 32 for c in target) or "\\" in target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return default
    return target


def absolute_url(endpoint: str, **values: object) -> str:
    """A link for an email: on the configured public address, never a request's Host.

    Every link Casework sends is built here. Trusting Host (or X-Forwarded-Host) would
    let anyone who can send a request choose where a password link points, so the
    request is not consulted at all: this works the same in a job with no request.
    """
    base = str(current_app.config["BASE_URL"]).rstrip("/")
    path = current_app.url_map.bind("casework.invalid", script_name="/").build(
        endpoint, {k: v for k, v in values.items() if v is not None}
    )
    return base + path
