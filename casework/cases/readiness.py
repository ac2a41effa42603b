"""Whether a case is ready for legal action: one definition, kept by whoever changes a case.

A case is ready for legal action while it is open and a lawyer has something to do:

- it is escalated (the platform missed its deadline), or
- its victim asked for legal help (a wanted action whose code contains "legal"), or
- it is past triage, not yet escalated (action, awaiting the platform), and has a
  notice on a regulator or police route (a registry route of a kind in
  LEGAL_ROUTE_KINDS) or a letter to sign.

The answer is stored in cases.legal_ready, so the Ready for legal action queue is one
index range. It is recomputed in SQL by refresh_legal_ready(), which the operations
that change what it depends on call themselves: the workflow's transitions (one case
or many at once), opening a notice, making a letter, filing and merging a case.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import String, and_, cast, exists, false, literal, or_, select, true, update
from sqlalchemy import case as sql_case
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.sql.elements import ColumnElement

from casework.cases.models import OPEN_STATUSES, Case, CaseStatus
from casework.notices.models import Letter, Notice
from casework.orm import DbSession
from casework.registry import default_registry

# Routes that take a case to a regulator or the police, by their kind in the registry.
LEGAL_ROUTE_KINDS = frozenset({"regulator_complaint", "police_report"})
LEGAL_WANTED_MARKER = "legal"
# Statuses in which a legal-route notice or a letter makes a case a lawyer's to act on.
IN_HAND_STATUSES = (CaseStatus.ACTION, CaseStatus.AWAITING_PLATFORM)


def legal_route_keys() -> list[str]:
    """Keys of the registry's routes to a regulator or the police."""
    return sorted(r.key for r in default_registry().routes if r.kind in LEGAL_ROUTE_KINDS)


def is_legal_route(route_key: str) -> bool:
    return route_key in legal_route_keys()


def legal_ready_sql(cases: Any) -> ColumnElement[bool]:
    """The definition above, as a predicate over the cases table."""
    notices = Notice.__table__
    letters = Letter.__table__
    legal_notice = exists(
        select(literal(1)).where(
            notices.c.case_id == cases.c.id, notices.c.route_key.in_(legal_route_keys())
        )
    )
    letter = exists(select(literal(1)).where(letters.c.case_id == cases.c.id))
    wants_legal = cast(cases.c.wanted_actions, String).contains(LEGAL_WANTED_MARKER)
    return and_(
        cases.c.status.in_(list(OPEN_STATUSES)),
        or_(
            cases.c.status == CaseStatus.ESCALATED,
            wants_legal,
            and_(cases.c.status.in_(list(IN_HAND_STATUSES)), or_(legal_notice, letter)),
        ),
    )


def refresh_legal_ready(session: DbSession, case_ids: Iterable[int | None]) -> None:
    """Recompute cases.legal_ready in SQL for these cases. The caller commits.

    Pending changes are flushed first, so the answer sees them.
    """
    ids = sorted({i for i in case_ids if i is not None})
    if not ids:
        return
    session.flush()
    cases = Case.__table__
    rows = session.execute(
        update(cases)
        .where(cases.c.id.in_(ids))
        .values(
            legal_ready=sql_case((legal_ready_sql(cases), true()), else_=false()),
            # Not a change anyone made: keep updated_at from moving.
            updated_at=cases.c.updated_at,
        )
        .returning(cases.c.id, cases.c.legal_ready)
    ).all()
    # Keep loaded objects in step without marking them dirty.
    for case_id, ready in rows:
        loaded = session.identity_map.get(session.identity_key(Case, case_id))
        if loaded is not None:
            set_committed_value(loaded, "legal_ready", bool(ready))
