"""Read-only queries behind the letters screens."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case as sql_case
from sqlalchemy import func, select, true
from sqlalchemy.orm import defer

from casework.cases.models import Case, CaseStatus
from casework.notices.models import Letter, Notice
from casework.orm import DbSession

PAGE_SIZE = 50


@dataclass(frozen=True)
class ReadyRow:
    case: Case
    letters: int
    latest_letter_at: datetime | None


def ready_for_legal_action(
    session: DbSession, organisation_id: int, *, page: int = 1
) -> tuple[list[ReadyRow], bool]:
    """The cases ready for legal action (casework.cases.readiness), with their letters:
    escalated first, then urgent first.

    Returns one page of rows and whether another page follows.
    """
    counts = (
        select(
            Letter.case_id,
            func.count(Letter.id).label("letters"),
            func.max(Letter.created_at).label("latest"),
        )
        .group_by(Letter.case_id)
        .subquery()
    )
    escalated_first = sql_case((Case.status == CaseStatus.ESCALATED, 0), else_=1)
    stmt = (
        select(Case, counts.c.letters, counts.c.latest)
        .outerjoin(counts, counts.c.case_id == Case.id)
        .where(Case.organisation_id == organisation_id, Case.legal_ready == true())
        .order_by(escalated_first, Case.priority, Case.sort_deadline_at, Case.id)
        .offset((max(page, 1) - 1) * PAGE_SIZE)
        .limit(PAGE_SIZE + 1)
    )
    rows = [
        ReadyRow(case=row[0], letters=int(row[1] or 0), latest_letter_at=row[2])
        for row in session.execute(stmt)
    ]
    return rows[:PAGE_SIZE], len(rows) > PAGE_SIZE


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
