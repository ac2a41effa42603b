"""What admins do with their organisation's audit trail: read recent events and check the chain."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from casework.accounts.models import User
from casework.actors import Actor
from casework.audit.events import chain_event
from casework.audit.models import AuditEvent
from casework.audit.services import ChainReport, verify_chain
from casework.cases.models import Case
from casework.orm import DbSession

PAGE_SIZE = 50


class UnknownCase(LookupError):
    """No case of this organisation has that reference."""


@dataclass(frozen=True)
class EventRow:
    event: AuditEvent
    actor_name: str | None
    case_reference: str | None


@dataclass(frozen=True)
class EventPage:
    rows: list[EventRow]
    # The id to pass as `before` for the next (older) page, if there is one.
    older_than: int | None


def chain_actions(session: DbSession, organisation_id: int) -> list[str]:
    """The actions that occur in this organisation's chain, for the filter."""
    return list(
        session.scalars(
            select(AuditEvent.action)
            .where(AuditEvent.chain_id == organisation_id)
            .distinct()
            .order_by(AuditEvent.action)
        )
    )


def recent_events(
    session: DbSession,
    organisation_id: int,
    *,
    case_reference: str | None = None,
    action: str | None = None,
    before_id: int | None = None,
    limit: int = PAGE_SIZE,
) -> EventPage:
    """Newest first, optionally for one case or one action. Raises UnknownCase."""
    stmt = select(AuditEvent).where(AuditEvent.chain_id == organisation_id)
    if case_reference:
        case_id = session.scalar(
            select(Case.id).where(
                Case.reference == case_reference.strip().upper(),
                Case.organisation_id == organisation_id,
            )
        )
        if case_id is None:
            raise UnknownCase(case_reference)
        stmt = stmt.where(AuditEvent.case_id == case_id)
    if action:
        stmt = stmt.where(AuditEvent.action == action)
    if before_id is not None:
        stmt = stmt.where(AuditEvent.id < before_id)
    events = list(session.scalars(stmt.order_by(AuditEvent.id.desc()).limit(limit + 1)))
    more = len(events) > limit
    events = events[:limit]

    user_ids = {e.actor_id for e in events if e.actor_type == "user" and e.actor_id is not None}
    names = {
        user_id: name
        for user_id, name in session.execute(
            select(User.id, User.name).where(
                User.id.in_(user_ids), User.organisation_id == organisation_id
            )
        ).tuples()
    }
    case_ids = {e.case_id for e in events if e.case_id is not None}
    references = {
        case_id: reference
        for case_id, reference in session.execute(
            select(Case.id, Case.reference).where(
                Case.id.in_(case_ids), Case.organisation_id == organisation_id
            )
        ).tuples()
    }
    rows = [
        EventRow(
            event=e,
            actor_name=(
                names.get(e.actor_id) if e.actor_type == "user" and e.actor_id is not None else None
            ),
            case_reference=references.get(e.case_id) if e.case_id is not None else None,
        )
        for e in events
    ]
    return EventPage(rows=rows, older_than=events[-1].id if more and events else None)


def verify_organisation_chain(
    session: DbSession, organisation_id: int, actor: Actor
) -> ChainReport:
    """Recompute the organisation's chain, and record that it was checked. The caller commits.

    The check reads the chain before the new event is appended, so the result
    is about the chain as it was.
    """
    report = verify_chain(session, organisation_id)
    chain_event(
        session, actor, organisation_id, "audit.verified", ok=report.ok, events=report.events
    )
    return report
