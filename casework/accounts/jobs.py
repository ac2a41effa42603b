"""Password-link emails: queued by the request that asks, made by the worker outside it."""

from __future__ import annotations

import logging

from flask import current_app
from sqlalchemy import select

from casework.accounts.models import User
from casework.accounts.recovery import send_password_link
from casework.accounts.tokens import TokenPurpose
from casework.extensions import db
from casework.jobs import QUEUE_NOTIFICATIONS, app_job, enqueue
from casework.orm import DbSession, utcnow

log = logging.getLogger(__name__)


@app_job
def send_password_link_job(user_id: int, link_prefix: str) -> bool:
    """Email a reset link (or, before a first password, a fresh invitation); commits.

    user_id 0 means the address asked for has no account: the job was queued all
    the same, so the request that asked cost the same either way.
    """
    user = db.session.get(User, user_id) if user_id else None
    if user is None or not user.is_active_user:
        return False
    purpose = TokenPurpose.RESET if user.password_hash else TokenPurpose.INVITE
    send_password_link(
        db.session,
        user,
        purpose,
        secret_key=current_app.config["SECRET_KEY"],
        link_for=lambda token: link_prefix + token,
        now=utcnow(),
    )
    db.session.commit()
    log.info("password link queued for user %s", user.id)
    return True


def request_password_reset(session: DbSession, email: str, *, link_prefix: str) -> None:
    """Queue the job that emails a reset link if the address belongs to an account.

    The caller shows the same page whatever happened, so the form cannot be used to
    find out who has an account; and since this request does the same work either
    way (one look-up, one job queued with a user id or 0), its timing cannot either.
    Redis being unreachable loses the request, as it would lose the job. link_prefix
    is the link without its token.
    """
    user_id = session.scalar(select(User.id).where(User.email == email.strip().lower()))
    enqueue(QUEUE_NOTIFICATIONS, send_password_link_job, user_id or 0, link_prefix)
