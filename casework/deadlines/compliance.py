"""The platform compliance report: per platform and jurisdiction, how notices were answered.

Counts and durations only: no reference, name, address or link leaves this module.
"""

from __future__ import annotations

import csv
import io
import math
import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select

from casework.cases.models import Case
from casework.deadlines.models import Deadline, DeadlineState
from casework.deadlines.removed import notice_removals
from casework.deadlines.services import FOLLOW_UP
from casework.notices.models import Notice, NoticeState
from casework.orm import DbSession
from casework.registry import default_registry
from casework.sqlutil import in_chunks

CSV_COLUMNS = (
    "platform",
    "jurisdiction",
    "notices_sent",
    "removed_in_time",
    "removed_late",
    "not_removed",
    "removed_no_legal_deadline",
    "removals_confirmed_by_check",
    "removals_recorded_by_staff",
    "deadlines_missed",
    "median_response_hours",
    "p90_response_hours",
)


@dataclass
class ComplianceRow:
    platform: str
    jurisdiction: str
    notices_sent: int = 0
    removed_in_time: int = 0
    removed_late: int = 0
    not_removed: int = 0
    removed_no_legal_deadline: int = 0
    # Of the removed notices: every post seen gone by an automatic check, or at least one
    # removal taken from staff's own record.
    removals_confirmed_by_check: int = 0
    removals_recorded_by_staff: int = 0
    deadlines_missed: int = 0
    response_hours: list[float] = field(default_factory=list)

    @property
    def median_response_hours(self) -> float | None:
        return round(statistics.median(self.response_hours), 1) if self.response_hours else None

    @property
    def p90_response_hours(self) -> float | None:
        return percentile(self.response_hours, 0.9)

    def as_csv_row(self) -> list[object]:
        return [
            self.platform,
            self.jurisdiction,
            self.notices_sent,
            self.removed_in_time,
            self.removed_late,
            self.not_removed,
            self.removed_no_legal_deadline,
            self.removals_confirmed_by_check,
            self.removals_recorded_by_staff,
            self.deadlines_missed,
            "" if self.median_response_hours is None else self.median_response_hours,
            "" if self.p90_response_hours is None else self.p90_response_hours,
        ]


def percentile(values: Sequence[float], fraction: float) -> float | None:
    """Nearest-rank percentile: a value that was actually observed, never an interpolation."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(math.ceil(fraction * len(ordered)), 1)
    return round(ordered[rank - 1], 1)


def _platform(route_key: str) -> str:
    try:
        return default_registry().route(route_key).addressee.name
    except KeyError:
        return route_key


def compliance_report(session: DbSession, organisation_id: int) -> list[ComplianceRow]:
    """One row per platform and jurisdiction for the organisation's notices that were sent."""
    notices = session.execute(
        select(Notice.id, Notice.route_key, Notice.jurisdiction, Notice.received_at, Notice.sent_at)
        .join(Case, Case.id == Notice.case_id)
        .where(
            Case.organisation_id == organisation_id,
            Notice.state != NoticeState.DRAFT,
            Notice.sent_at.is_not(None),
        )
    ).all()
    ids = [n.id for n in notices]
    removals = notice_removals(session, ids)
    deadlines: dict[int, list[tuple[str, datetime, DeadlineState]]] = defaultdict(list)
    for chunk in in_chunks(ids):
        for notice_id, stage, due_at, dstate in session.execute(
            select(Deadline.notice_id, Deadline.stage, Deadline.due_at, Deadline.state).where(
                Deadline.notice_id.in_(chunk)
            )
        ):
            deadlines[notice_id].append((stage, due_at, dstate))

    rows: dict[tuple[str, str], ComplianceRow] = {}
    for notice in notices:
        key = (_platform(notice.route_key), notice.jurisdiction.upper())
        row = rows.setdefault(key, ComplianceRow(*key))
        row.notices_sent += 1
        legal = sorted((d for d in deadlines[notice.id] if d[0] != FOLLOW_UP), key=lambda d: d[1])
        row.deadlines_missed += sum(1 for d in legal if d[2] == DeadlineState.MISSED)
        removal = removals.get(notice.id)
        start = notice.received_at or notice.sent_at
        if removal is None or removal.removed_at is None:
            row.not_removed += 1
            continue
        removed = removal.removed_at
        if removal.all_confirmed_by_check:
            row.removals_confirmed_by_check += 1
        else:
            row.removals_recorded_by_staff += 1
        if start is not None:
            row.response_hours.append(max((removed - start).total_seconds(), 0) / 3600)
        if not legal:
            row.removed_no_legal_deadline += 1
        elif removed <= legal[0][1]:
            row.removed_in_time += 1
        else:
            row.removed_late += 1
    return [rows[key] for key in sorted(rows)]


def to_csv(rows: Iterable[ComplianceRow]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        writer.writerow(row.as_csv_row())
    return buffer.getvalue()
