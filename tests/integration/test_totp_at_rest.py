"""Second-factor secrets are encrypted at rest, like evidence.

Whoever reads the users table (a backup, a replica, an injection) must not be able
to make anyone's codes: the stored value is AES-256-GCM under the evidence key,
bound to its user and slot, so it cannot even be copied onto another account.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import downgrade, upgrade
from sqlalchemy import text

from casework.accounts import totp
from casework.accounts.models import Role, User
from casework.evidence.crypto import EvidenceDecryptError
from casework.extensions import db
from casework.orm import utcnow
from tests import factories
from tests.factories import sign_in_with_password

BASE32_SECRET = re.compile(r"\b[A-Z2-7]{16,}\b")


def stored(user_id: int) -> tuple[str | None, str | None]:
    row = db.session.execute(
        text("SELECT totp_secret, totp_pending_secret FROM users WHERE id = :id"), {"id": user_id}
    ).one()
    return row[0], row[1]


def shown_secret(html: str) -> str:
    match = re.search(r"secret=([A-Z2-7]+)", html)
    assert match, html
    return match.group(1)


def test_a_secret_enrolled_through_the_pages_is_never_stored_in_clear(
    app: Flask, client: FlaskClient
) -> None:
    org = factories.org()
    admin = factories.user(org, Role.ADMIN)
    db.session.commit()
    sign_in_with_password(client, admin.email, next_url="/staff/admin/")
    page = client.get("/staff/sign-in/set-up-two-step").get_data(as_text=True)
    secret = shown_secret(page)

    pending, active = stored(admin.id)[1], stored(admin.id)[0]
    assert active is None
    assert pending is not None and secret not in pending
    assert not BASE32_SECRET.search(pending)

    done = client.post(
        "/staff/sign-in/set-up-two-step", data={"code": totp.code_at(secret, utcnow())}
    )
    assert done.status_code == 302
    active, pending = stored(admin.id)
    assert pending is None
    assert active is not None and secret not in active
    assert not BASE32_SECRET.search(active)

    # The next sign-in still takes a code from the same app.
    other = app.test_client()
    sign_in_with_password(other, admin.email)
    later = other.post(
        "/staff/sign-in/code", data={"code": totp.code_at(secret, utcnow() + timedelta(seconds=30))}
    )
    assert later.status_code == 302


def test_a_stored_secret_copied_onto_another_account_does_not_open(app: Flask) -> None:
    org = factories.org()
    victim, attacker = factories.user(org), factories.user(org)
    factories.with_totp(victim)
    db.session.commit()
    sealed, _ = stored(victim.id)
    db.session.execute(
        text("UPDATE users SET totp_secret = :s WHERE id = :id"), {"s": sealed, "id": attacker.id}
    )
    db.session.commit()
    db.session.expire_all()
    with pytest.raises(EvidenceDecryptError):
        _ = db.session.get_one(User, attacker.id).totp_secret


def test_the_migration_seals_secrets_stored_in_clear_and_opens_them_going_down(
    app: Flask,
) -> None:
    org = factories.org()
    person = factories.user(org)
    db.session.commit()
    downgrade(revision="18845368e8b1")
    secret = totp.new_secret()
    db.session.execute(
        text("UPDATE users SET totp_secret = :s WHERE id = :id"), {"s": secret, "id": person.id}
    )
    db.session.commit()

    upgrade()
    sealed, _ = stored(person.id)
    assert sealed is not None and not BASE32_SECRET.search(sealed)
    db.session.expire_all()
    assert db.session.get_one(User, person.id).totp_secret == secret
    # Migrations alter the table: this session must hold no lock on it meanwhile.
    db.session.commit()

    downgrade(revision="18845368e8b1")
    assert stored(person.id)[0] == secret
    db.session.commit()
    upgrade()
