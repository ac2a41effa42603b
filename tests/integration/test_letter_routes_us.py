"""The US and California letters after the legal review: what each says, and to whom."""

from __future__ import annotations

from dataclasses import replace

import pytest
from flask import Flask

from casework.accounts.models import Role
from casework.actors import Actor
from casework.cases.models import MinorStatus
from casework.extensions import db
from casework.notices.letters import create_letter
from casework.notices.services import (
    NoticeDetails,
    NoticeError,
    available_routes,
    create_notice,
    missing_elements,
    update_notice,
)
from casework.registry import default_registry
from tests import factories
from tests.letter_cases import NOW, complete_notice, own_text, realistic_case

REGISTRY = default_registry()


def letter_text(route_key: str, **changes: object) -> str:
    """A final letter under the route for a realistic case, with the notice's details changed."""
    route = REGISTRY.route(route_key)
    org = factories.org(name="Safe Harbour Network")
    lawyer = factories.user(org, Role.LAWYER)
    case = realistic_case(org, route)
    notice = complete_notice(case, route, lawyer)
    actor = Actor.staff(lawyer.id, lawyer.role.value)
    if changes:
        details = NoticeDetails(
            signature_name=notice.signature_name,
            capacity=notice.signatory_capacity,
            contact=notice.contact_details,
            statements=tuple(notice.statements),
            explanation=notice.explanation,
            copyrighted_work=notice.copyrighted_work,
            depicted_person=notice.depicted_person,
            addressee_name=notice.addressee_name,
            addressee_address=notice.addressee_address,
        )
        update_notice(db.session, notice, replace(details, **changes), actor)  # type: ignore[arg-type]
    assert missing_elements(notice, case, session=db.session) == []
    letter = create_letter(
        db.session, case=case, route_key=route.key, actor=actor, notice=notice, now=NOW
    )
    db.session.commit()
    assert not letter.draft, letter.data_snapshot["missing"]
    return own_text(letter)


def test_the_take_it_down_request_states_the_depicted_persons_belief_and_names_them(
    app: Flask,
) -> None:
    text = letter_text("us.tida.removal")
    assert "The person depicted has a good faith belief that the intimate visual depictions" in text
    assert "are not consensual" in text
    assert "I state in good faith" not in text
    assert "The person depicted, on whose behalf this request is made, is Jane Doe." in text
    assert "Jane Doe signs this request." in text
    assert "I am the person shown in the content identified in this letter." in text


def test_a_representative_signs_the_take_it_down_request_on_the_persons_behalf(
    app: Flask,
) -> None:
    text = letter_text(
        "us.tida.removal",
        signature_name="Alex Advocate",
        capacity="representative",
        depicted_person="Maria Example",
    )
    assert "The person depicted, on whose behalf this request is made, is Maria Example." in text
    assert (
        "Alex Advocate signs this request as an authorized person acting on behalf of "
        "Maria Example." in text
    )
    assert "authorised representative of the person depicted" in text
    assert "The person depicted has a good faith belief" in text


def test_without_the_persons_name_the_take_it_down_request_is_a_draft(app: Flask) -> None:
    route = REGISTRY.route("us.tida.removal")
    org = factories.org()
    lawyer = factories.user(org, Role.LAWYER)
    case = realistic_case(org, route)
    notice = complete_notice(case, route, lawyer)
    notice.depicted_person = None
    missing = [m.code for m in missing_elements(notice, case, session=db.session)]
    assert missing == ["depicted_person_identified"]
    letter = create_letter(
        db.session,
        case=case,
        route_key=route.key,
        actor=Actor.staff(lawyer.id, lawyer.role.value),
        notice=notice,
        now=NOW,
    )
    assert letter.draft
    text = own_text(letter)
    assert "[The name of the person depicted is required before sending.]" in text
    assert "Jane Doe signs" not in text


def test_the_california_decision_is_due_30_days_from_the_confirmation(app: Flask) -> None:
    text = letter_text("us-ca.bpc22671.report")
    # Received 2 March 09:30: confirmation due 4 March, decision 30 days later.
    assert "by 4 March 2026" in text
    assert "within 30 days of the date you issue your confirmation of receipt" in text
    assert "by 3 April 2026" in text
    assert "up to 60 days from the date the material was first reported" in text
    assert "I am the person depicted in the material reported here" in text


def test_the_deepfake_presumption_is_never_put_to_x(app: Flask) -> None:
    text = letter_text("us-ca.civ1708_86.evidence")
    assert "To: X Corp." in text
    for words in ("presum", "deepfake pornography service", "30 days"):
        assert words not in text, words
    assert "knowingly or recklessly facilitates" in text


def test_the_demand_to_xai_goes_to_the_maker_of_the_images(app: Flask) -> None:
    text = letter_text("us-ca.civ1708_86.xai")
    assert "To: xAI" in text
    assert "Civ. Code §1708.86" in text
    assert "Grok generated, in answer to requests by users of X, without their consent" in text
    assert "stop generating sexually explicit images of the person depicted" in text
    assert "deepfake pornography service" in text and "within 30 days" in text
    assert "Check before sending" in text  # xAI's legal entity is unverified


def test_preservation_requests_go_to_x_and_to_xai(app: Flask) -> None:
    to_x = letter_text("any.preservation.request")
    assert "To: X Corp." in to_x
    to_xai = letter_text("any.preservation.xai")
    assert "To: xAI" in to_xai
    for words in ("the prompts and requests that asked Grok", "logs of these generations"):
        assert words in to_xai, words
    # The Commission's retention order is a staff note only, never a letter's claim.
    assert "Commission" not in to_xai and "Commission" not in to_x


def test_the_attorney_general_hears_about_x_and_about_xai_separately(app: Flask) -> None:
    about_x = letter_text("us-ca.ag.complaint")
    assert "To: California Attorney General" in about_x
    assert "We report X Corp., which operates the platform X" in about_x
    about_xai = letter_text("us-ca.ag.xai_complaint")
    assert "To: California Attorney General" in about_xai
    assert "We report xAI, which operates Grok" in about_xai
    assert "enforcing Civ. Code §1708.86 against xAI" in about_xai


def test_the_police_cover_letter_names_the_force_or_the_ic3(app: Flask) -> None:
    text = letter_text("us.police.report")
    assert "To: Example City Police Department" in text
    assert "This is a cover letter for a report of a crime" in text
    assert "47 USC 223(h)" in text
    assert "No law sets a time within which a report must be handled" in text
    ic3 = letter_text("us.police.report", addressee_name=None, addressee_address=None)
    assert "To: FBI Internet Crime Complaint Center (IC3)" in ic3
    assert "www.ic3.gov" in ic3


def test_the_cybertipline_cover_letter_sends_links_only(app: Flask) -> None:
    text = letter_text("us.ncmec.cybertipline")
    assert "To: National Center for Missing & Exploited Children (NCMEC), CyberTipline" in text
    assert "report.cybertip.org" in text
    assert "No image is attached" in text
    assert "No law sets a time within which a report must be handled" in text


@pytest.mark.parametrize("minor", [MinorStatus.NO, MinorStatus.YES, MinorStatus.UNSURE])
def test_the_cybertipline_route_is_never_offered_for_an_adult(
    app: Flask, minor: MinorStatus
) -> None:
    org = factories.org()
    lawyer = factories.user(org, Role.LAWYER)
    case = factories.case(org, minor=minor, country="US", region="CA")
    offered = {route.key for route in available_routes(case)}
    assert "us.police.report" in offered
    assert ("us.ncmec.cybertipline" in offered) == (minor is not MinorStatus.NO)
    if minor is MinorStatus.NO:
        with pytest.raises(NoticeError, match="only for a person who is or may be a minor"):
            create_notice(
                db.session,
                case,
                "us.ncmec.cybertipline",
                [item.id for item in case.items],
                Actor.staff(lawyer.id, lawyer.role.value),
            )
