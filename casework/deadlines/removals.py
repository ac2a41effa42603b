"""Removal checks: ask whether each post of a notice still resolves, and record the answer."""

from __future__ import annotations

import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from casework.actors import SYSTEM
from casework.audit.services import record_event
from casework.cases.models import Case, Item, RemovalState
from casework.notices.models import Notice, NoticeItem, NoticeState

# A post that is gone answers "not found" or "gone"; anything else proves nothing.
GONE_STATUSES = frozenset({404, 410})
UP_STATUSES = frozenset({200})


@dataclass(frozen=True)
class CheckResult:
    item_id: int
    status: int | None  # None: no answer (timeout, refused connection)
    state: RemovalState


def check_url(base_url: str, post_url: str) -> str:
    """The address to request: the post's path on the configured host (x.com by default)."""
    base = urlsplit(base_url)
    if base.scheme not in {"http", "https"} or not base.netloc:
        raise ValueError(f"removal check base URL must be http(s)://host, not {base_url!r}")
    return f"{base.scheme}://{base.netloc}{base.path.rstrip('/')}{urlsplit(post_url).path}"


def fetch_status(url: str, timeout: float) -> int | None:
    """The HTTP status of a GET, redirects followed; None when there is no answer."""
    request = urllib.request.Request(  # noqa: S310  (scheme checked in check_url)
        url, method="GET", headers={"User-Agent": "casework-removal-check"}
    )
    try:
        # The scheme was checked in check_url: http(s) only, never file: or custom schemes.
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310  # nosec B310
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
    except (urllib.error.URLError, OSError, ValueError):
        return None


def classify(status: int | None) -> RemovalState | None:
    if status in GONE_STATUSES:
        return RemovalState.REMOVED
    if status in UP_STATUSES:
        return RemovalState.UP
    return None


def check_notice(
    session: Session, notice_id: int, *, base_url: str, timeout: float, now: datetime
) -> list[CheckResult]:
    """Check every item of a notice awaiting the platform. The caller commits.

    A post found gone gets its removal time on the notice (the first time it is seen
    gone); a post found up again after being recorded removed is left removed, because a
    platform's error page is not proof the post came back.
    """
    notice = session.get(Notice, notice_id)
    if notice is None or notice.state != NoticeState.SENT:
        return []
    case = session.get(Case, notice.case_id)
    rows = session.execute(
        select(NoticeItem, Item)
        .join(Item, Item.id == NoticeItem.item_id)
        .where(NoticeItem.notice_id == notice_id)
        .order_by(Item.id)
    ).all()
    results: list[CheckResult] = []
    for link, item in rows:
        status = fetch_status(check_url(base_url, item.url), timeout)
        item.removal_checked_at = now
        item.removal_http_status = status
        state = classify(status)
        if state == RemovalState.REMOVED:
            if link.removed_at is None:
                link.removed_at = now
            if item.removal_state != RemovalState.REMOVED and case is not None:
                record_event(
                    session,
                    "item.removal_verified",
                    SYSTEM,
                    chain_id=case.organisation_id,
                    case_id=case.id,
                    object_type="item",
                    object_id=item.id,
                    details={"status": status, "notice_id": notice_id},
                )
            item.removal_state = RemovalState.REMOVED
        elif state == RemovalState.UP and item.removal_state != RemovalState.REMOVED:
            item.removal_state = RemovalState.UP
        results.append(CheckResult(item.id, status, item.removal_state))
    return results
