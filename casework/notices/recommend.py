"""The letters a case needs next, derived from the registry and the record.

A route is recommended when the law applies to the case (its jurisdictions, or their
parents, or any), covers at least one of its posts as its letter would list them (a
route only for minors never on an adult's case), matches what the person asked for (a
regulator complaint or a police report only if they asked; takedown steps always), has
not gone out yet, and, if it follows an earlier step the law makes a condition, that
step is on file and its time is up. Escalations after a missed deadline come first.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final, Literal

from sqlalchemy import select

from casework.cases.models import Case
from casework.deadlines.models import Deadline, DeadlineState
from casework.notices.completeness import in_letter
from casework.notices.followups import step_met
from casework.notices.models import SENT_STATES, Notice
from casework.notices.queries import notices_of_case
from casework.orm import DbSession
from casework.registry import Registry, Route, RouteKind

__all__ = ["Recommendation", "recommendations_for", "recommended_letters"]

Reason = Literal["overdue", "follows", "first_step", "minor"]

# What the person must have asked for before we suggest a route of this kind; other kinds
# serve the takedown every report asks for.
WISH_FOR_KIND: Final[dict[RouteKind, str]] = {
    "regulator_complaint": "regulator_complaint",
    "police_report": "police_report",
}
_ORDER: Final[dict[Reason, int]] = {"overdue": 0, "minor": 1, "follows": 2, "first_step": 3}


@dataclass(frozen=True)
class Recommendation:
    route: Route
    reason: Reason
    # The posts the route's legal definition covers; the others are left out of its letter.
    item_ids: tuple[int, ...]
    # The notice on file this letter follows (escalates or complains about), if any.
    after: Notice | None = None
    # A notice already opened for this route and not yet sent.
    open_notice: Notice | None = None


def _covered(route: Route, case: Case) -> tuple[int, ...]:
    """The posts a letter under the route would list (the same rule as the letter's)."""
    return tuple(item.id for item in case.items if in_letter(route, item.category.value))


def _wanted(route: Route, case: Case) -> bool:
    wish = WISH_FOR_KIND.get(route.kind)
    return wish is None or wish in (case.wanted_actions or [])


def recommended_letters(
    case: Case,
    notices: Sequence[Notice],
    registry: Registry,
    as_of: datetime,
    missed_route_keys: Iterable[str] = (),
) -> list[Recommendation]:
    """The next letters for `case`, most pressing first.

    `notices` are the case's notices; `missed_route_keys` the routes whose notice on file
    has missed its legal deadline.
    """
    try:
        candidates = registry.routes_for(case.jurisdiction_codes)
    except KeyError:
        candidates = ()
    missed = set(missed_route_keys)
    sent = {n.route_key for n in notices if n.state in SENT_STATES}
    open_by_route = {n.route_key: n for n in notices if n.state not in SENT_STATES}
    newest_first = sorted(notices, key=lambda n: (n.sent_at or as_of, n.id), reverse=True)
    found: list[Recommendation] = []
    for route in candidates:
        if route.key in sent or not _wanted(route, case):
            continue
        items = _covered(route, case)
        if not items:
            continue
        earlier = next(
            (n for n in newest_first if step_met(route, n, registry, as_of)),
            None,
        )
        if route.follows is not None and route.follows.required and earlier is None:
            continue
        reason: Reason
        if earlier is not None and earlier.route_key in missed:
            reason = "overdue"
        elif earlier is not None:
            reason = "follows"
        elif route.kind == "minor_report" or route.covers == ("minor",):
            reason = "minor"
        else:
            reason = "first_step"
        found.append(Recommendation(route, reason, items, earlier, open_by_route.get(route.key)))
    return sorted(found, key=lambda r: _ORDER[r.reason])


def recommendations_for(
    session: DbSession, case: Case, registry: Registry, as_of: datetime
) -> list[Recommendation]:
    """recommended_letters for a case as the database holds it."""
    notices = notices_of_case(session, case.id)
    missed = session.scalars(
        select(Notice.route_key)
        .join(Deadline, Deadline.notice_id == Notice.id)
        .where(Deadline.case_id == case.id, Deadline.state == DeadlineState.MISSED)
    )
    return recommended_letters(case, notices, registry, as_of, missed)
