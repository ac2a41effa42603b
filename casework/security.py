"""Security headers and cookie policy applied to every response; input every form can trust."""

from __future__ import annotations

import io
from typing import IO, Any, Final

from flask import Flask, Request, Response, request
from werkzeug.datastructures import ImmutableMultiDict, iter_multi_items
from werkzeug.exceptions import SecurityError
from werkzeug.middleware.proxy_fix import ProxyFix

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: blob:",
        "font-src 'self'",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
    ]
)

SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), interest-cohort=()",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}


# Everything under these paths is about a case: staff screens, letters, evidence,
# the victim's own case page, and the JSON API.
PRIVATE_PATHS: Final = ("/staff", "/my-case", "/api/")


class CleanFields(ImmutableMultiDict[str, Any]):
    """Form fields and query arguments as every view reads them: named, and without NUL.

    Nobody types a NUL character and PostgreSQL cannot store one in text, so it would
    turn a report into a server error; a malformed multipart part arrives with no name,
    which forms that list their fields stumble on. Both are dropped here, once, for all.
    """

    def __init__(self, mapping: Any = None) -> None:
        if mapping is None:
            super().__init__()
            return
        super().__init__(
            [
                (key, value.replace("\x00", "") if isinstance(value, str) else value)
                for key, value in iter_multi_items(mapping)
                if isinstance(key, str)
            ]
        )


class CaseworkRequest(Request):
    parameter_storage_class = CleanFields

    def _get_file_stream(
        self,
        total_content_length: int | None,
        content_type: str | None,
        filename: str | None = None,
        content_length: int | None = None,
    ) -> IO[bytes]:
        # Werkzeug spools a file over 500 KB to a temporary file on disk, raw, GPS
        # data and all, before we have cleaned it. MAX_CONTENT_LENGTH bounds a
        # request, so holding its files in memory is bounded too.
        return io.BytesIO()


def _apply_headers(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if request.is_secure:
        response.headers.setdefault(
            "Strict-Transport-Security", "max-age=63072000; includeSubDomains"
        )
    # Pages and files about a case must never sit in a shared cache, a browser's
    # disk cache or the back-forward cache. This overrides what a view set: Flask's
    # send_file answers `no-cache`, which still lets the file be kept.
    if response.mimetype == "text/html" or request.path.startswith(PRIVATE_PATHS):
        response.headers["Cache-Control"] = "no-store, private"
    return response


def _refuse_untrusted_host() -> None:
    """400 for a Host outside TRUSTED_HOSTS, before any other hook builds a URL from it.

    Flask records the refusal as the routing error but still runs before_request hooks,
    whose redirects would need the URL adapter it could not make.
    """
    if isinstance(request.routing_exception, SecurityError):
        raise request.routing_exception


def init_security(app: Flask) -> None:
    app.request_class = CaseworkRequest
    app.before_request_funcs.setdefault(None, []).insert(0, _refuse_untrusted_host)
    hops = int(app.config.get("PROXY_HOPS") or 0)
    if hops:
        # Trust exactly this many proxies' X-Forwarded-For and -Proto, never more. Never
        # X-Forwarded-Host: the Host header stays what the client sent, and TRUSTED_HOSTS
        # (the public address) refuses any other with 400. Replacing wsgi_app is how Flask
        # adds middleware; to mypy it is a method, hence the ignore.
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=hops, x_proto=hops, x_host=0, x_port=0, x_prefix=0
        )
    app.after_request(_apply_headers)
