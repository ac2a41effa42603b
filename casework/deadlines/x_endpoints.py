"""Ask X's public oEmbed and syndication endpoints about one post: addresses and one GET."""

from __future__ import annotations

import http.client
import math
import urllib.error
import urllib.request
from email.utils import parsedate_to_datetime
from urllib.parse import urlencode, urlsplit

from casework.deadlines.removal_outcomes import Answer
from casework.orm import utcnow

# Enough for any oEmbed or syndication answer; a larger body is not one of theirs.
MAX_BODY_BYTES = 256 * 1024
USER_AGENT = "casework-removal-check"


def checked_base(url: str) -> str:
    """The configured endpoint, refused unless it is http(s)://host/...: never file: etc."""
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise ValueError(f"a removal check endpoint must be http(s)://host/path, not {url!r}")
    return url


def host_of(url: str) -> str:
    return urlsplit(url).netloc.lower()


def oembed_url(base: str, post_url: str) -> str:
    # omit_script: the answer need not carry the widget script tag; it is never kept anyway.
    return f"{checked_base(base)}?{urlencode({'url': post_url, 'omit_script': 'true'})}"


def syndication_token(status_id: int) -> str:
    """The token the embed widget sends with the id (inferred from its public client code).

    The widget computes ((id / 1e15) * pi) written in base 36 without zeros or the
    point. The endpoint's handling of the token is not documented.
    """
    value = (status_id / 1e15) * math.pi
    whole = int(value)
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    head = ""
    while whole:
        whole, rest = divmod(whole, 36)
        head = digits[rest] + head
    fraction = value - int(value)
    tail = ""
    for _ in range(11):
        fraction *= 36
        tail += digits[int(fraction)]
        fraction -= int(fraction)
    return (head + tail).replace("0", "") or "a"


def syndication_url(base: str, status_id: int) -> str:
    query = urlencode({"id": str(status_id), "token": syndication_token(status_id)})
    return f"{checked_base(base)}?{query}"


def _retry_after(value: str | None) -> float | None:
    """Retry-After as seconds: a number of seconds or an HTTP date (RFC 9110 §10.2.3)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max((moment - utcnow()).total_seconds(), 0.0)


def fetch(url: str, timeout: float) -> Answer:
    """GET the address with a timeout; any failure to get a whole answer is status None.

    Redirects are followed (urllib's default) to http(s) only. The body is read up to
    MAX_BODY_BYTES, kept in memory for interpretation and never stored.
    """
    request = urllib.request.Request(  # noqa: S310  (scheme checked in checked_base)
        checked_base(url),
        method="GET",
        headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310  # nosec B310
            body = response.read(MAX_BODY_BYTES + 1)
            status = int(response.status)
            retry_after = _retry_after(response.headers.get("Retry-After"))
    except urllib.error.HTTPError as exc:
        try:
            body = exc.read(MAX_BODY_BYTES + 1)
        except (OSError, http.client.HTTPException):
            body = b""
        return Answer(int(exc.code), body, _retry_after(exc.headers.get("Retry-After")))
    except (urllib.error.URLError, OSError, http.client.HTTPException, ValueError):
        return Answer(None)
    if len(body) > MAX_BODY_BYTES:
        return Answer(status, b"", retry_after)
    return Answer(status, body, retry_after)
