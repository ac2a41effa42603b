"""Operations pages: admins only; worker health, failed jobs, the outbox and compliance."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask, g
from flask.testing import FlaskClient
from redis import Redis
from rq import Queue
from rq.job import Job
from rq.registry import FailedJobRegistry

from casework.accounts.models import Role
from casework.deadlines.sweep import sweep
from casework.extensions import db
from casework.notices.models import NoticeItem
from casework.notifications.models import EmailState, OutgoingEmail
from casework.notifications.services import queue_email
from tests import factories
from tests.deadline_factories import quick_deadline, sent_notice, staffed_case
from tests.smtp_server import smtp_server
from tests.worker_process import run_worker, worker_env

OPS_PAGES = ("/staff/ops/", "/staff/ops/failed-jobs", "/staff/ops/outbox", "/staff/ops/compliance")


def _sign_in(client: FlaskClient, user: factories.User) -> None:
    # Requests in a test share the app context, so forget the user Flask-Login cached.
    g.pop("_login_user", None)
    factories.sign_in(client, user)


def _admin(client: FlaskClient, organisation_id: int | None = None) -> None:
    org = (
        db.session.get(factories.Organisation, organisation_id)
        if organisation_id
        else factories.org()
    )
    admin = factories.user(org, Role.ADMIN)
    db.session.commit()
    _sign_in(client, admin)


@pytest.mark.parametrize("path", [*OPS_PAGES, "/staff/ops/compliance.csv"])
def test_only_admins_reach_the_operations_pages(app: Flask, client: FlaskClient, path: str) -> None:
    assert client.get(path).status_code in {302, 401}
    org = factories.org()
    caseworker = factories.user(org, Role.CASEWORKER)
    db.session.commit()
    _sign_in(client, caseworker)
    assert client.get(path).status_code == 403
    _admin(client)
    assert client.get(path).status_code == 200


def test_health_page_counts_overdue_deadlines_until_the_sweep_handles_them(
    app: Flask, client: FlaskClient
) -> None:
    case, _ = staffed_case()
    quick_deadline(case, due_in=-600)
    db.session.commit()
    _admin(client)
    page = client.get("/staff/ops/").get_data(as_text=True)
    assert '<strong id="overdue-unhandled">1</strong>' in page
    assert '<strong id="sweep-last-run">never</strong>' in page
    sweep(db.session, now=datetime.now(UTC), by="test")
    page = client.get("/staff/ops/").get_data(as_text=True)
    assert '<strong id="overdue-unhandled">0</strong>' in page


def test_outbox_page_shows_failed_emails_masked_and_retries_them(
    app: Flask, client: FlaskClient
) -> None:
    org = factories.org()
    other = factories.org()
    email = queue_email(
        db.session,
        recipient="caseworker@org.example",
        subject="Deadline missed: CW-1",
        body="x",
        organisation_id=org.id,
    )
    others = queue_email(
        db.session,
        recipient="someone@other.example",
        subject="s",
        body="x",
        organisation_id=other.id,
    )
    for failed in (email, others):
        failed.state = EmailState.FAILED
        failed.attempts = 8
        failed.last_error = "SMTPServerDisconnected"
    db.session.commit()
    _admin(client, org.id)
    page = client.get("/staff/ops/outbox").get_data(as_text=True)
    assert "SMTPServerDisconnected" in page
    # Another organisation's failed email is neither listed nor retried from here.
    assert "other.example" not in page
    assert client.post(f"/staff/ops/outbox/{others.id}/retry").status_code == 404
    assert "caseworker@org.example" not in page
    assert "c…@org.example" in page
    response = client.post(f"/staff/ops/outbox/{email.id}/retry")
    assert response.status_code == 302
    db.session.expire_all()
    retried = db.session.get(OutgoingEmail, email.id)
    assert retried is not None
    assert (retried.state, retried.attempts) == (EmailState.PENDING, 0)
    # A second retry of the same email is refused plainly.
    again = client.post(f"/staff/ops/outbox/{email.id}/retry", follow_redirects=True)
    assert "not waiting for a retry" in again.get_data(as_text=True)


def _failed_email_job(app: Flask, redis: Redis, organisation_id: int) -> str:
    """An organisation's email whose delivery job fails in a real worker (no SMTP server)."""
    from casework.notifications.jobs import deliver_email

    email = queue_email(
        db.session,
        recipient="caseworker@org.example",
        subject="Deadline missed",
        body="x",
        organisation_id=organisation_id,
    )
    db.session.commit()
    queue = Queue("notifications", connection=redis)
    job = queue.enqueue(deliver_email, email.id)
    run_worker(app, "--no-sweep")
    assert FailedJobRegistry(queue=queue).get_job_ids() == [job.id]
    return job.id


@pytest.mark.redis
def test_a_job_that_keeps_failing_is_shown_with_its_error_and_can_be_retried(
    app: Flask, client: FlaskClient, redis: Redis
) -> None:
    org = factories.org()
    job_id = _failed_email_job(app, redis, org.id)

    _admin(client, org.id)
    page = client.get("/staff/ops/failed-jobs").get_data(as_text=True)
    assert "casework.notifications.jobs.deliver_email" in page
    assert "DeliveryFailed" in page

    response = client.post(f"/staff/ops/failed-jobs/{job_id}/retry")
    assert response.status_code == 302
    queue = Queue("notifications", connection=redis)
    assert FailedJobRegistry(queue=queue).count == 0
    assert queue.job_ids == [job_id]
    with smtp_server() as (inbox, port):
        run_worker(app, "--no-sweep", env=worker_env(app, MAIL_PORT=port))
        assert len(inbox.message_ids()) == 1
    assert Job.fetch(job_id, connection=redis).get_status() == "finished"


@pytest.mark.redis
def test_an_admin_neither_sees_nor_retries_another_organisations_failed_job(
    app: Flask, client: FlaskClient, redis: Redis
) -> None:
    theirs = factories.org()
    job_id = _failed_email_job(app, redis, theirs.id)
    queue = Queue("notifications", connection=redis)

    _admin(client)
    page = client.get("/staff/ops/failed-jobs").get_data(as_text=True)
    assert job_id not in page and "deliver_email" not in page
    assert "No failed jobs." in page
    refused = client.post(f"/staff/ops/failed-jobs/{job_id}/retry", follow_redirects=True)
    unknown = client.post("/staff/ops/failed-jobs/no-such-job/retry", follow_redirects=True)
    # Answered exactly as for a job that does not exist, and nothing is put back.
    assert refused.status_code == unknown.status_code == 200
    assert "no longer waiting for a retry" in refused.get_data(as_text=True)
    assert FailedJobRegistry(queue=queue).get_job_ids() == [job_id]
    assert queue.job_ids == []
    # A job nobody's organisation owns (the sweep, a test job) is not an admin's either.
    from tests.jobs_for_tests import fails_until_fixed

    default = Queue("default", connection=redis)
    default.enqueue(fails_until_fixed, "casework-test:fixed")
    run_worker(app, "--no-sweep")
    assert FailedJobRegistry(queue=default).count == 1
    assert "fails_until_fixed" not in client.get("/staff/ops/failed-jobs").get_data(as_text=True)


@pytest.mark.redis
def test_readyz_reports_the_worker(app: Flask, redis: Redis) -> None:
    case, _ = staffed_case()
    quick_deadline(case, due_in=-600)
    db.session.commit()
    body = app.test_client().get("/readyz").json
    assert body is not None
    assert body["ready"] is True
    worker = body["worker"]
    assert worker["overdue_unhandled"] == 1
    assert worker["sweep_last_run"] is None
    assert worker["workers_alive"] == 0
    assert set(worker["queues"]) == {"deadlines", "notifications", "letters", "default"}
    run_worker(app)
    body = app.test_client().get("/readyz").json
    assert body is not None
    assert body["worker"]["overdue_unhandled"] == 0
    assert body["worker"]["sweep_last_run"] is not None


RECEIVED = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def _notice_removed_after(hours: float | None, org: factories.Organisation) -> None:
    case, _ = staffed_case()
    case.organisation_id = org.id
    notice = sent_notice(case, received_at=RECEIVED)
    if hours is not None:
        for link in db.session.query(NoticeItem).filter_by(notice_id=notice.id):
            link.removed_at = RECEIVED + timedelta(hours=hours)


def test_compliance_report_counts_outcomes_and_response_times(
    app: Flask, client: FlaskClient
) -> None:
    org = factories.org()
    for hours in (2, 10, 30, 47, 60, None, None):
        _notice_removed_after(hours, org)
    other_org = factories.org()
    _notice_removed_after(1, other_org)  # another organisation's notice is not counted
    db.session.commit()
    sweep(db.session, now=RECEIVED + timedelta(days=5), by="test")

    _admin(client, org.id)
    page = client.get("/staff/ops/compliance").get_data(as_text=True)
    assert "<svg" in page and "seg-in-time" in page
    response = client.get("/staff/ops/compliance.csv")
    assert response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    (row,) = rows
    assert row["jurisdiction"] == "US"
    assert row["notices_sent"] == "7"
    assert (row["removed_in_time"], row["removed_late"], row["not_removed"]) == ("4", "1", "2")
    assert row["deadlines_missed"] == "3"
    assert row["median_response_hours"] == "30.0"
    assert row["p90_response_hours"] == "60.0"
    text = response.get_data(as_text=True)
    assert "CW-" not in text and "@" not in text and "x.com" not in text
