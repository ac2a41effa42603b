"""Forgotten passwords and invitations: one email, one link, used once, for a limited time."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from redis import Redis
from rq import Queue
from rq.job import Job
from sqlalchemy import event as sa_event
from sqlalchemy import select

from casework.accounts.models import Role, User
from casework.accounts.passwords import verify_password
from casework.accounts.tokens import TokenPurpose, make_token
from casework.audit.models import AuditEvent
from casework.extensions import db
from casework.notifications.models import OutgoingEmail
from casework.orm import utcnow
from tests import factories
from tests.factories import sign_in_with_password
from tests.worker_process import run_worker

NEW_PASSWORD = "a brand new passphrase here"

pytestmark = pytest.mark.usefixtures("jobs_in_the_request")


def _emails() -> list[OutgoingEmail]:
    return list(db.session.scalars(select(OutgoingEmail).order_by(OutgoingEmail.id)))


def _link_path(email: OutgoingEmail) -> str:
    match = re.search(r"https?://[^/\s]+(/staff/password/new/\S+)", email.body)
    assert match, email.body
    return match.group(1)


@contextmanager
def event_listening(target: Any, name: str, listener: Callable[..., None]) -> Iterator[None]:
    sa_event.listen(target, name, listener)
    try:
        yield
    finally:
        sa_event.remove(target, name, listener)


def _actions() -> list[str]:
    return list(db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


def test_the_same_answer_whether_or_not_the_address_has_an_account(
    app: Flask, client: FlaskClient
) -> None:
    org = factories.org()
    worker = factories.user(org)
    db.session.commit()

    known = client.post("/staff/password/forgotten", data={"email": worker.email})
    unknown = client.post("/staff/password/forgotten", data={"email": "nobody@example.org"})
    assert known.status_code == unknown.status_code == 200
    assert known.get_data(as_text=True) == unknown.get_data(as_text=True)
    emails = _emails()
    assert [e.recipient for e in emails] == [worker.email]
    assert "password" in emails[0].subject.lower()


def test_a_reset_link_sets_the_password_once_and_ends_old_sessions(
    app: Flask, client: FlaskClient
) -> None:
    org = factories.org()
    worker = factories.user(org)
    db.session.commit()
    old_session = app.test_client()
    sign_in_with_password(old_session, worker.email)
    assert old_session.get("/staff/notifications/").status_code == 200

    client.post("/staff/password/forgotten", data={"email": worker.email})
    link = _link_path(_emails()[0])
    assert client.get(link).status_code == 200

    mismatch = client.post(link, data={"password": NEW_PASSWORD, "confirm": "something else"})
    assert "The two passwords are not the same." in mismatch.get_data(as_text=True)
    weak = client.post(link, data={"password": "short", "confirm": "short"})
    assert "Use at least 12 characters." in weak.get_data(as_text=True)

    done = client.post(link, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert done.headers["Location"] == "/staff/sign-in"
    db.session.expire_all()
    user = db.session.get(User, worker.id)
    assert user is not None and verify_password(user.password_hash, NEW_PASSWORD)

    # The link is spent, and the session opened with the old password is over.
    again = client.get(link)
    assert again.status_code == 400
    assert "This link no longer works" in again.get_data(as_text=True)
    reuse = client.post(link, data={"password": "yet another passphrase", "confirm": "x"})
    assert reuse.status_code == 400
    assert old_session.get("/staff/notifications/").status_code == 302
    assert sign_in_with_password(client, worker.email, NEW_PASSWORD).status_code == 302
    assert {"password.reset_requested", "password.reset"} <= set(_actions())


def test_a_reset_link_expires_after_an_hour(app: Flask, client: FlaskClient) -> None:
    org = factories.org()
    worker = factories.user(org)
    db.session.commit()
    secret = app.config["SECRET_KEY"]
    stale = make_token(secret, worker, TokenPurpose.RESET, now=utcnow() - timedelta(minutes=61))
    fresh = make_token(secret, worker, TokenPurpose.RESET, now=utcnow() - timedelta(minutes=59))
    assert client.get(f"/staff/password/new/{stale}").status_code == 400
    assert client.get(f"/staff/password/new/{fresh}").status_code == 200


def test_a_forged_or_mangled_link_is_refused(app: Flask, client: FlaskClient) -> None:
    org = factories.org()
    worker = factories.user(org)
    db.session.commit()
    forged = make_token("some other key", worker, TokenPurpose.RESET, now=utcnow())
    real = make_token(app.config["SECRET_KEY"], worker, TokenPurpose.RESET, now=utcnow())
    for token in (forged, real[:-3] + "AAA", "nonsense"):
        response = client.post(
            f"/staff/password/new/{token}", data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
        )
        assert response.status_code == 400
    db.session.expire_all()
    user = db.session.get(User, worker.id)
    assert user is not None and not verify_password(user.password_hash, NEW_PASSWORD)


def test_an_invited_person_chooses_a_password_and_signs_in(app: Flask, client: FlaskClient) -> None:
    org = factories.org()
    admin = factories.user(org, Role.ADMIN)
    db.session.commit()
    factories.sign_in(client, admin)

    response = client.post(
        "/staff/admin/users/invite",
        data={
            "email": "New.Person@Example.org",
            "name": "New Person",
            "role": "lawyer",
            "locale": "fr",
        },
    )
    assert response.status_code == 302
    invited = db.session.scalars(select(User).where(User.email == "new.person@example.org")).one()
    assert invited.password_hash is None
    assert invited.role is Role.LAWYER
    assert invited.organisation_id == org.id
    assert invited.locale == "fr"

    (email,) = _emails()
    assert email.recipient == "new.person@example.org"
    newcomer = app.test_client()
    page = newcomer.get(_link_path(email))
    assert page.status_code == 200
    assert "Choose your password" in page.get_data(as_text=True)
    done = newcomer.post(
        _link_path(email), data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    )
    assert done.status_code == 302
    # A lawyer's password is only the first step: two-step sign-in comes next.
    signed = sign_in_with_password(newcomer, "new.person@example.org", NEW_PASSWORD)
    assert signed.headers["Location"] == "/staff/sign-in/set-up-two-step"
    assert newcomer.get(_link_path(email)).status_code == 400

    invite_events = db.session.scalars(
        select(AuditEvent).where(AuditEvent.object_id == invited.id).order_by(AuditEvent.id)
    ).all()
    assert [e.action for e in invite_events][:3] == [
        "user.created",
        "user.invitation_sent",
        "password.set",
    ]
    assert invite_events[0].actor_id == admin.id
    for event in invite_events:
        assert "new.person" not in str(event.details).lower()


@pytest.mark.redis
def test_a_known_and_an_unknown_address_cost_the_request_the_same_work(
    app: Flask, client: FlaskClient, redis: Redis
) -> None:
    """The answer's timing must not tell whether an address has an account: the request
    runs the same statements and queues the same job either way; only the worker, after
    the answer has gone, finds out whether there is someone to email."""
    app.config["JOBS_SYNC"] = False
    org = factories.org()
    worker = factories.user(org)
    db.session.commit()
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement)

    work: dict[str, tuple[list[str], list[str | None]]] = {}
    queue = Queue("notifications", connection=redis)
    for label, address in (("known", worker.email), ("unknown", "nobody@example.org")):
        statements.clear()
        queued_before = set(queue.job_ids)
        with event_listening(db.engine, "before_cursor_execute", record):
            response = client.post("/staff/password/forgotten", data={"email": address})
        assert response.status_code == 200
        jobs = [Job.fetch(i, connection=redis) for i in set(queue.job_ids) - queued_before]
        work[label] = (list(statements), [job.func_name for job in jobs])
        # The address itself is never handed to Redis.
        assert all(address not in repr(job.args) for job in jobs)
    assert work["known"] == work["unknown"]
    assert work["known"][1] == ["casework.accounts.jobs.send_password_link_job"]
    assert _emails() == []

    run_worker(app, "--no-sweep")
    db.session.expire_all()
    assert [e.recipient for e in _emails()] == [worker.email]
