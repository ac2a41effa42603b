"""Case jobs: the daily retention purge."""

from __future__ import annotations

import logging

from flask import current_app

from casework.cases.retention import Purge, purge_expired_cases
from casework.evidence.files import delete_files, evidence_storage
from casework.extensions import db
from casework.jobs import app_job
from casework.notifications.email import wipe_expired_secrets
from casework.orm import utcnow

log = logging.getLogger(__name__)


def run_purge(*, dry_run: bool) -> Purge:
    """Purge expired cases and expired sealed secrets; commit, then delete the files."""
    now = utcnow()
    days = int(current_app.config["RETENTION_DAYS_AFTER_CLOSE"])
    purge = purge_expired_cases(db.session, now=now, days=days, dry_run=dry_run)
    if dry_run:
        db.session.rollback()
        return purge
    wipe_expired_secrets(db.session, now=now, config=current_app.config)
    db.session.commit()
    delete_files(evidence_storage(current_app.config, db.session), purge.storage_keys)
    return purge


@app_job
def purge_expired_cases_job() -> int:
    """Delete cases closed longer than the retention period; returns how many."""
    purge = run_purge(dry_run=False)
    log.info(
        "retention: %s cases, %s items, %s evidence files deleted",
        purge.cases,
        purge.items,
        purge.evidence_files,
    )
    return purge.cases
