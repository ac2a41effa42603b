"""Deleting a case takes everything of the person's with it: emails, merged items, files."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, text

from casework.accounts.models import Role
from casework.audit.models import AuditEvent
from casework.audit.services import verify_all
from casework.cases.models import Case, CaseStatus, Item
from casework.cli import cli_group
from casework.evidence.models import EvidenceFile
from casework.extensions import db
from casework.notifications.email import MailSettings
from casework.notifications.jobs import deliver
from casework.notifications.models import OutgoingEmail
from casework.orm import utcnow
from tests import factories
from tests.intake_support import (
    Answers,
    Confirmation,
    fill_report,
    photo,
    report_and_sign_out,
    returning_browser,
    stored_evidence,
    submit,
)
from tests.smtp_server import smtp_server

POST_A = "https://x.com/grokfan/status/2008000000000000101"


@pytest.fixture
def reported(app: Flask, client: FlaskClient) -> Confirmation:
    """A report with an email address, sent through the form; the browser then signs out."""
    return report_and_sign_out(client, Answers(links=[POST_A]))


def _outbox_text() -> str:
    """Every column of every outbox row, as an attacker reading the table sees it."""
    rows = db.session.execute(text("SELECT * FROM outgoing_emails")).all()
    return "\n".join(" ".join(str(value) for value in row) for row in rows)


def _deliver_all(app: Flask, port: int) -> list[str]:
    settings = MailSettings.from_config(
        {**app.config, "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": port}
    )
    ids = db.session.scalars(select(OutgoingEmail.id)).all()
    return [deliver(db.session, i, now=utcnow(), settings=settings).outcome for i in ids]


def test_no_outbox_row_ever_holds_the_access_code(app: Flask, reported: Confirmation) -> None:
    code_words = reported.access_code.split()
    assert db.session.scalar(select(OutgoingEmail.id)) is not None
    stored = _outbox_text().lower()
    assert reported.access_code not in stored
    assert not any(word in stored for word in code_words if len(word) > 3)

    with smtp_server() as (inbox, port):
        assert _deliver_all(app, port) == ["sent"]
    (message,) = inbox.messages
    assert reported.access_code in message.get_payload(decode=True).decode()
    assert reported.access_code not in _outbox_text()
    email = db.session.scalars(select(OutgoingEmail)).one()
    assert email.sealed_secret is None


def test_an_access_code_not_sent_in_time_is_never_sent(app: Flask, reported: Confirmation) -> None:
    hours = app.config["ACCESS_CODE_EMAIL_HOURS"]
    email = db.session.scalars(select(OutgoingEmail)).one()
    email.created_at = utcnow() - timedelta(hours=hours, minutes=1)
    db.session.commit()
    with smtp_server() as (inbox, port):
        assert _deliver_all(app, port) == ["failed"]
    assert inbox.messages == []
    db.session.expire_all()
    email = db.session.scalars(select(OutgoingEmail)).one()
    assert email.sealed_secret is None and email.body == ""


def _delete(app: Flask, reported: Confirmation) -> None:
    browser = returning_browser(app, reported)
    response = browser.post("/my-case/delete", data={"confirm": "y"})
    assert response.headers["Location"].endswith("/my-case/deleted")
    db.session.expire_all()


def test_an_email_to_a_former_address_goes_with_the_case(
    app: Flask, reported: Confirmation
) -> None:
    browser = returning_browser(app, reported)
    response = browser.post(
        "/my-case/contact", data={"language": "en", "contact": "email", "email": "new@example.org"}
    )
    assert response.status_code == 302
    _delete(app, reported)
    assert db.session.scalars(select(Case)).all() == []
    assert _outbox_text() == ""


def test_a_sent_email_goes_with_the_case(app: Flask, reported: Confirmation) -> None:
    with smtp_server() as (_inbox, port):
        assert _deliver_all(app, port) == ["sent"]
    assert reported.reference in _outbox_text()  # the subject names the case
    _delete(app, reported)
    assert _outbox_text() == ""


POST_B = "https://x.com/otherposter/status/2008000000000000202"
POST_SHARED = "https://x.com/grokfan/status/2008000000000000303"


def test_deleting_a_case_withdraws_what_it_brought_into_another_by_a_merge(
    app: Flask, client: FlaskClient
) -> None:
    org = factories.org(receives_public_reports=True)
    worker = factories.user(org, Role.CASEWORKER, password=None)
    db.session.commit()
    first, second = app.test_client(), app.test_client()
    fill_report(
        first, Answers(links=[POST_A, POST_SHARED], screenshots=[("a.png", photo(1, "PNG"))])
    )
    leaving = submit(first)
    fill_report(
        second, Answers(links=[POST_B, POST_SHARED], screenshots=[("b.png", photo(2, "PNG"))])
    )
    staying = submit(second)
    source = db.session.scalars(select(Case).where(Case.reference == leaving.reference)).one()
    target = db.session.scalars(select(Case).where(Case.reference == staying.reference)).one()
    source_id, target_id = source.id, target.id
    factories.sign_in(client, worker)
    response = client.post(f"/staff/cases/{source_id}/merge", data={"target": target.reference})
    assert response.headers["Location"].endswith(f"/staff/cases/{target_id}")
    db.session.expire_all()
    assert {i.url for i in db.session.scalars(select(Item).where(Item.case_id == target_id))} == {
        POST_A,
        POST_B,
        POST_SHARED,
    }
    assert len(stored_evidence(app)) == 2

    _delete(app, leaving)

    assert db.session.get(Case, source_id) is None
    left = db.session.scalars(select(Item).where(Item.case_id == target_id)).all()
    # The post both reported stays: the other person reported it too.
    assert {i.url for i in left} == {POST_B, POST_SHARED}
    files = db.session.scalars(select(EvidenceFile).where(EvidenceFile.case_id == target_id)).all()
    assert [f.original_name for f in files] == ["b.png"]
    assert [p.name for p in stored_evidence(app)] == [f"{files[0].storage_key}.bin"]
    page = client.get(f"/staff/cases/{target_id}").get_data(as_text=True)
    assert "withdrawn by the person who reported them" in page
    assert "a.png" not in page and "grokfan/status/2008000000000000101" not in page
    assert all(report.ok for report in verify_all(db.session))


def test_closed_cases_are_deleted_after_the_retention_period(app: Flask) -> None:
    org = factories.org()
    days = app.config["RETENTION_DAYS_AFTER_CLOSE"]
    long_ago = utcnow() - timedelta(days=days + 1)
    closed = (CaseStatus.CLOSED, CaseStatus.RESOLVED, CaseStatus.WITHDRAWN)
    expired = [factories.case(org, status=status) for status in closed]
    recent = factories.case(org, status=CaseStatus.CLOSED)
    still_open = factories.case(org, status=CaseStatus.ACTION)
    for case in [*expired, still_open]:
        case.status_changed_at = long_ago
    factories.evidence(expired[0])
    db.session.commit()
    expired_ids = {c.id for c in expired}
    kept_ids = {recent.id, still_open.id}
    files_before = stored_evidence(app)
    assert len(files_before) == 1
    runner = app.test_cli_runner()

    dry = runner.invoke(cli_group, ["purge", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "3 cases" in dry.output and "1 evidence file" in dry.output
    db.session.expire_all()
    assert {c.id for c in db.session.scalars(select(Case))} == expired_ids | kept_ids

    done = runner.invoke(cli_group, ["purge"])
    assert done.exit_code == 0, done.output
    db.session.expire_all()
    assert {c.id for c in db.session.scalars(select(Case))} == kept_ids
    assert stored_evidence(app) == []
    summary = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "retention.purged")
    ).one()
    assert summary.actor_type == "system"
    assert summary.details == {
        "cases": 3,
        "items": 3,
        "evidence_files": 1,
        "retention_days": days,
    }
    deletions = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "case.deleted")
    ).all()
    # Retention deleted them, not the people they were about.
    assert {(e.case_id, e.actor_type) for e in deletions} == {(i, "system") for i in expired_ids}
    assert {e.details["reason"] for e in deletions} == {"retention"}
    assert all(report.ok for report in verify_all(db.session))
