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
from datetime import datetime, timedelta
from typing import NamedTuple, Protocol

from sqlalchemy import insert, select, update

from casework.accounts.models import Organisation, Role, User
from casework.actors import SYSTEM
from casework.audit.events import deadline_change
from casework.audit.services import record_events
from casework.cases.models import Case, CaseStatus
from casework.cases.workflow import OPEN_STATUSES, transition_many
from casework.cases.worklists import refresh_sort_deadlines
from casework.deadlines import messages
from casework.deadlines.models import Deadline, DeadlineState, Escalation, Reminder
from casework.deadlines.removed import notice_removals
from casework.deadlines.services import FOLLOW_UP
from casework.notices.models import Notice
from casework.notifications.models import EmailState, Notification, OutgoingEmail
from casework.notifications.services import notify_user, queue_email
from casework.orm import DbSession
from casework.registry import default_registry


@dataclass
class Effects:
    """Work to hand to the queues once the transaction that caused it has committed."""

    email_ids: list[int] = field(default_factory=list)
    escalation_ids: list[int] = field(default_factory=list)
    # (notice id, why): the notices whose posts to check, when removal checks are on.
    removal_checks: list[tuple[int, str]] = field(default_factory=list)
    # Removed posts whose daily follow-up check is overdue.
    follow_up_item_ids: list[int] = field(default_factory=list)

    def extend(self, other: Effects) -> None:
        self.email_ids += other.email_ids
        self.escalation_ids += other.escalation_ids
        self.removal_checks += other.removal_checks
        self.follow_up_item_ids += other.follow_up_item_ids


@dataclass(frozen=True)
class Handled:
    """One deadline or reminder acted on: what it was and what became of it."""

    kind: str  # "deadline" or "reminder"
    id: int
    outcome: str
    case_id: int
    effects: Effects


# A notice and a moment: were all its posts removed by then?
NoticeAt = tuple[int, datetime]
# Per item of a notice removed in time, the id of the automatic check that saw it gone
# (None where staff recorded the removal).
RemovalEvidence = list[int | None]


def removed_by(
    session: DbSession, questions: Iterable[NoticeAt]
) -> dict[NoticeAt, RemovalEvidence]:
    """The (notice, moment) pairs whose every item was down at or before the moment, each
    with its evidence. A notice without items was not removed."""
    wanted = set(questions)
    removals = notice_removals(session, {notice_id for notice_id, _ in wanted})
    return {
        (notice_id, moment): removal.check_ids
        for notice_id, moment in wanted
        if (removal := removals.get(notice_id)) is not None and removal.removed_by(moment)
    }


class Staffed(Protocol):
    """A case, or a row about one: whom it is assigned to, in which organisation."""

    @property
    def assignee_id(self) -> int | None: ...

    @property
    def organisation_id(self) -> int: ...


@dataclass(frozen=True)
class StaffToTell:
    """Who hears about a case: its assigned caseworker while active, else every active
    caseworker of its organisation."""

    users: dict[int, User]
    caseworkers_by_org: dict[int, list[User]]

    def of(self, case: Staffed) -> list[User]:
        assignee = self.users.get(case.assignee_id) if case.assignee_id else None
        if assignee is not None and assignee.is_active_user:
            return [assignee]
        return self.caseworkers_by_org.get(case.organisation_id, [])


def staff_to_tell(session: DbSession, cases: Iterable[Staffed]) -> StaffToTell:
    """The staff to tell about each of these cases, read in two statements at most."""
    cases = list(cases)
    assignee_ids = {c.assignee_id for c in cases if c.assignee_id}
    users = (
        {u.id: u for u in session.scalars(select(User).where(User.id.in_(assignee_ids)))}
        if assignee_ids
        else {}
    )
    orphan_orgs = {
        c.organisation_id
        for c in cases
        if not (c.assignee_id in users and users[c.assignee_id].is_active_user)
    }
    caseworkers: dict[int, list[User]] = {}
    if orphan_orgs:
        for user in session.scalars(
            select(User).where(
                User.organisation_id.in_(orphan_orgs),
                User.role == Role.CASEWORKER,
                User.is_active_user.is_(True),
            )
        ):
            caseworkers.setdefault(user.organisation_id, []).append(user)
    return StaffToTell(users, caseworkers)


def _tell(
    session: DbSession,
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
    email_ids: list[int] = []
    seen: set[str] = set()

    def _email(address: str, locale: str) -> None:
        if address.lower() in seen:
            return
        seen.add(address.lower())
        message = messages.render(kind, params, locale)
        email = queue_email(
            session,
            recipient=address,
            subject=message.subject,
            body=message.body,
            organisation_id=case.organisation_id,
            case_id=case.id,
        )
        # The job sends it now; the sweep retries it only if that job is lost.
        email.next_attempt_at = now + timedelta(seconds=email_grace_seconds)
        email_ids.append(email.id)

    for user in staff:
        notify_user(session, user_id=user.id, kind=kind, case_id=case.id, params=dict(params))
        _email(user.email, user.locale or "en")
    for address in extra_addresses:
        _email(address, "en")
    return email_ids


@dataclass(frozen=True)
class _Due:
    """A pending deadline that has come due, with what deciding and telling about it needs."""

    id: int
    notice_id: int
    case_id: int
    stage: str
    due_at: datetime
    route_key: str
    status: CaseStatus
    organisation_id: int
    assignee_id: int | None
    reference: str
    timezone: str


@dataclass(frozen=True)
class _Decision:
    """What becomes of a due deadline, and for a met one the evidence of removal."""

    due: _Due
    outcome: DeadlineState
    evidence: RemovalEvidence | None


class _DigestKey(NamedTuple):
    """One email per message kind, organisation and recipient in a batch."""

    kind: str
    organisation_id: int
    address_key: str  # the address lowercased: one email per mailbox
    address: str
    locale: str


def handle_deadlines(
    session: DbSession,
    deadline_ids: Iterable[int],
    *,
    now: datetime,
    by: str,
    email_grace_seconds: int = 120,
) -> list[Handled]:
    """Act on deadlines that have come due, each once. The caller commits, then runs the
    effects.

    Removed in time: met. Our own follow-up date: the caseworker is prompted (lapsed),
    nothing is escalated. A case no longer open: cancelled. Otherwise missed: the case is
    escalated through the workflow, an escalation is opened for the letter, and the
    caseworker and the organisation's escalation list are told. Deadlines that are gone,
    not yet due or handled by someone else are left out of the result.

    Set-based, so the sweep handles a batch in a fixed number of statements.
    """
    dues = _load_due(session, list(deadline_ids), now=now)
    if not dues:
        return []
    decisions = _claim(session, _decide(session, dues), now=now, by=by)
    if not decisions:
        return []
    _record_outcomes(session, decisions)
    escalation_ids = _escalate(
        session, [d.due for d in decisions if d.outcome == DeadlineState.MISSED], now=now
    )
    email_ids = _notify(session, decisions, now=now, email_grace_seconds=email_grace_seconds)
    refresh_sort_deadlines(session, {d.due.case_id for d in decisions})
    return [
        Handled(
            "deadline",
            d.due.id,
            d.outcome.value,
            d.due.case_id,
            Effects(
                email_ids=email_ids.get(d.due.id, []),
                escalation_ids=[escalation_ids[d.due.id]] if d.due.id in escalation_ids else [],
                # Just after the deadline: what stood at the due time, for the record.
                removal_checks=[(d.due.notice_id, "after_deadline")],
            ),
        )
        for d in decisions
    ]


def _load_due(session: DbSession, deadline_ids: list[int], *, now: datetime) -> list[_Due]:
    """The deadlines among these that are still pending and due at `now`."""
    if not deadline_ids:
        return []
    return [
        _Due(*row)
        for row in session.execute(
            select(
                Deadline.id,
                Deadline.notice_id,
                Deadline.case_id,
                Deadline.stage,
                Deadline.due_at,
                Notice.route_key,
                Case.status,
                Case.organisation_id,
                Case.assignee_id,
                Case.reference,
                Case.timezone,
            )
            .join(Notice, Notice.id == Deadline.notice_id)
            .join(Case, Case.id == Deadline.case_id)
            .where(
                Deadline.id.in_(deadline_ids),
                Deadline.state == DeadlineState.PENDING,
                Deadline.due_at <= now,
            )
        )
    ]


def _decide(session: DbSession, dues: list[_Due]) -> list[_Decision]:
    """Each due deadline's outcome, from what was removed by its due time."""
    removed = removed_by(session, [(d.notice_id, d.due_at) for d in dues])
    decisions = []
    for due in dues:
        evidence = removed.get((due.notice_id, due.due_at))
        decisions.append(_Decision(due, _outcome(due, evidence is not None), evidence))
    return decisions


def _outcome(due: _Due, removed: bool) -> DeadlineState:
    if removed:
        return DeadlineState.MET
    if due.status not in OPEN_STATUSES:
        return DeadlineState.CANCELLED
    if due.stage == FOLLOW_UP:
        return DeadlineState.LAPSED
    return DeadlineState.MISSED


def _claim(
    session: DbSession, decisions: list[_Decision], *, now: datetime, by: str
) -> list[_Decision]:
    """Move each deadline to its outcome; only rows still pending move, so a racing handler
    gets nothing back. Returns the decisions this caller claimed, in their order."""
    claimed: set[int] = set()
    for outcome in {d.outcome for d in decisions}:
        group = [d.due.id for d in decisions if d.outcome == outcome]
        claimed |= set(
            session.scalars(
                update(Deadline)
                .where(
                    Deadline.id.in_(group),
                    Deadline.state == DeadlineState.PENDING,
                    Deadline.due_at <= now,
                )
                .values(state=outcome, handled_at=now, handled_by=by[:80])
                .returning(Deadline.id)
                .execution_options(synchronize_session=False)
            )
        )
    return [d for d in decisions if d.due.id in claimed]


def _record_outcomes(session: DbSession, decisions: list[_Decision]) -> None:
    record_events(
        session,
        [
            deadline_change(
                SYSTEM,
                d.due,
                f"deadline.{d.outcome.value}",
                **_deadline_details(d.due, d.evidence),
            )
            for d in decisions
        ],
    )


def _deadline_details(due: _Due, evidence: RemovalEvidence | None) -> dict[str, object]:
    """The audit details of a handled deadline; a met one names its evidence: the checks
    that saw its posts gone, and whether staff recorded any of the removals themselves."""
    details: dict[str, object] = {"stage": due.stage, "route": due.route_key}
    if evidence is not None:
        checks = sorted(c for c in evidence if c is not None)
        details["removal_checks"] = checks
        details["removal_recorded_by"] = (
            "check" if len(checks) == len(evidence) else "staff" if not checks else "both"
        )
    return details


def _escalate(session: DbSession, missed: list[_Due], *, now: datetime) -> dict[int, int]:
    """Escalate the cases still awaiting the platform and open an escalation for each
    missed deadline; returns each missed deadline's escalation id."""
    transition_many(
        session,
        list(
            {
                d.case_id: (d.case_id, d.organisation_id, d.status)
                for d in missed
                if d.status == CaseStatus.AWAITING_PLATFORM
            }.values()
        ),
        CaseStatus.ESCALATED,
        SYSTEM,
        reason="deadline_missed",
        now=now,
    )
    if not missed:
        return {}
    returned = session.execute(
        insert(Escalation).returning(
            Escalation.id, Escalation.deadline_id, sort_by_parameter_order=True
        ),
        [
            {
                "deadline_id": d.id,
                "case_id": d.case_id,
                "notice_id": d.notice_id,
                "route_key": _escalation_route(d.route_key),
                "created_at": now,
            }
            for d in missed
        ],
    )
    return {deadline_id: escalation_id for escalation_id, deadline_id in returned}


def _escalation_route(route_key: str) -> str | None:
    try:
        route = default_registry().route(route_key)
    except KeyError:
        return None
    return route.escalation.route if route.escalation else None


def _notify(
    session: DbSession, decisions: list[_Decision], *, now: datetime, email_grace_seconds: int
) -> dict[int, list[int]]:
    """Tell staff of missed and lapsed deadlines (and the escalation lists of missed ones):
    an in-app notification per person and deadline, an email digest per recipient.
    Returns the email ids to deliver, each under the first deadline its digest lists."""
    dues = [d.due for d in decisions]
    staff = staff_to_tell(session, dues)
    escalation_lists = _escalation_lists(session, {d.organisation_id for d in dues})
    notifications: list[dict[str, object]] = []
    digests: dict[_DigestKey, list[tuple[int, dict[str, object]]]] = {}
    for decision in decisions:
        due = decision.due
        if decision.outcome == DeadlineState.MISSED:
            kind = messages.KIND_MISSED
            extra = escalation_lists.get(due.organisation_id, [])
        elif decision.outcome == DeadlineState.LAPSED:
            kind, extra = messages.KIND_FOLLOW_UP, []
        else:
            continue
        params = messages.deadline_params(
            reference=due.reference,
            route_key=due.route_key,
            stage=due.stage,
            due_at=due.due_at,
            timezone=due.timezone,
        )
        recipients: list[tuple[str, str]] = []
        for user in staff.of(due):
            notifications.append(
                {
                    "user_id": user.id,
                    "case_id": due.case_id,
                    "kind": kind,
                    "params": params,
                    "created_at": now,
                }
            )
            recipients.append((user.email, user.locale or "en"))
        recipients += [(address, "en") for address in extra]
        for address, locale in dict.fromkeys(recipients):
            # One email per recipient per batch: a backlog of a thousand missed deadlines
            # is one message listing them, not a thousand messages.
            key = _DigestKey(kind, due.organisation_id, address.lower(), address, locale)
            digests.setdefault(key, []).append((due.id, params))
    if notifications:
        session.execute(insert(Notification), notifications)
    return _queue_digests(session, digests, now=now, email_grace_seconds=email_grace_seconds)


def _escalation_lists(session: DbSession, organisation_ids: set[int]) -> dict[int, list[str]]:
    """Each organisation's escalation email addresses."""
    return {
        org_id: _split_addresses(addresses)
        for org_id, addresses in session.execute(
            select(Organisation.id, Organisation.escalation_emails).where(
                Organisation.id.in_(organisation_ids)
            )
        )
    }


def _split_addresses(text: str | None) -> list[str]:
    return [a.strip() for a in (text or "").replace(";", ",").split(",") if a.strip()]


def _queue_digests(
    session: DbSession,
    digests: dict[_DigestKey, list[tuple[int, dict[str, object]]]],
    *,
    now: datetime,
    email_grace_seconds: int,
) -> dict[int, list[int]]:
    """One outbox email per digest; returns the email ids by the first deadline listed."""
    if not digests:
        return {}
    send_after = now + timedelta(seconds=email_grace_seconds)
    emails: list[dict[str, object]] = []
    for key, entries in digests.items():
        message = messages.render_many(key.kind, [params for _, params in entries], key.locale)
        emails.append(
            {
                "organisation_id": key.organisation_id,
                "recipient": key.address,
                "subject": message.subject,
                "body": message.body,
                "state": EmailState.PENDING,
                "attempts": 0,
                # The job sends it now; the sweep retries it only if that job is lost.
                "next_attempt_at": send_after,
                "created_at": now,
            }
        )
    returned_ids = session.scalars(
        insert(OutgoingEmail).returning(OutgoingEmail.id, sort_by_parameter_order=True),
        emails,
    ).all()
    email_ids: dict[int, list[int]] = {}
    for entries, email_id in zip(digests.values(), returned_ids, strict=True):
        email_ids.setdefault(entries[0][0], []).append(email_id)
    return email_ids


def handle_deadline(
    session: DbSession, deadline_id: int, *, now: datetime, by: str, email_grace_seconds: int = 120
) -> Handled | None:
    """One deadline through handle_deadlines; None when there was nothing to do."""
    handled = handle_deadlines(
        session, [deadline_id], now=now, by=by, email_grace_seconds=email_grace_seconds
    )
    return handled[0] if handled else None


def send_reminder(
    session: DbSession,
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
        or (notice.id, now) in removed_by(session, [(notice.id, now)])
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
        staff=staff_to_tell(session, [case]).of(case),
        now=now,
        email_grace_seconds=email_grace_seconds,
    )
    if removal_checks:
        effects.removal_checks.append((notice.id, "reminder"))
    return Handled("reminder", reminder_id, "sent", case.id, effects)
