"""Intake jobs: the hourly purge of half-finished reports whose time is up."""

from __future__ import annotations

import logging

from flask import current_app

from casework.intake.services import draft_store
from casework.jobs import app_job

log = logging.getLogger(__name__)


@app_job
def purge_expired_drafts_job() -> int:
    """Delete drafts not saved for DRAFT_MAX_AGE_HOURS, screenshots and all; returns how many."""
    removed = draft_store(current_app.config).purge_expired()
    log.info("drafts: %s expired drafts deleted", removed)
    return removed
