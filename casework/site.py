"""The landing page, health and readiness endpoints, and the language switch."""

from __future__ import annotations

import hmac
import ipaddress

from flask import Blueprint, current_app, jsonify, redirect, render_template, request, session
from werkzeug.wrappers import Response

from casework.extensions import current_app_object
from casework.health import check_database, check_redis, worker_status
from casework.ratelimit import rate_limit
from casework.urls import safe_next

bp = Blueprint("site", __name__)


@bp.get("/")
def landing() -> str:
    return render_template("public/landing.html")


@bp.get("/healthz")
def healthz() -> Response:
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz() -> tuple[Response, int]:
    """Whether this web process can serve (its HTTP status), and, for operators, whether
    deadlines are being tracked: the worker, queue and sweep facts are shown only to a
    caller on this host or one holding the operator token."""
    app = current_app_object()
    checks = [check_database(app), check_redis(app)]
    ready = all(check.ok for check in checks)
    status = 200 if ready else 503
    if not operator_request(app.config.get("OPERATOR_TOKEN")):
        return jsonify({"ready": ready}), status
    worker = worker_status(app)
    tracking = worker["deadline_tracking"]
    body = {
        "ready": ready,
        "checks": {check.name: check.as_dict() for check in checks},
        "deadline_tracking": {
            "running": tracking["running"],
            "state": "running" if tracking["running"] else "not running",
            "problems": tracking["problems"],
        },
        "worker": {
            "workers_alive": worker["workers_alive"],
            "worker_last_heartbeat": worker["worker_last_heartbeat"],
            "queues": {name: q["queued"] for name, q in worker["queues"].items()},
            "scheduler_last_heartbeat": worker["scheduler_last_heartbeat"],
            "sweep_last_run": worker["sweep_last_run"],
            "overdue_unhandled": worker["overdue_unhandled"],
        },
    }
    return jsonify(body), status


def operator_request(token: str | None) -> bool:
    """A request from this host (after the configured proxies), or with the operator token."""
    given = request.headers.get("Authorization", "")
    if token and given.startswith("Bearer "):
        return hmac.compare_digest(given.removeprefix("Bearer ").encode(), token.encode())
    try:
        return ipaddress.ip_address(request.remote_addr or "").is_loopback
    except ValueError:
        return False


@bp.post("/language")
@rate_limit("RATELIMIT_LANGUAGE")
def set_language() -> Response:
    lang = request.form.get("lang", "")
    if lang in current_app.config["LANGUAGES"]:
        session["lang"] = lang
    return redirect(safe_next(request.form.get("next"), default="/"))


@bp.get("/privacy")
def privacy() -> str:
    return render_template("public/privacy.html")
