"""Every background job says whose work it is, so its failure reaches the right admins."""

from __future__ import annotations

import casework.accounts.jobs
import casework.audit.jobs
import casework.cases.jobs
import casework.deadlines.jobs
import casework.intake.jobs
import casework.notices.jobs
import casework.notifications.jobs  # noqa: F401  (each import declares its jobs)
from casework.jobs import APP_JOBS
from casework.ops.job_owners import OWNERS, PLATFORM_JOBS


def test_every_job_belongs_to_an_organisation_or_to_the_platform() -> None:
    assert APP_JOBS, "no job was declared with @app_job"
    unowned = sorted(APP_JOBS - set(OWNERS) - PLATFORM_JOBS)
    assert unowned == []


def test_no_job_is_both_an_organisations_and_the_platforms() -> None:
    assert set(OWNERS) & PLATFORM_JOBS == set()
