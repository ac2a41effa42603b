"""Redirect targets that cannot leave the site, and links that point at it from outside."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app, request, url_for


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
    """A link for an email: on the configured public address, never the request's Host header.

    Trusting Host would let anyone who can send a request choose where a
    password link points. Without BASE_URL (development) the request's own
    address is used.
    """
    base = current_app.config.get("BASE_URL") or request.url_root
    return str(base).rstrip("/") + url_for(endpoint, **values)
