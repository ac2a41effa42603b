"""Redirect targets that cannot leave the site."""

from __future__ import annotations

from urllib.parse import urlsplit


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
