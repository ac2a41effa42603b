"""The case workflow: allowed status transitions, who may make them, the finding that the
person depicted is a minor, and the audit trail of each.

Every transition, of one case or many at once, also recomputes what a case's status
decides (whether it is ready for legal action), so no caller can forget it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update

from casework.actors import Actor
from casework.audit.events import CaseRef, case_change, case_event
from casework.audit.services import record_events
from casework.cases.models import Case, CaseStatus, ContentCategory, MinorStatus, Priority
from casework.cases.readiness import refresh_legal_ready
from casework.evidence.files import release_files
from casework.evidence.models import EvidenceFile
from casework.notices.models import Letter
from casework.orm import DbSession, utcnow

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
    session: DbSession, case: Case, target: CaseStatus, actor: Actor, *, reason: str | None = None
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
    case_event(session, actor, case, "case.status_changed", **details)


def transition_many(
    session: DbSession,
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
            case_change(
                actor,
                CaseRef(cid, org),
                "case.status_changed",
                **{"from": current.value, **details_base},
            )
            for cid, org, current in moved
        ],
    )
    return moved


# How staff came to find that the person depicted is a minor (audit codes).
MINOR_FINDINGS = frozenset({"item_classified", "case_marked", "merged"})


def find_minor(
    session: DbSession, case: Case, actor: Actor, *, reason: str, now: datetime | None = None
) -> list[str]:
    """Staff found that the person depicted is a minor: the one rule, whatever the path.

    The case becomes a minor's case (urgent, every post classified "minor"), and every
    stored image of it is destroyed: its row keeps the SHA-256 and PDQ, loses its
    storage key, and records when. Each letter whose PDF printed one (or annexes a letter
    that did) is emptied the same way, its row and SHA-256 kept. The same content stored
    for another case goes too, since it is the same image of a child. The audit trail
    records what was destroyed as counts and hashes only. No image is accepted or
    decrypted for the case again (see images_allowed).

    The caller commits, then deletes the returned storage keys (delete_files): a
    failed commit must not leave rows whose files are gone. Returns [] and records
    nothing when the case was already a minor's with nothing stored.
    """
    if reason not in MINOR_FINDINGS:
        raise ValueError(f"unknown minor finding {reason!r}")
    moment = now or utcnow()
    previous = case.minor
    stored = list(
        session.scalars(
            select(EvidenceFile)
            .where(EvidenceFile.case_id == case.id, EvidenceFile.storage_key.is_not(None))
            .order_by(EvidenceFile.id)
        )
    )
    keys = sorted({row.storage_key for row in stored if row.storage_key is not None})
    elsewhere = (
        list(
            session.scalars(
                select(EvidenceFile)
                .where(EvidenceFile.storage_key.in_(keys), EvidenceFile.case_id != case.id)
                .order_by(EvidenceFile.id)
            )
        )
        if keys
        else []
    )
    relabelled = [item for item in case.items if item.category is not ContentCategory.MINOR]
    if previous is MinorStatus.YES and not stored and not relabelled:
        return []
    case.minor = MinorStatus.YES
    case.priority = int(Priority.URGENT)
    for item in relabelled:
        item.category = ContentCategory.MINOR
    for row in (*stored, *elsewhere):
        row.storage_key = None
        row.destroyed_at = moment
    letters = letters_with_images(session, case.id)
    for letter in letters:
        letter.pdf = b""
        letter.destroyed_at = moment
    session.flush()
    case_event(
        session,
        actor,
        case,
        "case.minor_found",
        reason=reason,
        previous=previous.value,
        posts_reclassified=len(relabelled),
        destroyed_files=len(stored),
        files=_hashes(stored),
        destroyed_letters=len(letters),
        letters=[{"letter_id": x.id, "sha256": x.sha256} for x in letters],
    )
    by_case: dict[int, list[EvidenceFile]] = {}
    for row in elsewhere:
        by_case.setdefault(row.case_id, []).append(row)
    for other_id, rows in by_case.items():
        other = session.get_one(Case, other_id)
        case_event(
            session,
            actor,
            other,
            "evidence.destroyed",
            reason="minor_found_elsewhere",
            destroyed_files=len(rows),
            files=_hashes(rows),
        )
    # Every row naming these keys was just cleared; blobs in the database go with them.
    return release_files(session, keys)


def letters_with_images(session: DbSession, case_id: int) -> list[Letter]:
    """The case's letters whose PDF holds a screenshot (an exhibit printed blurred or
    clear) or annexes an earlier letter that does, oldest first, not yet destroyed."""
    holding: list[Letter] = []
    held_ids: set[int] = set()
    for letter in session.scalars(
        select(Letter).where(Letter.case_id == case_id).order_by(Letter.id)
    ):
        snapshot = letter.data_snapshot or {}
        printed = any(exhibit.get("image") for exhibit in snapshot.get("exhibits") or [])
        annexed = ((snapshot.get("related") or {}).get("letter") or {}).get("id")
        if printed or annexed in held_ids:
            held_ids.add(letter.id)
            if letter.destroyed_at is None:
                holding.append(letter)
    return holding


def _hashes(rows: list[EvidenceFile]) -> list[dict[str, object]]:
    """What identifies each destroyed image without holding it: id, SHA-256 and PDQ."""
    return [{"evidence_id": row.id, "sha256": row.sha256, "pdq": row.pdq} for row in rows]
