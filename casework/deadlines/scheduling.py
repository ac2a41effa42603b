"""How deadline jobs go on RQ's schedule: their ids, retries and timings.

Job ids are derived from row ids, so scheduling the same rows again replaces their
jobs instead of adding more.
"""

from __future__ import annotations

from datetime import timedelta

from rq import Retry


def job_retry() -> Retry:
    """A deadline job that fails (database restarting, say) is tried again with backoff."""
    return Retry(max=4, interval=[5, 30, 120, 600])


def deadline_job_id(deadline_id: int) -> str:
    return f"deadline-{deadline_id}"


def reminder_job_id(reminder_id: int) -> str:
    return f"reminder-{reminder_id}"


# The last removal check runs this long before the due time (plus one turn on the host
# per post), so its answers can still prove the content was gone in time.
FINAL_CHECK_BEFORE = timedelta(seconds=60)


def removal_check_job_id(deadline_id: int) -> str:
    return f"removal-check-{deadline_id}"


# How many of the nearest pending deadlines and unsent reminders each sweep checks.
RESCHEDULE_BATCH = 1000
