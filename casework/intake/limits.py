"""Rate-limit keys for the public pages: per connection, without keeping the address itself."""

from __future__ import annotations

import hashlib
import hmac

from flask import Response, current_app, make_response, render_template, request


def client_key() -> str:
    """A keyed hash of the client address, so limiter storage and its logs hold no IP address."""
    address = (request.remote_addr or "unknown").encode()
    secret = str(current_app.config["SECRET_KEY"]).encode()
    return hmac.new(secret, address, hashlib.sha256).hexdigest()[:32]


def intake_steps_limit() -> str:
    return str(current_app.config["RATELIMIT_INTAKE_STEPS"])


def intake_submit_limit() -> str:
    return str(current_app.config["RATELIMIT_INTAKE"])


def victim_sign_in_limit() -> str:
    return str(current_app.config["RATELIMIT_ACCESS_CODE"])


def rate_limited_page(error: Exception, *, signing_in: bool) -> Response:
    """The plain-words 429 page, saying how long the pause lasts (the limit's window)."""
    limit = getattr(getattr(error, "limit", None), "limit", None)
    seconds = int(limit.get_expiry()) if limit is not None else 15 * 60
    response = make_response(
        render_template(
            "public/too_many.html", signing_in=signing_in, wait_minutes=max(1, -(-seconds // 60))
        ),
        429,
    )
    response.headers["Retry-After"] = str(seconds)
    return response
