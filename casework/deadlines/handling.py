"""What happens when a reminder or a deadline comes due: claim it once, then act on it.

Both the scheduled jobs and the periodic sweep call these functions. Each one claims its
row with a compare-and-set UPDATE (`... WHERE state = 'pending'`), so whichever caller
gets there first does the work and every other caller, racing or late, does nothing.
The claim and everything it causes are one transaction: a worker killed half-way
leaves the row pending for the next run.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from casework.accounts.models import Organisation, Role, User
from casework.actors import SYSTEM
from casework.audit.services import record_event
from casework.cases.models import Case, CaseStatus, Item, RemovalState
from casework.cases.workflow import OPEN_STATUSES, transition
from casework.deadlines import messages
from casework.deadlines.models import Deadline, DeadlineState, Escalation, Reminder
from casework.deadlines.services import FOLLOW_UP, refresh_sort_deadline
from casework.notices.models import Notice, NoticeItem
from casework.notices.registry import default_registry
from casework.notifications.models import OutgoingEmail
from casework.notifications.services import notify_user, queue_email


@dataclass
class Effects:
    """Work to hand to the queues once the transaction that caused it has committed."""

    email_ids: list[int] = field(default_factory=list)
    escalation_ids: list[int] = field(default_factory=list)
    removal_check_notice_ids: list[int] = field(default_factory=list)

    def extend(self, other: Effects) -> None:
        self.email_ids += other.email_ids
        self.escalation_ids += other.escalation_ids
        self.removal_check_notice_ids += other.removal_check_notice_ids


@dataclass(frozen=True)
class Handled:
    """One deadline or reminder acted on: what it was and what became of it."""

    kind: str  # "deadline" or "reminder"
    id: int
    outcome: str
    case_id: int
    effects: Effects


def removed_by(session: Session, notice_id: int, moment: datetime) -> bool:
    """Whether every item of the notice was recorded as removed at or before `moment`."""
    rows = session.execute(
        select(NoticeItem.removed_at, Item.removal_state, Item.removal_checked_at)
        .join(Item, Item.id == NoticeItem.item_id)
        .where(NoticeItem.notice_id == notice_id)
    ).all()
    if not rows:
        return False
    for removed_at, state, checked_at in rows:
        if removed_at is not None and removed_at <= moment:
            continue
        if state == RemovalState.REMOVED and checked_at is not None and checked_at <= moment:
            continue
        return False
    return True


def _staff_to_tell(session: Session, case: Case) -> list[User]:
    """The assigned caseworker; for an unassigned case, the organisation's active caseworkers."""
    if case.assignee_id is not None:
        assignee = session.get(User, case.assignee_id)
        if assignee is not None and assignee.is_active_user:
            return [assignee]
    return list(
        session.scalars(
            select(User).where(
                User.organisation_id == case.organisation_id,
                User.role == Role.CASEWORKER,
                User.is_active_user.is_(True),
            )
        )
    )


def _tell(
    session: Session,
    *,
    kind: str,
    case: Case,
    params: dict[str, object],
    staff: Iterable[User],
    extra_addresses: Iterable[str] = (),
    now: datetime,
    email_grace_seconds: int,
) -> list[int]:
    """In-app notifications and outbox emails; returns the email ids to deliver."""
    from datetime import timedelta

    email_ids: list[int] = []
    seen: set[str] = set()

    def _email(address: str, locale: str) -> None:
        if address.lower() in seen:
            return
        seen.add(address.lower())
        message = messages.render(kind, params, locale)
        email = queue_email(session, recipient=address, subject=message.subject, body=message.body)
        # The job sends it now; the sweep retries it only if that job is lost.
        email.next_attempt_at = now + timedelta(seconds=email_grace_seconds)
        email_ids.append(email.id)

    for user in staff:
        notify_user(session, user_id=user.id, kind=kind, case_id=case.id, params=dict(params))
        _email(user.email, user.locale or "en")
    for address in extra_addresses:
        _email(address, "en")
    return email_ids


def _escalation_addresses(session: Session, organisation_id: int) -> list[str]:
    org = session.get(Organisation, organisation_id)
    if org is None or not org.escalation_emails:
        return []
    return [a.strip() for a in org.escalation_emails.replace(";", ",").split(",") if a.strip()]


def _claim_deadline(
    session: Session, deadline_id: int, outcome: DeadlineState, now: datetime, by: str
) -> bool:
    result = session.execute(
        update(Deadline)
        .where(
            Deadline.id == deadline_id,
            Deadline.state == DeadlineState.PENDING,
            Deadline.due_at <= now,
        )
        .values(state=outcome, handled_at=now, handled_by=by[:80])
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1  # type: ignore[attr-defined]


def handle_deadline(
    session: Session, deadline_id: int, *, now: datetime, by: str, email_grace_seconds: int = 120
) -> Handled | None:
    """Act on a deadline that has come due, once. The caller commits, then runs the effects.

    Removed in time: met. Our own follow-up date: the caseworker is prompted (lapsed),
    nothing is escalated. A case no longer open: cancelled. Otherwise missed: the case is
    escalated, an escalation is opened for the letter, and staff are told.
    Returns None when there is nothing to do (gone, not due, or handled already).
    """
    deadline = session.get(Deadline, deadline_id)
    if deadline is None or deadline.state != DeadlineState.PENDING or deadline.due_at > now:
        return None
    notice = session.get(Notice, deadline.notice_id)
    case = session.get(Case, deadline.case_id)
    if notice is None or case is None:
        return None

    if removed_by(session, notice.id, deadline.due_at):
        outcome = DeadlineState.MET
    elif case.status not in OPEN_STATUSES:
        outcome = DeadlineState.CANCELLED
    elif deadline.stage == FOLLOW_UP:
        outcome = DeadlineState.LAPSED
    else:
        outcome = DeadlineState.MISSED
    if not _claim_deadline(session, deadline.id, outcome, now, by):
        return None
    session.refresh(deadline)

    effects = Effects()
    params = messages.deadline_params(
        reference=case.reference,
        route_key=notice.route_key,
        stage=deadline.stage,
        due_at=deadline.due_at,
        timezone=case.timezone,
    )
    record_event(
        session,
        f"deadline.{outcome.value}",
        SYSTEM,
        chain_id=case.organisation_id,
        case_id=case.id,
        object_type="deadline",
        object_id=deadline.id,
        details={"stage": deadline.stage, "route": notice.route_key},
    )
    if outcome == DeadlineState.MISSED:
        if case.status == CaseStatus.AWAITING_PLATFORM:
            transition(session, case, CaseStatus.ESCALATED, SYSTEM, reason="deadline_missed")
        effects.escalation_ids.append(_open_escalation(session, deadline, notice).id)
        effects.email_ids += _tell(
            session,
            kind=messages.KIND_MISSED,
            case=case,
            params=params,
            staff=_staff_to_tell(session, case),
            extra_addresses=_escalation_addresses(session, case.organisation_id),
            now=now,
            email_grace_seconds=email_grace_seconds,
        )
    elif outcome == DeadlineState.LAPSED:
        effects.email_ids += _tell(
            session,
            kind=messages.KIND_FOLLOW_UP,
            case=case,
            params=params,
            staff=_staff_to_tell(session, case),
            now=now,
            email_grace_seconds=email_grace_seconds,
        )
    refresh_sort_deadline(session, case)
    return Handled("deadline", deadline.id, outcome.value, case.id, effects)


def _open_escalation(session: Session, deadline: Deadline, notice: Notice) -> Escalation:
    try:
        route = default_registry().route(notice.route_key)
        route_key = route.escalation.route if route.escalation else None
    except KeyError:
        route_key = None
    escalation = Escalation(
        deadline_id=deadline.id,
        case_id=deadline.case_id,
        notice_id=notice.id,
        route_key=route_key,
    )
    session.add(escalation)
    session.flush()
    return escalation


def send_reminder(
    session: Session,
    reminder_id: int,
    *,
    now: datetime,
    removal_checks: bool = False,
    email_grace_seconds: int = 120,
) -> Handled | None:
    """Tell staff a deadline is coming, once. The caller commits, then runs the effects.

    A reminder whose deadline is settled or already due, whose case is closed or whose
    content is already removed is marked sent without telling anyone.
    """
    reminder = session.get(Reminder, reminder_id)
    if reminder is None or reminder.sent_at is not None or reminder.remind_at > now:
        return None
    claimed = session.execute(
        update(Reminder)
        .where(Reminder.id == reminder_id, Reminder.sent_at.is_(None), Reminder.remind_at <= now)
        .values(sent_at=now)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        return None
    deadline = session.get(Deadline, reminder.deadline_id)
    if deadline is None:
        return None
    case = session.get(Case, deadline.case_id)
    notice = session.get(Notice, deadline.notice_id)
    effects = Effects()
    if (
        case is None
        or notice is None
        or deadline.state != DeadlineState.PENDING
        # A reminder caught up with after its deadline is due says nothing the
        # deadline's own message will not.
        or deadline.due_at <= now
        or case.status not in OPEN_STATUSES
        or removed_by(session, notice.id, now)
    ):
        return Handled("reminder", reminder_id, "skipped", deadline.case_id, effects)
    params = messages.deadline_params(
        reference=case.reference,
        route_key=notice.route_key,
        stage=deadline.stage,
        due_at=deadline.due_at,
        timezone=case.timezone,
    )
    effects.email_ids += _tell(
        session,
        kind=messages.KIND_REMINDER,
        case=case,
        params=params,
        staff=_staff_to_tell(session, case),
        now=now,
        email_grace_seconds=email_grace_seconds,
    )
    if removal_checks:
        effects.removal_check_notice_ids.append(notice.id)
    return Handled("reminder", reminder_id, "sent", case.id, effects)


def pending_email_ids(session: Session, ids: Iterable[int]) -> list[int]:
    """Of these outbox ids, the ones still waiting to be sent."""
    wanted = list(ids)
    if not wanted:
        return []
    return list(
        session.scalars(
            select(OutgoingEmail.id).where(
                OutgoingEmail.id.in_(wanted), OutgoingEmail.state == "pending"
            )
        )
    )
