"""Admin pages: only admins, only their own organisation, every action audited."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, text

from casework.accounts import totp
from casework.accounts.models import Role, User
from casework.actors import SYSTEM
from casework.audit.models import AuditEvent
from casework.audit.services import record_event
from casework.extensions import db
from casework.orm import utcnow
from tests import factories
from tests.factories import sign_in_with_password


def _admin_client(app: Flask, admin: User) -> FlaskClient:
    client = app.test_client()
    factories.sign_in(client, admin)
    return client


def _audit(action: str) -> list[AuditEvent]:
    return list(
        db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
        )
    )


ADMIN_PAGES = [
    ("get", "/staff/admin/"),
    ("get", "/staff/admin/audit"),
    ("get", "/staff/admin/users/{other}"),
    ("post", "/staff/admin/users/invite"),
    ("post", "/staff/admin/users/{other}/role"),
    ("post", "/staff/admin/users/{other}/deactivate"),
    ("post", "/staff/admin/users/{other}/reactivate"),
    ("post", "/staff/admin/users/{other}/reset-two-step"),
    ("post", "/staff/admin/users/{other}/sign-out-everywhere"),
    ("post", "/staff/admin/users/{other}/invite-again"),
    ("post", "/staff/admin/audit/verify"),
]


@pytest.mark.parametrize("role", [Role.CASEWORKER, Role.LAWYER])
def test_caseworkers_and_lawyers_get_403_on_every_admin_page(
    app: Flask, client: FlaskClient, role: Role
) -> None:
    org = factories.org()
    person = factories.user(org, role)
    other = factories.user(org)
    db.session.commit()
    factories.sign_in(client, person)
    for method, path in ADMIN_PAGES:
        response = getattr(client, method)(path.format(other=other.id), data={"role": "admin"})
        assert response.status_code == 403, (method, path)
    assert factories.reloaded(User, other.id).role is Role.CASEWORKER
    assert factories.reloaded(User, other.id).is_active_user
    assert "Admin" not in client.get("/staff/notifications/").get_data(as_text=True)


def test_an_admin_cannot_see_or_change_another_organisations_users(app: Flask) -> None:
    ours, theirs = factories.org(), factories.org()
    admin = factories.user(ours, Role.ADMIN)
    stranger = factories.user(theirs, Role.CASEWORKER, name="Stranger Person")
    factories.with_totp(stranger)
    db.session.commit()
    client = _admin_client(app, admin)

    assert "Stranger Person" not in client.get("/staff/admin/").get_data(as_text=True)
    for method, path in ADMIN_PAGES:
        if "{other}" not in path:
            continue
        response = getattr(client, method)(path.format(other=stranger.id), data={"role": "admin"})
        assert response.status_code == 404, (method, path)
    untouched = factories.reloaded(User, stranger.id)
    assert untouched.role is Role.CASEWORKER
    assert untouched.is_active_user
    assert untouched.totp_secret is not None
    assert not [
        e
        for e in db.session.scalars(select(AuditEvent))
        if e.action.startswith("user.") and e.actor_id == admin.id
    ]


def test_the_admin_page_lists_the_organisations_staff(app: Flask) -> None:
    org = factories.org()
    admin = factories.user(org, Role.ADMIN)
    factories.user(org, Role.LAWYER, name="Lea Lawyer")
    factories.user(org, name="Invited Person", password_hash=None)
    db.session.commit()
    page = _admin_client(app, admin).get("/staff/admin/").get_data(as_text=True)
    assert "Lea Lawyer" in page
    assert "Invited Person" in page
    assert "Invited" in page


def test_an_invitation_with_a_bad_or_taken_address_keeps_what_was_typed(app: Flask) -> None:
    org = factories.org()
    admin = factories.user(org, Role.ADMIN)
    taken = factories.user(org)
    db.session.commit()
    client = _admin_client(app, admin)

    bad = client.post(
        "/staff/admin/users/invite",
        data={"email": "not-an-address", "name": "Sam Person", "role": "lawyer", "locale": "en"},
    )
    assert bad.status_code == 400
    page = bad.get_data(as_text=True)
    assert "Enter an email address, like name@example.org." in page
    assert 'value="Sam Person"' in page

    duplicate = client.post(
        "/staff/admin/users/invite",
        data={"email": taken.email, "name": "Sam Person", "role": "lawyer", "locale": "en"},
    )
    assert duplicate.status_code == 400
    assert "already exists" in duplicate.get_data(as_text=True)
    assert db.session.scalars(select(User).where(User.name == "Sam Person")).all() == []
    assert _audit("user.invitation_sent") == []


def test_changing_a_role_ends_the_persons_sessions(app: Flask) -> None:
    org = factories.org()
    admin = factories.user(org, Role.ADMIN)
    worker = factories.user(org)
    db.session.commit()
    worker_client = app.test_client()
    sign_in_with_password(worker_client, worker.email)

    client = _admin_client(app, admin)
    assert (
        client.post(f"/staff/admin/users/{worker.id}/role", data={"role": "admin"}).status_code
        == 302
    )
    assert factories.reloaded(User, worker.id).role is Role.ADMIN
    assert worker_client.get("/staff/notifications/").status_code == 302
    # As an admin now, they must set up two-step sign-in first.
    assert sign_in_with_password(worker_client, worker.email).headers["Location"] == (
        "/staff/sign-in/set-up-two-step"
    )
    (event,) = _audit("user.role_changed")
    assert (event.actor_id, event.object_id, event.chain_id) == (admin.id, worker.id, org.id)
    assert event.details == {"previous": "caseworker", "role": "admin"}


def test_deactivate_and_reactivate(app: Flask) -> None:
    org = factories.org()
    admin = factories.user(org, Role.ADMIN)
    worker = factories.user(org)
    db.session.commit()
    client = _admin_client(app, admin)

    client.post(f"/staff/admin/users/{worker.id}/deactivate")
    assert not factories.reloaded(User, worker.id).is_active_user
    assert sign_in_with_password(app.test_client(), worker.email).status_code == 200

    client.post(f"/staff/admin/users/{worker.id}/reactivate")
    assert factories.reloaded(User, worker.id).is_active_user
    assert sign_in_with_password(app.test_client(), worker.email).status_code == 302
    assert [e.object_id for e in _audit("user.deactivated")] == [worker.id]
    assert [e.object_id for e in _audit("user.reactivated")] == [worker.id]


def test_an_admin_cannot_deactivate_or_demote_themselves(app: Flask) -> None:
    org = factories.org()
    admin = factories.user(org, Role.ADMIN)
    db.session.commit()
    client = _admin_client(app, admin)

    response = client.post(f"/staff/admin/users/{admin.id}/deactivate", follow_redirects=True)
    assert "Ask another admin to change your own account." in response.get_data(as_text=True)
    client.post(f"/staff/admin/users/{admin.id}/role", data={"role": "caseworker"})
    me = factories.reloaded(User, admin.id)
    assert me.is_active_user
    assert me.role is Role.ADMIN
    assert client.get("/staff/admin/").status_code == 200
    assert _audit("user.deactivated") == _audit("user.role_changed") == []


def test_resetting_someones_totp_makes_them_enrol_again(app: Flask) -> None:
    org = factories.org()
    admin = factories.user(org, Role.ADMIN)
    other_admin = factories.user(org, Role.ADMIN)
    factories.with_totp(other_admin)
    db.session.commit()
    their_session = app.test_client()
    factories.sign_in(their_session, other_admin)
    assert their_session.get("/staff/admin/").status_code == 200

    _admin_client(app, admin).post(f"/staff/admin/users/{other_admin.id}/reset-two-step")
    reset = factories.reloaded(User, other_admin.id)
    assert reset.totp_secret is None
    assert their_session.get("/staff/admin/").status_code == 302
    next_time = sign_in_with_password(app.test_client(), other_admin.email)
    assert next_time.headers["Location"] == "/staff/sign-in/set-up-two-step"
    assert [e.object_id for e in _audit("user.totp_reset")] == [other_admin.id]


def test_the_audit_page_lists_and_filters_the_organisations_events(app: Flask) -> None:
    org, other_org = factories.org(), factories.org()
    admin = factories.user(org, Role.ADMIN, name="Ada Admin")
    ours = factories.case(org)
    theirs = factories.case(other_org)
    record_event(db.session, "evidence.viewed", SYSTEM, chain_id=org.id, case_id=ours.id)
    record_event(db.session, "evidence.viewed", SYSTEM, chain_id=other_org.id, case_id=theirs.id)
    record_event(db.session, "auth.sign_in", SYSTEM, chain_id=org.id, object_type="user")
    db.session.commit()
    client = _admin_client(app, admin)

    page = client.get("/staff/admin/audit").get_data(as_text=True)
    assert ours.reference in page
    assert theirs.reference not in page
    assert "auth.sign_in" in page

    by_case = client.get("/staff/admin/audit", query_string={"reference": ours.reference})
    assert by_case.status_code == 200
    body = by_case.get_data(as_text=True)
    assert "evidence.viewed" in body
    assert "<code>auth.sign_in</code>" not in body

    by_action = client.get("/staff/admin/audit", query_string={"action": "auth.sign_in"})
    assert "<code>evidence.viewed</code>" not in by_action.get_data(as_text=True)

    # Another organisation's case is as unknown as a case that does not exist.
    foreign = client.get("/staff/admin/audit", query_string={"reference": theirs.reference})
    assert foreign.status_code == 404
    assert "No case of your organisation has this reference." in foreign.get_data(as_text=True)
    assert f'value="{theirs.reference}"' in foreign.get_data(as_text=True)


def test_check_the_chain_reports_intact_then_names_the_tampered_event(app: Flask) -> None:
    org = factories.org()
    admin = factories.user(org, Role.ADMIN)
    factories.case(org)
    db.session.commit()
    admin_id = admin.id
    client = _admin_client(app, admin)

    intact = client.post("/staff/admin/audit/verify", follow_redirects=True)
    assert "The audit trail is intact" in intact.get_data(as_text=True)

    victim = db.session.scalars(
        select(AuditEvent).where(AuditEvent.chain_id == org.id).order_by(AuditEvent.seq)
    ).first()
    assert victim is not None
    victim_id = victim.id
    db.session.execute(
        text("UPDATE audit_events SET details = :d WHERE id = :id"),
        {"d": '{"forged": true}', "id": victim_id},
    )
    db.session.commit()
    db.session.expunge_all()

    broken = client.post("/staff/admin/audit/verify", follow_redirects=True)
    page = broken.get_data(as_text=True)
    assert "The audit trail has been altered" in page
    assert f"event {victim_id} " in page
    assert "its content was changed after it was written" in page
    checks = _audit("audit.verified")
    assert [e.details["ok"] for e in checks] == [True, False]
    assert all(e.actor_id == admin_id for e in checks)


def test_admin_sign_in_with_totp_reaches_the_admin_pages(app: Flask, client: FlaskClient) -> None:
    org = factories.org()
    admin = factories.user(org, Role.ADMIN)
    secret = factories.with_totp(admin)
    db.session.commit()
    assert sign_in_with_password(client, admin.email).headers["Location"] == "/staff/sign-in/code"
    assert client.get("/staff/admin/").status_code == 302
    client.post("/staff/sign-in/code", data={"code": totp.code_at(secret, utcnow())})
    assert client.get("/staff/admin/").status_code == 200


def test_inviting_another_organisations_staff_answers_as_for_a_new_address(app: Flask) -> None:
    """An invitation must not tell an admin who works at another organisation."""
    from casework.notifications.models import OutgoingEmail

    org, elsewhere = factories.org(), factories.org(name="Other Shelter")
    admin = factories.user(org, Role.ADMIN)
    staff_elsewhere = factories.user(elsewhere, Role.LAWYER, name="Their Lawyer")
    db.session.commit()
    client = _admin_client(app, admin)

    def invite(email: str) -> tuple[int, str, str]:
        response = client.post(
            "/staff/admin/users/invite",
            data={"email": email, "name": "Sam Person", "role": "lawyer", "locale": "en"},
        )
        page = client.get(response.headers["Location"]).get_data(as_text=True)
        flashed = page[page.index('class="flash') :][:300]
        return response.status_code, response.headers["Location"], flashed

    assert invite(staff_elsewhere.email) == invite("brand.new@example.org")
    # Nothing changed for the person elsewhere, and no account was made for them here.
    person = factories.reloaded(User, staff_elsewhere.id)
    assert (person.organisation_id, person.name, person.role) == (
        elsewhere.id,
        "Their Lawyer",
        Role.LAWYER,
    )
    assert db.session.scalars(select(User.email).where(User.organisation_id == org.id)).all() == [
        admin.email,
        "brand.new@example.org",
    ]
    # They are told, in an email that belongs to their own organisation.
    (told,) = db.session.scalars(
        select(OutgoingEmail).where(OutgoingEmail.recipient == staff_elsewhere.email)
    ).all()
    assert told.organisation_id == elsewhere.id
    assert "already has an account" in told.body
