"""Retention: closed, resolved and withdrawn cases are deleted RETENTION_DAYS_AFTER_CLOSE
days after they were closed, with their evidence files; the audit trail keeps the counts.

A case merged into another is deleted only with its target: its letters are part of
the target's file, and what it brought into the target stays there until the target goes.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select

from casework.actors import SYSTEM
from casework.audit.events import chain_event
from casework.cases.models import Case, CaseStatus, Item
from casework.evidence.models import EvidenceFile
from casework.orm import DbSession

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
    from casework.intake.victim.services import delete_case

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
