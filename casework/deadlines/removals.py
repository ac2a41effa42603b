"""Removal checks: ask X whether a post is still up, record the answer, and what it proves.

The HTTP side is casework.deadlines.x_endpoints, the meaning of answers is
casework.deadlines.removal_outcomes; this module decides what an outcome changes. An
unknown outcome is recorded and changes nothing else: it proves neither removal nor
presence, so it can never move a deadline either way.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import exists, select, update

from casework.actors import SYSTEM
from casework.audit.events import item_event
from casework.cases.models import Case, Item, RemovalState
from casework.deadlines import x_endpoints
from casework.deadlines.handling import staff_to_tell
from casework.deadlines.models import Deadline, DeadlineState, RemovalCheck
from casework.deadlines.removal_outcomes import (
    Answer,
    CheckMethod,
    CheckOutcome,
    CheckReason,
    interpret_oembed,
    interpret_syndication,
    removal_state,
)
from casework.notices.models import Notice, NoticeItem, NoticeState
from casework.notifications.services import notify_user
from casework.orm import DbSession

Fetch = Callable[[str, float], Answer]
# Notification kinds: a removed post is up again; a post's checks got no answer twice.
KIND_REINSTATED = "post_reinstated"
KIND_UNKNOWN_TWICE = "removal_check_unknown"
# A removed post is asked about again this often, for the follow-up period.
FOLLOW_UP_EVERY = timedelta(days=1)


@dataclass(frozen=True)
class Endpoints:
    oembed_url: str
    syndication_url: str
    timeout: float


@dataclass(frozen=True)
class Asked:
    """One request's answer and what it means; outcome None: ask syndication next."""

    method: CheckMethod
    answer: Answer
    outcome: CheckOutcome | None


def request_url(endpoints: Endpoints, item: Item, method: CheckMethod) -> str:
    if method is CheckMethod.OEMBED:
        return x_endpoints.oembed_url(endpoints.oembed_url, item.url)
    return x_endpoints.syndication_url(endpoints.syndication_url, item.status_id)


def ask(endpoints: Endpoints, url: str, method: CheckMethod, fetch: Fetch) -> Asked:
    """Put one question to X (the caller has its turn on the host and holds no transaction)."""
    answer = fetch(url, endpoints.timeout)
    if method is CheckMethod.OEMBED:
        return Asked(method, answer, interpret_oembed(answer))
    return Asked(method, answer, interpret_syndication(answer))


def item_ids_of_notice(session: DbSession, notice_id: int) -> list[int]:
    """The items of a notice that is out with its addressee (sent or answered)."""
    return list(
        session.scalars(
            select(NoticeItem.item_id)
            .join(Notice, Notice.id == NoticeItem.notice_id)
            .where(
                NoticeItem.notice_id == notice_id,
                Notice.state.in_([NoticeState.SENT, NoticeState.ANSWERED]),
            )
            .order_by(NoticeItem.item_id)
        )
    )


def record_check(
    session: DbSession,
    item: Item,
    *,
    method: CheckMethod,
    http_status: int | None,
    outcome: CheckOutcome,
    reason: CheckReason,
    now: datetime,
) -> RemovalCheck:
    """Keep one check and apply what its outcome proves. The caller commits.

    Gone (removed, withheld, suspended): the item is removed since now, unless it already
    was; each of its notices that has no removal time gets this one, with this check as
    the evidence. Still up after being removed: the post is back (reinstated); notices
    whose deadlines are still pending lose the removal, since it no longer holds. Unknown:
    only the row is kept.
    """
    check = RemovalCheck(
        item_id=item.id,
        checked_at=now,
        method=method,
        http_status=http_status,
        outcome=outcome,
        reason=reason,
    )
    session.add(check)
    session.flush()
    state = removal_state(outcome)
    if state is None:
        # The second unknown in a row, not every one after it.
        if unknown_streak(session, item.id, limit=3) == 2:
            _tell_staff(session, item, KIND_UNKNOWN_TWICE, at=now)
        return check
    if state is RemovalState.REMOVED:
        if item.removal_state is not RemovalState.REMOVED:
            item.removal_state = RemovalState.REMOVED
            item.removal_checked_at = now
            item.removal_http_status = http_status
            _event(session, "item.removal_verified", item, check)
        session.execute(
            update(NoticeItem)
            .where(NoticeItem.item_id == item.id, NoticeItem.removed_at.is_(None))
            .values(removed_at=now, removal_check_id=check.id)
            .execution_options(synchronize_session=False)
        )
        return check
    if item.removal_state is RemovalState.REMOVED:
        _event(session, "item.reinstated", item, check)
        _tell_staff(session, item, KIND_REINSTATED, at=now)
        pending = select(Deadline.notice_id).where(Deadline.state == DeadlineState.PENDING)
        session.execute(
            update(NoticeItem)
            .where(NoticeItem.item_id == item.id, NoticeItem.notice_id.in_(pending))
            .values(removed_at=None, removal_check_id=None)
            .execution_options(synchronize_session=False)
        )
    item.removal_state = RemovalState.UP
    item.removal_checked_at = now
    item.removal_http_status = http_status
    return check


def _tell_staff(session: DbSession, item: Item, kind: str, *, at: datetime) -> None:
    """An in-app notification for the case's caseworker (or its organisation's)."""
    case = session.get(Case, item.case_id)
    if case is None:
        return
    params = {"reference": case.reference, "status_id": str(item.status_id), "at": at.isoformat()}
    for user in staff_to_tell(session, [case]).of(case):
        notify_user(session, user_id=user.id, kind=kind, case_id=case.id, params=params)


def _event(session: DbSession, action: str, item: Item, check: RemovalCheck) -> None:
    item_event(
        session,
        SYSTEM,
        item,
        action,
        check_id=check.id,
        method=check.method.value,
        status=check.http_status,
        outcome=check.outcome.value,
    )


def unknown_streak(session: DbSession, item_id: int, limit: int = 2) -> int:
    """How many of the item's latest checks in a row came back unknown (up to `limit`)."""
    outcomes = session.scalars(
        select(RemovalCheck.outcome)
        .where(RemovalCheck.item_id == item_id)
        .order_by(RemovalCheck.checked_at.desc(), RemovalCheck.id.desc())
        .limit(limit)
    ).all()
    streak = 0
    for outcome in outcomes:
        if outcome is not CheckOutcome.UNKNOWN:
            break
        streak += 1
    return streak


def due_follow_ups(
    session: DbSession, *, now: datetime, days: int, every: timedelta, limit: int
) -> list[int]:
    """Items removed within the follow-up period whose daily check is overdue (its job
    was lost, or staff recorded the removal and no check has run since)."""
    overdue = now - every - timedelta(hours=2)
    recent = exists().where(RemovalCheck.item_id == Item.id, RemovalCheck.checked_at > overdue)
    return list(
        session.scalars(
            select(Item.id)
            .where(
                Item.removal_state == RemovalState.REMOVED,
                Item.removal_checked_at >= now - timedelta(days=days),
                Item.removal_checked_at <= overdue,
                ~recent,
            )
            .order_by(Item.id)
            .limit(limit)
        )
    )
