"""The helper staff views call to audit what the signed-in user did."""

from __future__ import annotations

from flask import Flask
from flask_login import login_user

from casework.accounts.access import audit_staff_action
from casework.accounts.models import Role
from casework.audit.services import verify_chain
from casework.extensions import db
from tests import factories


def test_it_records_the_user_on_their_organisations_chain(app: Flask) -> None:
    org = factories.org()
    lawyer = factories.user(org, Role.LAWYER)
    case = factories.case(org)
    db.session.commit()

    with app.test_request_context("/staff/notices/1/download"):
        login_user(lawyer)
        event = audit_staff_action(
            "letter.downloaded",
            case_id=case.id,
            object_type="letter",
            object_id=41,
            details={"version": 2},
        )
        db.session.commit()

    assert (event.actor_type, event.actor_id) == ("user", lawyer.id)
    assert (event.chain_id, event.case_id) == (org.id, case.id)
    assert (event.object_type, event.object_id, event.details) == ("letter", 41, {"version": 2})
    assert verify_chain(db.session, org.id).ok
