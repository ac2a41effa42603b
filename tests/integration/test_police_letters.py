"""Police reports and complaints to the Malaysian and Indonesian regulators, from the PDF."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask

from casework.accounts.models import Organisation, Role, User
from casework.actors import Actor
from casework.cases.models import Case
from casework.extensions import db
from casework.notices.letters import create_letter
from casework.notices.models import Letter, Notice
from casework.notices.services import NoticeDetails, create_notice, update_notice
from casework.registry import Route, default_registry
from tests import factories
from tests.letter_cases import NOW, complete_notice, own_text, realistic_case

REGISTRY = default_registry()


def _people() -> tuple[Organisation, User]:
    org = factories.org(name="Safe Harbour Network")
    return org, factories.user(org, Role.LAWYER)


def _letter(case: Case, route: Route, notice: Notice, staff: User) -> Letter:
    letter = create_letter(
        db.session,
        case=case,
        route_key=route.key,
        actor=Actor.staff(staff.id, staff.role.value),
        notice=notice,
        now=NOW,
    )
    db.session.commit()
    return letter


def letter_text(key: str) -> tuple[str, Letter, Case]:
    """The letter of a complete notice under `key` for a realistic case, as its PDF reads."""
    route = REGISTRY.route(key)
    org, lawyer = _people()
    case = realistic_case(org, route)
    letter = _letter(case, route, complete_notice(case, route, lawyer), lawyer)
    assert not letter.draft, letter.data_snapshot["missing"]
    return own_text(letter), letter, case


def test_garda_report_names_the_station_and_both_coco_offences(app: Flask) -> None:
    text, _letter, case = letter_text("ie.garda.report")
    assert "To: Pearse Street Garda Station Pearse Street Dublin 2" in text
    assert (
        "Legal basis: Harassment, Harmful Communications and Related Offences Act 2020 s.2; s.3"
        in text
    )
    assert (
        "section 2 makes it an offence to distribute or publish an intimate image without "
        "consent with intent to cause harm or being reckless as to whether harm is caused"
    ) in text
    assert (
        "section 3 makes it an offence to record, distribute or publish an intimate image" in text
    )
    assert "purporting to be of a person even if it is not actually of them" in text
    assert "We ask An Garda Síochána to investigate these offences" in text
    assert "@grok_edits_4u" in text
    for item in case.items:
        assert item.url in text
    # Every fact this letter rests on was read in the official text.
    assert "Check before sending" not in text


def test_a_police_report_with_no_station_named_goes_to_the_registry_addressee(
    app: Flask,
) -> None:
    route = REGISTRY.route("ie.garda.report")
    org, lawyer = _people()
    case = realistic_case(org, route)
    actor = Actor.staff(lawyer.id, lawyer.role.value)
    notice = create_notice(db.session, case, route.key, [item.id for item in case.items], actor)
    update_notice(
        db.session,
        notice,
        NoticeDetails(signature_name="Jane Doe", capacity="subject", contact="cases@example.org"),
        actor,
        now=NOW - timedelta(hours=1),
    )
    text = own_text(_letter(case, route, notice, lawyer))
    assert "To: An Garda Síochána" in text
    assert "Pearse Street" not in text


def test_fir_complaint_asks_the_station_to_register_an_fir(app: Flask) -> None:
    text, letter, _case = letter_text("in.police.fir")
    assert "To: Station House Officer, Cyber Crime Police Station Bengaluru" in text
    assert "Legal basis: IT Act 2000 s.67, s.67A; BNSS 2023 s.173" in text
    assert "First Information Report (FIR) registered under section 173" in text
    assert "replaced section 154 of the Code of Criminal Procedure 1973" in text
    assert "section 67A" in text
    assert "offences punishable with imprisonment of three years and above are cognizable" in text
    assert "irrespective of the area where the offence was committed" in text
    assert "given to the informant free of cost" in text
    assert "/s/ Jane Doe" in text
    # Distinct from the NCRP summary: a complaint to a station, not the portal.
    assert "cybercrime.gov.in" not in text
    # The statutes were read only in secondary reproductions.
    assert "Check before sending" in text
    assert "citation" in letter.data_snapshot["route"]["unverified_facts"]


def test_an_unsigned_fir_complaint_is_a_draft(app: Flask) -> None:
    route = REGISTRY.route("in.police.fir")
    org, lawyer = _people()
    case = realistic_case(org, route)
    actor = Actor.staff(lawyer.id, lawyer.role.value)
    notice = create_notice(db.session, case, route.key, [item.id for item in case.items], actor)
    letter = _letter(case, route, notice, lawyer)
    assert letter.draft
    assert "signature" in letter.data_snapshot["missing"]


def test_australian_police_report_cites_the_deepfake_offence(app: Flask) -> None:
    text, _letter, _case = letter_text("au.police.report")
    assert "To: NSW Police Force" in text
    assert "Legal basis: Criminal Code Act 1995 (Cth) s.474.17A" in text
    assert "use a carriage service to transmit material of another person" in text
    assert "created, or altered in any way, using technology" in text
    assert "We ask the police to investigate this offence" in text
    assert "Check before sending" not in text


def test_mcmc_complaint_names_the_commission_section_233_and_our_follow_up(app: Flask) -> None:
    text, _letter, _case = letter_text("my.mcmc.complaint")
    assert "To: Malaysian Communications and Multimedia Commission (MCMC)" in text
    assert "Online form: aduan.skmm.gov.my" in text
    assert "Legal basis: Communications and Multimedia Act 1998 (Act 588) s.233" in text
    assert "section 233 of the Communications and Multimedia Act 1998" in text
    assert "required X Corp. and xAI LLC to put in place safeguards" in text
    # Our own follow-up, 15 days after the letter's date, never presented as the law's.
    assert "we will follow up on 17 March 2026" in text
    assert "Check before sending" in text


def test_komdigi_complaint_cites_the_decency_article_and_says_it_is_in_english(
    app: Flask,
) -> None:
    text, _letter, _case = letter_text("id.komdigi.aduan")
    assert "To: Kementerian Komunikasi dan Digital (Komdigi)" in text
    assert "Online form: aduankonten.id" in text
    assert (
        "Legal basis: UU ITE (Law No. 11 of 2008 as amended by Law No. 1 of 2024) Art. 27(1)"
    ) in text
    assert "violates decency (melanggar kesusilaan)" in text
    assert "temporarily cut access to Grok" in text
    assert "This complaint is written in English." in text
    assert "Check before sending" in text
