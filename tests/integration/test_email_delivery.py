"""Outbox emails reach a real SMTP server once, survive an outage, and are kept when they fail."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from redis import Redis
from sqlalchemy import select

from casework.deadlines.handling import Effects
from casework.deadlines.jobs import dispatch
from casework.extensions import db
from casework.notifications.email import MailSettings, due_email_ids, retry_failed
from casework.notifications.jobs import deliver
from casework.notifications.models import EmailState, OutgoingEmail
from casework.notifications.services import queue_email
from casework.orm import utcnow
from tests.smtp_server import free_port, smtp_server
from tests.waiting import wait_until
from tests.worker_process import run_worker, worker_env


def _settings(app: Flask, port: int, **changes: Any) -> MailSettings:
    app.config.update({"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": port, **changes})
    return MailSettings.from_config(app.config)


def _emails(n: int) -> list[int]:
    ids = [
        queue_email(
            db.session,
            recipient=f"caseworker{i}@org.example",
            subject=f"Reminder {i}",
            body="Case CW-2026-000001: the platform must act by 2026-03-04 09:30 (UTC).",
        ).id
        for i in range(n)
    ]
    db.session.commit()
    return ids


def test_an_email_is_delivered_once_even_when_asked_twice(app: Flask) -> None:
    (email_id,) = _emails(1)
    with smtp_server() as (inbox, port):
        settings = _settings(app, port)
        first = deliver(db.session, email_id, now=utcnow(), settings=settings)
        second = deliver(db.session, email_id, now=utcnow(), settings=settings)
    assert (first.outcome, second.outcome) == ("sent", "skipped")
    (message,) = inbox.messages
    assert message["To"] == "caseworker0@org.example"
    assert message["Subject"] == "Reminder 0"
    assert message["Message-ID"] == f"<casework-outbox-{email_id}@localhost>"
    email = db.session.get(OutgoingEmail, email_id)
    assert email is not None and email.state == EmailState.SENT and email.attempts == 1


def test_smtp_down_backs_off_then_gives_up_and_keeps_the_message(app: Flask) -> None:
    (email_id,) = _emails(1)
    settings = _settings(app, free_port(), MAIL_RETRY_BASE_SECONDS=10, MAIL_MAX_ATTEMPTS=3)
    now = utcnow()
    outcomes = []
    waits = []
    for _ in range(3):
        result = deliver(db.session, email_id, now=now, settings=settings)
        outcomes.append(result.outcome)
        email = db.session.get(OutgoingEmail, email_id)
        assert email is not None
        waits.append((email.next_attempt_at - now).total_seconds())
        # Not due again before its backoff has passed.
        assert due_email_ids(db.session, now=email.next_attempt_at - timedelta(seconds=1)) == []
        now = email.next_attempt_at
    assert outcomes == ["retry", "retry", "failed"]
    assert waits == [10, 20, 40]
    email = db.session.get(OutgoingEmail, email_id)
    assert email is not None
    assert email.state == EmailState.FAILED
    assert email.last_error == "ConnectionRefusedError"
    assert "org.example" not in (email.last_error or "")
    # Kept, and an admin can put it back in the outbox.
    assert retry_failed(db.session, email_id, now=now)
    db.session.commit()
    with smtp_server() as (inbox, port):
        result = deliver(db.session, email_id, now=now, settings=_settings(app, port))
    assert result.outcome == "sent"
    assert len(inbox.messages) == 1


def test_concurrent_senders_send_once(app: Flask) -> None:
    ids = _emails(6)
    results: list[str] = []
    with smtp_server() as (inbox, port):
        settings = _settings(app, port)
        barrier = threading.Barrier(3)

        def run() -> None:
            with app.app_context():
                barrier.wait()
                for email_id in ids:
                    results.append(
                        deliver(db.session, email_id, now=utcnow(), settings=settings).outcome
                    )
                db.session.remove()

        threads = [threading.Thread(target=run) for _ in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert results.count("sent") == 6
    assert sorted(inbox.message_ids()) == sorted(f"<casework-outbox-{i}@localhost>" for i in ids)


def test_a_sender_that_died_mid_send_is_retried_after_its_lease(app: Flask) -> None:
    (email_id,) = _emails(1)
    now = utcnow()

    def crash(*_: Any) -> None:
        raise SystemExit("killed between claim and send")

    with pytest.raises(SystemExit):
        deliver(db.session, email_id, now=now, settings=_settings(app, 1), send=crash)
    db.session.rollback()
    email = db.session.get(OutgoingEmail, email_id)
    assert email is not None and email.state == EmailState.SENDING
    lease_end = email.next_attempt_at
    assert due_email_ids(db.session, now=lease_end - timedelta(seconds=1)) == []
    assert due_email_ids(db.session, now=lease_end) == [email_id]
    with smtp_server() as (inbox, port):
        assert (
            deliver(db.session, email_id, now=lease_end, settings=_settings(app, port)).outcome
            == "sent"
        )
    assert len(inbox.messages) == 1


@pytest.mark.redis
def test_smtp_down_then_up_delivers_every_email_once_through_the_worker(
    app: Flask, redis: Redis
) -> None:
    port = free_port()
    app.config.update({"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": port, "MAIL_RETRY_BASE_SECONDS": 1})
    ids = _emails(5)
    dispatch(Effects(email_ids=ids))
    env = worker_env(app, MAIL_RETRY_BASE_SECONDS=1)

    run_worker(app, env=env)  # the server is down: every attempt fails
    db.session.expire_all()
    rows = db.session.scalars(select(OutgoingEmail).order_by(OutgoingEmail.id)).all()
    assert [r.state for r in rows] == [EmailState.PENDING] * 5
    assert all(r.attempts >= 1 for r in rows)
    assert all(r.last_error == "ConnectionRefusedError" for r in rows)

    with smtp_server(port) as (inbox, _):
        wait_until(
            lambda: sorted(due_email_ids(db.session, now=utcnow())) == sorted(ids),
            10,
            "the retries to come due after the backoff",
        )
        run_worker(app, env=env)
        db.session.expire_all()
        rows = db.session.scalars(select(OutgoingEmail).order_by(OutgoingEmail.id)).all()
        assert [r.state for r in rows] == [EmailState.SENT] * 5
        received = inbox.message_ids()
    assert sorted(received) == sorted(f"<casework-outbox-{i}@localhost>" for i in ids)
    assert len(received) == 5
