"""Factories for test data, so tests state only what matters to them."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import Any

from casework.accounts.models import Organisation, Role, User
from casework.accounts.services import create_user, get_or_create_organisation
from casework.actors import SYSTEM, Actor
from casework.cases.models import Case, FilerRole, MinorStatus
from casework.cases.services import NewCase, NewItem, open_case
from casework.evidence.xlinks import parse_x_link
from casework.extensions import db

PASSWORD = "correct horse battery staple"
_counter = itertools.count(1)
# A real-looking snowflake base (2026-01-05) so posted_at decodes to a sensible time.
_STATUS_BASE = 2008000000000000000


def org(slug: str | None = None, **fields: Any) -> Organisation:
    n = next(_counter)
    organisation = get_or_create_organisation(db.session, slug or f"org-{n}", f"Organisation {n}")
    for key, value in fields.items():
        setattr(organisation, key, value)
    db.session.flush()
    return organisation


def user(organisation: Organisation, role: Role = Role.CASEWORKER, **fields: Any) -> User:
    n = next(_counter)
    created = create_user(
        db.session,
        organisation=organisation,
        email=fields.pop("email", f"user{n}@{organisation.slug}.example"),
        name=fields.pop("name", f"User {n}"),
        role=role,
        password=fields.pop("password", PASSWORD),
        actor=SYSTEM,
    )
    for key, value in fields.items():
        setattr(created, key, value)
    db.session.flush()
    return created


def status_id() -> int:
    return _STATUS_BASE + next(_counter) * 7919


def post_url(handle: str = "poster", sid: int | None = None) -> str:
    return f"https://x.com/{handle}/status/{sid or status_id()}"


def case(
    organisation: Organisation,
    *,
    links: list[str] | None = None,
    minor: MinorStatus = MinorStatus.NO,
    country: str | None = "US",
    region: str | None = None,
    actor: Actor = SYSTEM,
    **fields: Any,
) -> Case:
    items = [NewItem(post=parse_x_link(url)) for url in (links or [post_url()])]
    created = open_case(
        db.session,
        NewCase(
            organisation_id=organisation.id,
            minor=minor,
            filer_role=FilerRole.SUBJECT,
            country=country,
            region=region,
            consent=True,
        ),
        items,
        actor,
    )
    for key, value in fields.items():
        setattr(created, key, value)
    db.session.flush()
    return created


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def sign_in(client: Any, staff: User) -> None:
    """Put a fully signed-in staff session (password and any second factor done) in the client."""
    with client.session_transaction() as flask_session:
        flask_session["_user_id"] = staff.get_id()
        flask_session["_fresh"] = True
        flask_session["mfa_ok"] = True
