"""One audit call per kind of object: the chain, case and object ids come from the object.

Each writes what record_event would with the same fields written out: the chain is the
organisation the object belongs to, the case is the case it is part of (or is), the
object is named by its kind and id. Details are keyword arguments (ids, codes and
counts only, never personal data). The objects are typed by what is read from them,
so the audit package needs no other domain package. The caller commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from casework.actors import Actor
from casework.audit.models import AuditEvent
from casework.audit.services import SYSTEM_CHAIN, NewEvent, record_event
from casework.orm import DbSession


class OfOrganisation(Protocol):
    """A row of one organisation: a case, a user, a link between two cases."""

    @property
    def id(self) -> int: ...

    @property
    def organisation_id(self) -> int: ...


class PartOfCase(Protocol):
    """A row that belongs to one case: an item, note, notice, letter or evidence file."""

    @property
    def id(self) -> int: ...

    @property
    def case_id(self) -> int: ...

    @property
    def case(self) -> OfOrganisation: ...


class WithCaseIds(Protocol):
    """A row read with its case's ids: a deadline as the sweep reads it."""

    @property
    def id(self) -> int: ...

    @property
    def case_id(self) -> int: ...

    @property
    def organisation_id(self) -> int: ...


class OfOutbox(Protocol):
    """An outbox email; one with no organisation is the system's."""

    @property
    def id(self) -> int: ...

    @property
    def organisation_id(self) -> int | None: ...


@dataclass(frozen=True)
class CaseRef:
    """A case known by its ids only: deleted already, or read in bulk."""

    id: int
    organisation_id: int


def case_change(actor: Actor, case: OfOrganisation, action: str, /, **details: Any) -> NewEvent:
    """An event about a case, to append with others through record_events."""
    return NewEvent(
        action,
        actor,
        chain_id=case.organisation_id,
        case_id=case.id,
        object_type="case",
        object_id=case.id,
        details=details,
    )


def case_event(
    session: DbSession, actor: Actor, case: OfOrganisation, action: str, /, **details: Any
) -> AuditEvent:
    """Something done to a case, on its timeline."""
    return _record(session, case_change(actor, case, action, **details))


def _part_of_case(
    session: DbSession,
    actor: Actor,
    row: PartOfCase,
    object_type: str,
    action: str,
    details: dict[str, Any],
) -> AuditEvent:
    return record_event(
        session,
        action,
        actor,
        chain_id=row.case.organisation_id,
        case_id=row.case_id,
        object_type=object_type,
        object_id=row.id,
        details=details,
    )


def item_event(
    session: DbSession, actor: Actor, item: PartOfCase, action: str, /, **details: Any
) -> AuditEvent:
    """Something done to one post of a case, on the case's timeline."""
    return _part_of_case(session, actor, item, "item", action, details)


def note_event(
    session: DbSession, actor: Actor, note: PartOfCase, action: str, /, **details: Any
) -> AuditEvent:
    return _part_of_case(session, actor, note, "note", action, details)


def notice_event(
    session: DbSession, actor: Actor, notice: PartOfCase, action: str, /, **details: Any
) -> AuditEvent:
    return _part_of_case(session, actor, notice, "notice", action, details)


def letter_event(
    session: DbSession, actor: Actor, letter: PartOfCase, action: str, /, **details: Any
) -> AuditEvent:
    return _part_of_case(session, actor, letter, "letter", action, details)


def evidence_event(
    session: DbSession, actor: Actor, evidence: PartOfCase, action: str, /, **details: Any
) -> AuditEvent:
    return _part_of_case(session, actor, evidence, "evidence", action, details)


def deadline_change(
    actor: Actor, deadline: WithCaseIds, action: str, /, **details: Any
) -> NewEvent:
    """An event about a deadline, to append with others through record_events."""
    return NewEvent(
        action,
        actor,
        chain_id=deadline.organisation_id,
        case_id=deadline.case_id,
        object_type="deadline",
        object_id=deadline.id,
        details=details,
    )


def case_link_event(
    session: DbSession,
    actor: Actor,
    link: OfOrganisation,
    case_id: int,
    action: str,
    /,
    **details: Any,
) -> AuditEvent:
    """Something done to a link between two cases, on the timeline of one of them."""
    return record_event(
        session,
        action,
        actor,
        chain_id=link.organisation_id,
        case_id=case_id,
        object_type="case_link",
        object_id=link.id,
        details=details,
    )


def user_event(
    session: DbSession, actor: Actor, user: OfOrganisation, action: str, /, **details: Any
) -> AuditEvent:
    """Something done to (or by) a staff account, on its organisation's chain."""
    return record_event(
        session,
        action,
        actor,
        chain_id=user.organisation_id,
        object_type="user",
        object_id=user.id,
        details=details,
    )


def email_event(
    session: DbSession, actor: Actor, email: OfOutbox, action: str, /, **details: Any
) -> AuditEvent:
    """Something done to an outbox email, on its organisation's chain."""
    organisation_id = email.organisation_id
    return record_event(
        session,
        action,
        actor,
        chain_id=SYSTEM_CHAIN if organisation_id is None else organisation_id,
        object_type="email",
        object_id=email.id,
        details=details,
    )


def job_event(session: DbSession, actor: Actor, action: str, /, **details: Any) -> AuditEvent:
    """Something done to a background job, on the system's chain: jobs have no row to name."""
    return record_event(
        session, action, actor, chain_id=SYSTEM_CHAIN, object_type="job", details=details
    )


def chain_event(
    session: DbSession, actor: Actor, chain_id: int, action: str, /, **details: Any
) -> AuditEvent:
    """Something about a whole chain (an organisation's, or the system's) and no one object."""
    return record_event(session, action, actor, chain_id=chain_id, details=details)


def _record(session: DbSession, new: NewEvent) -> AuditEvent:
    return record_event(
        session,
        new.action,
        new.actor,
        chain_id=new.chain_id,
        case_id=new.case_id,
        object_type=new.object_type,
        object_id=new.object_id,
        details=new.details,
    )
