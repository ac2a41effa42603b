"""Friendly error pages: what happened and what to do next, never a trace or internal detail."""

from __future__ import annotations

import json
import logging
import math

from flask import Flask, render_template, request
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from markupsafe import escape
from werkzeug.exceptions import HTTPException, InternalServerError, SecurityError
from werkzeug.wrappers import Response

from casework.ratelimit import seconds_until_reset

log = logging.getLogger(__name__)

PAGES = {
    400: "errors/400.html",
    403: "errors/403.html",
    404: "errors/404.html",
    405: "errors/405.html",
    410: "errors/410.html",
    413: "errors/413.html",
    429: "errors/429.html",
    500: "errors/500.html",
}


def _bare_500() -> str:
    """The page shown when even the error template fails (say, the database is down)."""
    title = escape(gettext("Something went wrong on our side"))
    advice = escape(gettext("Please try again in a few minutes."))
    return (
        f"<!doctype html><html><meta charset=utf-8><title>{title}</title>"
        f"<h1>{title}</h1><p>{advice}</p></html>"
    )


def _untrusted_host(_error: SecurityError) -> Response:
    """The request named a host that is not ours: no page of the site, whose links would
    need that host, only a plain refusal."""
    title = escape(gettext("This address is not served here"))
    advice = escape(gettext("Use the address of the site you were given."))
    body = (
        f"<!doctype html><html><meta charset=utf-8><title>{title}</title>"
        f"<h1>{title}</h1><p>{advice}</p></html>"
    )
    return Response(body, status=400, mimetype="text/html")


# The JSON API answers in JSON, even where no view of it was reached (an unknown path).
API_PATH_PREFIX = "/api/"
_API_ERRORS = {
    400: ("bad_request", _l("The request could not be read.")),
    401: ("unauthorised", _l("Send a valid API token as “Authorization: Bearer <token>”.")),
    403: ("forbidden", _l("This token may not do this.")),
    404: ("not_found", _l("Nothing is at this address.")),
    405: ("method_not_allowed", _l("This address does not take this method.")),
    410: ("gone", _l("This is no longer here.")),
    413: ("too_large", _l("The request is too large.")),
    429: ("rate_limited", _l("Too many requests with this token; wait and try again.")),
    500: ("server_error", _l("Something went wrong on our side; please try again later.")),
}


def _is_api_request() -> bool:
    return request.path.startswith(API_PATH_PREFIX)


def _api_error(code: int) -> Response:
    """The API's error shape: a code, a sentence, no fields."""
    error, message = _API_ERRORS.get(code, _API_ERRORS[500])
    body = {"error": error, "message": str(message), "fields": {}}
    return Response(json.dumps(body), status=code, mimetype="application/json")


def _page(code: int, **context: object) -> Response:
    if _is_api_request():
        return _api_error(code)
    return Response(render_template(PAGES[code], **context), status=code, mimetype="text/html")


def _http_error(error: HTTPException) -> Response:
    code = error.code if error.code in PAGES else 500
    return _page(code)


def _csrf_error(_error: CSRFError) -> Response:
    return _page(400, csrf=True)


def _too_many_requests(_error: HTTPException) -> Response:
    seconds = seconds_until_reset()
    response = _api_error(429) if _is_api_request() else _page(429, minutes=math.ceil(seconds / 60))
    response.headers["Retry-After"] = str(math.ceil(seconds))
    return response


def _server_error(error: InternalServerError) -> Response:
    # Flask has already logged the original exception with its traceback.
    log.error("server error page shown (%s)", type(error.original_exception).__name__)
    if _is_api_request():
        return _api_error(500)
    try:
        return _page(500)
    except Exception:
        log.exception("the error page itself failed")
        return Response(_bare_500(), status=500, mimetype="text/html")


def init_error_pages(app: Flask) -> None:
    for code in (400, 403, 404, 405, 410, 413):
        app.register_error_handler(code, _http_error)
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(SecurityError, _untrusted_host)
    app.register_error_handler(429, _too_many_requests)
    app.register_error_handler(500, _server_error)
