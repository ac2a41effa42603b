"""Deleting a case, at the victim's request or by retention: closed, resolved and withdrawn
cases are deleted RETENTION_DAYS_AFTER_CLOSE days after they were closed, with their
evidence files; the audit trail keeps the counts.

A case merged into another is deleted only with its target: its letters are part of
the target's file, and what it brought into the target stays there until the target goes.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, update

from casework.actors import SYSTEM, VICTIM, Actor, ActorKind
from casework.audit.events import CaseRef, case_event, chain_event
from casework.cases.models import Case, CaseStatus, Item
from casework.evidence.files import release_files
from casework.evidence.models import EvidenceFile
from casework.notifications.models import OutgoingEmail
from casework.orm import DbSession
from casework.sessions.services import end_case_sessions

CLOSED_STATUSES = (CaseStatus.CLOSED, CaseStatus.RESOLVED, CaseStatus.WITHDRAWN)


@dataclass
class Purge:
    cases: int = 0
    items: int = 0
    evidence_files: int = 0
    # Storage keys no remaining case uses: the caller deletes them after committing.
    storage_keys: list[str] = field(default_factory=list)


def expired_case_ids(session: DbSession, *, now: datetime, days: int) -> list[int]:
    """Cases closed more than `days` ago; merged ones only when their target is too."""
    cutoff = now - timedelta(days=days)
    rows = session.execute(
        select(Case.id, Case.merged_into_id).where(
            Case.status.in_(CLOSED_STATUSES), Case.status_changed_at < cutoff
        )
    ).all()
    expired = {case_id for case_id, merged_into in rows}
    return sorted(
        case_id for case_id, merged_into in rows if merged_into is None or merged_into in expired
    )


def purge_expired_cases(
    session: DbSession, *, now: datetime, days: int, dry_run: bool = False
) -> Purge:
    """Delete (or, dry, only count) the expired cases. The caller commits, then deletes
    the files in the result's storage_keys."""
    case_ids = expired_case_ids(session, now=now, days=days)
    purge = Purge(cases=len(case_ids))
    if not case_ids:
        return purge
    purge.items = session.scalar(select(func.count()).where(Item.case_id.in_(case_ids))) or 0
    purge.evidence_files = (
        session.scalar(select(func.count()).where(EvidenceFile.case_id.in_(case_ids))) or 0
    )
    if dry_run:
        return purge
    by_organisation: Counter[int] = Counter()
    items: Counter[int] = Counter()
    files: Counter[int] = Counter()
    for case_id in case_ids:
        case = session.get(Case, case_id)
        if case is None:
            continue
        org_id = case.organisation_id
        by_organisation[org_id] += 1
        items[org_id] += session.scalar(select(func.count()).where(Item.case_id == case_id)) or 0
        files[org_id] += (
            session.scalar(select(func.count()).where(EvidenceFile.case_id == case_id)) or 0
        )
        purge.storage_keys += delete_case(session, case, actor=SYSTEM, reason="retention")
    for org_id, cases in sorted(by_organisation.items()):
        chain_event(
            session,
            SYSTEM,
            org_id,
            "retention.purged",
            cases=cases,
            items=items[org_id],
            evidence_files=files[org_id],
            retention_days=days,
        )
    return purge


def delete_case(
    session: DbSession, case: Case, *, actor: Actor = VICTIM, reason: str = "victim_request"
) -> list[str]:
    """Delete the case with its items, evidence rows, notices, letters and personal data.

    At the victim's request, items and files a merge took from this case into another
    are withdrawn from that one too. Only the audit trail stays, with an event saying
    that a deletion happened (audit details never hold personal data, so nothing in
    it needs erasing). Returns the storage keys no other case uses: the caller deletes
    those files after committing, so a failed commit never leaves rows without their files.
    """
    case_id, organisation_id = case.id, case.organisation_id
    keys = [
        key
        for key in session.scalars(
            select(EvidenceFile.storage_key).where(EvidenceFile.case_id == case_id)
        )
        if key is not None
    ]
    if actor.kind is ActorKind.VICTIM:
        keys += withdraw_merged(session, case_id, organisation_id)
    item_count = session.scalar(select(func.count()).where(Item.case_id == case_id)) or 0
    file_count = session.scalar(select(func.count()).where(EvidenceFile.case_id == case_id)) or 0
    # Every email about the case names the case, whatever address or state it has.
    session.execute(delete(OutgoingEmail).where(OutgoingEmail.case_id == case_id))
    session.execute(update(Case).where(Case.merged_into_id == case_id).values(merged_into_id=None))
    session.execute(delete(EvidenceFile).where(EvidenceFile.case_id == case_id))
    end_case_sessions(session, case_id)
    session.delete(case)
    session.flush()
    case_event(
        session,
        actor,
        CaseRef(case_id, organisation_id),
        "case.deleted",
        items=int(item_count),
        evidence_files=int(file_count),
        reason=reason,
    )
    return release_files(session, keys)


def withdraw_merged(session: DbSession, origin_case_id: int, organisation_id: int) -> list[str]:
    """Remove what merges brought from a case into others; each such case's timeline
    records how much was withdrawn. Returns the storage keys of the removed files."""
    items = session.execute(
        select(Item.case_id, func.count())
        .where(Item.origin_case_id == origin_case_id)
        .group_by(Item.case_id)
    ).all()
    files = session.execute(
        select(EvidenceFile.case_id, func.count())
        .where(EvidenceFile.origin_case_id == origin_case_id)
        .group_by(EvidenceFile.case_id)
    ).all()
    keys = [
        key
        for key in session.scalars(
            select(EvidenceFile.storage_key).where(EvidenceFile.origin_case_id == origin_case_id)
        )
        if key is not None
    ]
    session.execute(delete(EvidenceFile).where(EvidenceFile.origin_case_id == origin_case_id))
    session.execute(delete(Item).where(Item.origin_case_id == origin_case_id))
    counts: dict[int, dict[str, int]] = {}
    for target_id, n in items:
        counts.setdefault(target_id, {"items": 0, "evidence_files": 0})["items"] = int(n)
    for target_id, n in files:
        counts.setdefault(target_id, {"items": 0, "evidence_files": 0})["evidence_files"] = int(n)
    for target_id, details in sorted(counts.items()):
        case_event(
            session,
            VICTIM,
            CaseRef(target_id, organisation_id),
            "case.merged_items_withdrawn",
            **details,
        )
    return keys
