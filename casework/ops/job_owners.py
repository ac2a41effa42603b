"""Which organisation a background job works for, read from the ids it was given.

Jobs take row ids; each kind of job names the row that says whose work it is. A job
of a kind not listed here (the sweep, anything platform-wide) belongs to no
organisation, so no organisation's admin sees or retries it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import select

from casework.accounts.models import User
from casework.cases.models import Case, Item
from casework.deadlines.models import Deadline, Escalation, Reminder
from casework.notices.models import Notice
from casework.notifications.models import OutgoingEmail
from casework.orm import DbSession

OwnerOf = Callable[[DbSession, Sequence[Any]], int | None]


def _email(session: DbSession, args: Sequence[Any]) -> int | None:
    return session.scalar(select(OutgoingEmail.organisation_id).where(OutgoingEmail.id == args[0]))


def _user(session: DbSession, args: Sequence[Any]) -> int | None:
    return session.scalar(select(User.organisation_id).where(User.id == args[0]))


def _case(session: DbSession, args: Sequence[Any]) -> int | None:
    return session.scalar(select(Case.organisation_id).where(Case.id == args[0]))


def _cases(session: DbSession, args: Sequence[Any]) -> int | None:
    owners = set(session.scalars(select(Case.organisation_id).where(Case.id.in_(list(args[0])))))
    # A batch is one organisation's by construction; anything else is no one's.
    return owners.pop() if len(owners) == 1 else None


def _notice(session: DbSession, args: Sequence[Any]) -> int | None:
    return session.scalar(
        select(Case.organisation_id)
        .join(Notice, Notice.case_id == Case.id)
        .where(Notice.id == args[0])
    )


def _deadline(session: DbSession, args: Sequence[Any]) -> int | None:
    return session.scalar(
        select(Case.organisation_id)
        .join(Deadline, Deadline.case_id == Case.id)
        .where(Deadline.id == args[0])
    )


def _reminder(session: DbSession, args: Sequence[Any]) -> int | None:
    return session.scalar(
        select(Case.organisation_id)
        .join(Deadline, Deadline.case_id == Case.id)
        .join(Reminder, Reminder.deadline_id == Deadline.id)
        .where(Reminder.id == args[0])
    )


def _item(session: DbSession, args: Sequence[Any]) -> int | None:
    return session.scalar(
        select(Case.organisation_id).join(Item, Item.case_id == Case.id).where(Item.id == args[0])
    )


def _escalation(session: DbSession, args: Sequence[Any]) -> int | None:
    return session.scalar(
        select(Case.organisation_id)
        .join(Escalation, Escalation.case_id == Case.id)
        .where(Escalation.id == args[0])
    )


def _imported_case(session: DbSession, args: Sequence[Any]) -> int | None:
    # import_links_job(run_id, case_id, ...): the case is the second argument.
    return session.scalar(select(Case.organisation_id).where(Case.id == args[1]))


# RQ's name for each job function (module and name) -> how to find its organisation.
OWNERS: dict[str, OwnerOf] = {
    "casework.notifications.jobs.deliver_email": _email,
    "casework.accounts.jobs.send_password_link_job": _user,
    "casework.notices.jobs.generate_letter_job": _case,
    "casework.notices.jobs.generate_letters_job": _cases,
    "casework.deadlines.jobs.handle_deadline": _deadline,
    "casework.deadlines.jobs.send_reminder": _reminder,
    "casework.deadlines.jobs.check_removals": _notice,
    "casework.deadlines.jobs.check_post": _item,
    "casework.deadlines.jobs.draft_escalation_letter": _escalation,
    "casework.cases.link_import.import_links_job": _imported_case,
}


# Jobs that work for every organisation at once: their failures are the operators'.
PLATFORM_JOBS = frozenset(
    {
        "casework.deadlines.jobs.sweep_job",
        "casework.cases.jobs.purge_expired_cases_job",
        "casework.audit.jobs.anchor_audit_job",
        "casework.intake.jobs.purge_expired_drafts_job",
    }
)


def organisation_of(session: DbSession, func_name: str | None, args: Sequence[Any]) -> int | None:
    """The organisation the job works for, or None when it is no single organisation's."""
    owner = OWNERS.get(func_name or "")
    if owner is None or not args:
        return None
    try:
        return owner(session, args)
    except (TypeError, ValueError):
        return None  # arguments of an unexpected shape: no one's
