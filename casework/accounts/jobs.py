"""Account emails made by the worker, out of the request that asked for them."""

from __future__ import annotations

import logging

from flask import current_app

from casework.accounts.models import User
from casework.accounts.recovery import send_password_link
from casework.accounts.tokens import TokenPurpose
from casework.extensions import db
from casework.jobs import app_job
from casework.orm import utcnow

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
