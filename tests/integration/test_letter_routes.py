"""Every route's letter, generated for a realistic case and read back from the PDF."""

from __future__ import annotations

from datetime import datetime

import pytest
from babel.dates import format_date
from flask import Flask

from casework.accounts.models import Role
from casework.actors import Actor
from casework.cases.models import ContentCategory, MinorStatus
from casework.deadlines.rules import compute_due, stage_due_dates
from casework.extensions import db
from casework.notices.letters import create_letter
from casework.notices.services import missing_elements
from casework.registry import Route, default_registry
from tests import factories
from tests.letter_cases import (
    NOW,
    PARTICULARS,
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
        "Je vous prie d’agréer",
        "page 1 sur",
    ):
        assert phrase in text, phrase
    assert "Ã" not in text  # no UTF-8 read as Latin-1 anywhere


# C. pén. 226-8-1, first paragraph, as in force since 23 May 2024 (loi n° 2024-449).
ART_226_8_1 = (
    "Est puni de deux ans d'emprisonnement et de 60 000 euros d'amende le fait de porter à la "
    "connaissance du public ou d'un tiers, par quelque voie que ce soit, un montage à caractère "
    "sexuel réalisé avec les paroles ou l'image d'une personne, sans son consentement. Est "
    "assimilé à l'infraction mentionnée au présent alinéa et puni des mêmes peines le fait de "
    "porter à la connaissance du public ou d'un tiers, par quelque voie que ce soit, un contenu "
    "visuel ou sonore à caractère sexuel généré par un traitement algorithmique et reproduisant "
    "l'image ou les paroles d'une personne, sans son consentement."
)
# DSA Art. 16(2)(a)-(c) in the French text of Regulation (EU) 2022/2065.
DSA_16_2 = (
    "une explication suffisamment étayée des raisons pour lesquelles le particulier ou l'entité "
    "allègue que les informations en question sont du contenu illicite",
    "une indication claire de l'emplacement électronique exact de ces informations, comme l'URL "
    "ou les URL exact(s)",
    "le nom et l'adresse de courrier électronique du particulier ou de l'entité soumettant la "
    "notification",
)


def test_the_french_dsa_notice_quotes_the_law_and_goes_by_electronic_means(app: Flask) -> None:
    route = REGISTRY.route("fr.dsa.signalement")
    text, _pdf, _case = generate(route)
    assert as_printed(route, f"« {ART_226_8_1} »") in text
    for point in DSA_16_2:
        assert as_printed(route, f"« {point}") in text, point
    assert as_printed(route, "soumise par voie électronique") in text
    assert "X Internet Unlimited Company" in text
    assert "Twitter International" not in text
    assert "Cumberland" not in text and "Dublin" not in text  # no postal address
    # No heavier penalty is stated: its wording was not found in a text that could be checked.
    assert "75 000" not in text


@pytest.mark.parametrize(
    "route_key", ["fr.dsa.signalement", "fr.pharos.signalement", "fr.plainte.procureur"]
)
def test_french_letters_about_generated_images_never_cite_226_2_1(
    app: Flask, route_key: str
) -> None:
    text, _pdf, case = generate(REGISTRY.route(route_key))
    assert {item.kind.value for item in case.items} == {"ai_image"}  # type: ignore[attr-defined]
    assert "226-2-1" not in text
    assert "226-8-1" in text


def test_french_minor_data_letters_cite_loi_informatique_et_libertes(app: Flask) -> None:
    for key in ("fr.lil51.effacement", "fr.cnil.plainte"):
        text, _pdf, _case = generate(REGISTRY.route(key))
        assert "Loi Informatique et Libertés art.51 II" in text
        assert "mineure" in text
        assert "aucune image n’est jointe ni conservée" in text


def test_the_plainte_names_the_penal_code_offences(app: Flask) -> None:
    route = REGISTRY.route("fr.plainte.procureur")
    text, _pdf, _case = generate(route)
    assert "porte plainte contre toute personne que l’enquête permettra d’identifier" in text
    assert "l’article 226-8-1 du code pénal" in text
    assert "226-2-1" not in text
    assert "Procureur de la République" in text
    # What the complaint states is what the caseworker wrote in, under its heading.
    for heading, code in (
        ("Identité du plaignant", "complainant_identity"),
        ("Les faits", "facts_dates_places"),
        ("Préjudice", "harm_suffered"),
    ):
        assert heading in text
        assert as_printed(route, PARTICULARS[code]) in text


def _plainte_for_a_minor(capacity: str) -> tuple[str, list[str]]:
    route = REGISTRY.route("fr.plainte.procureur")
    org = factories.org(name="Safe Harbour Network")
    lawyer = factories.user(org, Role.LAWYER)
    case = realistic_case(org, route, minor=True)
    notice = complete_notice(case, route, lawyer, capacity=capacity)
    missing = [m.code for m in missing_elements(notice, case, session=db.session)]
    letter = create_letter(
        db.session,
        case=case,
        route_key=route.key,
        actor=Actor.staff(lawyer.id, lawyer.role.value),
        notice=notice,
        now=NOW,
    )
    db.session.commit()
    return own_text(letter), missing


def test_the_plainte_for_a_minor_asks_for_the_parents_signature(app: Flask) -> None:
    text, missing = _plainte_for_a_minor("subject")
    assert missing == ["signed_by_legal_representatives"]
    assert "Projet incomplet" in text
    assert "signée par ses parents, en qualité de représentants légaux" in text
    assert "signature des parents, représentants légaux" in text

    text, missing = _plainte_for_a_minor("legal_representative")
    assert missing == []
    assert "agissant en qualité de représentant(e) légal(e) de la personne mineure" in text
    assert "l’article 227-23 du code pénal" in text


def test_the_plainte_asks_for_what_it_lacks_and_invents_nothing(app: Flask) -> None:
    route = REGISTRY.route("fr.plainte.procureur")
    org = factories.org(name="Safe Harbour Network")
    lawyer = factories.user(org, Role.LAWYER)
    case = realistic_case(org, route)
    notice = complete_notice(case, route, lawyer)
    notice.particulars = {}
    db.session.flush()
    missing = [m.code for m in missing_elements(notice, case, session=db.session)]
    assert missing == ["complainant_identity", "facts_dates_places", "harm_suffered"]
    letter = create_letter(
        db.session,
        case=case,
        route_key=route.key,
        actor=Actor.staff(lawyer.id, lawyer.role.value),
        notice=notice,
        now=NOW,
    )
    db.session.commit()
    assert letter.draft
    text = own_text(letter)
    assert "[État civil et coordonnées complètes du plaignant" in text
    assert "[Dates et lieux des faits.]" in text
    assert "[Description du préjudice subi.]" in text


def test_the_cnil_complaint_says_the_cnil_works_with_the_lead_authority(app: Flask) -> None:
    route = REGISTRY.route("fr.cnil.plainte")
    text, _pdf, _case = generate(route)
    assert "article 77 du règlement (UE) 2016/679" in text
    assert "l’autorité de contrôle chef de file pour ses traitements est la Data Protection" in text
    assert "en coopération avec elle" in text
    assert "X Internet Unlimited Company" in text  # the erasure request went to X in Ireland


@pytest.mark.parametrize(
    ("country", "addressed"),
    [
        ("IE", "To: Coimisiún na Meán"),
        ("FR", "À l’attention de : Arcom"),
        ("DE", "An: Bundesnetzagentur"),
    ],
)
def test_the_art_53_complaint_goes_to_the_coordinator_of_the_victims_country(
    app: Flask, country: str, addressed: str
) -> None:
    text, _pdf, _case = generate(REGISTRY.route("eu.dsa.dsc_complaint"), country=country)
    assert addressed in text
    assert "Digital Services Act (Reg. 2022/2065) Art.53" in text


def test_the_art_53_complaint_to_arcom_is_in_french(app: Flask) -> None:
    text, _pdf, _case = generate(REGISTRY.route("eu.dsa.dsc_complaint"), country="FR")
    for phrase in (
        "Plainte auprès du coordinateur pour les services numériques (DSA art. 53)",
        "en votre qualité de coordinateur pour les services numériques",
        "en application de l’article 53 du règlement (UE) 2022/2065",
        "à l’encontre de X, fournisseur de services intermédiaires",
        "Pays dans lequel se trouve la personne figurant sur les images : France",
        "l’Irlande, pour X",
        # The earlier notice, described from the record, with its French title.
        "« Notification de contenu illicite (DSA art. 16) »",
        "le courrier tel qu’envoyé figure en annexe",
        "Je vous prie d’agréer",
        "Fondement juridique",
    ):
        assert phrase in text, phrase
    assert "Dear Sir or Madam" not in text
    assert "qu’envoyé" in text and "qu'envoyé" not in text  # French typography applied


def test_the_art_53_complaint_to_the_bundesnetzagentur_is_in_german(app: Flask) -> None:
    text, _pdf, _case = generate(REGISTRY.route("eu.dsa.dsc_complaint"), country="DE")
    for phrase in (
        "Beschwerde beim Koordinator für digitale Dienste (DSA Art. 53)",
        "Sehr geehrte Damen und Herren",
        "nach Artikel 53 der Verordnung (EU) 2022/2065",
        "Beschwerde gegen X als Anbieter von Vermittlungsdiensten",
        "Staat, in dem sich die abgebildete Person befindet: Deutschland",
        "Koordinator für digitale Dienste am Niederlassungsort",
        "„Meldung rechtswidriger Inhalte (DSA Art. 16)“",
        "Mit freundlichen Grüßen",
        "Rechtsgrundlage",
    ):
        assert phrase in text, phrase
    assert "Dear Sir or Madam" not in text


@pytest.mark.parametrize("key", ["eu.gdpr.access_x", "eu.gdpr.access_generator"])
def test_the_access_request_asks_for_prompts_logs_recipients_and_source(
    app: Flask, key: str
) -> None:
    route = REGISTRY.route(key)
    text, _pdf, _case = generate(route)
    for phrase in (
        "request for access under Article 15",
        "provide a copy of it (Article 15(1) and (3))",
        "prompts",
        "logs",
        "recipients or categories of recipients",
        "(Article 15(1)(c))",
        "any available information as to their source (Article 15(1)(g))",
        "I am the person shown in the content identified in this letter.",
        "The period can be extended by 2 months",
    ):
        assert phrase in text, phrase
    if key == "eu.gdpr.access_x":
        assert "X Internet Unlimited Company" in text
        assert "One Cumberland Place" in text
    else:
        assert "Example Imaging AI Ltd." in text
        assert "the images you generated in response" in text


def test_the_dpc_complaint_describes_the_request_it_follows(app: Flask) -> None:
    text, _pdf, _case = generate(REGISTRY.route("eu.gdpr.dpc_complaint"))
    for phrase in (
        "To: Data Protection Commission",
        "GDPR Art.77",
        "complaint under Article 77",
        "by X Internet Unlimited Company",
        '"Access request to X (GDPR Art.15)" to X Internet Unlimited Company',
        "inform me of the progress and the outcome of the complaint (Article 77(2))",
        "I am the person shown",
    ):
        assert phrase in text, phrase


def test_the_commission_complaint_and_the_art_21_dispute(app: Flask) -> None:
    text, _pdf, _case = generate(REGISTRY.route("eu.dsa.commission_complaint"))
    assert "To: European Commission" in text
    assert "supervises X as a very large online platform" in text
    assert "Articles 34 and 35" in text
    assert "Check before sending" in text
    text, _pdf, _case = generate(REGISTRY.route("eu.dsa.ods_art21"))
    for phrase in (
        "To: Example Dispute Settlement Body",
        "Under Article 21 of the Digital Services Act",
        "certified out-of-court dispute settlement body",
        '"Notice of illegal content (DSA Art.16)" to X Internet Unlimited Company',
        "no later than 90 calendar days after the receipt of the complaint",
        "your decision is not binding",
        "by up to 90 days",
    ):
        assert phrase in text, phrase


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


def test_the_uk_police_summary_cites_the_offences_of_creating_and_requesting_the_image(
    app: Flask,
) -> None:
    text, _pdf, _case = generate(REGISTRY.route("gb.police.report"))
    assert "SOA 2003 s.66B, s.66E, s.66F" in text
    assert "Under SOA 2003 s.66E it is an offence to create" in text
    assert "Under s.66F it is an offence to request the creation of such an image" in text
    # The realistic case records its items as AI-generated images: the letter says so.
    assert "Items 1, 2, 3 are recorded as images generated by artificial intelligence" in text
    # s.10(3A) and the commencement of ss.66E/66F rest on secondary sources.
    assert "Check before sending" in text


def _german_complaint(*, minor: bool) -> str:
    route = REGISTRY.route("de.strafanzeige")
    org = factories.org(name="Safe Harbour Network")
    lawyer = factories.user(org, Role.LAWYER)
    case = realistic_case(org, route, with_files=not minor)
    if minor:
        case.minor = MinorStatus.YES
        for item in case.items:
            item.category = ContentCategory.MINOR
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
    assert not letter.draft, letter.data_snapshot["missing"]
    return own_text(letter)


def test_the_german_criminal_complaint_is_german_and_cites_insult_and_the_kug(
    app: Flask,
) -> None:
    text = _german_complaint(minor=False)
    for phrase in (
        "An: Staatsanwaltschaft Berlin",
        "Datum: 2. März 2026",
        "Strafanzeige und Strafantrag",
        "Rechtsgrundlage: §185 StGB; §33 i. V. m. §22 KUG",
        "hiermit erstatte ich Strafanzeige gegen Unbekannt",
        "Beleidigung (§ 185 StGB)",
        "(§ 33 i. V. m. § 22 KUG)",
        "Zugleich stelle ich Strafantrag",
        "als die abgebildete und verletzte Person",
        "Die Inhalte",
        "Mit freundlichen Grüßen",
        "Seite 1 von",
    ):
        assert phrase in text, phrase
    # §§184 and 187 StGB do not fit AI-made images, nor §201a (real recordings only).
    for wrong in ("184,", "§ 184 ", "§184 ", "187", "201a"):
        assert wrong not in text, wrong
    # Nothing left in English from the shared blocks.
    for english in ("Dear", "Legal basis", "The content", "Deadline", "Our reference", "To:"):
        assert english not in text, english
    # The minors' offences are named only for a minor.
    assert "184b" not in text


def test_the_german_complaint_shows_the_victims_three_months_for_the_strafantrag(
    app: Flask,
) -> None:
    route = REGISTRY.route("de.strafanzeige")
    window = route.filing_window
    assert window is not None
    assert (window.amount, window.unit, window.clock_starts) == (
        3,
        "months",
        "knowledge_of_act_and_offender",
    )
    # A filing window of the victim, not a deadline set for the addressee.
    assert route.deadline.is_none
    text = _german_complaint(minor=False)
    assert "Antragsfrist Die Frist beträgt 3 Monate." in text
    assert "mit Ablauf des Tages, an dem die berechtigte Person von der Tat und der Person" in text
    assert "(§ 77b Abs. 2 Satz 1 StGB)" in text
    # The day the person learned of the offender is not on record: no end date is printed.
    assert "Sie endet am" not in text


def test_the_german_complaint_about_a_minor_names_the_child_protection_offences(
    app: Flask,
) -> None:
    text = _german_complaint(minor=True)
    assert "Kinder- und Jugendschutz: §§184b, 184c StGB" in text
    # (pdftotext may join a word hyphenated at the end of a line: "kinder- und")
    assert "jugendpornographischer Inhalte (§§ 184b, 184c StGB)" in text


def test_the_esafety_complaint_sets_no_report_to_x_as_a_precondition(app: Flask) -> None:
    route = REGISTRY.route("au.esafety.iba_complaint")
    assert route.follows is None
    assert not any("48 hours" in warning for warning in route.warnings)
    text, _pdf, _case = generate(route)
    for precondition in ("48 hours", "report to X", "reported to X", "platform first"):
        assert precondition not in text, precondition


def test_the_indian_grievance_letter_gives_the_grievance_officers_contact(app: Flask) -> None:
    text, _pdf, _case = generate(REGISTRY.route("in.grievance.ncii"))
    assert "To: Grievance Officer, X" in text
    assert "Email: grievance-officer-in@twitter.com" in text
    assert "121 Dickenson Road" in text
    assert "Bengaluru 560042" in text
    # The contact rests on secondary sources: the letter asks for a check before sending.
    assert "Check before sending" in text
    assert "addressee.email" in text and "addressee.postal" in text
