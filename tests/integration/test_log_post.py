"""One click from X: the bookmarklet on the account page and the "log this post" page."""

from __future__ import annotations

import re
from html import unescape
from typing import Any
from urllib.parse import quote

import pytest
from flask import Flask
from sqlalchemy import select

from casework.accounts.models import Role
from casework.audit.models import AuditEvent
from casework.cases.models import Case, CaseLink, CaseStatus, Item, LinkReason
from casework.extensions import db
from tests import factories
from tests.factories import csrf_token
from tests.intake_support import page_text, row_counts

POST = "https://x.com/poster_one/status/2008000000000777001"
CANONICAL = "https://x.com/poster_one/status/2008000000000777001"


@pytest.fixture
def desk(app: Flask, client: Any) -> dict[str, Any]:
    org = factories.org()
    me = factories.user(org, Role.CASEWORKER, password=None, name="Casey Worker")
    colleague = factories.user(org, Role.CASEWORKER, password=None)
    lawyer = factories.user(org, Role.LAWYER, password=None)
    older_mine = factories.case(org, links=[factories.post_url("a1")], assignee_id=me.id)
    theirs = factories.case(org, links=[factories.post_url("a2")], assignee_id=colleague.id)
    closed = factories.case(org, links=[factories.post_url("a3")], status=CaseStatus.CLOSED)
    db.session.commit()
    factories.sign_in(client, me)
    return {
        "org": org,
        "me": me,
        "lawyer": lawyer,
        "mine": older_mine,
        "theirs": theirs,
        "closed": closed,
        "client": client,
    }


def encode_uri_component(text: str) -> str:
    """What the browser's encodeURIComponent makes of the page's address."""
    return quote(text, safe="-_.!~*'()")


def bookmarklet_of(page: str) -> str:
    match = re.search(r'<code id="bookmarklet-code">([^<]*)</code>', page)
    assert match, "no bookmarklet on the page"
    return unescape(match.group(1))


def test_the_account_page_offers_a_bookmarklet_that_only_navigates(
    app: Flask, desk: dict[str, Any]
) -> None:
    client = desk["client"]
    response = client.get("/staff/account")
    page = response.get_data(as_text=True)
    code = bookmarklet_of(page)
    base = app.config["BASE_URL"].rstrip("/")
    assert code == (
        f'javascript:void(location.href="{base}/staff/log?url="+encodeURIComponent(location.href))'
    )
    assert "Drag this link to your browser’s bookmarks bar" in page_text(response)
    # The same address as the bookmark link; the site's policy is the one of every page.
    assert f'href="{code}"' in unescape(page)
    assert (
        response.headers["Content-Security-Policy"]
        == client.get("/staff/cases/").headers["Content-Security-Policy"]
    )
    assert "script-src 'unsafe-inline'" not in response.headers["Content-Security-Policy"]

    # Where it leads from a post on X (with the query X adds): the page, with the link.
    on_x = POST + "?s=20&t=abc"
    followed = client.get(f"/staff/log?url={encode_uri_component(on_x)}")
    assert followed.status_code == 200
    text = page_text(followed)
    assert CANONICAL in text and "No case of your organisation has this post yet." in text

    # Lawyers do not log posts, so they get no bookmarklet.
    factories.sign_in(client, desk["lawyer"])
    assert 'id="bookmarklet"' not in client.get("/staff/account").get_data(as_text=True)


def test_the_page_shows_where_the_post_is_known_and_offers_open_cases_mine_first(
    app: Flask, desk: dict[str, Any]
) -> None:
    client, mine, theirs, closed = desk["client"], desk["mine"], desk["theirs"], desk["closed"]
    holder = factories.case(desk["org"], links=[POST])
    elsewhere = factories.case(factories.org(), links=[POST])
    db.session.commit()
    page = client.get(f"/staff/log?url={encode_uri_component(POST)}").get_data(as_text=True)
    text = page_text(client.get(f"/staff/log?url={encode_uri_component(POST)}"))
    assert "Already in 1 case of your organisation:" in text
    assert holder.reference in text and elsewhere.reference not in text
    offered = re.findall(r'name="case" id="case-(\d+)"', page)
    # Her own first, then the most recently changed; closed cases are not offered.
    assert offered[0] == str(mine.id)
    assert {str(theirs.id), str(holder.id)} <= set(offered) and str(closed.id) not in offered
    assert re.search(rf'id="case-{holder.id}" value="{holder.id}" disabled', page)

    # Searching by reference, whole or in part.
    found = client.get(
        f"/staff/log?url={encode_uri_component(POST)}&q={theirs.reference.lower()}"
    ).get_data(as_text=True)
    assert re.findall(r'name="case" id="case-(\d+)"', found) == [str(theirs.id)]
    nothing = page_text(client.get(f"/staff/log?url={encode_uri_component(POST)}&q=CW-1999"))
    assert "No open case matches this reference." in nothing
    bad = client.get(f"/staff/log?url={encode_uri_component(POST)}&q=%3Cscript%3E")
    assert "Type a case reference" in page_text(bad)
    # The assisted-intake page is offered only where the app has it.
    assert ("Or open a new case instead" in text) == ("cases.new_case" in app.view_functions)


def test_adding_the_post_uses_the_case_screens_add_posts_audited_with_link_proposals(
    app: Flask, desk: dict[str, Any]
) -> None:
    client, me, mine = desk["client"], desk["me"], desk["mine"]
    holder = factories.case(desk["org"], links=[POST])
    db.session.commit()
    response = client.post("/staff/log", data={"url": CANONICAL, "case": str(mine.id)})
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/staff/cases/{mine.id}#items")
    assert f"The post was added to {mine.reference}." in page_text(
        client.get(response.headers["Location"])
    )
    item = db.session.scalars(
        select(Item).where(Item.case_id == mine.id, Item.status_id == 2008000000000777001)
    ).one()
    assert item.url == CANONICAL and item.added_by_victim is False
    [event] = db.session.scalars(
        select(AuditEvent).where(
            AuditEvent.action == "case.items_added", AuditEvent.case_id == mine.id
        )
    )
    assert (event.actor_type, event.actor_id, event.details) == (
        "user",
        me.id,
        {"items": [item.id]},
    )
    link = db.session.scalars(select(CaseLink).where(CaseLink.reason == LinkReason.STATUS_ID)).one()
    assert {link.case_a_id, link.case_b_id} == {mine.id, holder.id}

    # Again: nothing is repeated.
    again = client.post("/staff/log", data={"url": CANONICAL, "case": str(mine.id)})
    assert f"The post was already in {mine.reference}." in page_text(
        client.get(again.headers["Location"])
    )
    assert db.session.query(Item).filter(Item.case_id == mine.id).count() == 2


@pytest.mark.parametrize(
    ("link", "says"),
    [
        ("https://example.com/someone/status/2008000000000777001", "not a link to a post on X"),
        ("https://x.com.evil.example/a/status/2008000000000777001", "not a link to a post on X"),
        ("javascript:alert(document.cookie)", "not a link to a post on X"),
        ("javascript://x.com/%0Aalert(1)", "not a link to a post on X"),
        ("https://x.com/poster_one", "a link to a profile, not to a post"),
        ("", "Please paste the link to the post on X."),
    ],
)
def test_a_link_that_is_not_an_x_post_is_refused_clearly(
    desk: dict[str, Any], link: str, says: str
) -> None:
    client = desk["client"]
    response = client.get(f"/staff/log?url={encode_uri_component(link)}")
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert says in page_text(response)
    assert 'id="post-url-error"' in page and 'name="case"' not in page
    assert 'href="javascript' not in page
    before = row_counts(db.session)
    refused = client.post("/staff/log", data={"url": link, "case": str(desk["mine"].id)})
    assert refused.status_code == 400 and says in page_text(refused)
    assert row_counts(db.session) == before


def test_no_case_chosen_or_a_closed_case_is_refused_next_to_the_choice(
    desk: dict[str, Any],
) -> None:
    client = desk["client"]
    before = row_counts(db.session)
    response = client.post("/staff/log", data={"url": CANONICAL, "case": ""})
    assert response.status_code == 400
    assert "Choose the case to add the post to." in page_text(response)
    assert 'id="case-error"' in response.get_data(as_text=True)
    response = client.post("/staff/log", data={"url": CANONICAL, "case": str(desk["closed"].id)})
    assert response.status_code == 400
    assert "This case is no longer open; choose an open case." in page_text(response)
    assert row_counts(db.session) == before


def test_a_case_of_another_organisation_is_not_found_and_nothing_changes(
    desk: dict[str, Any],
) -> None:
    client = desk["client"]
    outsider = factories.case(factories.org(), links=[factories.post_url("b1")])
    db.session.commit()
    before = row_counts(db.session)
    response = client.post("/staff/log", data={"url": CANONICAL, "case": str(outsider.id)})
    assert response.status_code == 404
    assert row_counts(db.session) == before
    page = client.get(f"/staff/log?url={encode_uri_component(POST)}&q={outsider.reference}")
    assert outsider.reference not in page_text(page).split("Look up", 1)[1]


def test_lawyers_and_visitors_cannot_log_posts(app: Flask, desk: dict[str, Any]) -> None:
    client = desk["client"]
    factories.sign_in(client, desk["lawyer"])
    assert client.get(f"/staff/log?url={encode_uri_component(POST)}").status_code == 403
    before = row_counts(db.session)
    response = client.post("/staff/log", data={"url": CANONICAL, "case": str(desk["mine"].id)})
    assert response.status_code == 403
    anonymous = app.test_client().get(f"/staff/log?url={encode_uri_component(POST)}")
    assert anonymous.status_code == 302 and "/staff/sign-in" in anonymous.headers["Location"]
    assert row_counts(db.session) == before


class TestWithCsrf:
    @pytest.fixture
    def app_config(self, app_config: dict[str, Any]) -> dict[str, Any]:
        return {**app_config, "WTF_CSRF_ENABLED": True}

    def test_adding_needs_the_forms_token(self, app: Flask, desk: dict[str, Any]) -> None:
        client, mine = desk["client"], desk["mine"]
        before = row_counts(db.session)
        data = {"url": CANONICAL, "case": str(mine.id)}
        assert client.post("/staff/log", data=data).status_code == 400
        other_token = csrf_token(app.test_client())
        assert (
            client.post("/staff/log", data={**data, "csrf_token": other_token}).status_code == 400
        )
        assert row_counts(db.session) == before
        token = csrf_token(client, f"/staff/log?url={encode_uri_component(POST)}")
        assert client.post("/staff/log", data={**data, "csrf_token": token}).status_code == 302
        assert db.session.query(Item).filter(Item.case_id == mine.id).count() == 2
        assert isinstance(db.session.get(Case, mine.id), Case)
