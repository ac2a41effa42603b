"""Removal checks request each post from a configurable host and record what they find."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from flask import Flask
from redis import Redis
from sqlalchemy import select

from casework.cases.models import Item, RemovalState
from casework.deadlines.jobs import check_removals, handle_deadline
from casework.deadlines.models import Deadline, DeadlineState
from casework.extensions import db
from casework.notices.models import NoticeItem
from tests.deadline_factories import quick_deadline, staffed_case


class FakeX:
    """A loopback stand-in for the platform: listed status ids are gone (404), others are up."""

    def __init__(self) -> None:
        self.gone: set[str] = set()
        self.paths: list[str] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.paths.append(self.path)
                status_id = self.path.rstrip("/").rsplit("/", 1)[-1]
                self.send_response(404 if status_id in outer.gone else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_: object) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}"


@pytest.fixture
def fake_x() -> Iterator[FakeX]:
    fake = FakeX()
    thread = threading.Thread(target=fake.server.serve_forever, daemon=True)
    thread.start()
    yield fake
    fake.server.shutdown()
    fake.server.server_close()


@pytest.fixture
def checks_on(app: Flask, fake_x: FakeX) -> FakeX:
    app.config.update(
        REMOVAL_CHECKS_ENABLED=True,
        REMOVAL_CHECK_BASE_URL=fake_x.base_url,
        REMOVAL_CHECK_TIMEOUT=2.0,
    )
    return fake_x


def test_removal_checks_are_off_by_default(app: Flask, fake_x: FakeX) -> None:
    assert app.config["REMOVAL_CHECKS_ENABLED"] is False
    case, _ = staffed_case()
    deadline = quick_deadline(case, due_in=3600)
    db.session.commit()
    assert check_removals(deadline.notice_id) == 0
    assert fake_x.paths == []


def test_each_post_is_requested_and_its_status_recorded(app: Flask, checks_on: FakeX) -> None:
    case, _ = staffed_case(links=2)
    deadline = quick_deadline(case, due_in=3600)
    db.session.commit()
    gone, up = case.items
    checks_on.gone.add(str(gone.status_id))

    assert check_removals(deadline.notice_id) == 2

    assert sorted(checks_on.paths) == sorted(
        [f"/{i.handle}/status/{i.status_id}" for i in case.items]
    )
    db.session.expire_all()
    gone_item, up_item = db.session.get(Item, gone.id), db.session.get(Item, up.id)
    assert gone_item is not None and up_item is not None
    assert (gone_item.removal_state, gone_item.removal_http_status) == (RemovalState.REMOVED, 404)
    assert (up_item.removal_state, up_item.removal_http_status) == (RemovalState.UP, 200)
    assert gone_item.removal_checked_at is not None
    removed_at = dict(
        db.session.execute(
            select(NoticeItem.item_id, NoticeItem.removed_at).where(
                NoticeItem.notice_id == deadline.notice_id
            )
        )
        .tuples()
        .all()
    )
    assert removed_at[gone.id] == gone_item.removal_checked_at
    assert removed_at[up.id] is None


def test_an_unreachable_host_records_no_answer_and_changes_nothing(app: Flask) -> None:
    from tests.smtp_server import free_port

    app.config.update(
        REMOVAL_CHECKS_ENABLED=True,
        REMOVAL_CHECK_BASE_URL=f"http://127.0.0.1:{free_port()}",
        REMOVAL_CHECK_TIMEOUT=1.0,
    )
    case, _ = staffed_case()
    deadline = quick_deadline(case, due_in=3600)
    db.session.commit()
    check_removals(deadline.notice_id)
    item = db.session.get(Item, case.items[0].id)
    assert item is not None
    db.session.refresh(item)
    assert item.removal_http_status is None
    assert item.removal_checked_at is not None
    assert item.removal_state == RemovalState.UNKNOWN


def test_removal_is_verified_at_the_deadline_before_deciding(app: Flask, checks_on: FakeX) -> None:
    case, _ = staffed_case()
    deadline = quick_deadline(case, due_in=-1)
    db.session.commit()
    checks_on.gone.add(str(case.items[0].status_id))
    # Gone now, but nobody saw it gone before the due time: that cannot count as in time.
    assert handle_deadline(deadline.id) == "missed"

    other, _ = staffed_case()
    later = quick_deadline(other, due_in=0.5)
    db.session.commit()
    checks_on.gone.add(str(other.items[0].status_id))
    check_removals(later.notice_id)  # the last check, scheduled just before the due time
    assert handle_deadline(later.id) == "met"
    assert db.session.get(Deadline, later.id).state == DeadlineState.MET  # type: ignore[union-attr]


@pytest.mark.redis
def test_a_last_check_is_scheduled_just_before_each_deadline(
    app: Flask, checks_on: FakeX, redis: Redis
) -> None:
    from datetime import timedelta

    from rq import Queue
    from rq.registry import ScheduledJobRegistry

    from casework.deadlines.scheduling import removal_check_job_id, schedule_deadline_jobs

    case, _ = staffed_case()
    deadline = quick_deadline(case, due_in=3600)
    db.session.commit()
    schedule_deadline_jobs([deadline.id])
    registry = ScheduledJobRegistry(queue=Queue("deadlines", connection=redis))
    when = registry.get_scheduled_time(removal_check_job_id(deadline.id))
    assert abs((deadline.due_at - timedelta(seconds=60) - when).total_seconds()) < 1
