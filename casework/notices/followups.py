"""When a route may refer to an earlier notice: the registry's `follows`, checked on the record."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from casework.deadlines.rules import compute_due
from casework.notices.models import SENT_STATES, Notice
from casework.registry import Registry, Route

__all__ = ["earlier_due", "pick_earlier", "step_met"]


def earlier_due(route: Route | None, notice: Notice) -> datetime | None:
    """When the earlier notice's own deadline fell (or falls), if it had a single one."""
    if route is None or route.deadline.kind != "fixed":
        return None
    start = notice.clock_started_at or (
        notice.received_at if route.deadline.clock_starts != "regulator_notice" else None
    )
    return compute_due(start, route.deadline) if start is not None else None


def step_met(route: Route, earlier: Notice, registry: Registry, as_of: datetime) -> bool:
    """Whether `earlier` is a step `route` follows, sent as a letter we hold, and its time is up.

    Only a notice recorded as sent with the letter version that went out counts: a later
    letter annexes that version, never a summary.
    """
    if route.follows is None or earlier.case_id is None:
        return False
    step = route.follows.step(earlier.route_key)
    if step is None or earlier.state not in SENT_STATES:
        return False
    if earlier.sent_at is None or earlier.sent_letter_id is None:
        return False
    try:
        earlier_route: Route | None = registry.route(earlier.route_key)
    except KeyError:
        return False
    decided = earlier.response_at is not None or bool(earlier.response)
    due = earlier_due(earlier_route, earlier)
    lapsed = due is not None and due <= as_of
    return {
        "sent": earlier.sent_at <= as_of,
        "decision": decided,
        "deadline": lapsed,
        "decision_or_deadline": decided or lapsed,
    }[step.after]


def pick_earlier(
    route: Route,
    candidates: Iterable[Notice],
    registry: Registry,
    as_of: datetime,
    chosen: Notice | None = None,
) -> Notice | None:
    """The earlier notice the letter refers to: the chosen one if it qualifies, else the latest.

    `candidates` come newest first. None when no notice on file meets the route's `follows`.
    """
    if chosen is not None and step_met(route, chosen, registry, as_of):
        return chosen
    return next((n for n in candidates if step_met(route, n, registry, as_of)), None)
