"""Friendly error pages: what happened and what to do next, never a trace or internal detail."""

from __future__ import annotations

import logging
import math

from flask import Flask, render_template
from flask_babel import gettext
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


def _page(code: int, **context: object) -> Response:
    return Response(render_template(PAGES[code], **context), status=code, mimetype="text/html")


def _http_error(error: HTTPException) -> Response:
    code = error.code if error.code in PAGES else 500
    return _page(code)


def _csrf_error(_error: CSRFError) -> Response:
    return _page(400, csrf=True)


def _too_many_requests(_error: HTTPException) -> Response:
    seconds = seconds_until_reset()
    response = _page(429, minutes=math.ceil(seconds / 60))
    response.headers["Retry-After"] = str(math.ceil(seconds))
    return response


def _server_error(error: InternalServerError) -> Response:
    # Flask has already logged the original exception with its traceback.
    log.error("server error page shown (%s)", type(error.original_exception).__name__)
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
