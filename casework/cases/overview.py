"""The organisation overview: open cases by status, overdue notices, time to the first notice."""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import distinct, func, select

from casework.cases.models import OPEN_STATUSES, Case, CaseStatus
from casework.deadlines.models import Deadline, DeadlineState
from casework.notices.models import Notice
from casework.orm import DbSession, utcnow

MEDIAN_MONTHS = 12


@dataclass(frozen=True)
class MonthMedian:
    month: str  # YYYY-MM of the report
    cases: int
    median_hours: float


@dataclass(frozen=True)
class Overview:
    open_by_status: list[tuple[CaseStatus, int]]
    overdue_by_jurisdiction: list[tuple[str, int]]
    overdue_total: int
    median_hours: float | None
    cases_with_notice: int
    median_by_month: list[MonthMedian]


def organisation_overview(
    session: DbSession, organisation_id: int, *, now: datetime | None = None
) -> Overview:
    """Figures for one organisation; medians cover reports of the last twelve months."""
    now = now or utcnow()
    counts = dict(
        session.execute(
            select(Case.status, func.count())
            .where(Case.organisation_id == organisation_id, Case.status.in_(OPEN_STATUSES))
            .group_by(Case.status)
        )
        .tuples()
        .all()
    )
    open_by_status = [(status, int(counts.get(status, 0))) for status in OPEN_STATUSES]

    overdue = session.execute(
        select(Notice.jurisdiction, func.count(distinct(Notice.id)))
        .join(Deadline, Deadline.notice_id == Notice.id)
        .join(Case, Case.id == Notice.case_id)
        .where(
            Case.organisation_id == organisation_id,
            Deadline.state == DeadlineState.PENDING,
            Deadline.due_at < now,
        )
        .group_by(Notice.jurisdiction)
        .order_by(func.count(distinct(Notice.id)).desc(), Notice.jurisdiction)
    ).all()
    overdue_rows = [(str(code), int(n)) for code, n in overdue]

    since = now - timedelta(days=31 * MEDIAN_MONTHS)
    pairs = session.execute(
        select(Case.created_at, Case.first_notice_at).where(
            Case.organisation_id == organisation_id,
            Case.first_notice_at.is_not(None),
            Case.created_at >= since,
        )
    ).all()
    hours_by_month: dict[str, list[float]] = {}
    every: list[float] = []
    for created, first in pairs:
        hours = max((first - created).total_seconds() / 3600, 0.0)
        every.append(hours)
        hours_by_month.setdefault(created.strftime("%Y-%m"), []).append(hours)
    return Overview(
        open_by_status=open_by_status,
        overdue_by_jurisdiction=overdue_rows,
        overdue_total=sum(n for _, n in overdue_rows),
        median_hours=statistics.median(every) if every else None,
        cases_with_notice=len(every),
        median_by_month=[
            MonthMedian(month, len(values), statistics.median(values))
            for month, values in sorted(hours_by_month.items())
        ],
    )
