"""The next letters a case needs: from its jurisdictions, posts, wishes and record."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from casework.accounts.models import Role
from casework.cases.models import Case, ContentCategory, MinorStatus
from casework.deadlines.models import DeadlineState
from casework.extensions import db
from casework.notices.models import NoticeState
from casework.notices.recommend import recommendations_for
from casework.orm import utcnow
from casework.registry import default_registry
from tests import factories


def _case(
    category: ContentCategory,
    *,
    country: str = "US",
    minor: MinorStatus = MinorStatus.NO,
    **fields: Any,
) -> Case:
    org = factories.org()
    case = factories.case(org, country=country, minor=minor, **fields)
    for item in case.items:
        item.category = category
    db.session.commit()
    return case


def _keys(case: Case) -> list[str]:
    return [
        r.route.key for r in recommendations_for(db.session, case, default_registry(), utcnow())
    ]


def test_an_adults_case_gets_the_routes_that_cover_its_posts_and_none_only_for_minors(
    app: Flask,
) -> None:
    case = _case(ContentCategory.NUDE_SEXUAL, wanted_actions=["takedown"])
    found = recommendations_for(db.session, case, default_registry(), utcnow())
    keys = [r.route.key for r in found]
    assert "us.tida.removal" in keys and "any.x.policy_report" in keys
    assert all(r.route.covers != ("minor",) for r in found)
    assert all(r.item_ids == tuple(item.id for item in case.items) for r in found)
    # A complaint about an earlier step waits for it; a regulator complaint needs the wish.
    assert "us.ftc.complaint" not in keys
    assert all(r.route.kind != "regulator_complaint" for r in found)
    assert all(r.reason == "first_step" for r in found)


def test_a_law_that_does_not_cover_the_posts_is_not_offered(app: Flask) -> None:
    keys = _keys(_case(ContentCategory.REVEALING_ATTIRE, wanted_actions=["takedown"]))
    assert "us.tida.removal" not in keys
    assert "us.dmca.notice" in keys


def test_unclassified_posts_get_no_letter_until_classified(app: Flask) -> None:
    assert _keys(_case(ContentCategory.UNKNOWN, wanted_actions=["takedown"])) == []


def test_a_minors_case_gets_the_child_protection_routes(app: Flask) -> None:
    case = _case(ContentCategory.MINOR, country="FR", minor=MinorStatus.YES)
    found = recommendations_for(db.session, case, default_registry(), utcnow())
    by_key = {r.route.key: r for r in found}
    assert "fr.lil51.effacement" in by_key  # erasure for someone who was a minor
    assert by_key["fr.lil51.effacement"].reason == "minor"
    reasons = [r.reason for r in found]
    assert reasons == sorted(reasons, key=lambda reason: reason != "minor")  # minors' first
    adult = _case(ContentCategory.NUDE_SEXUAL, country="FR")
    assert "fr.lil51.effacement" not in _keys(adult)


def test_a_sent_notice_is_not_offered_again_and_its_missed_deadline_brings_the_escalation(
    app: Flask,
) -> None:
    case = _case(ContentCategory.NUDE_SEXUAL, wanted_actions=["takedown", "regulator_complaint"])
    sent_at = utcnow() - timedelta(days=5)
    notice = factories.notice(case, received_at=sent_at, clock_started_at=sent_at, sent_at=sent_at)
    db.session.flush()
    letter = factories.letter(case, notice)
    notice.sent_letter_id = letter.id
    factories.deadline(notice, sent_at + timedelta(hours=48), state=DeadlineState.MISSED)
    db.session.commit()
    found = recommendations_for(db.session, case, default_registry(), utcnow())
    keys = [r.route.key for r in found]
    assert "us.tida.removal" not in keys
    assert keys[0] == "us.ftc.complaint"
    assert found[0].reason == "overdue" and found[0].after is not None
    assert found[0].after.id == notice.id


def test_an_open_notice_is_shown_beside_its_recommendation(app: Flask) -> None:
    case = _case(ContentCategory.NUDE_SEXUAL, wanted_actions=["takedown"])
    draft = factories.notice(case, state=NoticeState.DRAFT, sent_at=None)
    db.session.commit()
    found = {
        r.route.key: r for r in recommendations_for(db.session, case, default_registry(), utcnow())
    }
    assert found["us.tida.removal"].open_notice is not None
    assert found["us.tida.removal"].open_notice.id == draft.id


def test_the_case_screen_lists_the_next_letters_by_name_with_a_link_to_open_each(
    app: Flask, client: FlaskClient
) -> None:
    case = _case(ContentCategory.NUDE_SEXUAL, wanted_actions=["takedown"])
    staff = factories.user(case.organisation, Role.CASEWORKER, password=None)
    db.session.commit()
    factories.sign_in(client, staff)
    page = client.get(f"/staff/cases/{case.id}").get_data(as_text=True)
    section = page.split('id="next-letters"', 1)[1].split("</section>", 1)[0]
    tida = default_registry().route("us.tida.removal")
    assert tida.title_in("en") in section
    assert f"/staff/notices/cases/{case.id}/notices/new?route=us.tida.removal" in section
    assert ">us.tida.removal<" not in page  # staff read route names, not keys

    case.items[0].category = ContentCategory.UNKNOWN
    db.session.commit()
    page = client.get(f"/staff/cases/{case.id}").get_data(as_text=True)
    assert "1 post is not classified yet" in page
