"""What has been done on a case, in order, for the victim's own page (no staff-only detail)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select

from casework.audit.models import AuditEvent
from casework.cases.models import Case, Item, RemovalState
from casework.deadlines.models import Deadline, DeadlineState
from casework.deadlines.services import FOLLOW_UP
from casework.notices.models import Notice, NoticeItem, NoticeState
from casework.orm import DbSession
from casework.registry import default_registry


@dataclass(frozen=True)
class Entry:
    at: datetime
    kind: str  # the template says it in words, in the reader's language
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Timeline:
    past: list[Entry]
    upcoming: list[Entry]


_AUDIT_KINDS = {
    "case.opened": "reported",
    "case.status_changed": "status",
    "case.items_added": "links_added",
    "evidence.added": "images_added",
    "case.contact_changed": "contact_changed",
}


def case_timeline(session: DbSession, case: Case) -> Timeline:
    """Oldest first: the report, status changes, additions, notices, replies and removals."""
    past: list[Entry] = []
    events = session.scalars(
        select(AuditEvent)
        .where(
            AuditEvent.chain_id == case.organisation_id,
            AuditEvent.case_id == case.id,
            AuditEvent.action.in_(list(_AUDIT_KINDS)),
        )
        .order_by(AuditEvent.id)
    )
    for event in events:
        kind = _AUDIT_KINDS[event.action]
        details = event.details or {}
        params: dict[str, Any] = {"by_you": event.actor_type == "victim"}
        if kind == "reported":
            params["count"] = details.get("items", 0)
        elif kind == "status":
            params["to"] = details.get("to")
        elif kind == "links_added":
            params["count"] = len(details.get("items", []))
        elif kind == "images_added":
            params["count"] = len(details.get("evidence_files", []))
        past.append(Entry(event.occurred_at, kind, params))

    notices = session.scalars(
        select(Notice)
        .where(Notice.case_id == case.id, Notice.state != NoticeState.DRAFT)
        .order_by(Notice.id)
    ).all()
    for notice in notices:
        if notice.sent_at:
            past.append(Entry(notice.sent_at, "notice_sent", {"jurisdiction": notice.jurisdiction}))
        if notice.response_at:
            past.append(Entry(notice.response_at, "reply", {"jurisdiction": notice.jurisdiction}))

    removed: dict[int, Entry] = {}
    rows = session.execute(
        select(Item.id, Item.url, NoticeItem.removed_at)
        .join(NoticeItem, NoticeItem.item_id == Item.id)
        .where(Item.case_id == case.id, NoticeItem.removed_at.is_not(None))
    ).all()
    for item_id, url, removed_at in rows:
        if item_id not in removed or removed_at < removed[item_id].at:
            removed[item_id] = Entry(removed_at, "removed", {"url": url})
    checked = session.execute(
        select(Item.id, Item.url, Item.removal_checked_at).where(
            Item.case_id == case.id,
            Item.removal_state == RemovalState.REMOVED,
            Item.removal_checked_at.is_not(None),
        )
    ).all()
    for item_id, url, checked_at in checked:
        removed.setdefault(item_id, Entry(checked_at, "removed", {"url": url}))
    past.extend(removed.values())
    past.sort(key=lambda entry: entry.at)

    upcoming = [
        Entry(deadline.due_at, "deadline", _deadline_params(deadline))
        for deadline in session.scalars(
            select(Deadline)
            .where(Deadline.case_id == case.id, Deadline.state == DeadlineState.PENDING)
            .order_by(Deadline.due_at)
        )
    ]
    return Timeline(past=past, upcoming=upcoming)


def _deadline_params(deadline: Deadline) -> dict[str, Any]:
    """Whose date it is, and whether missing it leads anywhere, as the route really has it.

    A follow-up date is our own choice for a route the law gives no deadline; only a
    route that names an escalation route is said to escalate.
    """
    notice = deadline.notice
    try:
        route = default_registry().route(notice.route_key)
    except KeyError:
        route = None
    escalates = bool(route and route.escalation and route.escalation.route)
    return {
        "jurisdiction": notice.jurisdiction,
        "by_law": deadline.stage != FOLLOW_UP,
        "escalates": deadline.stage != FOLLOW_UP and escalates,
    }
