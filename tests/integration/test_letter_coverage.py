"""A letter lists only the posts its route's law covers; the screens say which those are."""

from __future__ import annotations

import html
import io
import json
from dataclasses import dataclass

import pytest
from flask import Flask
from flask.testing import FlaskClient
from pypdf import PdfReader
from sqlalchemy import select

from casework.accounts.models import Role, User
from casework.actors import Actor
from casework.audit.models import AuditEvent
from casework.cases.models import Case, ContentCategory, Item, MinorStatus
from casework.evidence.models import EvidenceFile
from casework.extensions import db
from casework.notices.letters import create_letter
from casework.notices.models import Letter
from casework.notices.rendering import render_letter_html
from casework.notices.services import IncompleteNotice, create_notice, record_sent
from casework.registry import default_registry
from tests import factories
from tests.letter_cases import NOW, complete_notice, pdf_text, realistic_case, sign_in

REGISTRY = default_registry()
# The TAKE IT DOWN Act covers nude or sexual images only: no grey zone.
TIDA = REGISTRY.route("us.tida.removal")
# Covers revealing attire, which the TAKE IT DOWN Act lists as an alternative.
HOTLINE = REGISTRY.route("ie.hotline.iia_report")


@dataclass(frozen=True)
class Mixed:
    """A case under the TAKE IT DOWN Act with a nude post and a revealing-attire post."""

    lawyer: User
    case: Case
    nude: Item
    attire: Item

    @property
    def actor(self) -> Actor:
        return Actor.staff(self.lawyer.id, self.lawyer.role.value)

    def files(self, item: Item) -> list[EvidenceFile]:
        return list(db.session.scalars(select(EvidenceFile).where(EvidenceFile.item_id == item.id)))


@pytest.fixture
def mixed(app: Flask) -> Mixed:
    org = factories.org(name="Safe Harbour Network")
    lawyer = factories.user(org, Role.LAWYER)
    case = realistic_case(org, TIDA, items=2)
    nude, attire = case.items
    attire.category = ContentCategory.REVEALING_ATTIRE
    db.session.commit()
    return Mixed(lawyer, case, nude, attire)


def _printed(letter: Letter) -> tuple[str, str]:
    """The letter as HTML rendered from its snapshot, and its PDF's text."""
    return render_letter_html(letter.data_snapshot, letter.template), pdf_text(letter.pdf)


def _manifest_urls(letter: Letter) -> list[str]:
    (data,) = PdfReader(io.BytesIO(letter.pdf)).attachments["manifest.json"]
    return [item["url"] for item in json.loads(data)["items"]]


def _assert_lists_only_the_nude_post(letter: Letter, mixed: Mixed) -> None:
    page, text = _printed(letter)
    assert mixed.nude.url in page and mixed.nude.url in text
    assert mixed.attire.url not in page and mixed.attire.url not in text
    assert _manifest_urls(letter) == [mixed.nude.url]
    (kept,) = mixed.files(mixed.nude)
    (left_out,) = mixed.files(mixed.attire)
    assert kept.sha256 in text
    assert left_out.sha256 not in page and left_out.sha256 not in text
    assert [e["sha256"] for e in letter.data_snapshot["exhibits"]] == [kept.sha256]
    assert [i["id"] for i in letter.data_snapshot["items"]] == [mixed.nude.id]


def test_a_final_letter_lists_only_the_post_its_law_covers(mixed: Mixed) -> None:
    notice = complete_notice(mixed.case, TIDA, mixed.lawyer)
    assert [link.item_id for link in notice.items] == [mixed.nude.id, mixed.attire.id]
    letter = create_letter(
        db.session,
        case=mixed.case,
        route_key=TIDA.key,
        actor=mixed.actor,
        notice=notice,
        include_screenshots=True,
        now=NOW,
    )
    assert not letter.draft, letter.data_snapshot["missing"]
    _assert_lists_only_the_nude_post(letter, mixed)
    assert len(letter.data_snapshot["exhibits"]) == 1  # one screenshot, of the covered post
    (event,) = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "letter.generated")
    ).all()
    assert event.details["left_out"] == [mixed.attire.id]


def test_a_draft_from_the_case_lists_only_the_post_its_law_covers(
    mixed: Mixed, client: FlaskClient
) -> None:
    sign_in(client, mixed.lawyer)
    response = client.post(
        f"/staff/notices/cases/{mixed.case.id}/generate", data={"route_key": TIDA.key}
    )
    assert response.status_code == 302
    letter = db.session.scalars(select(Letter).where(Letter.case_id == mixed.case.id)).one()
    _assert_lists_only_the_nude_post(letter, mixed)
    shown = client.get(f"/staff/notices/{letter.id}/view.pdf")  # the in-browser preview
    assert shown.status_code == 200
    assert mixed.nude.url in pdf_text(shown.data)
    assert mixed.attire.url not in pdf_text(shown.data)


def test_the_screens_list_the_post_left_out_with_the_routes_that_cover_it(
    mixed: Mixed, client: FlaskClient
) -> None:
    notice = complete_notice(mixed.case, TIDA, mixed.lawyer)
    db.session.commit()
    sign_in(client, mixed.lawyer)
    for url in (f"/staff/notices/notices/{notice.id}", f"/staff/cases/{mixed.case.id}"):
        page = html.unescape(client.get(url).get_data(as_text=True))
        covered = page.index(f'id="coverage-{notice.id}-{mixed.nude.id}"')
        left_out = page.index(f'id="coverage-{notice.id}-{mixed.attire.id}"')
        assert "covered by 47 USC 223a" in page[covered : covered + 600], url
        row = page[left_out : left_out + 1500]
        assert "not covered by 47 USC 223a: left out of the letter" in row, url
        assert "Routes whose law covers it:" in row
        assert HOTLINE.title_in("en") in row
        assert "ie.hotline.iia_report" not in row  # a title, never a key
        # Open to this case: the X policy report, whose rules may cover it (a grey zone).
        assert "Report under X's non-consensual nudity (NCN) policy" in row
        assert "route=any.x.policy_report" in row


def test_the_screens_say_it_in_french(mixed: Mixed, client: FlaskClient) -> None:
    notice = complete_notice(mixed.case, TIDA, mixed.lawyer)
    db.session.commit()
    sign_in(client, mixed.lawyer)
    french = {"Accept-Language": "fr-FR,fr;q=0.9"}
    for url in (f"/staff/notices/notices/{notice.id}", f"/staff/cases/{mixed.case.id}"):
        page = html.unescape(client.get(url, headers=french).get_data(as_text=True))
        assert "non couverte par 47 USC 223a\u00a0: exclue du courrier" in page, url
        assert "Voies dont le texte la couvre\u00a0:" in page, url


def test_the_routes_that_cover_a_post_are_named_in_the_readers_language(
    app: Flask, client: FlaskClient
) -> None:
    # A law on data collected from a minor does not cover a post classified as an adult's
    # nude image (the person's age is not settled); the French routes of the case that do
    # are named by their titles, in French for a French reader.
    org = factories.org()
    lawyer = factories.user(org, Role.LAWYER)
    case = factories.case(org, country="FR", minor=MinorStatus.UNSURE)
    (post,) = case.items
    post.category = ContentCategory.NUDE_SEXUAL
    actor = Actor.staff(lawyer.id, lawyer.role.value)
    notice = create_notice(db.session, case, "fr.lil51.effacement", [post.id], actor)
    db.session.commit()
    sign_in(client, lawyer)
    signalement = REGISTRY.route("fr.dsa.signalement")
    url = f"/staff/notices/notices/{notice.id}"
    for language, title in (("en", signalement.title["en"]), ("fr", signalement.title["fr"])):
        page = client.get(url, headers={"Accept-Language": language}).get_data(as_text=True)
        row = html.unescape(page[page.index(f'id="coverage-{notice.id}-{post.id}"') :][:4000])
        assert f'route=fr.dsa.signalement">{title}</a>' in row, language


def test_a_letter_with_no_covered_post_is_a_draft_that_says_why(mixed: Mixed) -> None:
    notice = complete_notice(mixed.case, TIDA, mixed.lawyer, items=[mixed.attire])
    letter = create_letter(
        db.session, case=mixed.case, route_key=TIDA.key, actor=mixed.actor, notice=notice, now=NOW
    )
    assert letter.draft
    assert letter.data_snapshot["missing"] == ["covered_post"]
    assert letter.data_snapshot["items"] == [] and letter.data_snapshot["exhibits"] == []
    text = pdf_text(letter.pdf)
    assert "Draft: incomplete" in text
    assert "This draft lacks elements the law requires of a valid notice: a post the law" in text
    assert "[No post in this letter is covered by 47 USC 223a]" in text
    assert mixed.attire.url not in text
    with pytest.raises(IncompleteNotice) as refused:
        record_sent(
            db.session, notice, channel="email", received_at=NOW, actor=mixed.actor, now=NOW
        )
    assert [m.code for m in refused.value.missing] == ["covered_post"]
    assert "No post in this letter is covered by 47 USC 223a" in str(refused.value)


def test_the_notice_screen_names_why_a_letter_cannot_be_final(
    mixed: Mixed, client: FlaskClient
) -> None:
    notice = create_notice(db.session, mixed.case, TIDA.key, [mixed.attire.id], mixed.actor)
    db.session.commit()
    sign_in(client, mixed.lawyer)
    page = html.unescape(client.get(f"/staff/notices/notices/{notice.id}").get_data(as_text=True))
    assert "Missing before this notice can be sent" in page
    assert "No post in this letter is covered by 47 USC 223a" in page
    assert "Where the content is: the post links" not in page  # the one cause, named once


def test_an_unclassified_post_is_left_out_until_classified(mixed: Mixed) -> None:
    mixed.attire.category = ContentCategory.UNKNOWN
    notice = complete_notice(mixed.case, TIDA, mixed.lawyer)
    letter = create_letter(
        db.session, case=mixed.case, route_key=TIDA.key, actor=mixed.actor, notice=notice, now=NOW
    )
    assert not letter.draft
    assert [i["id"] for i in letter.data_snapshot["items"]] == [mixed.nude.id]

    mixed.attire.category = ContentCategory.NUDE_SEXUAL
    again = create_letter(
        db.session, case=mixed.case, route_key=TIDA.key, actor=mixed.actor, notice=notice, now=NOW
    )
    assert [i["id"] for i in again.data_snapshot["items"]] == [mixed.nude.id, mixed.attire.id]


def test_a_grey_zone_post_stays_in_the_letter_and_is_flagged(
    app: Flask, client: FlaskClient
) -> None:
    route = REGISTRY.route("gb.osa.intimate_image_report")
    assert "revealing_attire" in route.may_cover
    org = factories.org(name="Safe Harbour Network")
    lawyer = factories.user(org, Role.LAWYER)
    case = realistic_case(org, route, items=2)
    attire = case.items[1]
    attire.category = ContentCategory.REVEALING_ATTIRE
    notice = complete_notice(case, route, lawyer)
    letter = create_letter(
        db.session,
        case=case,
        route_key=route.key,
        actor=Actor.staff(lawyer.id, lawyer.role.value),
        notice=notice,
        now=NOW,
    )
    db.session.commit()
    assert attire.url in pdf_text(letter.pdf)
    sign_in(client, lawyer)
    page = html.unescape(client.get(f"/staff/notices/notices/{notice.id}").get_data(as_text=True))
    row = page[page.index(f'id="coverage-{notice.id}-{attire.id}"') :][:1500]
    assert "grey zone for Online Safety Act s.10(3A)" in row
    assert "kept in the letter, the lawyer decides" in row


def test_a_notice_under_a_route_the_registry_lost_shows_no_coverage(
    mixed: Mixed, client: FlaskClient
) -> None:
    made = complete_notice(mixed.case, TIDA, mixed.lawyer)
    made.route_key = "us.gone.route"
    db.session.commit()
    sign_in(client, mixed.lawyer)
    page = client.get(f"/staff/cases/{mixed.case.id}").get_data(as_text=True)
    assert "us.gone.route" in page
    assert f'id="coverage-{made.id}-' not in page
