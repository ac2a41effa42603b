"""Which cases of an organisation hold a post, and which open cases a post may be logged in."""

from __future__ import annotations

import re

from sqlalchemy import case as when
from sqlalchemy import select

from casework.cases.models import OPEN_STATUSES, Case, Item
from casework.cases.references import normalise_reference
from casework.orm import DbSession

CASES_OFFERED = 20
_SEARCH_RE = re.compile(r"[A-Z0-9-]{1,20}")


def cases_holding_post(session: DbSession, organisation_id: int, status_id: int) -> list[Case]:
    """The organisation's cases that already have this post, newest first."""
    return list(
        session.scalars(
            select(Case)
            .join(Item, Item.case_id == Case.id)
            .where(Case.organisation_id == organisation_id, Item.status_id == status_id)
            .order_by(Case.created_at.desc(), Case.id.desc())
        ).unique()
    )


def reference_search(text: str) -> str | None:
    """What a typed reference, whole or part ("CW-2026-0001", "cw2026000123", "0123"), is
    searched as; None when it cannot be part of a reference."""
    whole = normalise_reference(text)
    if whole is not None:
        return whole
    compact = re.sub(r"\s", "", text.strip().upper())
    return compact if _SEARCH_RE.fullmatch(compact) else None


def open_cases_to_log_in(
    session: DbSession,
    organisation_id: int,
    user_id: int,
    *,
    search: str | None = None,
    limit: int = CASES_OFFERED,
) -> list[Case]:
    """Open cases of the organisation a post can be added to: the user's own first, then
    the most recently changed; with search, only references containing it."""
    query = select(Case).where(
        Case.organisation_id == organisation_id,
        Case.status.in_(list(OPEN_STATUSES)),
        Case.merged_into_id.is_(None),
    )
    if search:
        query = query.where(Case.reference.contains(search, autoescape=True))
    mine_first = when((Case.assignee_id == user_id, 0), else_=1)
    return list(
        session.scalars(
            query.order_by(mine_first, Case.updated_at.desc(), Case.id.desc()).limit(limit)
        )
    )


def is_open_for_logging(case: Case) -> bool:
    return case.status in OPEN_STATUSES and case.merged_into_id is None
