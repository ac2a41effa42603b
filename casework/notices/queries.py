"""Read-only queries behind the letters screens."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import defer

from casework.cases.models import Case, CaseStatus
from casework.cases.worklists import Cursor, WorklistKey, fetch_page, worklist_spec
from casework.notices.models import Letter, Notice
from casework.orm import DbSession


@dataclass(frozen=True)
class ReadyRow:
    case: Case
    letters: int
    latest_letter_at: datetime | None


@dataclass(frozen=True)
class ReadyPage:
    rows: list[ReadyRow]
    next_cursor: Cursor | None
    prev_cursor: Cursor | None


def ready_for_legal_action(
    session: DbSession,
    organisation_id: int,
    user_id: int,
    *,
    after: Cursor | None = None,
    before: Cursor | None = None,
) -> ReadyPage:
    """One keyset page of the Ready for legal action worklist, escalated cases first,
    with each case's letters."""
    legal = worklist_spec(WorklistKey.LEGAL, organisation_id=organisation_id, user_id=user_id)
    # Escalated cases first: the platform has already failed them.
    spec = replace(legal, first=Case.status == CaseStatus.ESCALATED)
    page = fetch_page(session, spec, after=after, before=before)
    ids = [case.id for case in page.cases]
    letters = {
        case_id: (int(count), latest)
        for case_id, count, latest in session.execute(
            select(Letter.case_id, func.count(Letter.id), func.max(Letter.created_at))
            .where(Letter.case_id.in_(ids))
            .group_by(Letter.case_id)
        )
    }
    rows = [ReadyRow(case, *letters.get(case.id, (0, None))) for case in page.cases]
    return ReadyPage(rows, page.next_cursor, page.prev_cursor)


def notices_of_case(session: DbSession, case_id: int) -> Sequence[Notice]:
    return session.scalars(
        select(Notice).where(Notice.case_id == case_id).order_by(Notice.created_at, Notice.id)
    ).all()


def letters_by_route(session: DbSession, case_id: int) -> dict[str, list[Letter]]:
    """Each route's letter versions, newest first."""
    grouped: dict[str, list[Letter]] = {}
    for letter in session.scalars(
        select(Letter)
        .options(defer(Letter.pdf))
        .where(Letter.case_id == case_id)
        .order_by(Letter.route_key, Letter.version.desc())
    ):
        grouped.setdefault(letter.route_key, []).append(letter)
    return grouped


def letters_of_notice(session: DbSession, notice_id: int) -> Sequence[Letter]:
    return session.scalars(
        select(Letter)
        .options(defer(Letter.pdf))
        .where(Letter.notice_id == notice_id)
        .order_by(Letter.version.desc())
    ).all()
