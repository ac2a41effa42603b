"""Factories for test data, so tests state only what matters to them."""

from __future__ import annotations

import itertools
import re
from datetime import UTC, datetime
from typing import Any, TypeVar

from casework.accounts import totp
from casework.accounts.models import Organisation, Role, User
from casework.accounts.services import create_user, get_or_create_organisation
from casework.actors import SYSTEM, Actor
from casework.cases.models import Case, FilerRole, MinorStatus
from casework.cases.readiness import refresh_legal_ready
from casework.cases.services import NewCase, NewItem, open_case
from casework.evidence.xlinks import parse_x_link
from casework.extensions import db

Row = TypeVar("Row")

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
    # A case made in a given state is as ready for legal action as one moved there.
    refresh_legal_ready(db.session, [created.id])
    return created


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def sign_in(client: Any, staff: User) -> None:
    """Put a fully signed-in staff session (password and any second factor done) in the client.

    A session stored on the server and these four keys are all the staff gate needs;
    the idle clock starts at the first request.
    """
    from casework.orm import utcnow
    from casework.sessions.models import SessionKind
    from casework.sessions.services import open_session

    token = open_session(db.session, SessionKind.STAFF, now=utcnow(), user_id=staff.id)
    # Committed, as sign-in commits it: a view that rolls back must not sign the client out.
    db.session.commit()
    with client.session_transaction() as flask_session:
        flask_session["sid"] = token
        flask_session["_user_id"] = staff.get_id()
        flask_session["_fresh"] = True
        flask_session["mfa_ok"] = True


def reloaded(model: type[Row], row_id: int) -> Row:
    """The row as the database holds it now, not as this session last saw it."""
    db.session.expire_all()
    return db.session.get_one(model, row_id)


def with_totp(staff: User) -> str:
    """Give a user a second factor; returns the secret so a test can make codes."""
    secret = totp.new_secret()
    staff.totp_secret = secret
    db.session.flush()
    return secret


def sign_in_with_password(
    client: Any,
    email: str,
    password: str = PASSWORD,
    *,
    next_url: str | None = None,
    with_csrf_token: bool = False,
) -> Any:
    """Post the sign-in form as a person would; returns the response (not followed).

    with_csrf_token: first open the sign-in page and send its token, as a browser does
    when CSRF protection is on."""
    data = {"email": email, "password": password}
    if next_url is not None:
        data["next"] = next_url
    if with_csrf_token:
        data["csrf_token"] = csrf_token(client, "/staff/sign-in")
    return client.post("/staff/sign-in", data=data)


def image_bytes(seed: int, size: int = 96) -> bytes:
    """A small, distinct PNG: a few coloured rectangles placed by the seed."""
    import io
    import random

    from PIL import Image, ImageDraw

    rng = random.Random(seed)
    img = Image.new("RGB", (size, size), (rng.randrange(256), rng.randrange(256), 40))
    draw = ImageDraw.Draw(img)
    for _ in range(6):
        x, y = rng.randrange(size), rng.randrange(size)
        draw.rectangle(
            (x, y, x + size // 3, y + size // 4), fill=tuple(rng.randrange(256) for _ in range(3))
        )
    buffer = io.BytesIO()
    img.save(buffer, "PNG")
    return buffer.getvalue()


def evidence(
    case_: Case, *, item: Any = None, seed: int | None = None, pdq: str | None = None
) -> Any:
    """A stored evidence image for the case, as a report or the case page stores one:
    through the real storage, matched with other cases and audited."""
    from dataclasses import replace

    from flask import current_app

    from casework.cases.services import evidence_added
    from casework.evidence.files import evidence_storage, store_image
    from casework.evidence.images import sanitise_image
    from casework.intake.services import record_evidence_added

    image = sanitise_image(
        image_bytes(seed if seed is not None else next(_counter)), max_bytes=10**7
    )
    if pdq is not None:
        image = replace(image, pdq=pdq)
    storage = evidence_storage(current_app.config, db.session)
    stored = store_image(db.session, case_, storage, image, original_name=None, new_keys=[])
    stored.item_id = item.id if item is not None else None
    db.session.flush()
    evidence_added(db.session, case_, [stored])
    record_evidence_added(db.session, case_, [stored])
    return stored


def notice(case_: Case, route_key: str = "us.tida.removal", **fields: Any) -> Any:
    from casework.notices.models import Notice, NoticeItem, NoticeState

    created = Notice(
        case_id=case_.id,
        route_key=route_key,
        jurisdiction=route_key.split(".")[0].upper(),
        state=fields.pop("state", NoticeState.SENT),
        sent_at=fields.pop("sent_at", datetime(2026, 1, 6, 12, 0, tzinfo=UTC)),
        **fields,
    )
    created.items = [NoticeItem(item_id=item.id) for item in case_.items]
    db.session.add(created)
    refresh_legal_ready(db.session, [case_.id])
    return created


def letter(
    case_: Case,
    notice_: Any = None,
    *,
    route_key: str | None = None,
    pdf: bytes = b"%PDF-1.4\n%%EOF\n",
    **fields: Any,
) -> Any:
    """A stored letter row with placeholder template data: for tests about the row (who may
    read it, what deletion takes with it), not about making letters."""
    import hashlib

    from casework.notices.models import Letter

    created = Letter(
        case_id=case_.id,
        notice_id=notice_.id if notice_ is not None else None,
        route_key=route_key or notice_.route_key,
        version=fields.pop("version", 1),
        template=fields.pop("template", "t"),
        template_version=fields.pop("template_version", "1"),
        registry_version=fields.pop("registry_version", "1"),
        data_snapshot=fields.pop("data_snapshot", {}),
        pdf=pdf,
        sha256=hashlib.sha256(pdf).hexdigest(),
        **fields,
    )
    db.session.add(created)
    db.session.flush()
    return created


def deadline(notice_: Any, due_at: datetime, **fields: Any) -> Any:
    from casework.cases.worklists import refresh_sort_deadline
    from casework.deadlines.models import Deadline

    created = Deadline(notice_id=notice_.id, case_id=notice_.case_id, due_at=due_at, **fields)
    db.session.add(created)
    db.session.flush()
    refresh_sort_deadline(db.session, db.session.get_one(Case, notice_.case_id))
    return created


_CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_token(client: Any, path: str = "/", **request_options: Any) -> str:
    """The CSRF token of the client's session, read from a page's form as a browser would."""
    page = client.get(path, **request_options).get_data(as_text=True)
    match = _CSRF_RE.search(page)
    assert match, f"no csrf_token field on {path}"
    return match.group(1)


_PREVIEW_RE = re.compile(r'name="preview" type="hidden" value="([^"]+)"')


def preview_token(page: str) -> str:
    """The signed preview of a list of links, from a page's import confirmation form."""
    match = _PREVIEW_RE.search(page)
    assert match, page
    return match.group(1)


def status_id_of(url: str) -> int:
    """The status id a link to a post ends with (post_url's sid)."""
    return int(url.rsplit("/", 1)[1])
