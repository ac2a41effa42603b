"""Audit jobs: anchor every chain's head outside the database, daily."""

from __future__ import annotations

import logging
from pathlib import Path

from flask import current_app

from casework.audit.anchors import anchor_heads
from casework.extensions import db
from casework.jobs import app_job
from casework.notifications.jobs import deliver_soon
from casework.orm import utcnow

log = logging.getLogger(__name__)


@app_job
def anchor_audit_job() -> int:
    """Append the heads to the anchor file, email the digests; returns how many chains."""
    path = Path(current_app.config["AUDIT_ANCHOR_FILE"])
    anchors, email_ids = anchor_heads(db.session, path, utcnow())
    db.session.commit()
    deliver_soon(email_ids)
    log.info("audit anchors: %s chains, %s digest emails", len(anchors), len(email_ids))
    return len(anchors)
