"""Merge one case into another: everything moves to the target, the source stays as a pointer.

Decisions:
- Moved items and evidence files remember the case they came from (origin_case_id):
  if the person who reported that case deletes it, they are withdrawn from the target.
- Items, evidence files, notices (with their deadlines and notice items), notes,
  links to third cases and jurisdictions move to the target. An item whose
  status id the target already has is folded into the target's item: its
  evidence and notice coverage point at the surviving item, empty fields of the
  survivor are filled from it, and the merge's audit event records which item
  became which.
- Letters stay with the source: each is an immutable PDF made for that case's
  reference and numbered per case. The target's screen lists them with its own.
- The source is not deleted. It is closed through the workflow (reason
  "merged") and keeps merged_into_id pointing at the target, so its reference,
  its letters and its whole audit history stay reachable; the target's timeline
  reads the audit events of every case merged into it.
- Withdrawn cases are never merged (the victim asked to stop), and a case that
  is or may be about a minor is never merged with one holding stored images: staff
  mark that case as a minor's first, which destroys its images.
- Merging a minor's case into another is a finding that the other shows a minor too:
  the target goes through find_minor like any other minor finding.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, delete, func, or_, select, update

from casework.actors import Actor
from casework.audit.events import case_change
from casework.audit.services import record_events
from casework.cases.models import (
    NO_DEADLINE,
    Case,
    CaseJurisdiction,
    CaseLink,
    CaseNote,
    CaseStatus,
    ContentCategory,
    Item,
    ItemKind,
    LinkState,
    MinorStatus,
    RemovalState,
)
from casework.cases.readiness import refresh_legal_ready
from casework.cases.services import CaseError
from casework.cases.workflow import find_minor, transition
from casework.cases.worklists import forget_counts, refresh_sort_deadline
from casework.deadlines.models import Deadline
from casework.evidence.models import EvidenceFile
from casework.notices.models import Notice, NoticeItem
from casework.orm import DbSession, utcnow
from casework.sqlutil import rowcount

_MINOR_RANK = {MinorStatus.NO: 0, MinorStatus.UNSURE: 1, MinorStatus.YES: 2}


class MergeError(CaseError):
    """A merge that must not happen; the message says why."""


@dataclass
class MergeSummary:
    items_moved: int = 0
    items_combined: dict[int, int] = field(default_factory=dict)
    evidence: int = 0
    notices: int = 0
    deadlines: int = 0
    notes: int = 0
    links: int = 0
    jurisdictions: int = 0
    # Storage keys of images destroyed by the merge: deleted by the caller after commit.
    destroyed_keys: list[str] = field(default_factory=list)


def check_merge(session: DbSession, source: Case, target: Case) -> None:
    """Raise MergeError when the two cases cannot be merged."""
    if source.id == target.id:
        raise MergeError(_l("A case cannot be merged into itself."))
    if source.organisation_id != target.organisation_id:
        raise MergeError(_l("Only cases of the same organisation can be merged."))
    if source.merged_into_id is not None or target.merged_into_id is not None:
        raise MergeError(_l("One of these cases was already merged into another."))
    if CaseStatus.WITHDRAWN in (source.status, target.status):
        raise MergeError(_l("A withdrawn case cannot be merged."))
    minor = max(_MINOR_RANK[source.minor], _MINOR_RANK[target.minor])
    if minor and session.scalar(
        select(EvidenceFile.id)
        .where(
            EvidenceFile.case_id.in_([source.id, target.id]),
            EvidenceFile.storage_key.is_not(None),
        )
        .limit(1)
    ):
        raise MergeError(
            _l(
                "One case may involve a minor and the other holds stored images; they cannot "
                "be merged. If the person is a minor, mark that case as a minor's first: its "
                "images are destroyed."
            )
        )


def merge_cases(session: DbSession, source: Case, target: Case, actor: Actor) -> MergeSummary:
    """Move everything of source into target and close source. The caller commits."""
    check_merge(session, source, target)
    session.flush()
    summary = MergeSummary()
    source_id, target_id = source.id, target.id
    minor_found = source.minor is MinorStatus.YES and target.minor is not MinorStatus.YES
    _merge_case_fields(source, target)

    survivors = {
        item.status_id: item
        for item in session.scalars(select(Item).where(Item.case_id == target_id))
    }
    moved: list[int] = []
    for item in session.scalars(select(Item).where(Item.case_id == source_id)).all():
        survivor = survivors.get(item.status_id)
        if survivor is None:
            moved.append(item.id)
            continue
        _fold_item(session, item, survivor)
        summary.items_combined[item.id] = survivor.id
    session.flush()
    if summary.items_combined:
        session.execute(delete(Item).where(Item.id.in_(list(summary.items_combined))))
    if moved:
        session.execute(
            update(Item)
            .where(Item.id.in_(moved))
            .values(case_id=target_id, origin_case_id=func.coalesce(Item.origin_case_id, source_id))
        )
    summary.items_moved = len(moved)

    evidence = session.execute(
        update(EvidenceFile)
        .where(EvidenceFile.case_id == source_id)
        .values(
            case_id=target_id,
            origin_case_id=func.coalesce(EvidenceFile.origin_case_id, source_id),
        )
    )
    summary.evidence = rowcount(evidence)
    summary.notices = _move(session, Notice, source_id, target_id)
    summary.deadlines = _move(session, Deadline, source_id, target_id)
    summary.notes = _move(session, CaseNote, source_id, target_id)
    summary.jurisdictions = _move_jurisdictions(session, source_id, target_id)
    summary.links = _move_links(session, source_id, target_id, actor)
    # Cases merged into the source earlier now point at the target directly.
    session.execute(
        update(Case).where(Case.merged_into_id == source_id).values(merged_into_id=target_id)
    )
    session.flush()
    session.expire_all()

    source = session.get_one(Case, source_id)
    target = session.get_one(Case, target_id)
    source.merged_into_id = target_id
    source.sort_deadline_at = NO_DEADLINE
    refresh_sort_deadline(session, target)
    if minor_found:
        summary.destroyed_keys = find_minor(session, target, actor, reason="merged")
    if source.status is not CaseStatus.CLOSED:
        transition(session, source, CaseStatus.CLOSED, actor, reason="merged")
    details = {
        "source_id": source_id,
        "target_id": target_id,
        "items_moved": summary.items_moved,
        # JSON object keys are strings: {source item id: surviving item id}.
        "items_combined": {str(k): v for k, v in summary.items_combined.items()},
        "evidence": summary.evidence,
        "notices": summary.notices,
        "deadlines": summary.deadlines,
        "notes": summary.notes,
        "links": summary.links,
        "jurisdictions": summary.jurisdictions,
    }
    merged = case_change(actor, target, "case.merged", **details)
    # The same event on the source's timeline too, naming the case it went into.
    record_events(session, [merged, replace(merged, case_id=source_id)])
    session.flush()
    refresh_legal_ready(session, [source_id, target_id])
    forget_counts(target.organisation_id)
    return summary


def _merge_case_fields(source: Case, target: Case) -> None:
    target.priority = min(source.priority, target.priority)
    target.spreading = source.spreading or target.spreading
    # A minor's case makes the target one through find_minor; "not sure" carries over.
    if source.minor is MinorStatus.UNSURE and target.minor is MinorStatus.NO:
        target.minor = source.minor
    target.first_notice_at = _earliest(source.first_notice_at, target.first_notice_at)
    if target.assignee_id is None:
        target.assignee_id = source.assignee_id
    wanted = list(target.wanted_actions or [])
    target.wanted_actions = wanted + [a for a in source.wanted_actions or [] if a not in wanted]


def _earliest(a: datetime | None, b: datetime | None) -> datetime | None:
    present = [t for t in (a, b) if t is not None]
    return min(present) if present else None


def _fold_item(session: DbSession, item: Item, survivor: Item) -> None:
    """Fold a duplicate item into the surviving one, losing nothing it knew."""
    for name in ("handle", "handle_lower", "prompt_text", "posted_at"):
        if getattr(survivor, name) is None:
            setattr(survivor, name, getattr(item, name))
    if item.notes:
        survivor.notes = f"{survivor.notes}\n\n{item.notes}" if survivor.notes else item.notes
    survivor.seen_at = _earliest(item.seen_at, survivor.seen_at)
    if survivor.kind is ItemKind.UNKNOWN:
        survivor.kind = item.kind
    if survivor.category is ContentCategory.UNKNOWN or item.category is ContentCategory.MINOR:
        survivor.category = item.category
    if item.removal_checked_at is not None and (
        survivor.removal_checked_at is None or item.removal_checked_at > survivor.removal_checked_at
    ):
        survivor.removal_state = item.removal_state
        survivor.removal_checked_at = item.removal_checked_at
        survivor.removal_http_status = item.removal_http_status
    elif survivor.removal_state is RemovalState.UNKNOWN:
        survivor.removal_state = item.removal_state
    survivor.added_by_victim = survivor.added_by_victim or item.added_by_victim
    session.execute(
        update(EvidenceFile).where(EvidenceFile.item_id == item.id).values(item_id=survivor.id)
    )
    for covered in session.scalars(select(NoticeItem).where(NoticeItem.item_id == item.id)).all():
        twin = session.get(NoticeItem, (covered.notice_id, survivor.id))
        if twin is None:
            session.execute(
                update(NoticeItem)
                .where(NoticeItem.notice_id == covered.notice_id, NoticeItem.item_id == item.id)
                .values(item_id=survivor.id)
            )
        else:
            twin.removed_at = _earliest(twin.removed_at, covered.removed_at)
            session.delete(covered)


def _move(
    session: DbSession,
    model: type[Notice | Deadline | CaseNote],
    source_id: int,
    target_id: int,
) -> int:
    result = session.execute(
        update(model).where(model.case_id == source_id).values(case_id=target_id)
    )
    return rowcount(result)


def _move_jurisdictions(session: DbSession, source_id: int, target_id: int) -> int:
    have = set(
        session.scalars(select(CaseJurisdiction.code).where(CaseJurisdiction.case_id == target_id))
    )
    added = 0
    for row in session.scalars(
        select(CaseJurisdiction).where(CaseJurisdiction.case_id == source_id)
    ).all():
        if row.code not in have:
            session.add(CaseJurisdiction(case_id=target_id, code=row.code, basis=row.basis))
            added += 1
        session.delete(row)
    session.flush()
    return added


def _move_links(session: DbSession, source_id: int, target_id: int, actor: Actor) -> int:
    """Links between the two become merged; links to third cases move to the target."""
    now = utcnow()
    session.execute(
        update(CaseLink)
        .where(
            or_(
                and_(CaseLink.case_a_id == source_id, CaseLink.case_b_id == target_id),
                and_(CaseLink.case_a_id == target_id, CaseLink.case_b_id == source_id),
            )
        )
        .values(state=LinkState.MERGED, decided_at=now, decided_by_id=actor.id)
    )
    moved = 0
    others = session.scalars(
        select(CaseLink).where(
            or_(CaseLink.case_a_id == source_id, CaseLink.case_b_id == source_id),
            CaseLink.case_a_id != target_id,
            CaseLink.case_b_id != target_id,
        )
    ).all()
    for link in others:
        other = link.case_b_id if link.case_a_id == source_id else link.case_a_id
        a, b = sorted((target_id, other))
        twin = session.scalar(
            select(CaseLink.id).where(
                CaseLink.case_a_id == a,
                CaseLink.case_b_id == b,
                CaseLink.reason == link.reason,
                CaseLink.detail == link.detail,
            )
        )
        if twin is not None:
            session.delete(link)  # the target already has this very link
        else:
            link.case_a_id, link.case_b_id = a, b
            moved += 1
        session.flush()
    return moved
