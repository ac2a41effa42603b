"""Default deny for staff pages: a signed-in, active user past every factor, or no entry."""

from __future__ import annotations

from flask import (
    Flask,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from casework.accounts import sessions
from casework.accounts.signin import record_sign_out
from casework.extensions import db, login_manager

STAFF_PREFIX = "/staff"
# Blueprints that are staff-only wherever they are mounted.
STAFF_BLUEPRINTS = frozenset({"auth", "admin", "notifications", "cases", "log", "notices", "ops"})
# Reachable without a session: each checks its own half-way state or signed token.
PUBLIC_ENDPOINTS = frozenset(
    {"auth.login", "auth.totp", "auth.enrol", "auth.reset_request", "auth.reset_confirm"}
)


def is_staff_request() -> bool:
    blueprint = (request.blueprint or "").split(".")[0]
    path = request.path
    return (
        blueprint in STAFF_BLUEPRINTS or path == STAFF_PREFIX or path.startswith(STAFF_PREFIX + "/")
    )


def _refuse() -> Response:
    """To the sign-in page for a page view; 401 for anything that would change something."""
    if request.method in ("GET", "HEAD"):
        target = request.full_path if request.query_string else request.path
        return redirect(url_for("auth.login", next=target))
    abort(401)


def _forget_loaded_user() -> None:
    """Load the user afresh for each request, even when one app context serves several
    (tests, scripts): Flask-Login caches the user on `g`, which lives as long as the context.
    """
    g.pop("_login_user", None)


def _gate() -> Response | None:
    if not is_staff_request() or request.endpoint in PUBLIC_ENDPOINTS:
        return None
    user = sessions.current_signed_in_user()
    if user is None:
        return _refuse()
    if sessions.idle_expired():
        record_sign_out(db.session, user, expired=True)
        db.session.commit()
        sessions.end_session()
        db.session.commit()
        flash(_idle_message(), "info")
        return _refuse()
    sessions.touch()
    return None


def _idle_message() -> str:
    return gettext(
        "You were signed out after %(minutes)d minutes without activity. "
        "Sign in again to carry on.",
        minutes=int(current_app.config["SESSION_IDLE_MINUTES"]),
    )


def _unauthorised(error: HTTPException) -> tuple[str, int]:
    return render_template("auth/unauthorised.html"), 401


def init_staff_gate(app: Flask) -> None:
    """Run the gate before every request and send Flask-Login's refusals to the same place."""
    login_manager.login_view = "auth.login"
    login_manager.login_message = None
    login_manager.unauthorized_handler(_refuse)
    app.before_request(_forget_loaded_user)
    app.before_request(_gate)
    app.register_error_handler(401, _unauthorised)
