"""The case status workflow: allowed transitions, who may make them, and the audit trail.

Every transition, of one case or many at once, also recomputes what a case's status
decides (whether it is ready for legal action), so no caller can forget it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlalchemy.orm import Session

from casework.actors import Actor
from casework.audit.services import NewEvent, record_event, record_events
from casework.cases.models import Case, CaseStatus
from casework.cases.readiness import refresh_legal_ready
from casework.orm import utcnow

S = CaseStatus
STAFF = frozenset({"caseworker", "admin"})
LEGAL = frozenset({"caseworker", "lawyer", "admin"})
ANYONE_ACTING = frozenset({"caseworker", "lawyer", "admin", "system"})
VICTIM_OR_STAFF = frozenset({"victim", "caseworker", "admin"})

# from status -> {to status: the actors allowed to make that move}
TRANSITIONS: dict[CaseStatus, dict[CaseStatus, frozenset[str]]] = {
    S.NEW: {S.TRIAGE: STAFF, S.CLOSED: STAFF, S.WITHDRAWN: VICTIM_OR_STAFF},
    S.TRIAGE: {S.ACTION: STAFF, S.CLOSED: STAFF, S.WITHDRAWN: VICTIM_OR_STAFF},
    S.ACTION: {
        # Recording a notice as sent moves the case on, whoever records it.
        S.AWAITING_PLATFORM: ANYONE_ACTING,
        S.RESOLVED: LEGAL,
        S.CLOSED: STAFF,
        S.WITHDRAWN: VICTIM_OR_STAFF,
    },
    S.AWAITING_PLATFORM: {
        S.ESCALATED: frozenset({"system", "caseworker", "lawyer", "admin"}),
        S.ACTION: LEGAL,
        S.RESOLVED: LEGAL,
        S.CLOSED: STAFF,
        S.WITHDRAWN: VICTIM_OR_STAFF,
    },
    S.ESCALATED: {
        S.AWAITING_PLATFORM: ANYONE_ACTING,
        S.ACTION: LEGAL,
        S.RESOLVED: LEGAL,
        S.CLOSED: STAFF,
        S.WITHDRAWN: VICTIM_OR_STAFF,
    },
    S.RESOLVED: {S.ACTION: LEGAL, S.CLOSED: STAFF},
    # Reopening a closed case is an admin decision; withdrawn is final.
    S.CLOSED: {S.TRIAGE: frozenset({"admin"})},
    S.WITHDRAWN: {},
}

OPEN_STATUSES = frozenset({S.NEW, S.TRIAGE, S.ACTION, S.AWAITING_PLATFORM, S.ESCALATED})


class TransitionError(Exception):
    """A status change the workflow does not allow; the message says why."""


class ForbiddenTransition(TransitionError):
    pass


class NotAllowedForActor(TransitionError):
    pass


def allowed_targets(current: CaseStatus, actor: Actor) -> list[CaseStatus]:
    """The statuses this actor may move a case to from its current status."""
    return [target for target, who in TRANSITIONS[current].items() if actor.permission in who]


def check_transition(current: CaseStatus, target: CaseStatus, actor: Actor) -> None:
    if target == current:
        raise ForbiddenTransition(f"The case is already {target.value}.")
    allowed = TRANSITIONS[current]
    if target not in allowed:
        options = ", ".join(s.value for s in allowed) or "none (it is final)"
        raise ForbiddenTransition(
            f"A case cannot move from {current.value} to {target.value}; "
            f"from {current.value} it can move to: {options}."
        )
    if actor.permission not in allowed[target]:
        raise NotAllowedForActor(
            f"A {actor.permission or 'signed-out user'} may not move a case "
            f"from {current.value} to {target.value}."
        )


def transition(
    session: Session, case: Case, target: CaseStatus, actor: Actor, *, reason: str | None = None
) -> None:
    """Move a case to a new status and write the audit event. The caller commits.

    reason is a short code (e.g. "deadline_missed"), never free text, because
    audit details must not carry personal data.
    """
    current = case.status
    check_transition(current, target, actor)
    case.status = target
    case.status_changed_at = utcnow()
    details: dict[str, str] = {"from": current.value, "to": target.value}
    if reason:
        details["reason"] = reason
    refresh_legal_ready(session, [case.id])
    record_event(
        session,
        "case.status_changed",
        actor,
        chain_id=case.organisation_id,
        case_id=case.id,
        object_type="case",
        object_id=case.id,
        details=details,
    )


def transition_many(
    session: Session,
    cases: list[tuple[int, int, CaseStatus]],
    target: CaseStatus,
    actor: Actor,
    *,
    reason: str | None = None,
    now: datetime | None = None,
) -> list[tuple[int, int, CaseStatus]]:
    """Move many cases, each given as (id, organisation id, status it was read in), with
    the same rules and audit events as transition(). The caller commits.

    The UPDATE only moves a case still in the status it was read in, so a case changed
    meanwhile is left alone; the moved ones are returned.
    """
    moment = now or utcnow()
    moved: list[tuple[int, int, CaseStatus]] = []
    by_status: dict[CaseStatus, list[tuple[int, int]]] = {}
    for case_id, organisation_id, current in cases:
        check_transition(current, target, actor)
        by_status.setdefault(current, []).append((case_id, organisation_id))
    for current, rows in by_status.items():
        ids = [case_id for case_id, _ in rows]
        done = set(
            session.scalars(
                update(Case)
                .where(Case.id.in_(ids), Case.status == current)
                .values(status=target, status_changed_at=moment, updated_at=moment)
                .returning(Case.id)
                .execution_options(synchronize_session=False)
            )
        )
        moved += [(cid, org, current) for cid, org in rows if cid in done]
    refresh_legal_ready(session, [cid for cid, _, _ in moved])
    details_base: dict[str, str] = {"to": target.value}
    if reason:
        details_base["reason"] = reason
    record_events(
        session,
        [
            NewEvent(
                "case.status_changed",
                actor,
                chain_id=org,
                case_id=cid,
                object_type="case",
                object_id=cid,
                details={"from": current.value, **details_base},
            )
            for cid, org, current in moved
        ],
    )
    return moved
