"""The completeness check and the scope flags, without a database."""

from __future__ import annotations

from datetime import UTC, datetime

from casework.notices.completeness import (
    NoticeFacts,
    is_present,
    item_coverage,
    missing_for,
    scope_flags,
    verdict,
)
from casework.registry import default_registry

REGISTRY = default_registry()
SIGNED = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def tida_facts(**changes: object) -> NoticeFacts:
    facts = {
        "item_count": 2,
        "items_with_urls": 2,
        "signature_name": "Jane Doe",
        "signed_at": SIGNED,
        "capacity": "subject",
        "contact": "cases@safe-harbour.example",
        "statements": frozenset({"good_faith_non_consent_statement"}),
        "depicted_person": "Jane Doe",
    }
    facts.update(changes)
    return NoticeFacts(**facts)  # type: ignore[arg-type]


def codes(route_key: str, facts: NoticeFacts) -> list[str]:
    return [m.code for m in missing_for(REGISTRY.route(route_key), facts)]


def test_a_complete_take_it_down_act_notice_lacks_nothing() -> None:
    assert codes("us.tida.removal", tida_facts()) == []


def test_the_take_it_down_act_requires_its_four_elements() -> None:
    bare = NoticeFacts(item_count=0, items_with_urls=0)
    assert codes("us.tida.removal", bare) == [
        "signature",
        "statement_subject_or_representative",
        "depicted_person_identified",
        "identification_of_content",
        "location_urls",
        "good_faith_non_consent_statement",
        "contact_information",
    ]


def test_the_take_it_down_act_request_names_the_person_depicted() -> None:
    assert codes("us.tida.removal", tida_facts(depicted_person=None)) == [
        "depicted_person_identified"
    ]
    assert codes("us.tida.removal", tida_facts(depicted_person="  ")) == [
        "depicted_person_identified"
    ]
    # A representative may sign, but must say so.
    assert codes("us.tida.removal", tida_facts(capacity="representative")) == []
    assert codes("us.tida.removal", tida_facts(capacity=None)) == [
        "statement_subject_or_representative"
    ]


def test_a_typed_name_without_a_signing_date_is_not_a_signature() -> None:
    assert codes("us.tida.removal", tida_facts(signed_at=None)) == ["signature"]
    assert codes("us.tida.removal", tida_facts(signature_name="   ")) == ["signature"]


def test_an_unconfirmed_statement_is_missing() -> None:
    assert codes("us.tida.removal", tida_facts(statements=frozenset())) == [
        "good_faith_non_consent_statement"
    ]


def test_the_dsa_notice_needs_an_explanation_and_the_bona_fide_statement() -> None:
    facts = tida_facts(statements=frozenset())
    assert codes("eu.dsa.notice", facts) == ["substantiated_explanation", "bona_fide_statement"]
    complete = tida_facts(
        statements=frozenset({"bona_fide_statement"}), explanation="Sexual deepfake of her."
    )
    assert codes("eu.dsa.notice", complete) == []


def test_supporting_evidence_is_a_file_or_for_a_minor_the_links() -> None:
    assert not is_present("supporting_evidence", tida_facts())
    assert is_present("supporting_evidence", tida_facts(evidence_files=1))
    assert is_present("supporting_evidence", tida_facts(minor=True))


def test_a_complaint_needs_the_copy_of_the_earlier_report() -> None:
    assert codes("us.ftc.complaint", tida_facts()) == ["copy_of_platform_report", "earlier_step"]
    assert codes("us.ftc.complaint", tida_facts(related_sent=True, earlier_step=True)) == []


def test_only_a_route_that_requires_an_earlier_step_asks_for_one() -> None:
    # The Art.53 complaint may refer to an earlier notice, but need not.
    assert "earlier_step" not in codes("eu.dsa.dsc_complaint", tida_facts())
    for key in ("us.ftc.complaint", "fr.cnil.plainte", "in.gac.appeal"):
        assert "earlier_step" in codes(key, tida_facts()), key


def test_the_california_report_asks_for_the_reporters_residence_and_account() -> None:
    missing = codes("us-ca.bpc22671.report", tida_facts(contact="cases@example.org"))
    assert missing == [
        "reporter_is_depicted_person",
        "reporter_california_resident",
        "reporter_x_account",
    ]
    confirmed = frozenset(
        {"reporter_is_depicted_person", "reporter_california_resident", "reporter_x_account"}
    )
    assert (
        codes(
            "us-ca.bpc22671.report", tida_facts(contact="cases@example.org", statements=confirmed)
        )
        == []
    )


def test_only_the_person_depicted_can_make_the_california_report() -> None:
    confirmed = frozenset(
        {"reporter_is_depicted_person", "reporter_california_resident", "reporter_x_account"}
    )
    facts = tida_facts(contact="cases@example.org", statements=confirmed, capacity="representative")
    # Ticked or not, a representative cannot say they are the person depicted.
    assert codes("us-ca.bpc22671.report", facts) == ["reporter_is_depicted_person"]


def test_a_letter_that_cannot_be_addressed_is_incomplete() -> None:
    assert codes("eu.dsa.dsc_complaint", tida_facts(addressee_known=False)) == ["addressee"]


def test_a_notice_about_no_item_is_incomplete_whatever_the_law_lists() -> None:
    assert codes("de.strafanzeige", NoticeFacts(item_count=0, items_with_urls=0)) == [
        "location_urls",
        "signature",
    ]


def test_no_notice_is_complete_unsigned_since_every_letter_ends_with_a_signature() -> None:
    for route in REGISTRY.routes:
        assert "signature" in codes(route.key, tida_facts(signed_at=None)), route.key


def test_revealing_attire_of_an_adult_falls_outside_the_take_it_down_act() -> None:
    route = REGISTRY.route("us.tida.removal")
    flags = scope_flags(
        route, [(1, "nude_sexual"), (2, "revealing_attire"), (3, "unknown")], REGISTRY, ["US"]
    )
    assert [(f.item_id, f.verdict) for f in flags] == [(2, "outside"), (3, "unclassified")]
    assert flags[0].alternatives == route.alternatives["revealing_attire"]
    for key in flags[0].alternatives:
        alternative = REGISTRY.route(key)
        assert "revealing_attire" in (*alternative.covers, *alternative.may_cover)


def test_a_grey_zone_is_flagged_with_routes_that_do_cover_it() -> None:
    route = REGISTRY.route("gb.osa.intimate_image_report")
    (flag,) = scope_flags(route, [(7, "revealing_attire")], REGISTRY, ["GB"])
    assert flag.verdict == "grey_zone"
    assert "ie.hotline.iia_report" in flag.alternatives


def test_without_listed_alternatives_the_case_routes_that_cover_it_are_offered() -> None:
    route = REGISTRY.route("us.tida.removal")
    (flag,) = scope_flags(route, [(4, "minor")], REGISTRY, ["US", "US-CA"])
    assert flag.verdict == "outside"
    assert "us-ca.civ1708_86.evidence" in flag.alternatives
    assert "us.tida.removal" not in flag.alternatives


PLAINTE_PARTICULARS = {
    "complainant_identity": "Jane Doe, born 4 May 1994 in Lyon, 12 rue de la Paix, Lyon",
    "facts_dates_places": "Posted on X on 1 February 2026; seen in Lyon.",
    "harm_suffered": "Distress and harassment.",
}


def test_a_complaint_asks_for_identity_facts_and_harm_and_never_fills_them_in() -> None:
    assert codes("fr.plainte.procureur", tida_facts()) == [
        "complainant_identity",
        "facts_dates_places",
        "harm_suffered",
    ]
    blank = {code: "  " for code in PLAINTE_PARTICULARS}
    assert len(codes("fr.plainte.procureur", tida_facts(particulars=blank))) == 3
    assert codes("fr.plainte.procureur", tida_facts(particulars=PLAINTE_PARTICULARS)) == []


def test_a_minors_complaint_is_signed_by_the_parents_as_legal_representatives() -> None:
    facts = tida_facts(particulars=PLAINTE_PARTICULARS, minor=True)
    assert codes("fr.plainte.procureur", facts) == ["signed_by_legal_representatives"]
    for capacity in ("subject", "representative"):
        assert not is_present(
            "signed_by_legal_representatives", tida_facts(minor=True, capacity=capacity)
        )
    parents = tida_facts(
        particulars=PLAINTE_PARTICULARS, minor=True, capacity="legal_representative"
    )
    assert codes("fr.plainte.procureur", parents) == []
    # Signing as legal representative also says who signs.
    assert is_present("statement_subject_or_representative", parents)


def test_each_category_gets_one_verdict_under_a_route() -> None:
    tida = REGISTRY.route("us.tida.removal")
    osa = REGISTRY.route("gb.osa.intimate_image_report")
    assert verdict(tida, "nude_sexual") == "covered"
    assert verdict(tida, "revealing_attire") == "outside"
    assert verdict(tida, "minor") == "outside"  # the registry lists only nude_sexual
    assert verdict(osa, "revealing_attire") == "grey_zone"
    # Whatever a route covers, a post nobody has classified is not covered until it is.
    for route in REGISTRY.routes:
        assert verdict(route, "unknown") == "unclassified", route.key


def test_item_coverage_judges_every_item_and_scope_flags_keeps_the_others() -> None:
    route = REGISTRY.route("gb.osa.intimate_image_report")
    items = [(1, "nude_sexual"), (2, "revealing_attire"), (3, "unknown")]
    every = item_coverage(route, items, REGISTRY, ["GB"])
    assert [(f.item_id, f.verdict, f.in_letter) for f in every] == [
        (1, "covered", True),
        (2, "grey_zone", True),  # the law may cover it: kept, and the lawyer decides
        (3, "unclassified", False),
    ]
    assert every[0].alternatives == () and every[2].alternatives == ()
    assert scope_flags(route, items, REGISTRY, ["GB"]) == every[1:]


def test_a_letter_whose_posts_the_law_does_not_cover_names_that_alone() -> None:
    facts = tida_facts(item_count=0, items_with_urls=0, left_out=2)
    missing = missing_for(REGISTRY.route("us.tida.removal"), facts)
    assert [m.code for m in missing] == ["covered_post"]
    assert missing[0].label == "No post in this letter is covered by 47 USC 223a"
    # One covered post is enough; the ones left out do not make the notice incomplete.
    assert codes("us.tida.removal", tida_facts(item_count=1, items_with_urls=1, left_out=1)) == []


def test_a_preservation_request_about_uncovered_posts_asks_for_a_covered_one() -> None:
    facts = tida_facts(item_count=0, items_with_urls=0, left_out=1)
    assert codes("any.preservation.request", facts) == ["covered_post"]
