"""Removal checks ask X's oEmbed and syndication endpoints whether each post is still up.

X's post pages are an application shell served with 200 whatever became of the post, so
the checks ask the two public endpoints that answer differently. The loopback server in
tests/fake_x.py answers as follows; what it relies on, read on 2026-12-05:

Documented (developer.x.com, "GET statuses/oembed", resource URL
https://publish.twitter.com/oembed, no authentication, and "Response codes"):
- oEmbed ``?url=<post url>``: 200 with a JSON object (``type`` "rich", ``html`` holding
  the blockquote of the post, ``author_name``, ``author_url``, ``provider_name``,
  ``cache_age``, ``version`` "1.0") when the post can be embedded.
- 404 Not Found: the resource requested does not exist (a deleted or unknown post).
- 403 Forbidden: the request is understood but refused; for oEmbed, a post that cannot
  be embedded because its account is protected or suspended.
- 429 Too Many Requests with Retry-After (seconds), for rate limiting.

Inferred, not documented by X (from public client code that reads the endpoint: the
embedded-post widget and libraries such as react-tweet):
- syndication ``cdn.syndication.twimg.com/tweet-result?id=<id>&token=<token>``: 200 with
  ``{"__typename": "Tweet", ...}`` for a post that is up; 200 with
  ``{"__typename": "TweetTombstone", "tombstone": {"text": {"text": ...}}}`` where the
  text says why the post is not shown (a suspended account, an account that limits who
  can view its posts, withheld in a country in response to a legal demand, age-restricted
  adult content); 404 for a deleted or unknown post.
- the token is ((id / 1e15) × π) in base 36 without zeros or the point.
- oEmbed answers 403 for a post withheld in the checking country (if it answered 200,
  the post would be reported up: the safe side for a deadline).

Failures the server also produces: an answer slower than the timeout, 429 with
Retry-After, a body that does not parse, and a connection reset.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from redis import Redis
from rq import Queue
from rq.registry import ScheduledJobRegistry
from sqlalchemy import func, select

from casework.accounts.models import Role, User
from casework.actors import Actor
from casework.audit.models import AuditEvent
from casework.cases.models import Case, Item, RemovalState
from casework.cases.services import record_removal_check
from casework.deadlines import host_limiter, x_endpoints
from casework.deadlines.compliance import compliance_report
from casework.deadlines.handling import Effects
from casework.deadlines.handling import handle_deadline as handle_deadline_now
from casework.deadlines.jobs import (
    _follow_up,
    check_post,
    check_removals,
    dispatch,
    follow_up_job_id,
    handle_deadline,
    schedule_deadline_jobs,
)
from casework.deadlines.models import Deadline, RemovalCheck
from casework.deadlines.removal_outcomes import (
    Answer,
    CheckOutcome,
    interpret_oembed,
    interpret_syndication,
)
from casework.deadlines.scheduling import removal_check_job_id
from casework.deadlines.sweep import sweep
from casework.extensions import db
from casework.jobs import QUEUE_DEADLINES
from casework.notices.models import NoticeItem
from casework.notifications.models import Notification
from casework.orm import utcnow
from tests import factories
from tests import fake_x as fx
from tests.deadline_factories import quick_deadline, staffed_case

pytestmark = pytest.mark.redis


@pytest.fixture
def x_server() -> Iterator[fx.FakeX]:
    with fx.fake_x() as fake:
        yield fake


@pytest.fixture
def checks_on(app: Flask, redis: Redis, x_server: fx.FakeX) -> fx.FakeX:
    app.config.update(
        REMOVAL_CHECKS_ENABLED=True,
        REMOVAL_CHECK_OEMBED_URL=x_server.oembed_url,
        REMOVAL_CHECK_SYNDICATION_URL=x_server.syndication_url,
        REMOVAL_CHECK_TIMEOUT=1.0,
        REMOVAL_CHECK_HOST_INTERVAL=0.01,
    )
    return x_server


def _scheduled(redis: Redis) -> dict[str, datetime]:
    registry = ScheduledJobRegistry(queue=Queue(QUEUE_DEADLINES, connection=redis))
    return {job_id: registry.get_scheduled_time(job_id) for job_id in registry.get_job_ids()}


def _checks(item_id: int) -> list[RemovalCheck]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            select(RemovalCheck).where(RemovalCheck.item_id == item_id).order_by(RemovalCheck.id)
        )
    )


def _one_post(behaviour: str, fake: fx.FakeX, *, due_in: float = 3600) -> tuple[Item, Deadline]:
    case, _ = staffed_case()
    deadline = quick_deadline(case, due_in=due_in)
    db.session.commit()
    item = case.items[0]
    fake.behaviour[str(item.status_id)] = behaviour
    return item, deadline


def test_removal_checks_are_off_by_default(app: Flask, redis: Redis, x_server: fx.FakeX) -> None:
    assert app.config["REMOVAL_CHECKS_ENABLED"] is False
    assert app.config["REMOVAL_CHECK_OEMBED_URL"] == "https://publish.twitter.com/oembed"
    item, deadline = _one_post(fx.DELETED, x_server)
    assert check_removals(deadline.notice_id) == 0
    assert check_post(item.id, "sent") is None
    assert x_server.requests == []
    assert _checks(item.id) == []


@pytest.mark.parametrize(
    ("behaviour", "method", "status", "outcome", "state"),
    [
        (fx.UP, "oembed", 200, "up", RemovalState.UP),
        (fx.AGE_RESTRICTED, "oembed", 200, "up", RemovalState.UP),
        (fx.DELETED, "oembed", 404, "removed", RemovalState.REMOVED),
        (fx.SUSPENDED, "syndication", 200, "suspended", RemovalState.REMOVED),
        (fx.WITHHELD, "syndication", 200, "withheld", RemovalState.REMOVED),
        (fx.PROTECTED, "syndication", 200, "protected", RemovalState.UP),
        (fx.SLOW, "oembed", None, "unknown", RemovalState.UNKNOWN),
        (fx.RATE_LIMITED, "oembed", 429, "unknown", RemovalState.UNKNOWN),
        (fx.MALFORMED, "oembed", 200, "unknown", RemovalState.UNKNOWN),
        (fx.RESET, "oembed", None, "unknown", RemovalState.UNKNOWN),
    ],
)
def test_each_answer_is_recorded_with_its_method_status_and_meaning(
    app: Flask,
    checks_on: fx.FakeX,
    behaviour: str,
    method: str,
    status: int | None,
    outcome: str,
    state: RemovalState,
) -> None:
    item, deadline = _one_post(behaviour, checks_on)

    assert check_post(item.id, "sent") == outcome

    (check,) = _checks(item.id)
    assert (check.method.value, check.http_status, check.outcome.value) == (method, status, outcome)
    assert check.reason.value == "sent" and check.checked_at is not None
    assert factories.reloaded(Item, item.id).removal_state == state
    link = db.session.scalars(
        select(NoticeItem).where(NoticeItem.notice_id == deadline.notice_id)
    ).one()
    if state == RemovalState.REMOVED:
        assert (link.removed_at, link.removal_check_id) == (check.checked_at, check.id)
    else:
        assert (link.removed_at, link.removal_check_id) == (None, None)
    # oEmbed is asked first; syndication only where oEmbed cannot tell.
    assert "/oembed?" in checks_on.requests[0]
    assert len(checks_on.requests) == (2 if method == "syndication" else 1)


def test_no_content_of_the_post_is_kept(app: Flask, checks_on: fx.FakeX) -> None:
    columns = {c.name for c in RemovalCheck.__table__.columns}
    assert columns == {"id", "item_id", "checked_at", "method", "http_status", "outcome", "reason"}
    item, _ = _one_post(fx.SUSPENDED, checks_on)
    check_post(item.id, "sent")
    for event in db.session.scalars(select(AuditEvent)):
        assert fx.POST_TEXT not in str(event.details)
        assert "suspended account" not in str(event.details)


def test_syndication_answers_are_read_from_their_tombstones() -> None:
    def tombstone(text: str) -> Answer:
        body = {"__typename": "TweetTombstone", "tombstone": {"text": {"text": text}}}
        return Answer(200, json.dumps(body).encode())

    assert interpret_syndication(Answer(404)) is CheckOutcome.REMOVED
    assert interpret_syndication(Answer(200, b'{"__typename": "Tweet"}')) is CheckOutcome.UP
    assert interpret_syndication(tombstone("This Post violated the X Rules.")) is (
        CheckOutcome.REMOVED
    )
    assert interpret_syndication(tombstone("Something new entirely")) is CheckOutcome.UNKNOWN
    assert interpret_syndication(Answer(200, b"[]")) is CheckOutcome.UNKNOWN
    assert interpret_syndication(Answer(None)) is CheckOutcome.UNKNOWN
    assert interpret_oembed(Answer(200, b'{"html": ""}')) is CheckOutcome.UNKNOWN
    assert interpret_oembed(Answer(500)) is CheckOutcome.UNKNOWN
    assert interpret_oembed(Answer(403)) is None


def test_the_addresses_asked_are_the_configured_endpoints_with_the_post(
    app: Flask, checks_on: fx.FakeX
) -> None:
    item, _ = _one_post(fx.PROTECTED, checks_on)
    check_post(item.id, "sent")
    oembed, syndication = checks_on.requests
    assert oembed.startswith("/oembed?url=") and str(item.status_id) in oembed
    assert syndication.startswith(f"/tweet-result?id={item.status_id}&token=")
    with pytest.raises(ValueError, match="http"):
        x_endpoints.oembed_url("file:///etc/passwd", item.url)


def test_a_timeout_is_respected(app: Flask, checks_on: fx.FakeX) -> None:
    item, _ = _one_post(fx.SLOW, checks_on)
    started = time.monotonic()
    check_post(item.id, "sent")
    assert time.monotonic() - started < fx.SLOW_SECONDS


def test_an_unknown_answer_is_retried_with_backoff(
    app: Flask, checks_on: fx.FakeX, redis: Redis
) -> None:
    item, _ = _one_post(fx.MALFORMED, checks_on)
    before = utcnow()
    check_post(item.id, "before_deadline")
    when = _scheduled(redis)[f"removal-retry-{item.id}-1"]
    assert timedelta(seconds=14) <= when - before <= timedelta(seconds=20)

    # The next attempt waits longer; the last one schedules nothing more.
    check_post(item.id, "before_deadline", "oembed", 1)
    when = _scheduled(redis)[f"removal-retry-{item.id}-2"]
    assert timedelta(seconds=59) <= when - before <= timedelta(seconds=75)
    check_post(item.id, "before_deadline", "oembed", 4)
    assert f"removal-retry-{item.id}-5" not in _scheduled(redis)


def test_a_429_holds_every_worker_back_until_its_retry_after(
    app: Flask, checks_on: fx.FakeX, redis: Redis
) -> None:
    item, _ = _one_post(fx.RATE_LIMITED, checks_on)
    other, _ = _one_post(fx.UP, checks_on)
    before = utcnow()
    check_post(item.id, "sent")
    when = _scheduled(redis)[f"removal-retry-{item.id}-1"]
    assert when - before >= timedelta(seconds=fx.RETRY_AFTER_SECONDS)

    # Another post on the same host is not asked now: its turn comes after the wait.
    requests = len(checks_on.requests)
    assert check_post(other.id, "sent") == "spread"
    assert len(checks_on.requests) == requests
    (job_id,) = [j for j in _scheduled(redis) if j not in {f"removal-retry-{item.id}-1"}]
    assert _scheduled(redis)[job_id] - before >= timedelta(seconds=fx.RETRY_AFTER_SECONDS - 1)


def test_the_per_host_limit_is_shared_and_spreads_checks_over_time(
    app: Flask, checks_on: fx.FakeX, redis: Redis
) -> None:
    now = time.time()
    slots: list[float] = []

    def take() -> None:
        connection = Redis.from_url(app.config["REDIS_URL"])
        slots.append(host_limiter.reserve(connection, "x.test", interval=2.0, now=now))

    workers = [threading.Thread(target=take) for _ in range(8)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert sorted(slots) == pytest.approx([now + 2.0 * i for i in range(8)])

    app.config["REMOVAL_CHECK_HOST_INTERVAL"] = 600.0
    first, _ = _one_post(fx.UP, checks_on)
    second, _ = _one_post(fx.UP, checks_on)
    assert check_post(first.id, "sent") == "up"
    assert check_post(second.id, "sent") == "spread"
    assert len(checks_on.requests) == 1
    (when,) = _scheduled(redis).values()
    assert timedelta(seconds=590) < when - utcnow() <= timedelta(seconds=600)


def test_two_unknowns_in_a_row_are_shown_to_the_caseworker(
    app: Flask, checks_on: fx.FakeX, client: Any
) -> None:
    item, _ = _one_post(fx.RESET, checks_on)
    case = db.session.get(Case, item.case_id)
    assert case is not None
    caseworker = db.session.get(User, case.assignee_id)
    assert caseworker is not None
    factories.sign_in(client, caseworker)
    warning = "The last two automatic checks got no usable answer from X."

    check_post(item.id, "sent")
    page = client.get(f"/staff/cases/{case.id}").get_data(as_text=True)
    assert "Last automatic check" in page and warning not in page
    check_post(item.id, "reminder")
    page = client.get(f"/staff/cases/{case.id}").get_data(as_text=True)
    assert warning in page
    assert "2 automatic checks" in page and "no usable answer" in page

    # She is told once, in the app, whatever follows.
    check_post(item.id, "reminder")
    notices = client.get("/staff/notifications/").get_data(as_text=True)
    assert notices.count("got no usable answer from X") == 1
    assert str(item.status_id) in notices

    checks_on.behaviour[str(item.status_id)] = fx.DELETED
    check_post(item.id, "reminder")
    page = client.get(f"/staff/cases/{case.id}").get_data(as_text=True)
    assert warning not in page
    assert "4 automatic checks" in page


@pytest.mark.parametrize("earlier", ["removed", "up", "never checked"])
def test_an_unknown_answer_never_changes_a_deadlines_outcome(
    app: Flask, checks_on: fx.FakeX, earlier: str
) -> None:
    """Twin notices, the same story except that one also gets every kind of unknown answer
    before its deadline: both end the same way."""
    outcomes = []
    for with_unknowns in (False, True):
        item, deadline = _one_post(fx.UP, checks_on, due_in=2)
        if earlier != "never checked":
            checks_on.behaviour[str(item.status_id)] = fx.DELETED if earlier == "removed" else fx.UP
            check_post(item.id, "sent")
        if with_unknowns:
            for failure in (fx.SLOW, fx.RATE_LIMITED, fx.MALFORMED, fx.RESET):
                checks_on.behaviour[str(item.status_id)] = failure
                # A 429 holds the host back; the next answer is asked at once regardless.
                host = x_endpoints.host_of(checks_on.oembed_url)
                Redis.from_url(app.config["REDIS_URL"]).delete(
                    f"casework:removal-checks:next-slot:{host}"
                )
                assert check_post(item.id, "before_deadline") == "unknown"
        db.session.expire_all()
        handled = handle_deadline_now(
            db.session, deadline.id, now=deadline.due_at + timedelta(seconds=1), by="test"
        )
        db.session.commit()
        assert handled is not None
        outcomes.append(handled.outcome)
    expected = "met" if earlier == "removed" else "missed"
    assert outcomes == [expected, expected]


def test_posts_all_gone_before_the_deadline_meet_it_with_the_checks_as_evidence(
    app: Flask, checks_on: fx.FakeX
) -> None:
    case, _ = staffed_case(links=2)
    deadline = quick_deadline(case, due_in=2)
    db.session.commit()
    for item in case.items:
        checks_on.behaviour[str(item.status_id)] = fx.DELETED
    assert check_removals(deadline.notice_id) == 2  # one job per post, run here in turn
    for job in Queue(QUEUE_DEADLINES, connection=Redis.from_url(app.config["REDIS_URL"])).jobs:
        job.perform()
    check_ids = sorted(c.id for item in case.items for c in _checks(item.id))

    db.session.expire_all()
    handled = handle_deadline_now(
        db.session, deadline.id, now=deadline.due_at + timedelta(seconds=1), by="test"
    )
    db.session.commit()
    assert handled is not None and handled.outcome == "met"
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "deadline.met")).one()
    assert event.details["removal_checks"] == check_ids
    assert event.details["removal_recorded_by"] == "check"


def test_gone_after_the_deadline_is_too_late(app: Flask, checks_on: fx.FakeX) -> None:
    item, deadline = _one_post(fx.UP, checks_on, due_in=-1)
    checks_on.behaviour[str(item.status_id)] = fx.DELETED
    check_post(item.id, "after_deadline")
    assert handle_deadline(deadline.id) == "missed"


def test_a_post_reinstated_before_the_deadline_no_longer_counts_as_removed(
    app: Flask, checks_on: fx.FakeX
) -> None:
    item, deadline = _one_post(fx.DELETED, checks_on, due_in=2)
    check_post(item.id, "sent")
    assert factories.reloaded(Item, item.id).removal_state == RemovalState.REMOVED
    checks_on.behaviour[str(item.status_id)] = fx.UP
    check_post(item.id, "follow_up")
    assert factories.reloaded(Item, item.id).removal_state == RemovalState.UP
    assert (
        db.session.scalar(select(func.count()).where(AuditEvent.action == "item.reinstated")) == 1
    )
    told = db.session.scalars(
        select(Notification.params).where(Notification.kind == "post_reinstated")
    )
    assert [p["status_id"] for p in told] == [str(item.status_id)]
    db.session.expire_all()
    handled = handle_deadline_now(
        db.session, deadline.id, now=deadline.due_at + timedelta(seconds=1), by="test"
    )
    assert handled is not None and handled.outcome == "missed"


def test_a_removed_post_is_checked_daily_for_thirty_days(
    app: Flask, checks_on: fx.FakeX, redis: Redis
) -> None:
    item, _ = _one_post(fx.DELETED, checks_on)
    check_post(item.id, "sent")
    removed_since = factories.reloaded(Item, item.id).removal_checked_at
    assert removed_since is not None
    tomorrow = removed_since + timedelta(days=1)
    scheduled = _scheduled(redis)
    when = scheduled[follow_up_job_id(item.id, tomorrow)]
    assert abs(when - tomorrow) < timedelta(seconds=2)
    # A second check that day schedules the same follow-up, not another.
    check_post(item.id, "reminder")
    assert len(_scheduled(redis)) == 1

    # The 29th follow-up schedules the 30th; the 30th schedules none.
    redis.flushdb()
    _follow_up(item.id, removed_since, removed_since + timedelta(days=29))
    day_30 = removed_since + timedelta(days=30)
    assert list(_scheduled(redis)) == [follow_up_job_id(item.id, day_30)]
    redis.flushdb()
    _follow_up(item.id, removed_since, day_30)
    assert _scheduled(redis) == {}


def test_the_sweep_queues_the_daily_checks_whose_jobs_were_lost(
    app: Flask, checks_on: fx.FakeX, redis: Redis
) -> None:
    item, _ = _one_post(fx.DELETED, checks_on)
    check_post(item.id, "sent")
    removed_since = factories.reloaded(Item, item.id).removal_checked_at
    assert removed_since is not None
    redis.flushdb()  # Redis forgot the follow-up
    by = "test"

    def follow_ups(days_later: float) -> list[int]:
        handed: list[int] = []
        sweep(
            db.session,
            now=removed_since + timedelta(days=days_later),
            by=by,
            removal_checks=True,
            after_commit=lambda effects: handed.extend(effects.follow_up_item_ids),
        )
        return handed

    assert follow_ups(0.5) == []  # the last check is recent
    assert follow_ups(2) == [item.id]  # a day's check was missed
    assert follow_ups(31) == []  # the follow-up period is over
    # The worker's sweep hands it to the queue under the day's job id.
    app.config["REMOVAL_CHECK_FOLLOW_UP_DAYS"] = 30
    effects = Effects(follow_up_item_ids=[item.id])
    dispatch(effects)
    dispatch(effects)
    assert list(_scheduled(redis)) == [follow_up_job_id(item.id, utcnow())]


def test_checks_are_scheduled_when_sent_and_a_minute_before_each_deadline(
    app: Flask, checks_on: fx.FakeX, redis: Redis
) -> None:
    app.config["REMOVAL_CHECK_HOST_INTERVAL"] = 2.0
    case, _ = staffed_case(links=3)
    deadline = quick_deadline(case, due_in=3600)
    db.session.commit()
    schedule_deadline_jobs([deadline.id])
    when = _scheduled(redis)[removal_check_job_id(deadline.id)]
    # A minute, and a turn on the host for each of the three posts.
    assert abs((deadline.due_at - timedelta(seconds=66) - when).total_seconds()) < 1
    queued = Queue(QUEUE_DEADLINES, connection=redis).jobs
    assert [(j.func_name.rsplit(".", 1)[-1], j.args) for j in queued] == [
        ("check_removals", (deadline.notice_id, "sent"))
    ]


def test_the_compliance_report_counts_removals_confirmed_by_a_check_apart(
    app: Flask, checks_on: fx.FakeX
) -> None:
    by_check, _ = _one_post(fx.DELETED, checks_on)
    check_post(by_check.id, "sent")
    case = db.session.get(Case, by_check.case_id)
    assert case is not None
    other = factories.case(case.organisation, links=[factories.post_url()])
    quick_deadline(other, due_in=3600)
    staff = factories.user(case.organisation, Role.CASEWORKER)
    record_removal_check(
        db.session,
        other.items[0],
        RemovalState.REMOVED,
        utcnow(),
        Actor.staff(staff.id, staff.role.value),
    )
    db.session.commit()
    (row,) = compliance_report(db.session, case.organisation_id)
    assert (row.removals_confirmed_by_check, row.removals_recorded_by_staff) == (1, 1)
    assert row.removed_in_time == 2


def test_the_victim_sees_when_a_post_was_removed(app: Flask, checks_on: fx.FakeX) -> None:
    from tests.intake_support import Answers, fill_report, page_text, sign_in, submit

    factories.org(receives_public_reports=True)
    db.session.commit()
    browser = app.test_client()
    post = "https://x.com/someone/status/2008000000000000777"
    fill_report(browser, Answers(links=[post]))
    confirmation = submit(browser)
    case = db.session.scalars(select(Case)).one()
    quick_deadline(case, due_in=3600)
    db.session.commit()
    checks_on.behaviour["2008000000000000777"] = fx.DELETED
    check_post(case.items[0].id, "sent")
    removed = factories.reloaded(Item, case.items[0].id).removal_checked_at
    assert removed is not None
    day = removed.astimezone(UTC)

    for language, words in (("en", "removed on"), ("fr", "retirée le")):
        reader = app.test_client()
        sign_in(reader, confirmation.reference, confirmation.access_code)
        html = page_text(reader.get("/my-case/case", headers={"Accept-Language": language}))
        assert words in html
        assert str(day.year) in html.split(words, 1)[1][:40]
