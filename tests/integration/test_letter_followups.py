"""Letters state only what the record shows, on every route of the registry.

A final letter holds no placeholder; it refers to an earlier notice only when one of the
routes it follows is on file, sent and due; it then annexes the exact letter version that
went out. Drafts are watermarked on every page and can never be recorded as sent.
"""

from __future__ import annotations

import hashlib
import io
import re
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from pypdf import PdfReader

from casework.accounts.models import Role, User
from casework.actors import Actor
from casework.cases.models import Case
from casework.extensions import db
from casework.notices.letters import create_letter
from casework.notices.models import Letter, Notice, NoticeState
from casework.notices.rendering import has_placeholder, render_letter_html
from casework.notices.services import IncompleteNotice, NoticeError, record_sent
from casework.orm import utcnow
from casework.registry import Route, default_registry
from tests import factories
from tests.letter_cases import (
    NOW,
    as_printed,
    complete_notice,
    own_pages,
    own_text,
    page_count,
    pdf_text,
    realistic_case,
    sent_earlier_notice,
    sign_in,
)

REGISTRY = default_registry()
ROUTES = [route.key for route in REGISTRY.routes]
FOLLOWING = [route.key for route in REGISTRY.routes if route.follows is not None]
# Routes whose first earlier step has a waiting time (a decision or a deadline to wait for).
WAITING = [
    route.key
    for route in REGISTRY.routes
    if route.follows is not None and route.follows.steps[0].after != "sent"
]
# Something no letter may print as final: a bracketed gap left for someone to fill in.
BRACKETED = re.compile(r"\[[^\]]{3,}\]")
# How the letters would state their own receipt, in each letter language.
RECEIPT_CLAIMS = ("was received on", "a été reçu le", "ist eingegangen am")
WATERMARKS = {"en": "DRAFT", "fr": "PROJET", "de": "ENTWURF"}
BANNERS = ("DRAFT: INCOMPLETE", "PROJET INCOMPLET", "ENTWURF: UNVOLLSTÄNDIG")
# Sent as a letter, then on file for every case, but followed by no route.
UNRELATED = (REGISTRY.route("any.x.policy_report"), REGISTRY.route("any.preservation.request"))


def _actor(user: User) -> Actor:
    return Actor.staff(user.id, user.role.value)


def _setup(route: Route) -> tuple[User, Case]:
    org = factories.org(name="Safe Harbour Network")
    lawyer = factories.user(org, Role.LAWYER)
    return lawyer, realistic_case(org, route)


def _letter(route: Route, case: Case, lawyer: User, notice: Notice | None, **kw: Any) -> Letter:
    letter = create_letter(
        db.session,
        case=case,
        route_key=route.key,
        actor=_actor(lawyer),
        notice=notice,
        now=kw.pop("now", NOW),
        **kw,
    )
    db.session.flush()
    return letter


def _with_earlier_step(route: Route, case: Case, lawyer: User) -> Notice | None:
    """The first route `route` follows, sent long enough ago and answered: its step is met."""
    if route.follows is None:
        return None
    earlier = REGISTRY.route(route.follows.steps[0].route)
    return sent_earlier_notice(case, earlier, lawyer, replied=True, days_ago=40)


def _watermarked_pages(pdf: bytes, language: str) -> list[bool]:
    word = WATERMARKS[language]
    pages = PdfReader(io.BytesIO(pdf)).pages
    texts = [page.extract_text() or "" for page in pages]
    cleaned = [text.upper() for text in texts]
    for banner in BANNERS:
        cleaned = [text.replace(banner, "") for text in cleaned]
    return [word in text for text in cleaned]


@pytest.mark.parametrize("route_key", ROUTES)
def test_a_final_letter_never_holds_a_placeholder(app: Flask, route_key: str) -> None:
    route = REGISTRY.route(route_key)
    lawyer, case = _setup(route)
    related = _with_earlier_step(route, case, lawyer)
    notice = complete_notice(case, route, lawyer, related=related)
    letter = _letter(route, case, lawyer, notice)

    assert not letter.draft, letter.data_snapshot["missing"]
    assert letter.data_snapshot["draft"] is False
    assert not has_placeholder(render_letter_html(letter.data_snapshot, letter.template))
    text = own_text(letter)
    assert not BRACKETED.search(text), BRACKETED.search(text)
    assert not any(_watermarked_pages(letter.pdf, route.language))
    assert letter.sha256 == hashlib.sha256(letter.pdf).hexdigest()


@pytest.mark.parametrize("route_key", ROUTES)
def test_a_letter_with_a_gap_is_a_draft_watermarked_on_every_page(
    app: Flask, route_key: str
) -> None:
    """A letter drafted from the case alone is unsigned: a draft, marked on every page."""
    route = REGISTRY.route(route_key)
    lawyer, case = _setup(route)
    _with_earlier_step(route, case, lawyer)
    letter = _letter(route, case, lawyer, None)

    html = render_letter_html(letter.data_snapshot, letter.template)
    assert letter.draft == (bool(letter.data_snapshot["missing"]) or has_placeholder(html))
    if not letter.draft:
        return  # a route with nothing to sign or confirm (a preservation request)
    marks = _watermarked_pages(letter.pdf, route.language)
    assert marks and all(marks), marks  # annexed pages included

    # A notice's letter made before it was signed stays a draft once the notice is complete.
    notice = complete_notice(case, route, lawyer)
    name, signed = notice.signature_name, notice.signed_at
    notice.signature_name, notice.signed_at = None, None
    unsigned = _letter(route, case, lawyer, notice)
    assert unsigned.draft
    notice.signature_name, notice.signed_at = name, signed
    with pytest.raises(NoticeError) as refused:
        _record(route, notice, unsigned, lawyer)
    assert refused.value.field == "letter_id"
    assert notice.state is NoticeState.DRAFT


def _record(route: Route, notice: Notice, letter: Letter | None, lawyer: User, **kw: Any) -> None:
    when = kw.pop("when", NOW)
    record_sent(
        db.session,
        notice,
        channel="email",
        received_at=when,
        actor=_actor(lawyer),
        letter=letter,
        clock_started_at=when if route.deadline.clock_starts == "regulator_notice" else None,
        now=when,
        **kw,
    )


@pytest.mark.parametrize("route_key", ROUTES)
def test_a_letter_never_refers_to_an_earlier_step_not_on_file(app: Flask, route_key: str) -> None:
    route = REGISTRY.route(route_key)
    lawyer, case = _setup(route)
    # A notice to another addressee under a route this one does not follow, whose law
    # covers the case's posts (so its letter could go out).
    category = case.items[0].category.value
    unrelated = next(r for r in UNRELATED if r.key != route.key and category in r.covers)
    other = sent_earlier_notice(case, unrelated, lawyer, replied=True)
    notice = complete_notice(case, route, lawyer)
    letter = _letter(route, case, lawyer, notice)

    assert letter.data_snapshot["related"] is None
    assert page_count(letter.pdf) == own_pages(letter)
    text = pdf_text(letter.pdf)
    assert other.sent_letter is not None
    assert other.sent_letter.sha256 not in text
    assert as_printed(route, unrelated.title_in(route.language)) not in text
    for heading in (
        "Annex: the earlier notice, as sent",
        "Annexe : la demande antérieure",
        "Anlage: die frühere Meldung",
    ):
        assert heading not in text
    required = route.follows is not None and route.follows.required
    assert ("earlier_step" in letter.data_snapshot["missing"]) == required
    assert letter.draft == required
    if required:
        with pytest.raises(IncompleteNotice) as refused:
            _record(route, notice, None, lawyer)
        assert "earlier_step" in [m.code for m in refused.value.missing]


@pytest.mark.parametrize("route_key", WAITING)
def test_a_step_whose_time_has_not_come_is_not_referred_to(app: Flask, route_key: str) -> None:
    route = REGISTRY.route(route_key)
    assert route.follows is not None
    step = route.follows.steps[0]
    lawyer, case = _setup(route)
    earlier = REGISTRY.route(step.route)
    # Sent today and unanswered: neither decided nor past its deadline.
    sent_earlier_notice(case, earlier, lawyer, replied=False, days_ago=0)
    letter = _letter(route, case, lawyer, complete_notice(case, route, lawyer))
    assert letter.data_snapshot["related"] is None
    assert letter.draft and "earlier_step" in letter.data_snapshot["missing"]


@pytest.mark.parametrize("route_key", FOLLOWING)
def test_a_letter_annexes_the_version_of_the_earlier_notice_that_was_sent(
    app: Flask, route_key: str
) -> None:
    route = REGISTRY.route(route_key)
    lawyer, case = _setup(route)
    earlier = _with_earlier_step(route, case, lawyer)
    assert earlier is not None and earlier.sent_letter is not None
    sent = earlier.sent_letter
    # The earlier letter regenerated after sending is not what went out.
    later = _letter(REGISTRY.route(earlier.route_key), case, lawyer, earlier, now=NOW)
    assert later.version == sent.version + 1

    letter = _letter(route, case, lawyer, complete_notice(case, route, lawyer, related=earlier))
    related = letter.data_snapshot["related"]
    assert related["id"] == earlier.id
    assert related["letter"] == {
        "id": sent.id,
        "reference": sent.data_snapshot["letter"]["reference"],
        "date": sent.data_snapshot["letter"]["date"],
        "sha256": sent.sha256,
    }
    own = own_pages(letter)
    assert page_count(letter.pdf) == own + page_count(sent.pdf)
    annexed = pdf_text(letter.pdf, first=own + 1)
    assert annexed == pdf_text(sent.pdf)
    assert later.data_snapshot["letter"]["reference"] not in pdf_text(letter.pdf)
    # Described as what it was: route, addressee, the day it was sent, the channel.
    text = own_text(letter)
    earlier_route = REGISTRY.route(earlier.route_key)
    assert as_printed(route, earlier_route.title_in(route.language)) in text
    assert related["addressee"] in text
    assert sent.sha256 in text
    day = "21 janvier 2026" if route.language == "fr" else "21 January 2026"
    assert day in text  # NOW - 40 days
    assert letter.sha256 == hashlib.sha256(letter.pdf).hexdigest()


@pytest.mark.parametrize("route_key", ROUTES)
def test_a_letter_made_after_sending_keeps_the_sending_day_and_no_receipt_claim(
    app: Flask, route_key: str
) -> None:
    route = REGISTRY.route(route_key)
    lawyer, case = _setup(route)
    related = _with_earlier_step(route, case, lawyer)
    notice = complete_notice(case, route, lawyer, related=related)
    sent = _letter(route, case, lawyer, notice)
    _record(route, notice, sent, lawyer)
    assert notice.state is NoticeState.SENT and notice.sent_letter_id == sent.id

    again = _letter(route, case, lawyer, notice, now=NOW + timedelta(days=3))
    assert again.data_snapshot["letter"]["date"] == NOW.date().isoformat()
    text = own_text(again)
    for claim in RECEIPT_CLAIMS:
        assert claim not in text


def test_recording_as_sent_refuses_a_version_not_dated_that_day(app: Flask) -> None:
    route = REGISTRY.route("us.tida.removal")
    lawyer, case = _setup(route)
    notice = complete_notice(case, route, lawyer)
    yesterday = _letter(route, case, lawyer, notice, now=NOW - timedelta(days=1))
    with pytest.raises(NoticeError, match="not the day it was sent") as refused:
        _record(route, notice, yesterday, lawyer)
    assert refused.value.field == "letter_id"
    assert notice.state is NoticeState.DRAFT


def test_recording_as_sent_refuses_another_notices_letter(app: Flask) -> None:
    route = REGISTRY.route("us.tida.removal")
    lawyer, case = _setup(route)
    first = complete_notice(case, route, lawyer)
    second = complete_notice(case, route, lawyer)
    letter = _letter(route, case, lawyer, first)
    with pytest.raises(NoticeError, match="not this notice"):
        _record(route, second, letter, lawyer)


def test_the_sent_form_refuses_a_draft_and_keeps_what_was_typed(
    app: Flask, client: FlaskClient
) -> None:
    route = REGISTRY.route("us.tida.removal")
    lawyer, case = _setup(route)
    notice = complete_notice(case, route, lawyer)
    notice.signature_name = None
    notice.signed_at = None
    draft = _letter(route, case, lawyer, notice, now=utcnow())
    assert draft.draft
    db.session.commit()

    sign_in(client, lawyer)
    page = client.get(f"/staff/notices/notices/{notice.id}/sent").get_data(as_text=True)
    assert f'value="{draft.id}"' in page and "draft" in page
    received = utcnow().strftime("%Y-%m-%dT%H:%M")
    response = client.post(
        f"/staff/notices/notices/{notice.id}/sent",
        data={"channel": "email", "received_at": received, "letter_id": str(draft.id)},
    )
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert "is a draft and cannot be sent" in body
    assert 'id="letter_id-error"' in body
    assert f'value="{received}"' in body
    db.session.expire_all()
    assert db.session.get(Notice, notice.id).state is NoticeState.DRAFT  # type: ignore[union-attr]


def test_drafts_carry_a_badge_on_the_letters_list_and_the_case_screen(
    app: Flask, client: FlaskClient
) -> None:
    route = REGISTRY.route("us.tida.removal")
    lawyer, case = _setup(route)
    draft = _letter(route, case, lawyer, None)
    assert draft.draft
    db.session.commit()
    sign_in(client, lawyer)
    for url in (f"/staff/notices/cases/{case.id}", f"/staff/cases/{case.id}"):
        body = client.get(url).get_data(as_text=True)
        assert '<span class="badge draft">draft</span>' in body, url


def test_the_notice_screen_says_which_earlier_notice_the_letter_refers_to(
    app: Flask, client: FlaskClient
) -> None:
    route = REGISTRY.route("us.ftc.complaint")
    lawyer, case = _setup(route)
    notice = complete_notice(case, route, lawyer)
    db.session.commit()
    sign_in(client, lawyer)
    body = client.get(f"/staff/notices/notices/{notice.id}").get_data(as_text=True)
    assert "This letter follows an earlier notice under:" in body
    assert "None is on file yet" in body
    assert "The earlier notice this letter follows" in body  # in the missing list

    earlier = _with_earlier_step(route, case, lawyer)
    assert earlier is not None and earlier.sent_at is not None
    db.session.commit()
    body = client.get(f"/staff/notices/notices/{notice.id}").get_data(as_text=True)
    assert f"the one sent {earlier.sent_at:%Y-%m-%d %H:%M} UTC" in body
    assert "The earlier notice this letter follows" not in body


def test_a_letter_with_an_annex_renders_again_byte_for_byte(app: Flask) -> None:
    from casework.notices.rendering import LetterRenderError, render_letter_pdf

    route = REGISTRY.route("us.ftc.complaint")
    lawyer, case = _setup(route)
    earlier = _with_earlier_step(route, case, lawyer)
    assert earlier is not None and earlier.sent_letter is not None
    letter = _letter(route, case, lawyer, complete_notice(case, route, lawyer))
    sent_pdf = earlier.sent_letter.pdf
    again = render_letter_pdf(letter.data_snapshot, letter.template, annex=sent_pdf)
    assert again == letter.pdf
    # Any other PDF in place of the version sent is refused, not silently annexed.
    with pytest.raises(LetterRenderError, match="not the version sent"):
        render_letter_pdf(letter.data_snapshot, letter.template, annex=sent_pdf + b"\n")
    with pytest.raises(LetterRenderError, match="not the version sent"):
        render_letter_pdf(letter.data_snapshot, letter.template)
