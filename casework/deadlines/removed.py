"""When a notice's posts came down: the one rule the deadline sweep and the compliance
report both use.

An item counts as removed from the moment staff recorded its removal or a removal check
saw it gone, whichever came first; a notice counts as removed when its last item did.
A notice without items was never removed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from casework.cases.models import Item, RemovalState
from casework.notices.models import NoticeItem
from casework.orm import DbSession
from casework.sqlutil import in_chunks


@dataclass(frozen=True)
class NoticeRemoval:
    """When every item of a notice was down (None while one is still up), and per item the
    id of the removal check that saw it gone (None where staff recorded the removal)."""

    removed_at: datetime | None
    check_ids: list[int | None]

    def removed_by(self, moment: datetime) -> bool:
        return self.removed_at is not None and self.removed_at <= moment

    @property
    def all_confirmed_by_check(self) -> bool:
        return all(check_id is not None for check_id in self.check_ids)


def item_removed_at(
    recorded_at: datetime | None, state: RemovalState, checked_at: datetime | None
) -> datetime | None:
    """The first moment an item was known to be down, or None while it is not."""
    seen = checked_at if state == RemovalState.REMOVED else None
    known = [moment for moment in (recorded_at, seen) if moment is not None]
    return min(known) if known else None


def notice_removals(session: DbSession, notice_ids: Iterable[int]) -> dict[int, NoticeRemoval]:
    """Each notice with items, with when its items came down."""
    items: dict[int, list[tuple[datetime | None, int | None]]] = {}
    for chunk in in_chunks(sorted(set(notice_ids))):
        for notice_id, recorded_at, check_id, state, checked_at in session.execute(
            select(
                NoticeItem.notice_id,
                NoticeItem.removed_at,
                NoticeItem.removal_check_id,
                Item.removal_state,
                Item.removal_checked_at,
            )
            .join(Item, Item.id == NoticeItem.item_id)
            .where(NoticeItem.notice_id.in_(chunk))
        ):
            items.setdefault(notice_id, []).append(
                (item_removed_at(recorded_at, state, checked_at), check_id)
            )
    return {notice_id: _removal(rows) for notice_id, rows in items.items()}


def _removal(rows: list[tuple[datetime | None, int | None]]) -> NoticeRemoval:
    times = [at for at, _ in rows if at is not None]
    return NoticeRemoval(
        removed_at=max(times) if len(times) == len(rows) else None,
        check_ids=[check_id for _, check_id in rows],
    )
