"""Rate-limit keys for the public pages: per connection, without keeping the address itself."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable

from flask import Blueprint, Response, current_app, make_response, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import RequestEntityTooLarge

from casework.intake.uploads import MAX_FILES_PER_REQUEST


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


def register_public_error_pages(bp: Blueprint, back_url: Callable[[], str]) -> None:
    """The public blueprints' answers to an expired form, a too-large upload and a limit.

    back_url says where the too-large page offers to go back to.
    """

    @bp.errorhandler(CSRFError)
    def csrf_error(_error: CSRFError) -> tuple[str, int]:
        return render_template("public/form_expired.html"), 400

    @bp.errorhandler(RequestEntityTooLarge)
    def too_large(_error: RequestEntityTooLarge) -> tuple[str, int]:
        return (
            render_template(
                "public/too_large.html",
                max_mb=current_app.config["MAX_UPLOAD_BYTES"] // (1024 * 1024) or 1,
                per_request=MAX_FILES_PER_REQUEST,
                back_url=back_url(),
            ),
            413,
        )

    @bp.errorhandler(429)
    def too_many(error: Exception) -> Response:
        return rate_limited_page(error, signing_in=request.endpoint == "victim.sign_in")
