"""The landing page, health and readiness endpoints, and the language switch."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, redirect, render_template, request, session
from werkzeug.wrappers import Response

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
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    checks = [check_database(app), check_redis(app)]
    ready = all(check.ok for check in checks)
    # Worker facts inform; readiness itself means the database and Redis answer.
    worker = worker_status(app)
    body = {
        "ready": ready,
        "checks": {check.name: check.as_dict() for check in checks},
        "worker": {
            "workers_alive": worker["workers_alive"],
            "queues": {name: q["queued"] for name, q in worker["queues"].items()},
            "scheduler_last_heartbeat": worker["scheduler_last_heartbeat"],
            "sweep_last_run": worker["sweep_last_run"],
            "overdue_unhandled": worker["overdue_unhandled"],
        },
    }
    return jsonify(body), 200 if ready else 503


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
