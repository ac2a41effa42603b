"""Case operations: open, add items and evidence, assign, move, note, check removal, reply.

Each raises CaseError (a message for the user) or a workflow TransitionError,
writes its audit event, and leaves the commit to the caller.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update

from casework.accounts.models import Role, User
from casework.actors import Actor
from casework.audit.events import (
    case_change,
    case_event,
    case_link_event,
    evidence_event,
    item_event,
    note_event,
    notice_event,
)
from casework.audit.services import NewEvent, record_events
from casework.cases.grouping import link_evidence, link_items
from casework.cases.jurisdiction import jurisdictions_for
from casework.cases.models import (
    Case,
    CaseJurisdiction,
    CaseLink,
    CaseNote,
    CaseStatus,
    ContentCategory,
    FilerRole,
    Item,
    ItemKind,
    LinkState,
    MinorStatus,
    Priority,
    RemovalState,
)
from casework.cases.readiness import refresh_legal_ready
from casework.cases.references import next_reference
from casework.cases.workflow import (
    ForbiddenTransition,
    NotAllowedForActor,
    TransitionError,
    find_minor,
    transition,
)
from casework.cases.worklists import forget_counts
from casework.evidence.files import (
    HashOnlyImage,
    ImagesNotAccepted,
    hash_only_row,
    images_allowed,
    store_image,
)
from casework.evidence.images import SanitisedImage, blurred_copy, thumbnail
from casework.evidence.models import EvidenceFile
from casework.evidence.storage import EvidenceStorage
from casework.evidence.xlinks import MESSAGES, LinkList, XPost
from casework.notices.models import Notice, NoticeItem, NoticeState
from casework.notifications.services import notify_user
from casework.orm import DbSession, utcnow

NOTE_MAX_CHARS = 10_000
REPLY_MAX_CHARS = 20_000
LINKS_MAX_LINES = 200
ASSIGNABLE_ROLES = frozenset({Role.CASEWORKER, Role.LAWYER})


class CaseError(Exception):
    """A case operation that cannot be done; `message` is a sentence for the user."""

    def __init__(self, message: object) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class NewItem:
    post: XPost
    kind: ItemKind = ItemKind.UNKNOWN
    category: ContentCategory = ContentCategory.UNKNOWN
    prompt_text: str | None = None
    seen_at: datetime | None = None


@dataclass(frozen=True)
class NewCase:
    organisation_id: int
    minor: MinorStatus
    filer_role: FilerRole
    filer_relationship: str | None = None
    has_authority: bool = False
    country: str | None = None
    region: str | None = None
    language: str = "en"
    timezone: str = "UTC"
    contact_email: str | None = None
    wanted_actions: tuple[str, ...] = ()
    consent: bool = False
    access_code_hash: str | None = None
    filed_by_id: int | None = None  # the caseworker who filed it for the person


def priority_for(minor: MinorStatus, spreading: bool = False) -> Priority:
    """Urgent when a minor is or may be depicted, or when the content spreads."""
    if minor is not MinorStatus.NO or spreading:
        return Priority.URGENT
    return Priority.NORMAL


def open_case(
    session: DbSession,
    new: NewCase,
    items: Iterable[NewItem],
    actor: Actor,
    *,
    audit_later: list[NewEvent] | None = None,
) -> Case:
    """Create a case in status new with its items, jurisdictions and audit event.

    Items repeating a status id are merged into one. The caller commits, so the
    whole intake is one transaction. With audit_later, the "case.opened" event is
    appended to that list for the caller to record just before it commits: recording
    locks the organisation's audit chain until the commit.
    """
    now = utcnow()
    case = Case(
        reference=next_reference(session, now),
        organisation_id=new.organisation_id,
        status=CaseStatus.NEW,
        priority=int(priority_for(new.minor)),
        minor=new.minor,
        filer_role=new.filer_role,
        filer_relationship=new.filer_relationship,
        has_authority=new.has_authority,
        country=new.country,
        region=new.region,
        language=new.language,
        timezone=new.timezone,
        contact_email=new.contact_email,
        wanted_actions=list(new.wanted_actions),
        consent_at=now if new.consent else None,
        access_code_hash=new.access_code_hash,
        filed_by_id=new.filed_by_id,
        created_at=now,
        status_changed_at=now,
    )
    case.jurisdictions = [
        CaseJurisdiction(code=code, basis=basis)
        for code, basis in jurisdictions_for(new.country, new.region)
    ]
    session.add(case)
    session.flush()
    refresh_legal_ready(session, [case.id])
    added = add_items(session, case, items, actor, audit=False, case_is_new=True)
    opened = case_change(
        actor,
        case,
        "case.opened",
        reference=case.reference,
        items=len(added),
        priority=case.priority,
    )
    if audit_later is None:
        record_events(session, [opened])
    else:
        audit_later.append(opened)
    return case


def add_items(
    session: DbSession,
    case: Case,
    items: Iterable[NewItem],
    actor: Actor,
    *,
    audit: bool = True,
    case_is_new: bool = False,
) -> list[Item]:
    """Add posts to a case, skipping status ids it already has. The caller commits.

    case_is_new says the case was created in this transaction, so it has no posts to
    look up yet.
    """
    known: set[int] = (
        set()
        if case_is_new
        else set(session.scalars(select(Item.status_id).where(Item.case_id == case.id)))
    )
    added: list[Item] = []
    for new in items:
        if new.post.status_id in known:
            continue
        known.add(new.post.status_id)
        item = Item(
            case_id=case.id,
            status_id=new.post.status_id,
            url=new.post.url,
            handle=new.post.handle,
            handle_lower=new.post.handle.lower() if new.post.handle else None,
            kind=new.kind,
            category=ContentCategory.MINOR if case.minor is not MinorStatus.NO else new.category,
            prompt_text=new.prompt_text,
            posted_at=new.post.posted_at,
            seen_at=new.seen_at,
            added_by_victim=actor.permission == "victim",
        )
        session.add(item)
        added.append(item)
    session.flush()
    if audit and added:
        case_event(session, actor, case, "case.items_added", items=[item.id for item in added])
    if added:
        link_items(session, case, added)
    return added


@dataclass(frozen=True)
class LineError:
    line: int
    text: str
    message: object


def link_errors(links: LinkList) -> list[LineError]:
    """What is wrong with a pasted list of links: each bad line with its reason, or the list."""
    if links.too_long:
        return [
            LineError(
                0,
                "",
                _l("This is too much text to be a list of links. Please paste the links only."),
            )
        ]
    if links.too_many is not None:
        return [LineError(0, "", _l("Paste at most %(n)d links at a time.", n=LINKS_MAX_LINES))]
    errors = [
        LineError(problem.line, problem.text[:120], _l(MESSAGES[problem.code]))
        for problem in links.problems
    ]
    if not links.posts and not errors:
        errors.append(LineError(0, "", _l("Paste at least one link to a post on X.")))
    return errors


def evidence_added(session: DbSession, case: Case, files: list[EvidenceFile]) -> None:
    """Call on every path that stores evidence: propose links to other cases. Caller commits."""
    link_evidence(session, case, files)


def evidence_added_event(actor: Actor, case: Case, evidence: Sequence[EvidenceFile]) -> NewEvent:
    """The chain-of-custody entry for new evidence: ids and counts, never names or contents.

    When the images were filed under a post as they came, the event names it.
    """
    details: dict[str, object] = {
        "evidence_files": [e.id for e in evidence],
        "hash_only": sum(1 for e in evidence if e.kept_on_device),
    }
    items = {e.item_id for e in evidence}
    if len(items) == 1 and None not in items:
        details["item_id"] = items.pop()
    return case_change(actor, case, "evidence.added", **details)


def add_evidence(
    session: DbSession,
    case: Case,
    storage: EvidenceStorage,
    actor: Actor,
    *,
    images: Sequence[tuple[str, SanitisedImage]],
    hash_only: Sequence[HashOnlyImage] = (),
    item: Item | None = None,
    new_keys: list[str],
) -> list[EvidenceFile]:
    """Store sanitised screenshots (encrypted) and hash-only images in an existing case.

    Refused outright (ImagesNotAccepted) when the person may be a minor. Files the case
    already has (same SHA-256) are skipped. With item, each new file is filed under that
    post. Proposes links to other cases holding the same image and writes the audit
    event. Keys written to storage for the first time are appended to new_keys, so that
    a caller whose commit fails can remove them. Returns the new rows; the caller commits.
    """
    if not images_allowed(case.minor):
        raise ImagesNotAccepted("images are not accepted when the subject may be a minor")
    if item is not None and item.case_id != case.id:
        raise CaseError(_l("Choose a post of this case."))
    known = set(session.scalars(select(EvidenceFile.sha256).where(EvidenceFile.case_id == case.id)))
    evidence: list[EvidenceFile] = []
    for name, image in images:
        if image.sha256 in known:
            continue
        known.add(image.sha256)
        evidence.append(
            store_image(session, case, storage, image, original_name=name, new_keys=new_keys)
        )
    for kept in hash_only:
        if kept.sha256 in known:
            continue
        known.add(kept.sha256)
        evidence.append(hash_only_row(session, case, kept))
    if item is not None:
        for row in evidence:
            row.item = item
    session.flush()
    if evidence:
        evidence_added(session, case, evidence)  # the same image in other cases
        record_events(session, [evidence_added_event(actor, case, evidence)])
    return evidence


def add_staff_images(
    session: DbSession,
    case: Case,
    storage: EvidenceStorage,
    images: Sequence[tuple[str, SanitisedImage]],
    actor: Actor,
    *,
    item: Item | None,
    new_keys: list[str],
) -> list[EvidenceFile]:
    """Screenshots a caseworker uploads to a case, filed under the post they show (or
    none): add_evidence, for a case still worked. The caller commits."""
    if case.merged_into_id is not None:
        raise CaseError(_l("This case was merged into another; work on that case instead."))
    return add_evidence(session, case, storage, actor, images=images, item=item, new_keys=new_keys)


def assign_case(session: DbSession, case: Case, assignee: User | None, actor: Actor) -> bool:
    """Give the case to a caseworker or lawyer of its organisation (None: unassign).

    Returns False when nothing changed. Tells the new assignee. The caller commits.
    """
    if assignee is not None:
        if assignee.organisation_id != case.organisation_id or not assignee.is_active_user:
            raise CaseError(_l("Cases can only be assigned to active staff of your organisation."))
        if assignee.role not in ASSIGNABLE_ROLES:
            raise CaseError(_l("Cases are assigned to caseworkers and lawyers."))
    new_id = assignee.id if assignee is not None else None
    if case.assignee_id == new_id:
        return False
    previous = case.assignee_id
    case.assignee_id = new_id
    case_event(
        session,
        actor,
        case,
        "case.assigned",
        assignee_id=new_id,
        previous_assignee_id=previous,
    )
    if assignee is not None and assignee.id != actor.id:
        notify_user(
            session,
            user_id=assignee.id,
            kind="case_assigned",
            case_id=case.id,
            params={"reference": case.reference},
        )
    forget_counts(case.organisation_id)
    return True


def change_status(session: DbSession, case: Case, target: CaseStatus, actor: Actor) -> None:
    """Move the case through the workflow (raises TransitionError). The caller commits."""
    if case.merged_into_id is not None:
        raise CaseError(_l("This case was merged into another; work on that case instead."))
    transition(session, case, target, actor)
    forget_counts(case.organisation_id)


def add_staff_items(session: DbSession, case: Case, posts: list[XPost], actor: Actor) -> list[Item]:
    """Add posts found by staff; returns the new items (known ones are skipped). Caller commits."""
    if case.merged_into_id is not None:
        raise CaseError(_l("This case was merged into another; work on that case instead."))
    return add_items(session, case, [NewItem(post=post, seen_at=utcnow()) for post in posts], actor)


def add_note(session: DbSession, case: Case, body: str, actor: Actor) -> CaseNote:
    """A staff note on the case; the audit event holds its id, never its text. Caller commits."""
    body = (body or "").strip()
    if not body:
        raise CaseError(_l("Write the note before saving it."))
    if len(body) > NOTE_MAX_CHARS:
        raise CaseError(_l("A note can be at most %(n)d characters.", n=NOTE_MAX_CHARS))
    note = CaseNote(case_id=case.id, author_id=actor.id, body=body)
    session.add(note)
    session.flush()
    note_event(session, actor, note, "case.note_added", note_id=note.id)
    return note


def record_removal_check(
    session: DbSession, item: Item, state: RemovalState, checked_at: datetime, actor: Actor
) -> None:
    """Record that a post was found removed or still up at a time. The caller commits."""
    if state is RemovalState.UNKNOWN:
        raise CaseError(_l("Say whether the post was removed or is still up."))
    if checked_at > utcnow() + _CLOCK_SLACK:
        raise CaseError(_l("The time of the check cannot be in the future."))
    item.removal_state = state
    item.removal_checked_at = checked_at
    item.removal_http_status = None
    if state is RemovalState.REMOVED:
        session.execute(
            update(NoticeItem)
            .where(NoticeItem.item_id == item.id, NoticeItem.removed_at.is_(None))
            .values(removed_at=checked_at)
        )
    item_event(session, actor, item, "item.removal_checked", item_id=item.id, state=state.value)


@dataclass(frozen=True)
class Classified:
    changed: int
    # Storage keys of images destroyed because a post shows a minor: the caller deletes
    # them after committing (delete_files).
    destroyed_keys: list[str] = field(default_factory=list)


def classify_items(
    session: DbSession, case: Case, categories: dict[int, ContentCategory], actor: Actor
) -> Classified:
    """Say what each post's image shows. The caller commits, then deletes destroyed_keys.

    Posts of a case whose person is or may be a minor stay "minor": no notice may treat
    the image as anything else. A post found to show a minor makes the case a minor's
    (find_minor): its stored images are destroyed.
    """
    if case.merged_into_id is not None:
        raise CaseError(_l("This case was merged into another; work on that case instead."))
    if case.minor is not MinorStatus.NO and any(
        category is not ContentCategory.MINOR for category in categories.values()
    ):
        raise CaseError(
            _l("The person depicted is or may be a minor: every post stays classified as a minor.")
        )
    changed: dict[str, str] = {}
    for item in case.items:
        category = categories.get(item.id)
        if category is not None and category is not item.category:
            item.category = category
            changed[str(item.id)] = category.value
    if changed:
        case_event(session, actor, case, "items.classified", categories=changed)
    destroyed: list[str] = []
    if ContentCategory.MINOR in categories.values():
        destroyed = find_minor(session, case, actor, reason="item_classified")
        forget_counts(case.organisation_id)
    return Classified(len(changed), destroyed)


def mark_minor(session: DbSession, case: Case, actor: Actor) -> list[str]:
    """Staff found that the person depicted is a minor (find_minor). Returns the storage
    keys of destroyed images: the caller commits, then deletes them (delete_files)."""
    if case.merged_into_id is not None:
        raise CaseError(_l("This case was merged into another; work on that case instead."))
    destroyed = find_minor(session, case, actor, reason="case_marked")
    forget_counts(case.organisation_id)
    return destroyed


def record_platform_reply(
    session: DbSession, notice: Notice, text: str, received_at: datetime, actor: Actor
) -> None:
    """Record the platform's answer to a notice (text and when it came). The caller commits."""
    text = (text or "").strip()
    if not text:
        raise CaseError(_l("Paste or summarise the platform's reply."))
    if len(text) > REPLY_MAX_CHARS:
        raise CaseError(_l("A reply can be at most %(n)d characters.", n=REPLY_MAX_CHARS))
    if received_at > utcnow() + _CLOCK_SLACK:
        raise CaseError(_l("The time of the reply cannot be in the future."))
    if notice.sent_at is not None and received_at < notice.sent_at:
        raise CaseError(_l("The reply cannot have come before the notice was sent."))
    notice.response = text
    notice.response_at = received_at
    if notice.state in (NoticeState.DRAFT, NoticeState.SENT):
        notice.state = NoticeState.ANSWERED
    notice_event(session, actor, notice, "notice.reply_recorded", notice_id=notice.id)


_CLOCK_SLACK = timedelta(minutes=5)


@dataclass
class BulkResult:
    done: list[Case] = field(default_factory=list)
    unchanged: list[Case] = field(default_factory=list)
    failed: list[tuple[Case, object]] = field(default_factory=list)


def cases_of_organisation(
    session: DbSession, organisation_id: int, case_ids: Iterable[int]
) -> list[Case]:
    """The cases among these ids that belong to the organisation, in reference order."""
    ids = sorted(set(case_ids))
    if not ids:
        return []
    return list(
        session.scalars(
            select(Case)
            .where(Case.id.in_(ids), Case.organisation_id == organisation_id)
            .order_by(Case.reference)
        )
    )


def bulk_assign(
    session: DbSession, cases: list[Case], assignee: User | None, actor: Actor
) -> BulkResult:
    """Assign each case; a refusal for one case does not stop the others. Caller commits."""
    result = BulkResult()
    for case in cases:
        try:
            changed = assign_case(session, case, assignee, actor)
        except CaseError as exc:
            result.failed.append((case, exc.message))
            continue
        (result.done if changed else result.unchanged).append(case)
    return result


def bulk_change_status(
    session: DbSession, cases: list[Case], target: CaseStatus, actor: Actor
) -> BulkResult:
    """Move each case through the workflow; report each refusal. Caller commits.

    check_transition runs before anything changes, so a refused case is untouched.
    """
    result = BulkResult()
    for case in cases:
        if case.status is target:
            result.unchanged.append(case)
            continue
        try:
            change_status(session, case, target, actor)
        except (TransitionError, CaseError) as exc:
            result.failed.append((case, transition_message(case.status, target, exc)))
            continue
        result.done.append(case)
    return result


def transition_message(current: CaseStatus, target: CaseStatus, exc: Exception) -> object:
    """A translated sentence for a refused status change."""
    if isinstance(exc, CaseError):
        return exc.message
    names = {"current": status_label(current), "target": status_label(target)}
    if isinstance(exc, NotAllowedForActor):
        return _l("Your role may not move a case from %(current)s to %(target)s.", **names)
    if isinstance(exc, ForbiddenTransition) and current is target:
        return _l("The case is already %(current)s.", **names)
    return _l("A case cannot move from %(current)s to %(target)s.", **names)


STATUS_LABELS = {
    CaseStatus.NEW: _l("new"),
    CaseStatus.TRIAGE: _l("triage"),
    CaseStatus.ACTION: _l("action"),
    CaseStatus.AWAITING_PLATFORM: _l("awaiting platform"),
    CaseStatus.ESCALATED: _l("escalated"),
    CaseStatus.RESOLVED: _l("resolved"),
    CaseStatus.CLOSED: _l("closed"),
    CaseStatus.WITHDRAWN: _l("withdrawn"),
}


def status_label(status: CaseStatus) -> object:
    return STATUS_LABELS[status]


def file_evidence_under(
    session: DbSession, evidence: EvidenceFile, item: Item | None, actor: Actor
) -> bool:
    """Put an image under the post it shows (or under none); False if already there.

    The post must be one of the image's own case: letters annex a post's images as its
    exhibits, so an image filed under another case's post would reach the wrong letter.
    Caller commits.
    """
    if item is not None and item.case_id != evidence.case_id:
        raise CaseError(_l("Choose a post of this case."))
    new_id = item.id if item is not None else None
    if evidence.item_id == new_id:
        return False
    previous = evidence.item_id
    evidence.item = item
    evidence_event(
        session,
        actor,
        evidence,
        "evidence.filed",
        evidence_id=evidence.id,
        item_id=new_id,
        previous_item_id=previous,
    )
    return True


def evidence_preview(
    session: DbSession,
    evidence: EvidenceFile,
    storage: EvidenceStorage,
    actor: Actor,
    *,
    blurred: bool,
) -> bytes:
    """A blurred or plain thumbnail of a stored image; every call is audited. Caller commits."""
    if evidence.storage_key is None or not images_allowed(evidence.case.minor):
        raise CaseError(_l("Only the hash of this image was kept."))
    data = storage.get(evidence.storage_key)
    body = blurred_copy(data) if blurred else thumbnail(data)
    evidence_event(
        session,
        actor,
        evidence,
        "evidence.viewed",
        evidence_id=evidence.id,
        variant="blurred" if blurred else "clear",
    )
    return body


@dataclass(frozen=True)
class CaseSize:
    items: int
    evidence: int
    notices: int
    notes: int


def case_sizes(session: DbSession, cases: list[Case]) -> dict[int, CaseSize]:
    """How much each case holds, for the merge confirmation."""
    ids = [c.id for c in cases]

    def per_case(model: type[Item | EvidenceFile | Notice | CaseNote]) -> dict[int, int]:
        column = model.case_id
        rows = session.execute(
            select(column, func.count()).where(column.in_(ids)).group_by(column)
        ).all()
        return {case_id: n for case_id, n in rows}

    items, files, notices, notes = (per_case(m) for m in (Item, EvidenceFile, Notice, CaseNote))
    return {
        i: CaseSize(items.get(i, 0), files.get(i, 0), notices.get(i, 0), notes.get(i, 0))
        for i in ids
    }


def dismiss_link(session: DbSession, link: CaseLink, actor: Actor) -> None:
    """Mark a proposed link as not the same person; both cases' timelines say so. Caller commits."""
    if link.state is not LinkState.PROPOSED:
        raise CaseError(_l("This link was already decided."))
    link.state = LinkState.DISMISSED
    link.decided_at = utcnow()
    link.decided_by_id = actor.id
    for case_id, other_id in ((link.case_a_id, link.case_b_id), (link.case_b_id, link.case_a_id)):
        case_link_event(
            session,
            actor,
            link,
            case_id,
            "case.link_dismissed",
            link_id=link.id,
            other_case_id=other_id,
            reason=link.reason.value,
        )
