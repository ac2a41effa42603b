"""What the API does, through the domain functions staff pages use: a case is opened as
assisted intake opens one (the same form checks, report_from_form, submit_report), posts
are added as on the case screen, screenshots go through the same upload pipeline.

Nothing here commits: the view saves each request's changes whole, or not at all.
"""

from __future__ import annotations

import base64
import binascii
import io
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext
from sqlalchemy import func, select
from werkzeug.datastructures import MultiDict

from casework.accounts.models import ApiToken, Role, User
from casework.actors import Actor
from casework.api.schemas import (
    CaseOut,
    DeadlineOut,
    DeadlinesOut,
    NewCaseIn,
    NewPostsIn,
    NoticeOut,
    NoticesOut,
    PostOut,
    ScreenshotsIn,
)
from casework.audit.events import case_change
from casework.audit.services import record_events
from casework.cases import services as case_services
from casework.cases.models import Case, Item
from casework.cases.references import normalise_reference
from casework.deadlines.models import Deadline
from casework.evidence.files import image_count, images_allowed
from casework.evidence.images import SanitisedImage
from casework.evidence.models import EvidenceFile
from casework.evidence.storage import EvidenceStorage
from casework.evidence.xlinks import LinkList, XLinkError, parse_x_link, read_link_lines
from casework.intake import messages as intake_messages
from casework.intake.assisted import (
    ACCESS_EMAIL,
    ACCESS_NONE,
    AssistedIntakeForm,
    details_form,
    report_from_form,
)
from casework.intake.messages import X_LINK_MESSAGES
from casework.intake.services import IntakeError, StaffFiling, Submission, submit_report
from casework.intake.uploads import MAX_IMAGES_PER_CASE, sanitise_uploads
from casework.notices.models import Notice
from casework.orm import DbSession
from casework.security import CleanFields

# Roles that may write through the API, as on the staff pages that open and add to cases.
WRITING_ROLES = frozenset({Role.CASEWORKER, Role.ADMIN})
# The API's names for the assisted intake form's fields, where they differ.
_FIELD_NAMES = {"links": "posts"}


@dataclass
class ApiProblem(Exception):
    """A refused request: HTTP status, a stable code, a sentence, and messages by field."""

    status: int
    code: str
    message: str
    fields: dict[str, list[str]] = field(default_factory=dict)


def invalid(fields: Mapping[str, list[str]], message: str | None = None) -> ApiProblem:
    return ApiProblem(
        422,
        "invalid",
        message or gettext("Some of what was sent is not valid; see fields."),
        dict(fields),
    )


def actor_of(token: ApiToken) -> Actor:
    return Actor.staff(token.user.id, token.user.role.value)


def require_writer(token: ApiToken) -> None:
    if token.user.role not in WRITING_ROLES:
        raise ApiProblem(
            403, "forbidden", gettext("This token's user may read cases but not change them.")
        )


def find_case(session: DbSession, organisation_id: int, reference: str) -> Case | None:
    """The organisation's case with this reference; another organisation's is not found."""
    normalised = normalise_reference(reference)
    if normalised is None:
        return None
    return session.scalar(
        select(Case).where(Case.reference == normalised, Case.organisation_id == organisation_id)
    )


def note_api_write(session: DbSession, token: ApiToken, case: Case, operation: str) -> None:
    """Which token made a change, beside the domain's own events: a revoked token's work
    can be found."""
    record_events(
        session,
        [case_change(actor_of(token), case, "api.write", token_id=token.id, operation=operation)],
    )


# ---------------------------------------------------------------- opening a case


def _assisted_formdata(body: NewCaseIn) -> CleanFields:
    """The answers as the assisted intake page would post them (NUL dropped, as there)."""
    pairs: list[tuple[str, str]] = [
        ("filer", body.filer),
        ("relationship", body.relationship or ""),
        ("minor", body.minor),
        ("links", "\n".join(post.url for post in body.posts)),
        ("country", body.country),
        ("region", body.region or ""),
        ("language", body.language),
        ("contact", body.contact),
        ("email", body.email or ""),
        ("access", body.access),
    ]
    pairs += [("actions", action) for action in body.actions]
    if body.authority:
        pairs.append(("authority", "y"))
    if body.consent:
        pairs.append(("consent", "y"))
    return CleanFields(MultiDict([(name, _encodable(value)) for name, value in pairs]))


def _encodable(text: str) -> str:
    # JSON may carry lone surrogates, which no database can store.
    return text.encode("utf-8", "replace").decode("utf-8")


def _link_fields(links: LinkList, field_name: str) -> dict[str, list[str]]:
    """Each bad link's message under its own index (links are one per line, in order)."""
    if links.too_long or links.too_many is not None:
        return {field_name: intake_messages.link_errors(links)}
    found: dict[str, list[str]] = {}
    for problem in links.problems:
        name = f"{field_name}.{problem.line - 1}" + (".url" if field_name == "posts" else "")
        reason = X_LINK_MESSAGES.get(problem.code, X_LINK_MESSAGES["not_x_link"])
        found.setdefault(name, []).append(str(reason))
    return found


def _form_fields(errors: Mapping[str, Any]) -> dict[str, list[str]]:
    return {
        _FIELD_NAMES.get(name, name): [str(message) for message in messages]
        for name, messages in errors.items()
        if isinstance(messages, list)
    }


def open_case(
    session: DbSession,
    token: ApiToken,
    body: NewCaseIn,
    *,
    storage: EvidenceStorage,
    sign_in_url: str,
) -> Submission:
    """Open a case filed by the token's user for the person, exactly as assisted intake does.

    Links only: screenshots are added to the case afterwards. The caller commits.
    """
    require_writer(token)
    user: User = token.user
    form = AssistedIntakeForm(formdata=_assisted_formdata(body), meta={"csrf": False})
    valid = form.validate()
    links = read_link_lines(form.links.data or "")
    problems = _form_fields(form.errors)
    if not links.ok:
        problems.pop("posts", None)
        problems |= _link_fields(links, "posts")
    posts = links.posts if links.ok else []
    # Each post's "what it shows", matched by status id as the assisted page's entries are.
    sent: dict[str, str] = {}
    sent_at: dict[int, int] = {}  # status id -> the index of the entry that named it first
    for index, entry in enumerate(body.posts):
        try:
            status_id = parse_x_link(entry.url).status_id
        except XLinkError:
            continue
        sent_at.setdefault(status_id, index)
        sent[f"posts-{index}-status_id"] = str(status_id)
        sent[f"posts-{index}-kind"] = entry.shows
        sent[f"posts-{index}-prompt"] = _encodable(entry.prompt or "").replace("\x00", "")
    details, _seen_all = details_form(posts, sent)
    if not details.validate():
        for post, entry_errors in zip(posts, details.posts.errors, strict=True):
            for name, messages in (entry_errors or {}).items():
                field_name = "shows" if name == "kind" else name
                problems[f"posts.{sent_at[post.status_id]}.{field_name}"] = [
                    str(m) for m in messages
                ]
    if not valid or problems:
        raise invalid(problems)
    try:
        report = report_from_form(form, posts, details)
    except IntakeError as exc:
        # The form checks the same things first; this is the domain's own word.
        message = gettext("The case could not be opened (%(code)s).", code=exc.code)
        raise invalid({exc.page or "report": [message]}) from None

    def no_screenshots(_sha256: str) -> bytes:
        raise IntakeError("no_screenshot")

    return submit_report(
        session,
        report,
        read_screenshot=no_screenshots,
        storage=storage,
        sign_in_url=sign_in_url,
        staff=StaffFiling(
            organisation=user.organisation,
            actor=actor_of(token),
            access_code=body.access != ACCESS_NONE,
            email_code=body.access == ACCESS_EMAIL,
        ),
    )


# ---------------------------------------------------------------- adding to a case


def add_posts(
    session: DbSession, token: ApiToken, case: Case, body: NewPostsIn
) -> tuple[list[Item], int]:
    """Add links to the case as the case screen does: (new items, how many it already had)."""
    require_writer(token)
    links = read_link_lines(
        "\n".join(_encodable(link).replace("\n", " ") for link in body.links),
        max_links=case_services.LINKS_MAX_LINES,
    )
    if not links.ok or not links.posts:
        raise invalid(
            _link_fields(links, "links") or {"links": [gettext("Add at least one link.")]}
        )
    try:
        added = case_services.add_staff_items(session, case, links.posts, actor_of(token))
    except case_services.CaseError as exc:
        raise ApiProblem(409, "conflict", str(exc.message)) from None
    if added:
        note_api_write(session, token, case, "posts")
    return added, len(links.posts) - len(added)


@dataclass
class _Upload:
    """A decoded image in the shape the upload pipeline reads (Werkzeug's FileStorage)."""

    filename: str | None
    stream: io.BytesIO

    def read(self, size: int = -1) -> bytes:
        return self.stream.read(size)


def _post_of(session: DbSession, case: Case, text: str) -> Item | None:
    text = text.strip()
    if text.isdigit() and len(text) <= 19:
        status_id = int(text)
    else:
        try:
            status_id = parse_x_link(text).status_id
        except XLinkError:
            return None
    return session.scalar(select(Item).where(Item.case_id == case.id, Item.status_id == status_id))


def add_screenshots(
    session: DbSession,
    token: ApiToken,
    case: Case,
    body: ScreenshotsIn,
    *,
    storage: EvidenceStorage,
    max_bytes: int,
    new_keys: list[str],
) -> tuple[int, int]:
    """Screenshots of one post of the case, through the staff upload pipeline: refused
    unread for a possible minor, sanitised, limited per request and per case, encrypted,
    matched with other cases, audited. Returns (added, already in the case)."""
    require_writer(token)
    if not images_allowed(case.minor):
        raise ApiProblem(422, "images_for_minor", intake_messages.minor_images_refused())
    item = _post_of(session, case, body.post)
    if item is None:
        raise invalid({"post": [gettext("Choose a post of this case: its link or its id.")]})
    uploads: list[_Upload] = []
    problems: dict[str, list[str]] = {}
    for index, image in enumerate(body.images):
        try:
            data = base64.b64decode(image.content_base64, validate=True)
        except (binascii.Error, ValueError):
            problems[f"images.{index}.content_base64"] = [
                gettext("This is not base64: send the file's bytes encoded as base64.")
            ]
            continue
        name = _encodable(image.filename).replace("\x00", "").strip() or f"image-{index + 1}"
        uploads.append(_Upload(filename=name, stream=io.BytesIO(data)))
    if problems:
        raise invalid(problems)
    stored, _hash_only = image_count(session, case)
    cleaned = sanitise_uploads(uploads, max_bytes=max_bytes, room=MAX_IMAGES_PER_CASE - stored)
    if cleaned.problems:
        raise invalid({"images": [intake_messages.file_error(p) for p in cleaned.problems]})
    images: list[tuple[str, SanitisedImage]] = list(cleaned.images)
    try:
        added = case_services.add_staff_images(
            session, case, storage, images, actor_of(token), item=item, new_keys=new_keys
        )
    except case_services.CaseError as exc:
        raise ApiProblem(409, "conflict", str(exc.message)) from None
    if added:
        note_api_write(session, token, case, "screenshots")
    return len(added), len(images) - len(added)


# ---------------------------------------------------------------- reading a case


def post_out(item: Item) -> PostOut:
    return PostOut(
        status_id=str(item.status_id),
        url=item.url,
        shows=item.kind.value,
        removal_state=item.removal_state.value,
        removal_checked_at=item.removal_checked_at,
    )


def case_out(session: DbSession, case: Case) -> CaseOut:
    """Status and posts: no contact details, no prompts, no evidence, only a count of images."""
    items = session.scalars(select(Item).where(Item.case_id == case.id).order_by(Item.id))
    images = session.scalar(
        select(func.count()).select_from(EvidenceFile).where(EvidenceFile.case_id == case.id)
    )
    return CaseOut(
        reference=case.reference,
        status=case.status.value,
        minor=case.minor.value,
        created_at=case.created_at,
        status_changed_at=case.status_changed_at,
        posts=[post_out(item) for item in items],
        screenshots=int(images or 0),
    )


def notices_out(session: DbSession, case: Case) -> NoticesOut:
    notices = session.scalars(select(Notice).where(Notice.case_id == case.id).order_by(Notice.id))
    return NoticesOut(
        notices=[
            NoticeOut(
                id=notice.id,
                route=notice.route_key,
                jurisdiction=notice.jurisdiction,
                state=notice.state.value,
                channel=notice.channel,
                sent_at=notice.sent_at,
                response_at=notice.response_at,
            )
            for notice in notices
        ]
    )


def deadlines_out(session: DbSession, case: Case) -> DeadlinesOut:
    deadlines = session.scalars(
        select(Deadline).where(Deadline.case_id == case.id).order_by(Deadline.due_at, Deadline.id)
    )
    return DeadlinesOut(
        deadlines=[
            DeadlineOut(
                id=deadline.id,
                notice_id=deadline.notice_id,
                stage=deadline.stage,
                due_at=deadline.due_at,
                state=deadline.state.value,
                handled_at=deadline.handled_at,
            )
            for deadline in deadlines
        ]
    )
