"""Notices: open one under a route, capture what it must say, check it, record it as sent."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Final

from flask_babel import gettext as _
from sqlalchemy import func, select

from casework.actors import Actor, ActorKind
from casework.audit.events import notice_event
from casework.cases.models import Case, CaseStatus, Item, MinorStatus
from casework.cases.readiness import refresh_legal_ready
from casework.cases.workflow import TransitionError, check_transition, transition
from casework.deadlines.jobs import schedule_deadline_jobs
from casework.deadlines.models import Deadline
from casework.deadlines.rules import to_utc
from casework.deadlines.services import start_clock
from casework.evidence.models import EvidenceFile
from casework.notices.completeness import (
    CAPACITIES,
    STATEMENT_ELEMENTS,
    TEXT_ELEMENTS,
    MissingElement,
    NoticeFacts,
    missing_for,
)
from casework.notices.coverage import PostSplit, split_posts
from casework.notices.followups import pick_earlier
from casework.notices.models import SENT_STATES, Letter, Notice, NoticeItem, NoticeState
from casework.notices.snapshot import resolve_addressee
from casework.orm import DbSession, utcnow
from casework.registry import Registry, Route, default_registry

__all__ = [
    "CHANNELS",
    "IncompleteNotice",
    "NoticeDetails",
    "NoticeError",
    "available_routes",
    "create_notice",
    "default_related",
    "draft_facts",
    "earlier_notice",
    "latest_notice",
    "letter_moment",
    "letter_posts",
    "minors_only",
    "missing_elements",
    "notice_facts",
    "record_regulator_notice",
    "record_sent",
    "related_of",
    "route_or_error",
    "schedule_deadlines",
    "update_notice",
]

log = logging.getLogger(__name__)

# How a notice reached its addressee; codes, so audit details never hold free text.
CHANNELS: Final = ("web_form", "in_app", "email", "post", "portal", "in_person", "other")
# A clock reading a few minutes ahead of ours is not "in the future".
CLOCK_SKEW: Final = timedelta(minutes=5)
MAX_TEXT: Final = 5000


class NoticeError(Exception):
    """A notice operation the rules refuse; `field` names the form field at fault, if any."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class IncompleteNotice(NoticeError):
    """The notice lacks elements its route requires; `missing` lists them."""

    def __init__(self, missing: Sequence[MissingElement]) -> None:
        self.missing = list(missing)
        listed = "; ".join(m.label for m in self.missing)
        super().__init__(
            _("This notice cannot be marked sent yet. Missing: %(list)s.", list=listed)
        )


def route_or_error(route_key: str, registry: Registry | None = None) -> Route:
    try:
        return (registry or default_registry()).route(route_key)
    except KeyError:
        raise NoticeError(
            _("There is no legal route %(key)s in the registry.", key=route_key), "route_key"
        ) from None


def available_routes(case: Case, registry: Registry | None = None) -> tuple[Route, ...]:
    """The routes of the case's jurisdictions (and their parents and `any`), in order.

    A route that covers only minors is never offered for a person known to be an adult.
    """
    registry = registry or default_registry()
    known = [code for code in case.jurisdiction_codes if code.lower() in _codes(registry)]
    routes = registry.routes_for(known)
    if case.minor is MinorStatus.NO:
        routes = tuple(route for route in routes if not minors_only(route))
    return routes


def minors_only(route: Route) -> bool:
    """Whether the route's legal definition covers only images of minors."""
    return tuple(route.covers) == ("minor",)


def _codes(registry: Registry) -> set[str]:
    return {j.code for j in registry.jurisdictions}


def _followed_on_file(session: DbSession, case: Case, route: Route) -> list[Notice]:
    """The case's sent notices under the routes `route` follows, newest first."""
    if route.follows is None:
        return []
    return list(
        session.scalars(
            select(Notice)
            .where(
                Notice.case_id == case.id,
                Notice.state.in_(SENT_STATES),
                Notice.route_key.in_(route.follows.routes),
            )
            .order_by(Notice.sent_at.desc(), Notice.id.desc())
        )
    )


def earlier_notice(
    session: DbSession,
    case: Case,
    route: Route,
    *,
    as_of: datetime,
    chosen: Notice | None = None,
    registry: Registry | None = None,
) -> Notice | None:
    """The earlier notice a letter under `route` may refer to, as of the letter's date.

    Only a notice under a route the registry says this one follows, sent with the letter
    version that went out, and past the step's waiting time; `chosen` (the notice's own
    choice) wins when it qualifies. None when nothing on file does: the letter then
    mentions no earlier step, and a route that requires one is incomplete.
    """
    registry = registry or default_registry()
    candidates = _followed_on_file(session, case, route)
    return pick_earlier(route, candidates, registry, as_of, chosen)


def default_related(
    session: DbSession, case: Case, route: Route, *, as_of: datetime | None = None
) -> Notice | None:
    """The earlier notice a new notice under `route` follows, if one qualifies now."""
    return earlier_notice(session, case, route, as_of=as_of or utcnow())


def latest_notice(session: DbSession, case: Case, route_key: str) -> Notice | None:
    """The case's most recent notice under this route, whatever its state."""
    return session.scalar(
        select(Notice)
        .where(Notice.case_id == case.id, Notice.route_key == route_key)
        .order_by(Notice.created_at.desc(), Notice.id.desc())
        .limit(1)
    )


def create_notice(
    session: DbSession,
    case: Case,
    route_key: str,
    item_ids: Iterable[int],
    actor: Actor,
    *,
    related_notice_id: int | None = None,
) -> Notice:
    """Open a draft notice under a route for some of the case's items. The caller commits."""
    route = route_or_error(route_key)
    if minors_only(route) and case.minor is MinorStatus.NO:
        raise NoticeError(
            _("The route %(key)s is only for a person who is or may be a minor.", key=route.key),
            "route_key",
        )
    if route.key not in {r.key for r in available_routes(case)}:
        raise NoticeError(
            _("The route %(key)s does not apply to this case's jurisdictions.", key=route.key),
            "route_key",
        )
    wanted = sorted(set(item_ids))
    if not wanted:
        raise NoticeError(_("Choose at least one item for the notice."), "item_ids")
    found = session.scalars(select(Item.id).where(Item.case_id == case.id, Item.id.in_(wanted)))
    if sorted(found) != wanted:
        raise NoticeError(_("Some of the chosen items are not part of this case."), "item_ids")
    related: Notice | None
    if related_notice_id is not None:
        related = session.get(Notice, related_notice_id)
        if related is None or related.case_id != case.id:
            raise NoticeError(_("The earlier notice is not part of this case."), "related")
        if route.follows is None or related.route_key not in route.follows.routes:
            raise NoticeError(_("This route does not follow a notice under that route."), "related")
    else:
        related = default_related(session, case, route)
    notice = Notice(
        case_id=case.id,
        route_key=route.key,
        jurisdiction=route.jurisdiction.upper(),
        state=NoticeState.DRAFT,
        statements=[],
        related_notice_id=related.id if related is not None else None,
        created_by_id=actor.id if actor.kind is ActorKind.USER else None,
        created_at=utcnow(),
    )
    notice.items = [NoticeItem(item_id=item_id) for item_id in wanted]
    session.add(notice)
    session.flush()
    refresh_legal_ready(session, [case.id])
    notice_event(session, actor, notice, "notice.created", route=route.key, items=len(wanted))
    return notice


@dataclass(frozen=True)
class NoticeDetails:
    """What the signatory and the caseworker fill in on a draft notice."""

    signature_name: str | None = None
    capacity: str | None = None
    contact: str | None = None
    statements: tuple[str, ...] = ()
    explanation: str | None = None
    copyrighted_work: str | None = None
    depicted_person: str | None = None
    addressee_name: str | None = None
    addressee_address: str | None = None
    # Text elements (completeness.TEXT_ELEMENTS) by code: what a complaint states.
    particulars: Mapping[str, str | None] = field(default_factory=dict)


def _clean(text: str | None, field: str, limit: int = MAX_TEXT) -> str | None:
    value = (text or "").strip()
    if len(value) > limit:
        raise NoticeError(_("Keep this under %(n)d characters.", n=limit), field)
    return value or None


def update_notice(
    session: DbSession,
    notice: Notice,
    details: NoticeDetails,
    actor: Actor,
    *,
    now: datetime | None = None,
) -> list[str]:
    """Save a draft's signature, statements and details; return the fields that changed.

    A new or changed typed signature is dated now. The caller commits.
    """
    if notice.state is not NoticeState.DRAFT:
        raise NoticeError(_("A notice recorded as sent cannot change; open a new one."))
    if details.capacity is not None and details.capacity not in CAPACITIES:
        raise NoticeError(_("Choose who signs."), "capacity")
    unknown = set(details.statements) - set(STATEMENT_ELEMENTS)
    if unknown:
        raise NoticeError(_("Unknown statement."), "statements")
    if set(details.particulars) - set(TEXT_ELEMENTS):
        raise NoticeError(_("Unknown statement."), "particulars")
    particulars = {
        code: text
        for code in TEXT_ELEMENTS
        if (text := _clean(details.particulars.get(code), code)) is not None
    }
    values = {
        "signature_name": _clean(details.signature_name, "signature_name", 200),
        "signatory_capacity": details.capacity,
        "contact_details": _clean(details.contact, "contact"),
        "statements": [code for code in STATEMENT_ELEMENTS if code in details.statements],
        "explanation": _clean(details.explanation, "explanation"),
        "copyrighted_work": _clean(details.copyrighted_work, "copyrighted_work"),
        "particulars": particulars,
        "depicted_person": _clean(details.depicted_person, "depicted_person", 200),
        "addressee_name": _clean(details.addressee_name, "addressee_name", 200),
        "addressee_address": _clean(details.addressee_address, "addressee_address", 1000),
    }
    changed = [name for name, value in values.items() if getattr(notice, name) != value]
    for name in changed:
        setattr(notice, name, values[name])
    if "signature_name" in changed:
        notice.signed_at = (now or utcnow()) if notice.signature_name else None
    if changed:
        notice_event(session, actor, notice, "notice.updated", fields=changed)
    return changed


def _evidence_count(session: DbSession, item_ids: Sequence[int]) -> int:
    if not item_ids:
        return 0
    return int(
        session.scalar(
            select(func.count()).select_from(EvidenceFile).where(EvidenceFile.item_id.in_(item_ids))
        )
        or 0
    )


def letter_moment(notice: Notice | None, now: datetime) -> datetime:
    """The moment a letter speaks from: the day its notice was sent, or now for a draft."""
    if notice is not None and notice.sent_at is not None:
        return notice.sent_at
    return now


def letter_posts(
    case: Case, route: Route, notice: Notice | None, related: Notice | None
) -> PostSplit:
    """The posts a letter under the route is about, split into those it lists and those
    the route's law does not cover (see coverage.split_posts).

    A notice's letter is about the notice's posts; a letter drafted without one, about
    what the earlier notice it follows asked for (an escalation), or else the whole case.
    """
    if notice is not None:
        chosen = [link.item for link in notice.items]
    elif related is not None and related.items:
        chosen = [link.item for link in related.items]
    else:
        chosen = list(case.items)
    return split_posts(route, chosen)


def related_of(
    session: DbSession,
    notice: Notice,
    *,
    as_of: datetime | None = None,
    registry: Registry | None = None,
) -> Notice | None:
    """The earlier notice this notice's letter refers to, as of its date."""
    registry = registry or default_registry()
    route = route_or_error(notice.route_key, registry)
    moment = as_of or letter_moment(notice, utcnow())
    return earlier_notice(
        session, notice.case, route, as_of=moment, chosen=notice.related_notice, registry=registry
    )


def notice_facts(
    session: DbSession,
    notice: Notice,
    *,
    registry: Registry | None = None,
    as_of: datetime | None = None,
) -> NoticeFacts:
    """What a notice contains, for the completeness check (as of `as_of`, default now)."""
    registry = registry or default_registry()
    route = route_or_error(notice.route_key, registry)
    related = related_of(session, notice, as_of=as_of, registry=registry)
    posts = letter_posts(notice.case, route, notice, related)
    return replace(
        _content_facts(session, notice.case, route, posts, related, registry, notice),
        signature_name=notice.signature_name,
        signed_at=notice.signed_at,
        capacity=notice.signatory_capacity,
        contact=notice.contact_details,
        statements=frozenset(notice.statements or ()),
        explanation=notice.explanation,
        copyrighted_work=notice.copyrighted_work,
        particulars=dict(notice.particulars or {}),
        depicted_person=notice.depicted_person,
    )


def draft_facts(
    session: DbSession,
    case: Case,
    route: Route,
    related: Notice | None,
    *,
    registry: Registry | None = None,
) -> NoticeFacts:
    """What a letter made without a notice contains: its posts and nothing signed."""
    posts = letter_posts(case, route, None, related)
    return _content_facts(
        session, case, route, posts, related, registry or default_registry(), None
    )


def _content_facts(
    session: DbSession,
    case: Case,
    route: Route,
    posts: PostSplit,
    related: Notice | None,
    registry: Registry,
    notice: Notice | None,
) -> NoticeFacts:
    """The facts a notice and a draft letter share: posts, evidence, case, related notice.

    Only the posts the letter lists count; the others are counted as left out.
    """
    items = posts.kept
    return NoticeFacts(
        item_count=len(items),
        items_with_urls=sum(1 for item in items if item.url),
        left_out=len(posts.left_out),
        evidence_files=_evidence_count(session, [item.id for item in items]),
        minor=case.minor is not MinorStatus.NO,
        related_sent=related is not None and related.sent_letter_id is not None,
        related_decided=related is not None
        and (related.response_at is not None or bool(related.response)),
        addressee_known=resolve_addressee(route, registry, case, notice).known,
        earlier_step=related is not None,
    )


def missing_elements(
    subject: Notice | Route,
    case: Case,
    *,
    session: DbSession,
    registry: Registry | None = None,
    as_of: datetime | None = None,
) -> list[MissingElement]:
    """What the notice (or a bare draft for the route, about the case's posts) lacks."""
    registry = registry or default_registry()
    if isinstance(subject, Notice):
        route = route_or_error(subject.route_key, registry)
        return missing_for(route, notice_facts(session, subject, registry=registry, as_of=as_of))
    related = default_related(session, case, subject, as_of=as_of)
    return missing_for(subject, draft_facts(session, case, subject, related, registry=registry))


def _moment(value: datetime, field: str, now: datetime) -> datetime:
    try:
        moment = to_utc(value, field)
    except ValueError:
        raise NoticeError(_("Give the date and time with its time zone."), field) from None
    if moment > now + CLOCK_SKEW:
        raise NoticeError(_("This time is in the future."), field)
    return moment


# Sending a notice is what triage and action lead to: a case still new or in triage
# passes through them on its way to awaiting the platform, each move in the audit trail.
_TO_AWAITING: Final[dict[CaseStatus, tuple[CaseStatus, ...]]] = {
    CaseStatus.NEW: (CaseStatus.TRIAGE, CaseStatus.ACTION, CaseStatus.AWAITING_PLATFORM),
    CaseStatus.TRIAGE: (CaseStatus.ACTION, CaseStatus.AWAITING_PLATFORM),
    CaseStatus.ACTION: (CaseStatus.AWAITING_PLATFORM,),
    CaseStatus.ESCALATED: (CaseStatus.AWAITING_PLATFORM,),
}


def _move_to_awaiting(session: DbSession, case: Case, actor: Actor) -> None:
    path = _TO_AWAITING.get(case.status, ())
    try:
        steps = list(zip((case.status, *path), path, strict=False))
        for source, target in steps:
            check_transition(source, target, actor)
    except TransitionError:
        return  # not this actor's moves to make (the system cannot triage a case)
    for _source, target in steps:
        transition(session, case, target, actor, reason="notice_sent")


def record_sent(
    session: DbSession,
    notice: Notice,
    *,
    channel: str,
    received_at: datetime,
    actor: Actor,
    letter: Letter | None = None,
    clock_started_at: datetime | None = None,
    sent_at: datetime | None = None,
    now: datetime | None = None,
) -> list[Deadline]:
    """Record a complete notice as sent and start its deadline clock. The caller commits.

    Refuses an incomplete notice (IncompleteNotice lists what is missing). `letter` is the
    version that went out: it must be this notice's, final (not a draft) and dated the day
    it is sent; the notice keeps it, and a later complaint annexes exactly that version.
    Without one (a platform's own web form was filled in), nothing can be annexed later.
    Sets the sent and received times, the case's first notice time, moves the case to
    awaiting_platform when the workflow allows it, and writes the Deadline rows in the same
    transaction. A route whose clock starts with a regulator's own notice (eSafety) gets
    its deadline when `clock_started_at` is given, here or later with
    record_regulator_notice. After committing, call schedule_deadlines() with the ids.
    """
    now = now or utcnow()
    if notice.state is not NoticeState.DRAFT:
        raise NoticeError(_("This notice is already recorded as sent."))
    if channel not in CHANNELS:
        raise NoticeError(_("Choose how the notice was sent."), "channel")
    received = _moment(received_at, "received_at", now)
    sent = _moment(sent_at, "sent_at", now) if sent_at is not None else received
    if sent > received:
        raise NoticeError(_("A notice cannot be received before it was sent."), "received_at")
    route = route_or_error(notice.route_key)
    if letter is not None:
        _check_sent_letter(notice, letter, sent)
    missing = missing_elements(notice, notice.case, session=session, as_of=sent)
    if missing:
        raise IncompleteNotice(missing)

    notice.state = NoticeState.SENT
    notice.channel = channel
    notice.sent_at = sent
    notice.received_at = received
    notice.sent_letter_id = letter.id if letter is not None else None
    # The earlier notice this one followed, as of its sending, is the one its letter annexed.
    annexed = ((letter.data_snapshot.get("related") or {}).get("id")) if letter else None
    if annexed is not None:
        notice.related_notice_id = int(annexed)
    else:
        notice.related_notice = related_of(session, notice, as_of=sent)
    case = notice.case
    if case.first_notice_at is None:
        case.first_notice_at = sent
    _move_to_awaiting(session, case, actor)

    clock: datetime | None = received
    if route.deadline.clock_starts == "regulator_notice":
        clock = _moment(clock_started_at, "clock_started_at", now) if clock_started_at else None
    elif clock_started_at is not None:
        clock = _moment(clock_started_at, "clock_started_at", now)
    deadlines: list[Deadline] = []
    if clock is not None:
        notice.clock_started_at = clock
        deadlines = start_clock(session, notice, route, clock_started_at=clock)
    notice_event(
        session,
        actor,
        notice,
        "notice.sent",
        route=route.key,
        channel=channel,
        deadlines=len(deadlines),
        letter=letter.id if letter is not None else None,
        sha256=letter.sha256 if letter is not None else None,
    )
    return deadlines


def _check_sent_letter(notice: Notice, letter: Letter, sent: datetime) -> None:
    if letter.notice_id != notice.id or letter.case_id != notice.case_id:
        raise NoticeError(_("This letter version is not this notice's."), "letter_id")
    if letter.draft:
        raise NoticeError(
            _("This letter version is a draft and cannot be sent. Complete the notice first."),
            "letter_id",
        )
    dated = str((letter.data_snapshot.get("letter") or {}).get("date") or "")
    if dated != to_utc(sent, "sent_at").date().isoformat():
        raise NoticeError(
            _(
                "This letter version is dated %(dated)s, not the day it was sent. "
                "Generate it again on the day it goes out.",
                dated=dated,
            ),
            "letter_id",
        )


def record_regulator_notice(
    session: DbSession, notice: Notice, *, issued_at: datetime, actor: Actor
) -> list[Deadline]:
    """Start the clock when the regulator issues its notice to the platform. The caller commits."""
    route = route_or_error(notice.route_key)
    if route.deadline.clock_starts != "regulator_notice":
        raise NoticeError(_("This route's clock does not wait for a regulator's notice."))
    if notice.state is NoticeState.DRAFT:
        raise NoticeError(_("Record the notice as sent first."))
    if notice.clock_started_at is not None:
        raise NoticeError(_("The clock of this notice has already started."))
    issued = _moment(issued_at, "issued_at", utcnow())
    if notice.sent_at is not None and issued < notice.sent_at:
        raise NoticeError(
            _("The regulator's notice cannot come before your complaint."), "issued_at"
        )
    notice.clock_started_at = issued
    deadlines = start_clock(session, notice, route, clock_started_at=issued)
    notice_event(
        session,
        actor,
        notice,
        "notice.clock_started",
        route=route.key,
        deadlines=len(deadlines),
    )
    return deadlines


def schedule_deadlines(deadline_ids: Sequence[int]) -> None:
    """Schedule the reminder and expiry jobs of committed deadlines.

    The deadline rows are the source of truth and the periodic sweep finds them anyway,
    so this only makes the jobs run on time.
    """
    if deadline_ids:
        schedule_deadline_jobs(list(deadline_ids))
