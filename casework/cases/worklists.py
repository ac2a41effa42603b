"""Caseworkers' worklists: saved views, filters, keyset pages, capped counts, worklist sort keys.

Every worklist is sorted by (priority, sort_deadline_at, id) and paged by keyset on
that triple, never by OFFSET, so page 2,000 costs what page 1 costs. Each worklist
has a partial or plain index whose leading columns are the worklist's equality
predicates and whose trailing columns are that triple (see Case.__table_args__):

- open, unassigned, mine, urgent: ix_cases_open_queue / ix_cases_open_assignee
- escalated, awaiting platform: ix_cases_queue (status equality)
- closed (resolved, closed, withdrawn): ix_cases_finished_queue
- ready for legal action: ix_cases_legal_queue (the legal_ready flag)
- due within 24 h, overdue: a range on sort_deadline_at, which sits after
  priority in the index; the query is cut into one branch per priority (four),
  each an ordered range scan, and the branches are merged.

A page may list the rows matching a predicate first (the notices' Ready for legal
action page lists escalated cases first): one branch for those, one for the rest,
merged, the cursor saying which part it points into.

Counts never COUNT(*) a whole worklist: each counts at most COUNT_CAP + 1 rows of
its index range (shown as "1,000+"), all in one round trip, and the result is
kept per process for COUNT_CACHE_SECONDS (config WORKLIST_COUNT_CACHE_SECONDS),
and only while the organisation's audit chain head is where it was when they were
counted: every change to a case, made by any host or worker, appends to that chain
in the same transaction, so a cached count is never older than the last committed
change (one primary-key read per page instead of the counts). What no event marks
(time passing a deadline) waits at most the cache's seconds.

"Ready for legal action" is defined in casework.cases.readiness and stored in
cases.legal_ready.
"""

from __future__ import annotations

import enum
import re
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from flask import has_app_context
from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    ColumnExpressionArgument,
    CompoundSelect,
    Select,
    bindparam,
    exists,
    false,
    func,
    literal,
    literal_column,
    not_,
    or_,
    select,
    text,
    true,
    tuple_,
    union_all,
    update,
)
from sqlalchemy.orm import InstrumentedAttribute, selectinload
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.sql.elements import ColumnElement

from casework.audit.models import AuditChain
from casework.cases.models import (
    FINISHED_STATUSES,
    NO_DEADLINE,
    OPEN_STATUSES,
    Case,
    CaseJurisdiction,
    CaseStatus,
    Item,
    Priority,
    status_in_sql,
)
from casework.cases.references import normalise_reference
from casework.deadlines.models import Deadline, DeadlineState
from casework.evidence.xlinks import XLinkError, parse_x_link
from casework.extensions import current_app_object
from casework.orm import DbSession, UTCDateTime, utcnow

PAGE_SIZE = 50
COUNT_CAP = 1000


class WorklistKey(enum.StrEnum):
    OPEN = "open"
    UNASSIGNED = "unassigned"
    MINE = "mine"
    URGENT = "urgent"
    DUE_SOON = "due"
    OVERDUE = "overdue"
    ESCALATED = "escalated"
    AWAITING = "awaiting"
    LEGAL = "legal"
    CLOSED = "closed"
    ALL = "all"


WORKLIST_LABELS: dict[WorklistKey, Any] = {
    WorklistKey.OPEN: _l("All open"),
    WorklistKey.UNASSIGNED: _l("Unassigned"),
    WorklistKey.MINE: _l("Mine"),
    WorklistKey.URGENT: _l("Urgent"),
    WorklistKey.DUE_SOON: _l("Due within 24 h"),
    WorklistKey.OVERDUE: _l("Overdue"),
    WorklistKey.ESCALATED: _l("Escalated"),
    WorklistKey.AWAITING: _l("Awaiting platform"),
    WorklistKey.LEGAL: _l("Ready for legal action"),
    WorklistKey.CLOSED: _l("Closed"),
    WorklistKey.ALL: _l("All cases"),
}

WORKLIST_HINTS: dict[WorklistKey, Any] = {
    WorklistKey.OPEN: _l("Every case still being worked."),
    WorklistKey.UNASSIGNED: _l("Open cases nobody has taken yet."),
    WorklistKey.MINE: _l("Open cases assigned to you."),
    WorklistKey.URGENT: _l("Open cases about a minor, or where the content is spreading."),
    WorklistKey.DUE_SOON: _l(
        "Open cases whose nearest platform deadline falls in the next 24 hours."
    ),
    WorklistKey.OVERDUE: _l("Open cases with a platform deadline that has passed."),
    WorklistKey.ESCALATED: _l("The platform missed its deadline or refused."),
    WorklistKey.AWAITING: _l("A notice was sent; the platform has not answered yet."),
    WorklistKey.LEGAL: _l(
        "Escalated cases, cases in action with a notice to a regulator or the police, "
        "and cases whose victim asked for legal help."
    ),
    WorklistKey.CLOSED: _l("Resolved, closed and withdrawn cases."),
    WorklistKey.ALL: _l("Every case of your organisation."),
}


# --- sort keys kept on the case -------------------------------------------------------


def refresh_sort_deadline(session: DbSession, case: Case) -> datetime:
    """Set sort_deadline_at to the earliest pending deadline, or NO_DEADLINE. Caller commits."""
    session.flush()
    refresh_sort_deadlines(session, [case.id])
    return case.sort_deadline_at


def refresh_sort_deadlines(session: DbSession, case_ids: Iterable[int]) -> None:
    """refresh_sort_deadline for many cases in three statements, however many. Caller commits.

    Grouped by case rather than a correlated min(): PostgreSQL would answer that by
    walking the pending-due index until it met the case, which over a million pending
    rows is most of them.
    """
    ids = set(case_ids)
    if not ids:
        return
    earliest: dict[int, datetime] = {
        case_id: due
        for case_id, due in session.execute(
            select(Deadline.case_id, func.min(Deadline.due_at))
            .where(Deadline.case_id.in_(ids), Deadline.state == DeadlineState.PENDING)
            .group_by(Deadline.case_id)
        )
    }
    session.execute(
        update(Case)
        .where(Case.id.in_(ids))
        .values(sort_deadline_at=NO_DEADLINE)
        .execution_options(synchronize_session=False)
    )
    if earliest:
        cases = Case.__table__
        session.execute(
            update(cases)
            .where(cases.c.id == bindparam("case_id"))
            .values(sort_deadline_at=bindparam("earliest")),
            [{"case_id": case_id, "earliest": due} for case_id, due in earliest.items()],
        )
    # Keep loaded objects in step without marking them dirty.
    for case_id in ids:
        loaded = session.identity_map.get(session.identity_key(Case, case_id))
        if loaded is not None:
            set_committed_value(loaded, "sort_deadline_at", earliest.get(case_id, NO_DEADLINE))


# --- filters --------------------------------------------------------------------------


class FilterError(ValueError):
    """A filter value that cannot be used; the field says which."""

    def __init__(self, field_name: str, message: Any) -> None:
        super().__init__(message)
        self.field = field_name
        self.message = message


@dataclass(frozen=True)
class Filters:
    status: CaseStatus | None = None
    jurisdiction: str | None = None
    priority: int | None = None
    assignee_id: int | None = None
    unassigned: bool = False
    created_from: date | None = None
    created_to: date | None = None
    text: str | None = None

    @property
    def active(self) -> bool:
        return self != Filters()


_HANDLE_RE = re.compile(r"@?([A-Za-z0-9_]{1,15})")
_DIGITS_RE = re.compile(r"[1-9][0-9]{0,18}")


def _text_predicate(raw: str) -> ColumnElement[bool]:
    """Reference, @handle, status id or post link; FilterError when it is none of them."""
    needle = raw.strip()
    options: list[ColumnElement[bool]] = []
    reference = normalise_reference(needle)
    if reference:
        options.append(Case.reference == reference)
    status_id: int | None = None
    if _DIGITS_RE.fullmatch(needle) and int(needle) < 2**63:
        status_id = int(needle)
    else:
        try:
            post = parse_x_link(needle)
        except XLinkError:
            post = None
        if post is not None:
            status_id = post.status_id
    if status_id is not None:
        options.append(Case.id.in_(select(Item.case_id).where(Item.status_id == status_id)))
    handle = _HANDLE_RE.fullmatch(needle)
    if handle and not reference and not needle.isdigit():
        options.append(
            Case.id.in_(select(Item.case_id).where(Item.handle_lower == handle.group(1).lower()))
        )
    if not options:
        raise FilterError(
            "q",
            _l(
                "Search by case reference (CW-2026-000123), posting account (@handle), "
                "post number or link to the post."
            ),
        )
    return or_(*options)


def _day_start(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def filter_predicates(filters: Filters) -> list[ColumnElement[bool]]:
    preds: list[ColumnElement[bool]] = []
    if filters.status is not None:
        preds.append(Case.status == filters.status)
    if filters.jurisdiction:
        preds.append(
            exists(
                select(literal(1)).where(
                    CaseJurisdiction.case_id == Case.id,
                    CaseJurisdiction.code == filters.jurisdiction.upper(),
                )
            )
        )
    if filters.priority is not None:
        preds.append(Case.priority == filters.priority)
    if filters.unassigned:
        preds.append(Case.assignee_id.is_(None))
    elif filters.assignee_id is not None:
        preds.append(Case.assignee_id == filters.assignee_id)
    if filters.created_from is not None:
        preds.append(Case.created_at >= _day_start(filters.created_from))
    if filters.created_to is not None:
        preds.append(Case.created_at < _day_start(filters.created_to) + timedelta(days=1))
    if filters.text:
        preds.append(_text_predicate(filters.text))
    return preds


# --- worklist definitions ------------------------------------------------------------------


@dataclass(frozen=True)
class WorklistSpec:
    """The predicates of one worklist for one user, and an optional sort_deadline_at range.

    With `first`, the rows it matches come before the others, each part in the usual
    order (not for a worklist with a deadline range).
    """

    # Some are text(): the literal SQL the partial indexes are declared with.
    where: list[ColumnExpressionArgument[bool]]
    deadline_from: datetime | None = None
    deadline_before: datetime | None = None
    first: ColumnElement[bool] | None = None

    @property
    def by_priority(self) -> bool:
        return self.deadline_from is not None or self.deadline_before is not None


def worklist_spec(
    worklist: WorklistKey, *, organisation_id: int, user_id: int, now: datetime | None = None
) -> WorklistSpec:
    now = now or utcnow()
    org = Case.organisation_id == organisation_id
    open_ = text(status_in_sql(OPEN_STATUSES, "cases.status"))
    if worklist is WorklistKey.OPEN:
        return WorklistSpec([org, open_])
    if worklist is WorklistKey.ALL:
        return WorklistSpec([org])
    if worklist is WorklistKey.UNASSIGNED:
        return WorklistSpec([org, open_, Case.assignee_id.is_(None)])
    if worklist is WorklistKey.MINE:
        return WorklistSpec([org, open_, Case.assignee_id == user_id])
    if worklist is WorklistKey.URGENT:
        return WorklistSpec([org, open_, Case.priority == int(Priority.URGENT)])
    if worklist is WorklistKey.DUE_SOON:
        return WorklistSpec(
            [org, open_], deadline_from=now, deadline_before=now + timedelta(hours=24)
        )
    if worklist is WorklistKey.OVERDUE:
        return WorklistSpec([org, open_], deadline_before=now)
    if worklist is WorklistKey.ESCALATED:
        return WorklistSpec([org, Case.status == CaseStatus.ESCALATED])
    if worklist is WorklistKey.AWAITING:
        return WorklistSpec([org, Case.status == CaseStatus.AWAITING_PLATFORM])
    if worklist is WorklistKey.LEGAL:
        return WorklistSpec([org, Case.legal_ready == true()])
    if worklist is WorklistKey.CLOSED:
        return WorklistSpec([org, text(status_in_sql(FINISHED_STATUSES, "cases.status"))])
    raise ValueError(f"unknown worklist {worklist!r}")


# --- keyset cursors ---------------------------------------------------------------------

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_CURSOR_RE = re.compile(r"(?:([01]):)?(\d{1,2})\.(-?\d{1,19})\.(\d{1,19})")


@dataclass(frozen=True)
class Cursor:
    """A position in a worklist: the sort key of the row it points at.

    `part` is 0 for a row matched by the worklist's `first` predicate (or when it has
    none), 1 for a row after them.
    """

    priority: int
    deadline: datetime
    id: int
    part: int = 0

    def encode(self) -> str:
        micros = (self.deadline - _EPOCH) // timedelta(microseconds=1)
        key = f"{self.priority}.{micros}.{self.id}"
        return f"{self.part}:{key}" if self.part else key

    @classmethod
    def decode(cls, raw: str | None) -> Cursor | None:
        """The cursor in a URL, or None when absent or not one of ours."""
        match = _CURSOR_RE.fullmatch(raw or "")
        if not match:
            return None
        try:
            deadline = _EPOCH + timedelta(microseconds=int(match.group(3)))
        except OverflowError:
            return None
        return cls(int(match.group(2)), deadline, int(match.group(4)), int(match.group(1) or 0))

    @classmethod
    def of(cls, case: Case) -> Cursor:
        return cls(case.priority, case.sort_deadline_at, case.id)


@dataclass
class WorklistPage:
    cases: list[Case]
    next_cursor: Cursor | None = None
    prev_cursor: Cursor | None = None
    item_counts: dict[int, int] = field(default_factory=dict)


_KEY_COLUMNS = (Case.id, Case.priority, Case.sort_deadline_at)


def _part(number: int) -> Any:
    return literal_column(str(number)).label("part")


def _deadline_bounds(spec: WorklistSpec) -> list[ColumnElement[bool]]:
    bounds: list[ColumnElement[bool]] = []
    if spec.deadline_from is not None:
        bounds.append(Case.sort_deadline_at >= spec.deadline_from)
    if spec.deadline_before is not None:
        bounds.append(Case.sort_deadline_at < spec.deadline_before)
    return bounds


def _typed(cursor: Cursor) -> tuple[Any, Any, Any]:
    return (
        literal(cursor.priority),
        literal(cursor.deadline, UTCDateTime()),
        literal(cursor.id),
    )


def key_select(
    spec: WorklistSpec,
    filters_where: Sequence[ColumnElement[bool]],
    *,
    after: Cursor | None = None,
    before: Cursor | None = None,
    limit: int,
    priority: int | None = None,
) -> Select[Any]:
    """The ordered (id, priority, sort_deadline_at, part) rows of a worklist page.

    Each is read from one index range. `after` pages forward (ascending), `before`
    pages backward (descending).
    """
    backward = before is not None
    cursor = before if backward else after
    where = [*spec.where, *filters_where]
    if spec.first is not None:
        return _parts_select(spec.first, where, cursor, backward, limit)
    if not spec.by_priority:
        return _ordered(select(*_KEY_COLUMNS, _part(0)).where(*where), cursor, backward, limit)

    # sort_deadline_at is ranged, so a single scan of (priority, sort_deadline_at, id)
    # would read every priority's rows; one branch per priority keeps each a range scan.
    branches = []
    priorities = [int(p) for p in Priority] if priority is None else [priority]
    for p in priorities:
        branch = select(*_KEY_COLUMNS).where(*where, Case.priority == p, *_deadline_bounds(spec))
        if cursor is not None:
            if (p < cursor.priority) if not backward else (p > cursor.priority):
                continue
            if p == cursor.priority:
                key = tuple_(Case.sort_deadline_at, Case.id)
                bound = tuple_(literal(cursor.deadline, UTCDateTime()), literal(cursor.id))
                branch = branch.where(key < bound if backward else key > bound)
        branch = branch.order_by(*_order(backward, with_priority=False)).limit(limit)
        branches.append(select(*branch.subquery().c))
    if not branches:
        return select(*_KEY_COLUMNS).where(false()).limit(0)
    merged = union_all(*branches).subquery()
    order = [merged.c.priority, merged.c.sort_deadline_at, merged.c.id]
    return (
        select(merged.c.id, merged.c.priority, merged.c.sort_deadline_at, _part(0))
        .order_by(*(c.desc() if backward else c.asc() for c in order))
        .limit(limit)
    )


def _ordered(stmt: Select[Any], cursor: Cursor | None, backward: bool, limit: int) -> Select[Any]:
    """Rows of `stmt` from the cursor on, by (priority, sort_deadline_at, id)."""
    if cursor is not None:
        key = tuple_(Case.priority, Case.sort_deadline_at, Case.id)
        stmt = stmt.where(
            key < tuple_(*_typed(cursor)) if backward else key > tuple_(*_typed(cursor))
        )
    return stmt.order_by(*_order(backward, with_priority=True)).limit(limit)


def _parts_select(
    first: ColumnElement[bool],
    where: list[ColumnExpressionArgument[bool]],
    cursor: Cursor | None,
    backward: bool,
    limit: int,
) -> Select[Any]:
    """The rows `first` matches (part 0), then the others (part 1): one branch each."""
    branches = []
    for part, predicate in enumerate((first, not_(first))):
        if cursor is not None and ((part > cursor.part) if backward else (part < cursor.part)):
            continue
        branch = select(*_KEY_COLUMNS, _part(part)).where(*where, predicate)
        at = cursor if cursor is not None and part == cursor.part else None
        branches.append(select(*_ordered(branch, at, backward, limit).subquery().c))
    merged = union_all(*branches).subquery()
    order = [merged.c.part, merged.c.priority, merged.c.sort_deadline_at, merged.c.id]
    return (
        select(merged.c.id, merged.c.priority, merged.c.sort_deadline_at, merged.c.part)
        .order_by(*(c.desc() if backward else c.asc() for c in order))
        .limit(limit)
    )


def _order(backward: bool, *, with_priority: bool) -> list[Any]:
    columns: list[InstrumentedAttribute[Any]] = [Case.priority] if with_priority else []
    columns += [Case.sort_deadline_at, Case.id]
    return [c.desc() if backward else c.asc() for c in columns]


def fetch_page(
    session: DbSession,
    spec: WorklistSpec,
    filters: Filters | None = None,
    *,
    after: Cursor | None = None,
    before: Cursor | None = None,
    page_size: int = PAGE_SIZE,
) -> WorklistPage:
    """One page of a worklist by keyset, with links to the pages either side."""
    filters = filters or Filters()
    filters_where = filter_predicates(filters)
    backward = before is not None
    keys = session.execute(
        key_select(
            spec,
            filters_where,
            after=after,
            before=before,
            limit=page_size + 1,
            priority=filters.priority,
        )
    ).all()
    more = len(keys) > page_size
    keys = keys[:page_size]
    if backward:
        keys = keys[::-1]
        if not more and len(keys) < page_size:
            # Back at the start with a short page: show a full first page instead.
            return fetch_page(session, spec, filters, page_size=page_size)
    ids = [row.id for row in keys]
    cases = _load_cases(session, ids)
    page = WorklistPage(cases)
    if keys:
        first, last = (
            Cursor(row.priority, row.sort_deadline_at, row.id, row.part)
            for row in (keys[0], keys[-1])
        )
        if backward:
            page.prev_cursor = first if more else None
            page.next_cursor = last
        else:
            page.next_cursor = last if more else None
            page.prev_cursor = first if after is not None else None
    page.item_counts = item_counts(session, ids)
    return page


def _load_cases(session: DbSession, ids: list[int]) -> list[Case]:
    if not ids:
        return []
    rows = session.scalars(
        select(Case)
        .where(Case.id.in_(ids))
        .options(selectinload(Case.jurisdictions), selectinload(Case.assignee))
    ).all()
    by_id = {c.id: c for c in rows}
    return [by_id[i] for i in ids if i in by_id]


def item_counts(session: DbSession, case_ids: list[int]) -> dict[int, int]:
    if not case_ids:
        return {}
    rows = session.execute(
        select(Item.case_id, func.count()).where(Item.case_id.in_(case_ids)).group_by(Item.case_id)
    ).all()
    return {case_id: count for case_id, count in rows}


# --- counts ----------------------------------------------------------------------------


@dataclass(frozen=True)
class WorklistCount:
    value: int
    capped: bool

    def __str__(self) -> str:
        return f"{self.value:,}+" if self.capped else f"{self.value:,}"


def _capped_count(spec: WorklistSpec, cap: int) -> Any:
    inner: Select[Any] | CompoundSelect[Any]
    if not spec.by_priority:
        inner = select(literal(1).label("one")).where(*spec.where).limit(cap + 1)
    else:
        branches = [
            select(literal(1).label("one"))
            .where(*spec.where, Case.priority == int(p), *_deadline_bounds(spec))
            .limit(cap + 1)
            for p in Priority
        ]
        inner = union_all(*(select(*b.subquery().c) for b in branches))
    return select(func.count()).select_from(inner.subquery()).scalar_subquery()


_Counts = dict[WorklistKey, WorklistCount]


class _CountCache:
    """Per-process counts by (organisation, user), each with the version it was counted at;
    expired by time, by a new version, or by our own writes."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[tuple[int, int], tuple[float, int, _Counts]] = {}

    def get(self, key: tuple[int, int], ttl: float, version: int) -> _Counts | None:
        with self._lock:
            entry = self._entries.get(key)
        if entry is None or time.monotonic() - entry[0] > ttl or entry[1] != version:
            return None
        return entry[2]

    def put(self, key: tuple[int, int], version: int, counts: _Counts) -> None:
        with self._lock:
            self._entries[key] = (time.monotonic(), version, counts)

    def forget_organisation(self, organisation_id: int) -> None:
        with self._lock:
            for key in [k for k in self._entries if k[0] == organisation_id]:
                del self._entries[key]


def count_cache() -> _CountCache | None:
    """This app's count cache (one per app, so tests never see another app's counts)."""
    if not has_app_context():
        return None
    app = current_app_object()
    cache: _CountCache = app.extensions.setdefault("casework_worklist_counts", _CountCache())
    return cache


def forget_counts(organisation_id: int) -> None:
    """Drop cached counts after a change to this organisation's cases."""
    cache = count_cache()
    if cache is not None:
        cache.forget_organisation(organisation_id)


def worklist_counts(
    session: DbSession,
    *,
    organisation_id: int,
    user_id: int,
    cache_seconds: float = 0,
    cap: int = COUNT_CAP,
    now: datetime | None = None,
) -> dict[WorklistKey, WorklistCount]:
    """Every worklist's size, exact up to `cap`, in one round trip of LIMIT'd index scans."""
    cache_key = (organisation_id, user_id)
    cache = count_cache() if cache_seconds > 0 else None
    version = 0
    if cache is not None:
        # Read before counting: a change committed in between makes the next read miss.
        version = counts_version(session, organisation_id)
        cached = cache.get(cache_key, cache_seconds, version)
        if cached is not None:
            return cached
    now = now or utcnow()
    keys = list(WorklistKey)
    specs = [
        worklist_spec(k, organisation_id=organisation_id, user_id=user_id, now=now) for k in keys
    ]
    row = session.execute(
        select(*(_capped_count(spec, cap).label(f"c{i}") for i, spec in enumerate(specs)))
    ).one()
    counts = {
        key: WorklistCount(min(int(value), cap), int(value) > cap)
        for key, value in zip(keys, row, strict=True)
    }
    if cache is not None:
        cache.put(cache_key, version, counts)
    return counts


def counts_version(session: DbSession, organisation_id: int) -> int:
    """Where the organisation's audit chain stands: it moves with every committed change
    to one of its cases, whichever process made it."""
    seq = session.scalar(select(AuditChain.seq).where(AuditChain.chain_id == organisation_id))
    return int(seq or 0)
