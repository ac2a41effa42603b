"""Caseworkers' worklists: membership, filters, sorting, keyset paging and capped counts."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import update

from casework.accounts.models import Role, User
from casework.actors import Actor
from casework.cases.models import NO_DEADLINE, Case, CaseStatus, MinorStatus, Priority
from casework.cases.services import assign_case
from casework.cases.workflow import transition
from casework.cases.worklists import (
    Cursor,
    FilterError,
    Filters,
    WorklistKey,
    fetch_page,
    refresh_sort_deadline,
    worklist_counts,
    worklist_spec,
)
from casework.deadlines.models import DeadlineState
from casework.extensions import db
from casework.orm import utcnow
from tests import factories


def _refs(session: Any, key: WorklistKey, user: Any, filters: Filters | None = None) -> set[str]:
    spec = worklist_spec(key, organisation_id=user.organisation_id, user_id=user.id)
    page = fetch_page(session, spec, filters, page_size=500)
    return {case.reference for case in page.cases}


@pytest.fixture
def board(app: Flask) -> dict[str, Any]:
    """One case for each situation a queue is about, plus another organisation's case."""
    org = factories.org()
    me = factories.user(org, Role.CASEWORKER, password=None)
    colleague = factories.user(org, Role.CASEWORKER, password=None)
    now = utcnow()
    c: dict[str, Any] = {"me": me, "colleague": colleague, "org": org}
    c["unassigned"] = factories.case(org, links=[factories.post_url("alpha_poster")])
    c["mine"] = factories.case(org, status=CaseStatus.TRIAGE, assignee_id=me.id, country="FR")
    c["colleagues"] = factories.case(org, status=CaseStatus.ACTION, assignee_id=colleague.id)
    c["minor"] = factories.case(org, minor=MinorStatus.YES, assignee_id=colleague.id)
    for name, hours in (("due", 5), ("later", 30), ("overdue", -2)):
        case = factories.case(org, status=CaseStatus.AWAITING_PLATFORM, assignee_id=colleague.id)
        factories.deadline(factories.notice(case), now + timedelta(hours=hours))
        c[name] = case
    c["escalated"] = factories.case(org, status=CaseStatus.ESCALATED, assignee_id=me.id)
    c["regulator"] = factories.case(org, status=CaseStatus.ACTION, assignee_id=colleague.id)
    factories.notice(c["regulator"], "gb.ofcom.complaint")
    c["platform_only"] = factories.case(org, status=CaseStatus.ACTION, assignee_id=colleague.id)
    factories.notice(c["platform_only"], "eu.dsa.notice")
    c["wants_lawyer"] = factories.case(
        org, status=CaseStatus.TRIAGE, assignee_id=colleague.id, wanted_actions=["legal_advice"]
    )
    c["resolved"] = factories.case(org, status=CaseStatus.RESOLVED)
    c["closed"] = factories.case(org, status=CaseStatus.CLOSED, wanted_actions=["legal_advice"])
    c["withdrawn"] = factories.case(org, status=CaseStatus.WITHDRAWN)
    c["elsewhere"] = factories.case(factories.org(), status=CaseStatus.ESCALATED)
    db.session.commit()
    return c


def _names(board: dict[str, Any], refs: set[str]) -> set[str]:
    by_ref = {v.reference: k for k, v in board.items() if isinstance(v, Case)}
    return {by_ref[r] for r in refs}


EXPECTED = {
    WorklistKey.UNASSIGNED: {"unassigned"},
    WorklistKey.MINE: {"mine", "escalated"},
    WorklistKey.URGENT: {"minor"},
    WorklistKey.DUE_SOON: {"due"},
    WorklistKey.OVERDUE: {"overdue"},
    WorklistKey.ESCALATED: {"escalated"},
    WorklistKey.AWAITING: {"due", "later", "overdue"},
    WorklistKey.LEGAL: {"escalated", "regulator", "wants_lawyer"},
    WorklistKey.CLOSED: {"resolved", "closed", "withdrawn"},
}
OPEN = {
    "unassigned", "mine", "colleagues", "minor", "due", "later", "overdue",
    "escalated", "regulator", "platform_only", "wants_lawyer",
}  # fmt: skip


@pytest.mark.parametrize("key", list(WorklistKey))
def test_each_queue_holds_exactly_its_cases(board: dict[str, Any], key: WorklistKey) -> None:
    expected = EXPECTED.get(key) or (
        OPEN if key is WorklistKey.OPEN else OPEN | EXPECTED[WorklistKey.CLOSED]
    )
    assert _names(board, _refs(db.session, key, board["me"])) == expected


def test_counts_match_the_queues(board: dict[str, Any]) -> None:
    me = board["me"]
    counts = worklist_counts(db.session, organisation_id=me.organisation_id, user_id=me.id)
    for key in WorklistKey:
        assert counts[key].value == len(_refs(db.session, key, me)), key
        assert not counts[key].capped


def test_counts_stop_at_the_cap(board: dict[str, Any]) -> None:
    me = board["me"]
    counts = worklist_counts(db.session, organisation_id=me.organisation_id, user_id=me.id, cap=3)
    assert counts[WorklistKey.OPEN].capped and str(counts[WorklistKey.OPEN]) == "3+"
    assert counts[WorklistKey.CLOSED].value == 3 and not counts[WorklistKey.CLOSED].capped
    assert str(counts[WorklistKey.MINE]) == "2"


def test_ready_for_legal_action_follows_notices_and_status(board: dict[str, Any]) -> None:
    me = board["me"]
    platform_only = board["platform_only"]
    assert platform_only.reference not in _refs(db.session, WorklistKey.LEGAL, me)
    factories.notice(platform_only, "fr.pharos.signalement")
    db.session.commit()
    assert platform_only.reference in _refs(db.session, WorklistKey.LEGAL, me)
    regulator = board["regulator"]
    transition(db.session, regulator, CaseStatus.CLOSED, Actor.staff(me.id, "caseworker"))
    db.session.commit()
    assert regulator.reference not in _refs(db.session, WorklistKey.LEGAL, me)
    assert db.session.get_one(Case, regulator.id).legal_ready is False


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        (Filters(status=CaseStatus.TRIAGE), {"mine", "wants_lawyer"}),
        (Filters(jurisdiction="fr"), {"mine"}),
        (Filters(priority=int(Priority.URGENT)), {"minor"}),
        (Filters(unassigned=True), {"unassigned"}),
        (Filters(text="@Alpha_Poster"), {"unassigned"}),
    ],
)
def test_filters_narrow_a_queue(
    board: dict[str, Any], filters: Filters, expected: set[str]
) -> None:
    assert _names(board, _refs(db.session, WorklistKey.OPEN, board["me"], filters)) == expected


def test_filter_by_assignee_and_by_reference_post_number_or_link(board: dict[str, Any]) -> None:
    me = board["me"]
    mine = _refs(db.session, WorklistKey.OPEN, me, Filters(assignee_id=me.id))
    assert _names(board, mine) == {"mine", "escalated"}
    target = board["later"]
    item = target.items[0]
    for text in (
        target.reference,
        target.reference.lower().replace("-", " "),
        str(item.status_id),
        item.url,
    ):
        assert _names(board, _refs(db.session, WorklistKey.ALL, me, Filters(text=text))) == {
            "later"
        }
    with pytest.raises(FilterError) as excinfo:
        _refs(db.session, WorklistKey.ALL, me, Filters(text="not a thing!"))
    assert excinfo.value.field == "q"


def test_filter_by_date_reported(board: dict[str, Any]) -> None:
    me = board["me"]
    old = board["colleagues"]
    old.created_at = factories.utc(2025, 3, 10, 23, 30)
    db.session.commit()
    one_day = Filters(created_from=date(2025, 3, 10), created_to=date(2025, 3, 10))
    assert _names(board, _refs(db.session, WorklistKey.ALL, me, one_day)) == {"colleagues"}
    before = Filters(created_to=date(2025, 3, 9))
    assert _refs(db.session, WorklistKey.ALL, me, before) == set()


def test_queues_sort_by_priority_then_nearest_deadline_then_id(app: Flask) -> None:
    org = factories.org()
    me = factories.user(org, password=None)
    now = utcnow()
    plan = [  # (priority, hours to deadline or None)
        (Priority.NORMAL, None),
        (Priority.NORMAL, 3),
        (Priority.URGENT, None),
        (Priority.NORMAL, 1),
        (Priority.LOW, 0.5),
        (Priority.URGENT, 10),
        (Priority.NORMAL, 1),  # ties with the earlier one: id decides
    ]
    for priority, hours in plan:
        case = factories.case(org, priority=int(priority))
        if hours is not None:
            case.sort_deadline_at = now + timedelta(hours=hours)
    db.session.commit()
    spec = worklist_spec(WorklistKey.ALL, organisation_id=org.id, user_id=me.id)
    cases = fetch_page(db.session, spec).cases
    keys = [(c.priority, c.sort_deadline_at, c.id) for c in cases]
    assert keys == sorted(keys)
    assert [c.priority for c in cases] == [0, 0, 2, 2, 2, 2, 3]
    assert cases[-2].sort_deadline_at == NO_DEADLINE


def _walk(spec: Any, size: int, filters: Filters | None = None) -> list[list[int]]:
    pages, cursor = [], None
    while True:
        page = fetch_page(db.session, spec, filters, after=cursor, page_size=size)
        pages.append([c.id for c in page.cases])
        if page.next_cursor is None:
            return pages
        cursor = page.next_cursor


@pytest.mark.parametrize("key", [WorklistKey.ALL, WorklistKey.OVERDUE])
def test_keyset_pages_forward_and_back_with_ties(app: Flask, key: WorklistKey) -> None:
    org = factories.org()
    me = factories.user(org, password=None)
    past = utcnow() - timedelta(hours=3)
    for n in range(23):
        case = factories.case(org, priority=int(Priority.URGENT if n % 5 == 0 else Priority.NORMAL))
        case.status = CaseStatus.AWAITING_PLATFORM
        # Many exact ties on (priority, deadline): only the id tells them apart.
        case.sort_deadline_at = past if n % 3 else past - timedelta(minutes=n)
    db.session.commit()
    spec = worklist_spec(key, organisation_id=org.id, user_id=me.id)
    everything = fetch_page(db.session, spec, page_size=100).cases
    expected = sorted((c.priority, c.sort_deadline_at, c.id) for c in everything)
    assert len(expected) == 23

    pages = _walk(spec, 5)
    assert [len(p) for p in pages] == [5, 5, 5, 5, 3]
    assert [i for p in pages for i in p] == [k[2] for k in expected]

    # Back from the last page, one page at a time, to the first.
    last = fetch_page(
        db.session, spec, after=Cursor.of(db.session.get_one(Case, pages[3][-1])), page_size=5
    )
    assert [c.id for c in last.cases] == pages[4]
    seen = [[c.id for c in last.cases]]
    page = last
    while page.prev_cursor is not None:
        page = fetch_page(db.session, spec, before=page.prev_cursor, page_size=5)
        seen.append([c.id for c in page.cases])
    assert list(reversed(seen)) == pages
    assert page.next_cursor is not None


def test_rows_put_first_page_by_keyset_before_the_others_both_ways(app: Flask) -> None:
    org = factories.org()
    me = factories.user(org, password=None)
    past = utcnow() - timedelta(hours=3)
    for n in range(17):
        case = factories.case(org, priority=int(Priority.URGENT if n % 4 == 0 else Priority.NORMAL))
        case.status = CaseStatus.ESCALATED if n % 3 == 0 else CaseStatus.AWAITING_PLATFORM
        case.sort_deadline_at = past if n % 2 else past - timedelta(minutes=n)
    db.session.commit()
    spec = replace(
        worklist_spec(WorklistKey.ALL, organisation_id=org.id, user_id=me.id),
        first=Case.status == CaseStatus.ESCALATED,
    )
    everything = fetch_page(db.session, spec, page_size=100).cases
    expected = sorted(
        (c.status is not CaseStatus.ESCALATED, c.priority, c.sort_deadline_at, c.id)
        for c in everything
    )
    assert len(expected) == 17 and expected[5][0] is False and expected[6][0] is True

    pages = _walk(spec, 4)
    assert [len(p) for p in pages] == [4, 4, 4, 4, 1]
    assert [i for p in pages for i in p] == [k[3] for k in expected]

    # Back from the last page to the first, the cursors going through their URL form.
    page = fetch_page(db.session, spec, after=None, page_size=4)
    while page.next_cursor is not None:
        page = fetch_page(
            db.session, spec, after=Cursor.decode(page.next_cursor.encode()), page_size=4
        )
    seen = [[c.id for c in page.cases]]
    while page.prev_cursor is not None:
        before = Cursor.decode(page.prev_cursor.encode())
        page = fetch_page(db.session, spec, before=before, page_size=4)
        seen.append([c.id for c in page.cases])
    assert list(reversed(seen)) == pages


def test_a_filtered_priority_pages_by_keyset_too(app: Flask) -> None:
    org = factories.org()
    me = factories.user(org, password=None)
    for n in range(7):
        factories.case(org, priority=int(Priority.HIGH if n % 2 else Priority.LOW))
    db.session.commit()
    spec = worklist_spec(WorklistKey.ALL, organisation_id=org.id, user_id=me.id)
    pages = _walk(spec, 2, Filters(priority=int(Priority.HIGH)))
    flat = [i for p in pages for i in p]
    assert len(flat) == 3 == len(set(flat))


def test_cursors_round_trip_and_reject_garbage() -> None:
    cursor = Cursor(2, NO_DEADLINE, 123456789)
    assert Cursor.decode(cursor.encode()) == cursor
    early = Cursor(0, factories.utc(2026, 1, 5, 12, 0, 0), 7)
    assert Cursor.decode(early.encode()) == early
    for bad in (None, "", "x", "1.2", "1.2.3.4", "99999.1.1", "1.99999999999999999999.1"):
        assert Cursor.decode(bad) is None


def test_refresh_sort_deadline_follows_the_earliest_pending_deadline(app: Flask) -> None:
    org = factories.org()
    case = factories.case(org)
    notice = factories.notice(case)
    now = utcnow()
    first = factories.deadline(notice, now + timedelta(hours=2))
    second = factories.deadline(notice, now + timedelta(hours=9))
    assert case.sort_deadline_at == first.due_at
    first.state = DeadlineState.MET
    assert refresh_sort_deadline(db.session, case) == now + timedelta(hours=9)
    second.state = DeadlineState.CANCELLED
    assert refresh_sort_deadline(db.session, case) == NO_DEADLINE


# --- the page -----------------------------------------------------------------------------


def test_the_queue_page_keeps_filters_in_the_url(board: dict[str, Any], client: Any) -> None:
    factories.sign_in(client, board["me"])
    page = client.get("/staff/cases/?worklist=open&status=triage&jurisdiction=FR")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert board["mine"].reference in text
    assert board["wants_lawyer"].reference not in text  # no FR jurisdiction
    # The queue links carry the filters, so a filtered view can be bookmarked and shared.
    assert "status=triage" in text and "jurisdiction=FR" in text
    assert 'data-worklist="mine">2<' in text


def test_the_queue_page_pages_with_links(app: Flask, client: Any) -> None:
    org = factories.org()
    me = factories.user(org, password=None)
    for _ in range(55):
        factories.case(org)
    db.session.commit()
    factories.sign_in(client, me)
    first = client.get("/staff/cases/?worklist=open").get_data(as_text=True)
    assert first.count('name="case_ids"') == 50
    assert 'rel="prev"' not in first
    next_url = first.split('rel="next" href="')[1].split('"')[0].replace("&amp;", "&")
    assert "after=" in next_url and "offset" not in next_url
    second = client.get(next_url).get_data(as_text=True)
    assert second.count('name="case_ids"') == 5
    assert 'rel="next"' not in second
    prev_url = second.split('rel="prev" href="')[1].split('"')[0].replace("&amp;", "&")
    again = client.get(prev_url).get_data(as_text=True)
    assert again.count('name="case_ids"') == 50


def test_a_bad_filter_is_named_next_to_its_field(board: dict[str, Any], client: Any) -> None:
    factories.sign_in(client, board["me"])
    page = client.get(
        "/staff/cases/?worklist=all&q=%25%25%25&jurisdiction=France&created_from=2026-13-01"
    )
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Search by case reference" in text
    assert "Use a code such as FR or US-CA." in text
    assert 'id="created_from-error"' in text
    assert 'value="France"' in text  # what was typed stays
    assert board["withdrawn"].reference in text  # the valid part of the view still shows


def test_cached_counts_notice_a_change_another_host_committed(
    board: dict[str, Any], second_host: Flask
) -> None:
    me = board["me"]
    org_id, me_id, unassigned_id = me.organisation_id, me.id, board["unassigned"].id

    def counts() -> dict[WorklistKey, Any]:
        got = worklist_counts(db.session, organisation_id=org_id, user_id=me_id, cache_seconds=3600)
        return {key: got[key].value for key in (WorklistKey.UNASSIGNED, WorklistKey.MINE)}

    assert counts() == {WorklistKey.UNASSIGNED: 1, WorklistKey.MINE: 2}
    # Another host (its own app, its own cache) assigns the unassigned case to me.
    with second_host.app_context():
        case = db.session.get(Case, unassigned_id)
        assert case is not None
        assign_case(db.session, case, db.session.get(User, me_id), Actor.staff(me_id, "admin"))
        db.session.commit()
    assert counts() == {WorklistKey.UNASSIGNED: 0, WorklistKey.MINE: 3}
    # The counts are still cached while nothing is recorded: a write behind the app's back
    # (no audit event) is not seen within the cache's time.
    with db.engine.begin() as connection:
        connection.execute(update(Case).where(Case.id == unassigned_id).values(assignee_id=None))
    assert counts() == {WorklistKey.UNASSIGNED: 0, WorklistKey.MINE: 3}
