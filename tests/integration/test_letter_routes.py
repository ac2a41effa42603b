"""Every route's letter, generated for a realistic case and read back from the PDF."""

from __future__ import annotations

from datetime import datetime

import pytest
from babel.dates import format_date
from flask import Flask

from casework.accounts.models import Role
from casework.actors import Actor
from casework.deadlines.rules import compute_due, stage_due_dates
from casework.extensions import db
from casework.notices.letters import create_letter
from casework.notices.services import missing_elements
from casework.registry import Route, default_registry
from tests import factories
from tests.letter_cases import (
    NOW,
    PER_CASE_ADDRESSEES,
    as_printed,
    complete_notice,
    earlier_route_for,
    own_text,
    qpdf_check,
    realistic_case,
    sent_earlier_notice,
)

REGISTRY = default_registry()
ROUTE_KEYS = [route.key for route in REGISTRY.routes]
LOCALES = {"en": "en_GB", "fr": "fr_FR", "de": "de_DE"}

# A phrase from each statement, per letter language: the letter must say it in those words.
STATEMENT_PHRASES = {
    "en": {
        "good_faith_non_consent_statement": "are not consensual",
        "bona_fide_statement": "are accurate and complete",
        "intimate_image_declaration": "is intimate image content",
        "accuracy_under_penalty_of_perjury": "under penalty of perjury",
        "good_faith_unauthorised_use_statement": "is not authorised by the copyright owner",
        "statement_subject_or_representative": "I am the person shown",
    },
    "fr": {
        "good_faith_non_consent_statement": "consentement de la personne figurant sur les images",
        "bona_fide_statement": "sont exactes et complètes",
        "intimate_image_declaration": "sont des images intimes",
        "statement_subject_or_representative": "Je suis la personne figurant sur les images",
    },
    "de": {
        "statement_subject_or_representative": "Ich bin die in den bezeichneten Inhalten",
    },
}
STATEMENT_CODES = {
    "good_faith_non_consent_statement",
    "bona_fide_statement",
    "intimate_image_declaration",
    "accuracy_under_penalty_of_perjury",
    "good_faith_unauthorised_use_statement",
    "statement_subject_or_representative",
}


def _day(moment: datetime, language: str) -> str:
    return format_date(moment, format="long", locale=LOCALES[language])


def expected_dates(route: Route) -> list[str]:
    """The deadline dates the letter must print, for a letter dated NOW and not yet sent."""
    rule = route.deadline
    if rule.kind == "fixed" and rule.clock_starts != "regulator_notice":
        return [_day(compute_due(NOW, rule), route.language)]
    if rule.kind == "staged":
        return [_day(due, route.language) for due in stage_due_dates(NOW, rule).values()]
    if rule.is_none and route.follow_up_days:
        from datetime import timedelta

        return [_day(NOW + timedelta(days=route.follow_up_days), route.language)]
    return []


def generate(route: Route, *, country: str | None = None) -> tuple[str, bytes, object]:
    org = factories.org(name="Safe Harbour Network")
    lawyer = factories.user(org, Role.LAWYER)
    case = realistic_case(org, route, country=country)
    earlier = earlier_route_for(route)
    related = (
        sent_earlier_notice(case, earlier, lawyer, replied=True) if earlier is not None else None
    )
    notice = complete_notice(case, route, lawyer, related=related)
    assert missing_elements(notice, case, session=db.session) == []
    letter = create_letter(
        db.session,
        case=case,
        route_key=route.key,
        actor=Actor.staff(lawyer.id, lawyer.role.value),
        notice=notice,
        now=NOW,
    )
    db.session.commit()
    assert not letter.draft, letter.data_snapshot["missing"]
    return own_text(letter), letter.pdf, case


@pytest.mark.parametrize("route_key", ROUTE_KEYS)
def test_every_route_letter_says_what_the_law_requires(app: Flask, route_key: str) -> None:
    route = REGISTRY.route(route_key)
    text, pdf, case = generate(route)

    check = qpdf_check(pdf)
    assert check.returncode == 0, check.stdout + check.stderr
    assert as_printed(route, route.citation) in text
    addressee = PER_CASE_ADDRESSEES.get(route.key, (route.addressee.name,))[0]
    if route.addressee.select == "dsc_by_victim_country":
        addressee = "Coimisiún na Meán"  # the realistic case lives in Ireland
    assert addressee in text
    for item in case.items:  # type: ignore[attr-defined]
        assert item.url in text
    phrases = STATEMENT_PHRASES[route.language]
    for code in route.required_elements:
        if code in STATEMENT_CODES:
            assert phrases[code] in text, code
    if "signature" in route.required_elements:
        assert "/s/ Jane Doe" in text
    if "contact_information" in route.required_elements:
        assert "cases@safe-harbour.example" in text
    for date_text in expected_dates(route):
        assert date_text in text
    assert ("Check before sending" in text) == bool(route.unverified_facts())
    assert "Draft: incomplete" not in text


def test_french_letters_are_in_french_with_their_accents(app: Flask) -> None:
    text, _pdf, _case = generate(REGISTRY.route("fr.dsa.signalement"))
    for phrase in (
        "Notification de contenu illicite à X (DSA art. 16)",
        "Motifs pour lesquels ces contenus sont illicites",
        "à caractère sexuel",
        "la personne qui y figure",
        "Délai",
        "Je déclare de bonne foi",
        "Fondement juridique",
        "C. pén. 226-8-1",
        "C. pén. 226-2-1",
        "Je vous prie d’agréer",
        "page 1 sur",
    ):
        assert phrase in text, phrase
    assert "Ã" not in text  # no UTF-8 read as Latin-1 anywhere


def test_french_minor_data_letters_cite_loi_informatique_et_libertes(app: Flask) -> None:
    for key in ("fr.lil51.effacement", "fr.cnil.plainte"):
        text, _pdf, _case = generate(REGISTRY.route(key))
        assert "Loi Informatique et Libertés art.51 II" in text
        assert "mineure" in text
        assert "aucune image n’est jointe ni conservée" in text


def test_the_plainte_names_the_penal_code_offences(app: Flask) -> None:
    text, _pdf, _case = generate(REGISTRY.route("fr.plainte.procureur"))
    assert "porte plainte contre toute personne que l’enquête permettra d’identifier" in text
    assert "l’article 226-8-1 du code pénal" in text
    assert "l’article 226-2-1 du code pénal" in text
    assert "Procureur de la République" in text


@pytest.mark.parametrize(
    ("country", "coordinator"),
    [("IE", "Coimisiún na Meán"), ("FR", "Arcom"), ("DE", "Bundesnetzagentur")],
)
def test_the_art_53_complaint_goes_to_the_coordinator_of_the_victims_country(
    app: Flask, country: str, coordinator: str
) -> None:
    text, _pdf, _case = generate(REGISTRY.route("eu.dsa.dsc_complaint"), country=country)
    assert f"To: {coordinator}" in text
    assert "Digital Services Act (Reg. 2022/2065) Art.53" in text


def test_india_letter_gives_two_hours_and_says_the_24_hour_rule_is_gone(app: Flask) -> None:
    text, _pdf, _case = generate(REGISTRY.route("in.grievance.ncii"))
    assert "within 2 hours of receiving this complaint" in text
    assert "G.S.R. 120(E)" in text
    assert "The earlier 24-hour limit no longer applies" in text
    assert "2 March 2026, 11:30 UTC" in text  # NOW + 2 hours


def test_esafety_letter_counts_24_hours_from_the_removal_notice(app: Flask) -> None:
    text, _pdf, _case = generate(REGISTRY.route("au.esafety.iba_complaint"))
    assert "within 24 hours after the notice is given" in text
    assert "s.77" in text


def test_california_report_gives_each_stage_its_date(app: Flask) -> None:
    text, _pdf, _case = generate(REGISTRY.route("us-ca.bpc22671.report"))
    assert "confirm that you received this report within 48 hours of receiving it" in text
    assert "by 4 March 2026" in text
    assert "by 11 March 2026" in text  # 7 days after the confirmation is due
    # 30 days from the confirmation of receipt (due 4 March), not from the report.
    assert "date you issue your confirmation of receipt" in text
    assert "by 3 April 2026" in text
    assert "by 1 April 2026" not in text
