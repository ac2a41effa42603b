"""Sessions end when they should, copies of their cookie included.

The attack: copy a session cookie (a shared computer, a stolen backup, malware) and
replay it after its owner signed out, changed their password or was deactivated, or
days later. Sessions live on the server, so ending one ends every copy of its cookie;
each also has an absolute lifetime (staff 12 hours, victims 1 hour) whatever the
activity. The clock is moved by rewriting when the session began in the store.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from casework.accounts.models import Role, User
from casework.audit.models import AuditEvent
from casework.cases.models import Case
from casework.extensions import db
from casework.intake.access_codes import generate_access_code, hash_access_code
from casework.orm import utcnow
from casework.sessions.models import SessionKind, WebSession
from casework.sessions.services import PurgeSchedule, open_session, purge_expired
from tests import factories
from tests.factories import csrf_token, sign_in_with_password

COOKIE = "session"
STAFF_PAGE = "/staff/notifications/"


def copy_of(app: Flask, browser: FlaskClient) -> FlaskClient:
    """Another browser holding the same cookie."""
    cookie = browser.get_cookie(COOKIE)
    assert cookie is not None
    thief = app.test_client()
    thief.set_cookie(COOKIE, cookie.value)
    return thief


def signed_in_staff(app: Flask, role: Role = Role.CASEWORKER) -> tuple[User, FlaskClient]:
    member = factories.user(factories.org(), role)
    db.session.commit()
    browser = app.test_client()
    assert sign_in_with_password(browser, member.email).status_code == 302
    assert browser.get(STAFF_PAGE).status_code == 200
    return member, browser


def began_ago(age: timedelta) -> None:
    """Every stored session began this long ago (and was last seen just now)."""
    db.session.execute(update(WebSession).values(created_at=utcnow() - age, last_seen_at=utcnow()))
    db.session.commit()


# Staff


def test_a_staff_cookie_copied_before_sign_out_is_dead_after_it(app: Flask) -> None:
    _, browser = signed_in_staff(app)
    thief = copy_of(app, browser)
    assert thief.get(STAFF_PAGE).status_code == 200

    browser.post("/staff/sign-out")
    assert thief.get(STAFF_PAGE).status_code == 302
    assert thief.post("/staff/account/two-step", data={"code": "123456"}).status_code == 401


def test_signing_out_ends_only_that_session(app: Flask) -> None:
    member, browser = signed_in_staff(app)
    laptop = app.test_client()
    sign_in_with_password(laptop, member.email)
    browser.post("/staff/sign-out")
    assert laptop.get(STAFF_PAGE).status_code == 200


def test_a_password_change_ends_every_copy(app: Flask, client: FlaskClient) -> None:
    member, browser = signed_in_staff(app)
    thief = copy_of(app, browser)
    from casework.accounts.tokens import TokenPurpose, make_token

    token = make_token(app.config["SECRET_KEY"], member, TokenPurpose.RESET, now=utcnow())
    new = "a much longer new passphrase"
    done = client.post(f"/staff/password/new/{token}", data={"password": new, "confirm": new})
    assert done.status_code == 302
    assert thief.get(STAFF_PAGE).status_code == 302
    assert browser.get(STAFF_PAGE).status_code == 302


def _admin_of(app: Flask, member: User) -> FlaskClient:
    admin = factories.user(member.organisation, Role.ADMIN)
    db.session.commit()
    admin_browser = app.test_client()
    factories.sign_in(admin_browser, admin)
    return admin_browser


def test_deactivation_ends_every_copy(app: Flask) -> None:
    member, browser = signed_in_staff(app)
    thief = copy_of(app, browser)
    admin = _admin_of(app, member)
    assert admin.post(f"/staff/admin/users/{member.id}/deactivate").status_code == 302
    assert thief.get(STAFF_PAGE).status_code == 302
    assert db.session.scalars(select(WebSession).where(WebSession.user_id == member.id)).all() == []


def test_an_admin_signs_someone_out_everywhere(app: Flask) -> None:
    member, browser = signed_in_staff(app)
    thief = copy_of(app, browser)
    admin = _admin_of(app, member)
    page = admin.get(f"/staff/admin/users/{member.id}").get_data(as_text=True)
    assert f'action="/staff/admin/users/{member.id}/sign-out-everywhere"' in page

    done = admin.post(f"/staff/admin/users/{member.id}/sign-out-everywhere", follow_redirects=True)
    assert "Every session of this account has ended." in done.get_data(as_text=True)
    assert thief.get(STAFF_PAGE).status_code == 302
    assert browser.get(STAFF_PAGE).status_code == 302
    db.session.expire_all()
    assert db.session.get(User, member.id).is_active_user  # type: ignore[union-attr]
    assert sign_in_with_password(app.test_client(), member.email).status_code == 302
    events = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "user.signed_out_everywhere")
    ).all()
    assert [e.object_id for e in events] == [member.id]
    # The admin's own sessions go on.
    assert admin.get("/staff/admin/").status_code == 200


def test_an_admin_cannot_sign_out_another_organisations_staff(app: Flask) -> None:
    member, browser = signed_in_staff(app)
    stranger_admin = _admin_of(app, factories.user(factories.org()))
    refused = stranger_admin.post(f"/staff/admin/users/{member.id}/sign-out-everywhere")
    assert refused.status_code == 404
    assert browser.get(STAFF_PAGE).status_code == 200


def test_a_staff_session_ends_twelve_hours_after_sign_in_however_busy(app: Flask) -> None:
    _, browser = signed_in_staff(app)
    began_ago(timedelta(hours=11, minutes=55))
    assert browser.get(STAFF_PAGE).status_code == 200
    began_ago(timedelta(hours=12, minutes=1))
    ended = browser.get(STAFF_PAGE)
    assert ended.status_code == 302
    assert ended.headers["Location"].startswith("/staff/sign-in")
    assert browser.get(STAFF_PAGE).status_code == 302


def test_the_server_idle_clock_ends_a_replayed_cookie(app: Flask) -> None:
    """The cookie's own idle clock is whatever the cookie says; the server's is not."""
    _, browser = signed_in_staff(app)
    thief = copy_of(app, browser)
    db.session.execute(update(WebSession).values(last_seen_at=utcnow() - timedelta(minutes=31)))
    db.session.commit()
    assert thief.get(STAFF_PAGE).status_code == 302


class TestLifetimesAreSettings:
    @pytest.fixture
    def app_config(self, app_config: dict[str, Any]) -> dict[str, Any]:
        return {**app_config, "STAFF_SESSION_HOURS": 2, "VICTIM_SESSION_MINUTES": 10}

    def test_a_shorter_staff_lifetime(self, app: Flask) -> None:
        _, browser = signed_in_staff(app)
        began_ago(timedelta(hours=2, minutes=1))
        assert browser.get(STAFF_PAGE).status_code == 302

    def test_a_shorter_victim_lifetime(self, app: Flask) -> None:
        browser, _ = signed_in_victim(app)
        began_ago(timedelta(minutes=11))
        assert browser.get("/my-case/case").status_code == 302


# Victims


def victim_case(code: str) -> Case:
    case = factories.case(factories.org(), access_code_hash=hash_access_code(code))
    case.contact_email = "her@example.org"
    db.session.commit()
    return case


def victim_sign_in(browser: FlaskClient, case: Case, code: str) -> Any:
    return browser.post("/my-case/", data={"reference": case.reference, "code": code})


def signed_in_victim(app: Flask) -> tuple[FlaskClient, Case]:
    code = generate_access_code()
    case = victim_case(code)
    browser = app.test_client()
    assert victim_sign_in(browser, case, code).status_code == 302
    assert browser.get("/my-case/case").status_code == 200
    return browser, case


def opens_case(browser: FlaskClient) -> bool:
    return browser.get("/my-case/case").status_code == 200


def test_a_victim_cookie_copied_before_sign_out_is_dead_after_it(app: Flask) -> None:
    browser, case = signed_in_victim(app)
    thief = copy_of(app, browser)
    browser.post("/my-case/sign-out")
    assert not opens_case(thief)
    thief.post("/my-case/contact", data={"language": "en", "contact": "none"})
    db.session.expire_all()
    assert db.session.get(Case, case.id).contact_email == "her@example.org"  # type: ignore[union-attr]


def test_using_the_access_code_again_ends_the_earlier_sessions(app: Flask) -> None:
    code = generate_access_code()
    case = victim_case(code)
    first = app.test_client()
    victim_sign_in(first, case, code)
    thief = copy_of(app, first)
    assert opens_case(thief)

    second = app.test_client()
    assert victim_sign_in(second, case, code).status_code == 302
    assert opens_case(second)
    assert not opens_case(first)
    assert not opens_case(thief)


def test_withdrawing_ends_every_copy_but_keeps_the_withdrawing_browser_in(app: Flask) -> None:
    browser, _ = signed_in_victim(app)
    thief = copy_of(app, browser)
    done = browser.post("/my-case/withdraw", data={"confirm": "y"})
    assert done.headers["Location"].endswith("/my-case/case")
    assert opens_case(browser)
    assert not opens_case(thief)


def test_deleting_ends_every_copy(app: Flask) -> None:
    browser, _ = signed_in_victim(app)
    thief = copy_of(app, browser)
    browser.post("/my-case/delete", data={"confirm": "y"})
    assert not opens_case(thief)
    assert db.session.scalars(select(WebSession)).all() == []


def test_a_victim_session_ends_an_hour_after_sign_in_however_busy(app: Flask) -> None:
    browser, _ = signed_in_victim(app)
    began_ago(timedelta(minutes=59))
    assert opens_case(browser)
    began_ago(timedelta(minutes=61))
    assert not opens_case(browser)


def test_the_store_keeps_only_a_hash_of_the_session_token(app: Flask) -> None:
    browser, _ = signed_in_victim(app)
    with browser.session_transaction() as stored:
        token = str(stored["sid"])
    rows = db.session.scalars(select(WebSession)).all()
    assert len(rows) == 1 and len(token) >= 32
    assert token not in {rows[0].token_hash}


class TestWithCsrf:
    @pytest.fixture
    def app_config(self, app_config: dict[str, Any]) -> dict[str, Any]:
        return {**app_config, "WTF_CSRF_ENABLED": True}

    def test_a_csrf_token_from_an_ended_staff_session_is_refused(self, app: Flask) -> None:
        member = factories.user(factories.org())
        db.session.commit()
        browser = app.test_client()
        sign_in_with_password(browser, member.email, with_csrf_token=True)
        old_token = csrf_token(browser, "/staff/account")
        thief = copy_of(app, browser)
        browser.post("/staff/sign-out", data={"csrf_token": old_token})

        replayed = thief.post("/staff/sign-out", data={"csrf_token": old_token})
        assert replayed.status_code in (400, 401)
        # The same browser, signed in again, cannot use it either.
        sign_in_with_password(browser, member.email, with_csrf_token=True)
        assert browser.post("/staff/sign-out", data={"csrf_token": old_token}).status_code == 400

    def test_a_csrf_token_from_an_ended_victim_session_is_refused(self, app: Flask) -> None:
        code = generate_access_code()
        case = victim_case(code)
        browser = app.test_client()
        browser.post(
            "/my-case/",
            data={
                "reference": case.reference,
                "code": code,
                "csrf_token": csrf_token(browser, "/my-case/"),
            },
        )
        old_token = csrf_token(browser, "/my-case/case")
        thief = copy_of(app, browser)
        browser.post("/my-case/sign-out", data={"csrf_token": old_token})

        thief.post(
            "/my-case/contact",
            data={"language": "en", "contact": "none", "csrf_token": old_token},
        )
        db.session.expire_all()
        assert db.session.get(Case, case.id).contact_email == "her@example.org"  # type: ignore[union-attr]


# The store is kept small: sessions past their absolute lifetime are deleted.


def test_the_purge_deletes_expired_sessions_of_both_kinds_and_keeps_live_ones(
    app: Flask,
) -> None:
    staff, _ = signed_in_staff(app)
    _, case = signed_in_victim(app)
    now = utcnow()
    began = {
        SessionKind.STAFF: now - timedelta(hours=13),
        SessionKind.VICTIM: now - timedelta(minutes=61),
    }
    for kind, at in began.items():
        token = open_session(
            db.session,
            kind,
            now=at,
            user_id=staff.id if kind is SessionKind.STAFF else None,
            case=case if kind is SessionKind.VICTIM else None,
        )
        assert token
    db.session.commit()
    expired = set(
        db.session.scalars(
            select(WebSession.id).where(WebSession.created_at < now - timedelta(minutes=60))
        )
    )
    assert len(expired) == 2
    purge_expired(db.session, app.config, now=now)
    db.session.commit()
    left = set(db.session.scalars(select(WebSession.id)))
    assert not expired & left
    assert len(left) == 2  # the two browsers signed in above


def test_a_process_purges_at_most_once_an_interval() -> None:
    schedule = PurgeSchedule(timedelta(minutes=5))
    start = utcnow()
    assert schedule.due(start)
    assert not schedule.due(start + timedelta(minutes=4, seconds=59))
    assert schedule.due(start + timedelta(minutes=5))
    assert not schedule.due(start + timedelta(minutes=6))
