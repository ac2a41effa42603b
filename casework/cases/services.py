"""Case operations: open a case, add items, assign, note. Each says who commits."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from casework.actors import Actor
from casework.audit.services import record_event
from casework.cases.jurisdiction import jurisdictions_for
from casework.cases.models import (
    Case,
    CaseJurisdiction,
    CaseStatus,
    ContentCategory,
    FilerRole,
    Item,
    ItemKind,
    MinorStatus,
    Priority,
)
from casework.cases.references import next_reference
from casework.evidence.xlinks import XPost
from casework.orm import utcnow


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


def priority_for(minor: MinorStatus, spreading: bool = False) -> Priority:
    """Urgent when a minor is or may be depicted, or when the content spreads."""
    if minor is not MinorStatus.NO or spreading:
        return Priority.URGENT
    return Priority.NORMAL


def open_case(session: Session, new: NewCase, items: Iterable[NewItem], actor: Actor) -> Case:
    """Create a case in status new with its items, jurisdictions and audit event.

    Items repeating a status id are merged into one. The caller commits, so the
    whole intake is one transaction.
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
        created_at=now,
        status_changed_at=now,
    )
    case.jurisdictions = [
        CaseJurisdiction(code=code, basis=basis)
        for code, basis in jurisdictions_for(new.country, new.region)
    ]
    session.add(case)
    session.flush()
    added = add_items(session, case, items, actor, audit=False)
    record_event(
        session,
        "case.opened",
        actor,
        chain_id=case.organisation_id,
        case_id=case.id,
        object_type="case",
        object_id=case.id,
        details={"reference": case.reference, "items": len(added), "priority": case.priority},
    )
    return case


def add_items(
    session: Session, case: Case, items: Iterable[NewItem], actor: Actor, *, audit: bool = True
) -> list[Item]:
    """Add posts to a case, skipping status ids it already has. The caller commits."""
    known = set(session.scalars(select(Item.status_id).where(Item.case_id == case.id)))
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
        record_event(
            session,
            "case.items_added",
            actor,
            chain_id=case.organisation_id,
            case_id=case.id,
            object_type="case",
            object_id=case.id,
            details={"items": [item.id for item in added]},
        )
    return added
