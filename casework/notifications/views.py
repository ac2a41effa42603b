"""The signed-in user's notifications, and the unread count every staff page shows."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from casework.accounts import sessions
from casework.accounts.access import current_staff
from casework.extensions import db
from casework.notifications.inbox import (
    mark_all_read,
    mark_read,
    recent_notifications,
    unread_count,
)
from casework.notifications.messages import describe
from casework.orm import utcnow

bp = Blueprint("notifications", __name__, url_prefix="/staff/notifications")


@bp.get("/")
def index() -> str:
    user = current_staff()
    rows = [
        (notification, describe(notification, user.timezone))
        for notification in recent_notifications(db.session, user.id)
    ]
    return render_template("notifications/index.html", rows=rows, timezone=user.timezone)


@bp.post("/<int:notification_id>/read")
def read(notification_id: int) -> Response:
    if not mark_read(db.session, current_staff().id, notification_id, now=utcnow()):
        abort(404)
    db.session.commit()
    return redirect(url_for("notifications.index"))


@bp.post("/read-all")
def read_all() -> Response:
    count = mark_all_read(db.session, current_staff().id, now=utcnow())
    db.session.commit()
    if count:
        flash(_("All notifications marked as read."), "success")
    return redirect(url_for("notifications.index"))


@bp.app_context_processor
def _unread_notifications() -> dict[str, int]:
    """The badge in the staff menu; only for a fully signed-in user."""
    user = sessions.current_signed_in_user()
    if user is None:
        return {}
    return {"unread_notifications": unread_count(db.session, user.id)}
