"""Admin operations pages: thin views over casework.health, casework.ops.services and the
compliance report."""

from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    url_for,
)
from flask_babel import gettext as _
from redis.exceptions import RedisError
from werkzeug.wrappers import Response as BaseResponse

from casework.accounts.access import current_actor, current_staff, roles_required
from casework.accounts.models import Role
from casework.deadlines.compliance import compliance_report, to_csv
from casework.extensions import current_app_object, db
from casework.health import worker_status
from casework.jobs import QUEUE_NOTIFICATIONS, enqueue, redis_connection
from casework.notifications.email import mask_address
from casework.notifications.jobs import deliver_email, email_retry
from casework.ops import services
from casework.ops.charts import compliance_charts
from casework.orm import utcnow
from casework.saving import saving

bp = Blueprint("ops", __name__, url_prefix="/staff/ops")


@bp.get("/")
@roles_required(Role.ADMIN)
def health() -> str:
    app = current_app_object()
    return render_template("ops/health.html", status=worker_status(app))


@bp.get("/failed-jobs")
@roles_required(Role.ADMIN)
def failed_jobs() -> str:
    try:
        jobs = services.failed_jobs(db.session, redis_connection(), current_staff().organisation_id)
        reachable = True
    except (RedisError, OSError):
        jobs, reachable = [], False
    return render_template("ops/failed_jobs.html", jobs=jobs, reachable=reachable)


@bp.post("/failed-jobs/<job_id>/retry")
@roles_required(Role.ADMIN)
def retry_job(job_id: str) -> BaseResponse:
    with saving(services.OpsError) as saved:
        queue = services.retry_job(
            db.session,
            redis_connection(),
            job_id,
            current_actor(),
            current_staff().organisation_id,
        )
    if saved.error is not None:
        flash(_("That job is no longer waiting for a retry."), "error")
    else:
        flash(_("Job put back on the %(queue)s queue.", queue=queue), "info")
    return redirect(url_for("ops.failed_jobs"))


@bp.get("/outbox")
@roles_required(Role.ADMIN)
def outbox() -> str:
    emails = services.outbox_problems(db.session, current_staff().organisation_id)
    return render_template("ops/outbox.html", emails=emails, mask=mask_address)


@bp.post("/outbox/<int:email_id>/retry")
@roles_required(Role.ADMIN)
def retry_email(email_id: int) -> BaseResponse:
    with saving(services.OpsError) as saved:
        services.retry_email(
            db.session, email_id, current_staff().organisation_id, current_actor(), now=utcnow()
        )
    if isinstance(saved.error, services.OpsNotFound):
        abort(404)
    if saved.error is not None:
        flash(_("That email is not waiting for a retry."), "error")
    else:
        enqueue(QUEUE_NOTIFICATIONS, deliver_email, email_id, retry=email_retry())
        flash(_("Email put back in the outbox."), "info")
    return redirect(url_for("ops.outbox"))


@bp.get("/compliance")
@roles_required(Role.ADMIN)
def compliance() -> str:
    rows = compliance_report(db.session, current_staff().organisation_id)
    return render_template("ops/compliance.html", rows=rows, charts=compliance_charts(rows))


@bp.get("/compliance.csv")
@roles_required(Role.ADMIN)
def compliance_csv() -> Response:
    rows = compliance_report(db.session, current_staff().organisation_id)
    return Response(
        to_csv(rows),
        mimetype="text/csv",
        headers={"Content-Disposition": "attachment; filename=platform-compliance.csv"},
    )
