"""The jurisdiction registry: the shipped data, its cross-references, and refusal of bad data."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from casework.deadlines.rules import compute_due
from casework.registry import (
    REQUIRED_ELEMENTS,
    Addressee,
    Jurisdiction,
    Registry,
    RegistryError,
    Route,
    SupportService,
    default_registry,
    load_registry,
)

REGISTRY_DIR = Path(__file__).resolve().parents[2] / "letters" / "registry"
CORPUS_DATE = date(2026, 6, 30)
IRISH_X = "X Internet Unlimited Company"


@pytest.fixture(scope="module")
def registry() -> Registry:
    return load_registry(REGISTRY_DIR)


def test_shipped_registry_loads_with_a_short_version(registry: Registry) -> None:
    assert re.fullmatch(r"[0-9a-f]{12}", registry.version)
    assert default_registry().version == registry.version
    assert {j.code for j in registry.jurisdictions} >= {
        "us",
        "us-ca",
        "gb",
        "eu",
        "fr",
        "au",
        "in",
        "any",
        "ie",
        "de",
        "ca",
    }


# key, exact citation, deadline as (kind, amount, unit, clock_starts) or just the kind
EXPECTED_ROUTES: list[tuple[str, str, tuple[str, int, str, str] | str]] = [
    ("us.tida.removal", "47 USC 223a", ("fixed", 48, "hours", "platform_receipt")),
    ("us.ftc.complaint", "47 USC 223a", "none"),
    ("us.dmca.notice", "DMCA §512(c)(3)", "none"),
    ("us.police.report", "47 USC 223(h)", "none"),
    ("us.ncmec.cybertipline", "NCMEC CyberTipline (a reporting service, not a statute)", "none"),
    ("us-ca.bpc22671.report", "Bus. & Prof. Code §§22670–22671", "staged"),
    ("us-ca.civ1708_86.evidence", "Civ. Code §1708.86", "none"),
    ("us-ca.civ1708_86.xai", "Civ. Code §1708.86", "none"),
    ("us-ca.ag.complaint", "Civ. Code §1708.86; Bus. & Prof. Code §§22670–22671", "none"),
    ("us-ca.ag.xai_complaint", "Civ. Code §1708.86", "none"),
    (
        "gb.osa.intimate_image_report",
        "Online Safety Act s.10(3A), inserted by the Crime and Policing Act 2026",
        ("fixed", 48, "hours", "platform_receipt"),
    ),
    ("gb.ofcom.complaint", "Online Safety Act s.10, s.20, s.21", "none"),
    ("gb.police.report", "SOA 2003 s.66B, s.66E, s.66F", "none"),
    ("eu.dsa.notice", "Digital Services Act (Reg. 2022/2065) Art.16", "none"),
    ("eu.dsa.internal_complaint", "Digital Services Act (Reg. 2022/2065) Art.20", "none"),
    ("eu.dsa.dsc_complaint", "Digital Services Act (Reg. 2022/2065) Art.53", "none"),
    ("eu.gdpr.erasure_x", "GDPR Art.17; Art.12(3)", ("fixed", 1, "months", "request")),
    ("eu.gdpr.erasure_generator", "GDPR Art.17; Art.12(3)", ("fixed", 1, "months", "request")),
    ("eu.gdpr.access_x", "GDPR Art.15; Art.12(3)", ("fixed", 1, "months", "request")),
    ("eu.gdpr.access_generator", "GDPR Art.15; Art.12(3)", ("fixed", 1, "months", "request")),
    ("eu.gdpr.dpc_complaint", "GDPR Art.77", "none"),
    ("eu.dsa.commission_complaint", "Digital Services Act (Reg. 2022/2065) Arts 34, 35", "none"),
    (
        "eu.dsa.ods_art21",
        "Digital Services Act (Reg. 2022/2065) Art.21",
        ("fixed", 90, "days", "platform_receipt"),
    ),
    ("fr.dsa.signalement", "Digital Services Act (Reg. 2022/2065) Art.16; C. pén. 226-8-1", "none"),
    ("fr.pharos.signalement", "C. pén. 226-8-1", "none"),
    ("fr.plainte.procureur", "C. pén. 226-8-1", "none"),
    (
        "fr.lil51.effacement",
        "Loi Informatique et Libertés art.51 II",
        ("fixed", 1, "months", "request"),
    ),
    (
        "fr.cnil.plainte",
        "Loi Informatique et Libertés art.51 II; RGPD art. 77",
        ("fixed", 21, "days", "request"),
    ),
    (
        "au.esafety.iba_complaint",
        "Online Safety Act 2021 (Cth) s.32; s.77",
        ("fixed", 24, "hours", "regulator_notice"),
    ),
    ("in.grievance.ncii", "IT Rules 2021 r.3(2)(b)", ("fixed", 2, "hours", "platform_receipt")),
    ("in.gac.appeal", "IT Rules 2021 r.3A", ("fixed", 30, "days", "request")),
    ("in.ncrp.report", "MeitY NCII SOP (November 2025)", "none"),
    (
        "ie.hotline.iia_report",
        'Harassment, Harmful Communications and Related Offences Act 2020 ("Coco\'s Law")',
        "none",
    ),
    ("de.strafanzeige", "§185 StGB; §33 i. V. m. §22 KUG", "none"),
    (
        "any.preservation.request",
        "No statutory basis: request to preserve evidence in anticipation of litigation",
        "none",
    ),
    (
        "any.preservation.xai",
        "No statutory basis: request to preserve evidence in anticipation of litigation",
        "none",
    ),
    ("any.x.policy_report", "X NCN policy (a platform rule, not law)", "none"),
    (
        "ie.garda.report",
        "Harassment, Harmful Communications and Related Offences Act 2020 s.2; s.3",
        "none",
    ),
    ("in.police.fir", "IT Act 2000 s.67, s.67A; BNSS 2023 s.173", "none"),
    ("au.police.report", "Criminal Code Act 1995 (Cth) s.474.17A", "none"),
    ("my.mcmc.complaint", "Communications and Multimedia Act 1998 (Act 588) s.233", "none"),
    (
        "id.komdigi.aduan",
        "UU ITE (Law No. 11 of 2008 as amended by Law No. 1 of 2024) Art. 27(1)",
        "none",
    ),
]


@pytest.mark.parametrize(("key", "citation", "deadline"), EXPECTED_ROUTES)
def test_route_has_its_citation_and_deadline(
    registry: Registry, key: str, citation: str, deadline: tuple[str, int, str, str] | str
) -> None:
    route = registry.route(key)
    assert route.citation == citation
    if isinstance(deadline, str):
        assert route.deadline.kind == deadline
    else:
        kind, amount, unit, clock = deadline
        rule = route.deadline
        assert (rule.kind, rule.amount, rule.unit, rule.clock_starts) == (kind, amount, unit, clock)


def test_every_route_is_expected_and_keys_are_unique(registry: Registry) -> None:
    keys = [r.key for r in registry.routes]
    assert len(keys) == len(set(keys))
    assert set(keys) == {key for key, _, _ in EXPECTED_ROUTES}


def test_every_fact_carries_last_checked_and_sources(registry: Registry) -> None:
    # The research corpus date, or a later day on which the sources were read again.
    for j in registry.jurisdictions:
        assert j.last_checked >= CORPUS_DATE and j.sources, j.code
        for route in j.routes:
            # A route re-checked since the research corpus carries the day of that check.
            assert route.last_checked >= CORPUS_DATE and route.sources, route.key
            assert route.templates and all(t.endswith(".html") for t in route.templates)
            assert set(route.required_elements) <= set(REQUIRED_ELEMENTS)
        for service in (*j.minor_routes, *j.support):
            assert service.last_checked == CORPUS_DATE and service.sources, service.name


def test_routes_without_a_deadline_say_so_and_follow_ups_are_only_ours(registry: Registry) -> None:
    for route in registry.routes:
        if route.follow_up_days is not None:
            assert route.deadline.is_none, route.key
        if route.deadline.is_none:
            assert route.reminders == (), route.key


def test_tida_notice_contents_escalation_and_alternatives(registry: Registry) -> None:
    tida = registry.route("us.tida.removal")
    assert tida.required_elements == (
        "signature",
        "statement_subject_or_representative",
        "depicted_person_identified",
        "identification_of_content",
        "location_urls",
        "good_faith_non_consent_statement",
        "contact_information",
    )
    assert tida.addressee.name == "X Corp."
    form = tida.addressee.channel("electronic")
    assert form is not None
    assert form.value == "help.x.com/forms/safety-and-sensitive-content/take-it-down"
    assert tida.escalation is not None and tida.escalation.route == "us.ftc.complaint"
    assert "revealing_attire" not in tida.covers
    suggested = tida.alternatives["revealing_attire"]
    assert "any.x.policy_report" in suggested and "in.grievance.ncii" in suggested
    for key in suggested:
        alternative = registry.route(key)
        assert "revealing_attire" in (*alternative.covers, *alternative.may_cover)


def test_dmca_warns_that_x_forwards_the_senders_identity(registry: Registry) -> None:
    dmca = registry.route("us.dmca.notice")
    assert any("forwards" in w and "name" in w for w in dmca.warnings)
    assert "accuracy_under_penalty_of_perjury" in dmca.required_elements
    assert "copyrighted_work_identified" in dmca.required_elements


def test_california_report_is_a_three_stage_deadline(registry: Registry) -> None:
    rule = registry.route("us-ca.bpc22671.report").deadline
    stages = {s.name: s for s in rule.stages}
    assert list(stages) == ["acknowledge", "status_update", "decision"]
    assert (stages["acknowledge"].amount, stages["acknowledge"].unit) == (48, "hours")
    assert (stages["status_update"].amount, stages["status_update"].unit) == (7, "days")
    assert stages["status_update"].after == "acknowledge"
    assert (stages["decision"].amount, stages["decision"].unit) == (30, "days")
    extension = stages["decision"].extension
    assert extension is not None and (extension.amount, extension.unit) == (30, "days")


def test_gdpr_requests_go_to_x_and_to_xai_with_extension(registry: Registry) -> None:
    for kind in ("erasure", "access"):
        for key in (f"eu.gdpr.{kind}_x", f"eu.gdpr.{kind}_generator"):
            rule = registry.route(key).deadline
            extension = rule.extension
            assert extension is not None and (extension.amount, extension.unit) == (2, "months")
            assert rule.counting is None or rule.counting.rule == "eu_1182_71"
        assert registry.route(f"eu.gdpr.{kind}_x").addressee.name == IRISH_X
        generator = registry.route(f"eu.gdpr.{kind}_generator").addressee
        # xAI's privacy policy was not found: the caseworker names the entity per case.
        assert generator.select == "per_case" and generator.name.startswith("xAI")
        assert generator.verified is False
    access = registry.route("eu.gdpr.access_x")
    assert access.kind == "data_access"
    assert access.required_elements == ("statement_subject_or_representative",)
    assert access.deadline.counting is not None


def test_a_missed_gdpr_request_escalates_to_xs_lead_authority(registry: Registry) -> None:
    complaint = registry.route("eu.gdpr.dpc_complaint")
    assert complaint.addressee.name == "Data Protection Commission"
    assert complaint.addressee.country == "IE"
    assert complaint.kind == "regulator_complaint"
    assert complaint.follows is not None and complaint.follows.required
    for key in ("eu.gdpr.access_x", "eu.gdpr.erasure_x"):
        escalation = registry.route(key).escalation
        assert escalation is not None and escalation.route == "eu.gdpr.dpc_complaint"
        step = complaint.follows.step(key)
        assert step is not None and step.after == "decision_or_deadline"


def test_the_dsa_escalations_beyond_the_coordinator(registry: Registry) -> None:
    commission = registry.route("eu.dsa.commission_complaint")
    assert commission.addressee.name == "European Commission"
    # Only secondary sources say the Commission opened proceedings on Grok: unverified.
    assert {"route", "addressee.name"} <= set(commission.unverified_facts())
    assert commission.follows is not None and not commission.follows.required
    ods = registry.route("eu.dsa.ods_art21")
    assert ods.addressee.select == "per_case"
    extension = ods.deadline.extension
    assert extension is not None and (extension.amount, extension.unit) == (90, "days")
    assert ods.deadline.verified is False  # read in reproductions of Art.21 only
    assert ods.follows is not None and ods.follows.required


def test_art53_complaint_goes_to_the_victims_national_coordinator(registry: Registry) -> None:
    route = registry.route("eu.dsa.dsc_complaint")
    assert route.addressee.select == "dsc_by_victim_country"
    names = {c: registry.dsc(c) for c in ("IE", "FR", "DE")}
    assert {c: a.name for c, a in names.items() if a} == {
        "IE": "Coimisiún na Meán",
        "FR": "Arcom",
        "DE": "Bundesnetzagentur",
    }
    cnam = registry.dsc("ie")
    assert cnam is not None
    email, phone = cnam.channel("email"), cnam.channel("phone")
    assert email is not None and email.value == "usersupport@cnam.ie"
    assert phone is not None and phone.value == "+353 1 963 7755"
    assert registry.dsc("IT") is None


def test_french_routes_are_written_in_french(registry: Registry) -> None:
    french = [r for r in registry.routes if r.jurisdiction == "fr"]
    assert french
    for route in french:
        assert route.language == "fr"
        assert route.title["fr"] and route.title["en"]
    erasure = registry.route("fr.lil51.effacement")
    assert erasure.escalation is not None and erasure.escalation.route == "fr.cnil.plainte"


def test_dsa_notices_and_complaints_go_to_x_electronically(registry: Registry) -> None:
    # Art.16(1): notices are submitted exclusively by electronic means; Art.20 complaints
    # go through X's internal system. Neither gives a postal address.
    notice = registry.route("eu.dsa.notice").addressee
    complaint = registry.route("eu.dsa.internal_complaint").addressee
    for addressee in (notice, complaint):
        assert addressee.name == IRISH_X and addressee.country == "IE"
        assert addressee.channel("postal") is None
    form = notice.channel("electronic")
    assert form is not None and form.value == "help.x.com/forms/dsa/report"
    assert form.verified is False  # seen only in a copy of X's web client
    assert complaint.channel("website") is not None


def test_gdpr_requests_to_x_keep_an_unverified_postal_address(registry: Registry) -> None:
    for key in ("eu.gdpr.erasure_x", "eu.gdpr.access_x"):
        route = registry.route(key)
        postal = route.addressee.channel("postal")
        assert postal is not None and postal.verified is False
        assert postal.value.endswith("One Cumberland Place, Fenian Street, Dublin 2, D02 AX07")
        assert "addressee.postal" in route.unverified_facts()


def test_unverified_sources_stay_unverified(registry: Registry) -> None:
    uk = registry.route("gb.osa.intimate_image_report")
    # The 48 hours are sourced; their commencement is not.
    assert uk.verified is False and uk.deadline.verified is False
    assert {"route", "deadline"} <= set(uk.unverified_facts())

    def channel_verified(key: str, kind: str) -> bool:
        channel = registry.route(key).addressee.channel(kind)  # type: ignore[arg-type]
        assert channel is not None
        return channel.verified

    assert channel_verified("us.ftc.complaint", "electronic") is False
    assert channel_verified("us-ca.ag.complaint", "electronic") is False
    assert channel_verified("in.gac.appeal", "electronic") is False
    assert registry.route("us.dmca.notice").deadline.verified is False
    assert registry.route("ie.hotline.iia_report").deadline.verified is False
    escalation = registry.route("eu.gdpr.erasure_x").escalation
    assert escalation is not None and escalation.verified is False
    minors = {m.name: m for c in ("FR", "AU", "CA") for m in registry.minor_routes(c)}
    for name in ("Point de Contact", "3018 (e-Enfance)", "ACCCE", "NeedHelpNow.ca"):
        assert minors[name].verified is False
    # Sourced facts stay verified, so the banner appears only where it should.
    assert registry.route("us.tida.removal").unverified_facts() == ()


def test_india_two_hour_rule_supersedes_the_24_hour_rule(registry: Registry) -> None:
    rule = registry.route("in.grievance.ncii").deadline
    assert (rule.amount, rule.unit, rule.in_force_from) == (2, "hours", date(2026, 2, 20))
    (old,) = rule.superseded
    assert (old.amount, old.unit, old.until) == (24, "hours", date(2026, 2, 20))
    before = datetime(2026, 2, 19, 9, 0, tzinfo=UTC)
    after = datetime(2026, 2, 20, 9, 0, tzinfo=UTC)
    assert compute_due(before, rule) == datetime(2026, 2, 20, 9, 0, tzinfo=UTC)
    assert compute_due(after, rule) == datetime(2026, 2, 20, 11, 0, tzinfo=UTC)
    gac = registry.route("in.gac.appeal")
    assert gac.filing_window is not None
    assert (gac.filing_window.amount, gac.filing_window.unit) == (30, "days")


def test_australian_clock_starts_at_esafetys_notice(registry: Registry) -> None:
    route = registry.route("au.esafety.iba_complaint")
    assert route.deadline.clock_starts == "regulator_notice"


@pytest.mark.parametrize(
    ("country", "expected"),
    [
        ("US", {"NCMEC CyberTipline", "Take It Down (NCMEC)"}),
        ("GB", {"Report Remove (IWF and Childline)"}),
        ("FR", {"PHAROS", "Point de Contact", "3018 (e-Enfance)"}),
        ("AU", {"eSafety (class-1 child sexual exploitation material)", "ACCCE"}),
        ("IE", {"Hotline.ie (child sexual abuse material report)"}),
        ("CA", {"Cybertip.ca", "NeedHelpNow.ca"}),
        ("IN", {"National Cybercrime Reporting Portal (NCRP)"}),
        ("DE", set()),
    ],
)
def test_minor_routes_per_country(registry: Registry, country: str, expected: set[str]) -> None:
    assert {m.name for m in registry.minor_routes(country.lower())} == expected


def test_minor_route_contacts_are_as_given(registry: Registry) -> None:
    us = {m.name: m for m in registry.minor_routes("US")}
    tipline = us["NCMEC CyberTipline"]
    assert (tipline.url, tipline.phone) == ("cybertipline.org", "1-800-THE-LOST")
    (india,) = registry.minor_routes("IN")
    assert (india.url, india.phone) == ("cybercrime.gov.in", "1930")


def test_routes_for_includes_parents_and_any(registry: Registry) -> None:
    keys = [r.key for r in registry.routes_for(["us-ca"])]
    assert keys.index("us-ca.bpc22671.report") < keys.index("us.tida.removal")
    assert "any.preservation.request" in keys
    assert not any(k.startswith("eu.") for k in keys)
    fr = [r.key for r in registry.routes_for(["fr", "eu"])]
    assert len(fr) == len(set(fr)) and "eu.dsa.dsc_complaint" in fr
    with pytest.raises(KeyError, match="zz"):
        registry.routes_for(["zz"])
    with pytest.raises(KeyError, match="no route"):
        registry.route("us.nope")


def test_version_changes_with_the_bytes(tmp_path: Path, registry: Registry) -> None:
    copy = _copy(tmp_path)
    assert load_registry(copy).version == registry.version
    path = copy / "us.toml"
    path.write_text(path.read_text(encoding="utf-8") + "\n# comment\n", encoding="utf-8")
    assert load_registry(copy).version != registry.version


# --- broken copies --------------------------------------------------------------------


def _copy(tmp_path: Path) -> Path:
    target = tmp_path / "registry"
    shutil.copytree(REGISTRY_DIR, target, ignore=shutil.ignore_patterns("*.md"))
    return target


def _break(tmp_path: Path, name: str, old: str, new: str) -> Path:
    copy = _copy(tmp_path)
    path = copy / name
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {name}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return copy


def _error(copy: Path) -> str:
    with pytest.raises(RegistryError) as info:
        load_registry(copy)
    return str(info.value)


@pytest.mark.parametrize(
    ("name", "old", "new", "expected"),
    [
        (
            "us.toml",
            'unit = "hours"',
            'unit = "hourz"',
            "us.toml: routes[0].deadline.unit: 'hourz' is not one of hours, days, months",
        ),
        (
            "us.toml",
            'citation = { text = "47 USC 223a"',
            'citaton = { text = "47 USC 223a"',
            "us.toml: routes[0].citation: missing required field",
        ),
        (
            "us.toml",
            'route = "us.ftc.complaint"',
            'route = "us.ftc.complain"',
            "us.toml: routes[0].escalation.route: 'us.ftc.complain' is not a route key",
        ),
        (
            "us.toml",
            'citation = { text = "47 USC 223a"',
            'citaton = { text = "47 USC 223a"',
            "us.toml: routes[0].citaton: unknown key",
        ),
        (
            "us.toml",
            "revealing_attire = [",
            'revealing_attire = ["us.nope", ',
            "us.toml: routes[0].alternatives.revealing_attire[0]: 'us.nope' is not a route key",
        ),
        (
            "gb.toml",
            'clock_starts = "platform_receipt"',
            'clock_starts = "posted"',
            "gb.toml: routes[0].deadline.clock_starts: 'posted' is not one of",
        ),
        (
            "gb.toml",
            '"identification_of_content",',
            '"identifcation_of_content",',
            "gb.toml: routes[0].required_elements[2]: 'identifcation_of_content' is not one of",
        ),
        (
            "in.toml",
            "until = 2026-02-20",
            "until = 2026-02-19",
            "in.toml: routes[0].deadline.superseded: the last superseded rule must end",
        ),
        (
            "in.toml",
            "verified = false\nin_force_from",
            "verified = 1\nin_force_from",
            "in.toml: routes[0].deadline.verified: expected true or false",
        ),
        (
            "au.toml",
            'reminders = [0.5, 0.9, "PT2H"]',
            'reminders = [0.5, 1.5, "2h"]',
            "au.toml: routes[0].reminders[1]: expected a fraction between 0 and 1",
        ),
        (
            "fr.toml",
            'title = { en = "Notice of illegal content to X (DSA Art.16), in French", fr = ',
            'title = { en = "Notice", de = ',
            "fr.toml: routes[0].title.fr: missing title in this language",
        ),
        (
            "eu.toml",
            'country = "DE"\nname = "Bundesnetzagentur"',
            'country = "AT"\nname = "Bundesnetzagentur"',
            "de.toml: country: no entry in eu digital_services_coordinators for 'DE'",
        ),
        (
            "ie.toml",
            "last_checked = 2026-06-30\nsources",
            "last_checked = 2026-06-30T10:00:00Z\nsources",
            "ie.toml: last_checked: expected a date",
        ),
        (
            "ca.toml",
            'code = "ca"',
            'code = "cx"',
            "ca.toml: code: 'cx' must match the file name 'ca.toml'",
        ),
        (
            "de.toml",
            'key = "de.strafanzeige"',
            'key = "us.tida.removal"',
            "de.toml: routes[0].key: 'us.tida.removal' must start with the jurisdiction code",
        ),
        (
            "any.toml",
            'deadline = { none = true, verified = false, note = "A preservation',
            'deadline = "never"\nunused = { none = true, verified = false, note = "A preservation',
            "any.toml: routes[0].deadline: 'never': a string deadline can only be \"none\"",
        ),
        (
            "eu.toml",
            'code = "eu"\n',
            'code = "eu"\nparent = "fr"\n',
            "eu.toml: parent: cycle eu → fr → eu",
        ),
        (
            "any.toml",
            'kind = "preservation_request"',
            'kind = "letter"',
            "any.toml: routes[0].kind: 'letter' is not one of platform_notice",
        ),
        ("us.toml", "[[routes]]", "[[routes]", "us.toml: invalid TOML"),
        (
            "us.toml",
            '{ route = "us.tida.removal", after = "deadline" }',
            '{ route = "us.tida.removal", after = "later" }',
            "us.toml: routes[1].follows.steps[0].after: 'later' is not one of sent, decision,",
        ),
        (
            "us.toml",
            '{ route = "us.tida.removal", after = "deadline" }',
            '{ route = "us.tida.remova", after = "deadline" }',
            "us.toml: routes[1].follows.steps[0].route: 'us.tida.remova' is not a route key",
        ),
        (
            "us.toml",
            '{ route = "us.tida.removal", after = "deadline" }',
            '{ route = "us.ftc.complaint", after = "sent" }',
            "us.toml: routes[1].follows.steps[0].route: a route cannot follow itself",
        ),
        (
            "us.toml",
            '{ route = "us.tida.removal", after = "deadline" }',
            '{ route = "us.dmca.notice", after = "sent" }',
            "us.toml: routes[1].follows: 'us.tida.removal' escalates to this route but is not",
        ),
        (
            "in.toml",
            '{ route = "in.grievance.ncii", after = "decision_or_deadline" }',
            '{ route = "in.grievance.ncii", after = "sent" }, '
            '{ route = "in.ncrp.report", after = "deadline" }',
            "in.toml: routes[1].follows.steps[1].after: 'in.ncrp.report' has no single deadline",
        ),
        (
            "us.toml",
            'required = true\nsteps = [\n  { route = "us.tida.removal"',
            'steps = [\n  { route = "us.tida.removal"',
            "us.toml: routes[1].follows.required: missing required field",
        ),
        (
            "fr.toml",
            'link = "https://www.pointdecontact.net"',
            'link = "https://www.pointdecontact.com"',
            "fr.toml: minor_routes[1].shown.link: 'https://www.pointdecontact.com' is not on "
            "'pointdecontact.net'",
        ),
        (
            "us.toml",
            'text.en = "The US national',
            'text.de = "The US national',
            "us.toml: minor_routes[0].shown.text.en: missing text in this language",
        ),
        (
            "gb.toml",
            'link = "https://stopncii.org"',
            'link = "http://stopncii.org"',
            "gb.toml: support[1].shown.link: 'http://stopncii.org' is not a link starting with",
        ),
        (
            "us.toml",
            "worldwide = true",
            'worldwide = "yes"',
            "us.toml: minor_routes[1].worldwide: expected true or false, got str 'yes'",
        ),
        (
            "us.toml",
            'link = "https://cybertipline.org"',
            'link = "https://cybertipline.org"\nphone = "1"',
            "us.toml: minor_routes[0].shown.phone: unknown key (allowed here: caveat, link, name, "
            "text)",
        ),
    ],
)
def test_a_broken_file_is_refused_naming_file_and_field(
    tmp_path: Path, name: str, old: str, new: str, expected: str
) -> None:
    assert expected in _error(_break(tmp_path, name, old, new))


def test_every_escalation_or_complaint_route_declares_the_steps_it_follows(
    registry: Registry,
) -> None:
    follows = {
        r.key: (r.follows.required, {(s.route, s.after) for s in r.follows.steps})
        for r in registry.routes
        if r.follows is not None
    }
    assert follows == {
        "eu.dsa.internal_complaint": (
            True,
            {("eu.dsa.notice", "decision"), ("fr.dsa.signalement", "decision")},
        ),
        "eu.dsa.dsc_complaint": (
            False,
            {
                ("eu.dsa.notice", "sent"),
                ("fr.dsa.signalement", "sent"),
                ("ie.hotline.iia_report", "sent"),
                ("eu.dsa.internal_complaint", "sent"),
            },
        ),
        "eu.dsa.commission_complaint": (
            False,
            {
                ("eu.dsa.notice", "sent"),
                ("fr.dsa.signalement", "sent"),
                ("eu.dsa.internal_complaint", "sent"),
            },
        ),
        "eu.dsa.ods_art21": (
            True,
            {
                ("eu.dsa.notice", "decision"),
                ("eu.dsa.internal_complaint", "decision"),
                ("fr.dsa.signalement", "decision"),
            },
        ),
        "eu.gdpr.dpc_complaint": (
            True,
            {
                ("eu.gdpr.access_x", "decision_or_deadline"),
                ("eu.gdpr.erasure_x", "decision_or_deadline"),
            },
        ),
        "fr.cnil.plainte": (True, {("fr.lil51.effacement", "deadline")}),
        "gb.ofcom.complaint": (False, {("gb.osa.intimate_image_report", "sent")}),
        "in.gac.appeal": (True, {("in.grievance.ncii", "decision_or_deadline")}),
        "us.ftc.complaint": (True, {("us.tida.removal", "deadline")}),
        "us-ca.ag.complaint": (
            False,
            {("us-ca.bpc22671.report", "sent"), ("us-ca.civ1708_86.evidence", "sent")},
        ),
        "us-ca.ag.xai_complaint": (False, {("us-ca.civ1708_86.xai", "sent")}),
    }
    # Every route that escalates to another is among the steps the other follows.
    for route in registry.routes:
        if route.escalation is not None and route.escalation.route is not None:
            assert route.key in {s for s, _ in follows[route.escalation.route][1]}


def test_the_california_report_requires_the_reporters_residence_and_account(
    registry: Registry,
) -> None:
    route = registry.route("us-ca.bpc22671.report")
    assert {"reporter_california_resident", "reporter_x_account"} <= set(route.required_elements)


def test_every_problem_in_a_file_is_listed(tmp_path: Path) -> None:
    copy = _break(tmp_path, "us.toml", 'unit = "hours"', 'unit = "hourz"')
    path = copy / "us.toml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("citation = {", "citaton = {", 1), encoding="utf-8")
    errors = _error(copy).splitlines()
    assert "us.toml: routes[0].citation: missing required field" in " ".join(errors)
    assert "us.toml: routes[0].citaton: unknown key" in " ".join(errors)
    assert "us.toml: routes[0].deadline.unit: 'hourz' is not one of" in " ".join(errors)
    assert len(errors) == 3


def test_a_duplicate_route_key_across_files_is_refused(tmp_path: Path) -> None:
    copy = _copy(tmp_path)
    extra = (copy / "us.toml").read_text(encoding="utf-8").replace('code = "us"', 'code = "xx"')
    extra = extra.replace('key = "us.', 'key = "xx.').replace('route = "us.', 'route = "xx.')
    (copy / "xx.toml").write_text(extra, encoding="utf-8")
    assert load_registry(copy).route("xx.tida.removal")
    dup = extra.replace('key = "xx.dmca.notice"', 'key = "xx.tida.removal"')
    (copy / "xx.toml").write_text(dup, encoding="utf-8")
    assert "routes[2].key: 'xx.tida.removal' already defined" in _error(copy)


def test_a_future_check_date_is_refused(tmp_path: Path) -> None:
    copy = _break(tmp_path, "au.toml", "\nlast_checked = 2026-06-30", "\nlast_checked = 2999-01-01")
    assert "au.toml: last_checked: 2999-01-01 is not a plausible check date" in _error(copy)


def test_an_empty_directory_is_refused(tmp_path: Path) -> None:
    assert "no *.toml registry files" in _error(tmp_path)


@dataclass(frozen=True)
class ContactDetail:
    """An address, email, phone or web address, with the record of where it came from."""

    where: str
    kind: str
    value: str
    verified: bool
    note: str
    sources: tuple[str, ...]
    last_checked: date | None


def _contact_details(registry: Registry) -> list[ContactDetail]:
    details: list[ContactDetail] = []

    def add(
        where: str,
        given: Iterable[tuple[str, str, bool, str | None]],
        sourced: Route | Jurisdiction | SupportService,
    ) -> None:
        details.extend(
            ContactDetail(
                f"{where}{kind}",
                kind,
                value,
                verified,
                note or "",
                sourced.sources,
                sourced.last_checked,
            )
            for kind, value, verified, note in given
        )

    for j in registry.jurisdictions:
        for route in j.routes:
            add(f"{route.key} addressee.", _channels(route.addressee), route)
        # A coordinator rests on the sources of the jurisdiction that lists it.
        for dsc in j.digital_services_coordinators:
            add(f"{j.code} {dsc.name} ", _channels(dsc), j)
        for service in (*j.minor_routes, *j.support):
            fields = {"url": service.url, "phone": service.phone, "email": service.email}
            add(
                f"{j.code} {service.name} ",
                [(k, v, service.verified, service.note) for k, v in fields.items() if v],
                service,
            )
    return details


def _channels(addressee: Addressee) -> list[tuple[str, str, bool, str | None]]:
    return [(c.kind, c.value, c.verified, c.note) for c in addressee.channels]


def _host(address: str) -> str:
    """'help.x.com/en/forms' and 'legal@hateaid.org' -> 'help.x.com' and 'hateaid.org'."""
    return address.rsplit("@", 1)[-1].split("/", 1)[0].lower()


def _unsourced_contact_details(registry: Registry) -> list[str]:
    """The contact details whose provenance the registry does not show, and why.

    Nothing is guessed: every detail stands under a fact that records its sources and
    the date they were checked. The one kind of address the registry derives rather than
    copies, a website given as the host of a source it cites, must be the host of a
    source recorded for that fact, and say so. A detail whose only sources are items the
    research tags [U] is marked unverified, so letters built on it say "check before
    sending".
    """
    problems: list[str] = []
    for detail in _contact_details(registry):
        if not (detail.sources and detail.last_checked):
            problems.append(f"{detail.where}: no sources or check date")
        says_host = "host of" in detail.note.lower()
        if (detail.kind == "website" or says_host) and not (
            says_host and _host(detail.value) in {_host(s) for s in detail.sources}
        ):
            problems.append(f"{detail.where}: {detail.value!r} is not a recorded source's host")
        if detail.verified and all("tagged [U]" in s for s in detail.sources):
            problems.append(f"{detail.where}: verified, but its only sources are tagged [U]")
    return problems


def test_every_address_email_and_phone_rests_on_a_recorded_source(registry: Registry) -> None:
    details = _contact_details(registry)
    # Every kind of contact detail the registry gives is checked here.
    assert {d.kind for d in details} == {"electronic", "postal", "email", "phone", "website", "url"}
    assert len([d for d in details if "host of" in d.note.lower()]) >= 6
    assert _unsourced_contact_details(registry) == []


@pytest.mark.parametrize(
    ("name", "old", "new", "expected"),
    [
        (
            "au.toml",
            'website = { value = "esafety.gov.au"',
            'website = { value = "esafety.com.au"',
            "au.esafety.iba_complaint addressee.website: 'esafety.com.au' is not a recorded "
            "source's host",
        ),
        (
            "eu.toml",
            'website = { value = "arcom.fr"',
            'website = { value = "arcom.gouv.fr"',
            "eu Arcom website: 'arcom.gouv.fr' is not a recorded source's host",
        ),
        (
            "gb.toml",
            'sources = ["iwf.org.uk", "itv"]',
            'sources = ["itv"]',
            "gb Report Remove (IWF and Childline) url: 'iwf.org.uk' is not a recorded "
            "source's host",
        ),
        (
            "ca.toml",
            'named without details in jurisdictions.md."\nverified = false',
            'named without details in jurisdictions.md."\nverified = true',
            "ca NeedHelpNow.ca url: verified, but its only sources are tagged [U]",
        ),
    ],
)
def test_a_contact_detail_without_provenance_is_caught(
    tmp_path: Path, name: str, old: str, new: str, expected: str
) -> None:
    # The loader accepts these; only the provenance check stands between them and a letter.
    broken = load_registry(_break(tmp_path, name, old, new))
    assert _unsourced_contact_details(broken) == [expected]


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            'citation = { text = "47 USC 223a", verified = true, checked = 2026-12-05, sources = [',
            'citation = { text = "47 USC 223a", verified = true, sources = [',
            "us.toml: routes[0].citation.checked: required with sources: the day they were checked",
        ),
        (
            '  "https://www.gdpr-ccpa.org/take-it-down/',
            '  "gdpr-ccpa.org",\n  "https://www.gdpr-ccpa.org/take-it-down/',
            "us.toml: routes[0].citation.sources[1]: 'gdpr-ccpa.org' is not a source link",
        ),
        (
            'checked = 2026-06-30\nsources = ["https://help.x.com/en/rules-and-policies/us-tida"]',
            'sources = ["https://help.x.com/en/rules-and-policies/us-tida"]',
            "us.toml: routes[0].addressee.checked: required with sources",
        ),
    ],
)
def test_a_fact_source_is_a_link_with_the_day_it_was_checked(
    tmp_path: Path, old: str, new: str, expected: str
) -> None:
    assert expected in _error(_break(tmp_path, "us.toml", old, new))


def test_a_routes_facts_carry_their_own_sources_and_check_dates(registry: Registry) -> None:
    tida = registry.route("us.tida.removal")
    sourced = tida.provenances()
    assert set(sourced) == {"citation", "addressee", "deadline"}
    citation = sourced["citation"]
    assert citation is not None
    # Read on uscode.house.gov on the day of the legal review.
    assert citation.checked == date(2026, 12, 5)
    assert all(link.startswith("https://") for link in citation.sources)
    assert tida.oldest_check == min(
        [tida.last_checked, *(p.checked for p in sourced.values() if p is not None)]
    )


def test_french_routes_cite_their_sources_and_never_226_2_1_for_generated_images(
    registry: Registry,
) -> None:
    french = [r for r in registry.routes if r.jurisdiction == "fr"]
    for route in french:
        # 226-2-1 covers real recordings; the case does not record one, so none cites it.
        assert "226-2-1" not in route.citation, route.key
        for fact, provenance in route.provenances().items():
            assert provenance is not None, (route.key, fact)
            assert all(source.startswith("https://") for source in provenance.sources)
    text = (REGISTRY_DIR / "fr.toml").read_text(encoding="utf-8")
    assert not re.search(r'^(citation|deadline) = "', text, re.MULTILINE)


def test_the_french_dsa_notice_goes_to_x_internet_by_electronic_means_only(
    registry: Registry,
) -> None:
    route = registry.route("fr.dsa.signalement")
    assert route.addressee.name == "X Internet Unlimited Company"
    assert route.addressee.channel("postal") is None
    assert any("exclusively by electronic means" in w for w in route.warnings)
    erasure = registry.route("fr.lil51.effacement")
    assert erasure.addressee.name == "X Internet Unlimited Company"


def test_the_plainte_requires_identity_facts_harm_and_for_a_minor_the_parents(
    registry: Registry,
) -> None:
    route = registry.route("fr.plainte.procureur")
    assert {
        "complainant_identity",
        "facts_dates_places",
        "harm_suffered",
        "signed_by_legal_representatives",
    } <= set(route.required_elements)


def test_a_complaint_to_a_coordinator_is_written_in_its_language(registry: Registry) -> None:
    route = registry.route("eu.dsa.dsc_complaint")
    languages = {}
    for country in ("IE", "FR", "DE"):
        dsc = registry.dsc(country)
        assert dsc is not None
        languages[country] = route.letter_language(dsc.language)
    assert languages == {"IE": "en", "FR": "fr", "DE": "de"}
    assert route.template_for("fr") == "eu/dsa_art53_complaint_fr.html"
    assert route.template_for("de") == "eu/dsa_art53_complaint_de.html"
    assert route.template_for("en") == "eu/dsa_art53_complaint.html"
    assert route.title["fr"] and route.title["de"]
    # A language the route has no template in falls back to its own.
    assert route.letter_language("it") == "en"
    assert registry.route("eu.dsa.notice").letter_language("fr") == "en"
    assert "eu/dsa_art53_complaint_de.html" in registry.templates()


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            'name = "Arcom"\nlanguage = "fr"\n',
            'name = "Arcom"\n',
            "eu.toml: digital_services_coordinators[1].language: missing",
        ),
        (
            'name = "Arcom"\nlanguage = "fr"\n',
            'name = "Arcom"\nlanguage = "french"\n',
            "eu.toml: digital_services_coordinators[1].language: 'french' is not a two-letter",
        ),
        (
            'language_templates = { fr = "eu/dsa_art53_complaint_fr.html", de = ',
            "language_templates = { de = ",
            "eu.toml: routes[2].language_templates: Arcom (FR) takes complaints in 'fr', but "
            "the route has no template in that language",
        ),
        (
            ', de = "Beschwerde beim Koordinator für digitale Dienste (DSA Art. 53)" }',
            " }",
            "eu.toml: routes[2].title.de: missing title in this language",
        ),
        (
            'language_templates = { fr = "eu/dsa_art53_complaint_fr.html", de = ',
            'language_templates = { en = "eu/dsa_art53_complaint_fr.html", de = ',
            "eu.toml: routes[2].language_templates.en: the route's own language uses `templates`",
        ),
        (
            'templates = ["eu/dsa_art16_notice.html"]',
            'templates = ["eu/dsa_art16_notice.html"]\n'
            'language_templates = { fr = "eu/dsa_art53_complaint_fr.html" }',
            "eu.toml: routes[0].language_templates: only a route to the victim's coordinator",
        ),
    ],
)
def test_a_coordinators_language_needs_a_template_in_it(
    tmp_path: Path, old: str, new: str, expected: str
) -> None:
    assert expected in _error(_break(tmp_path, "eu.toml", old, new))


def test_every_route_names_the_pages_behind_its_citation_addressee_and_deadline(
    registry: Registry,
) -> None:
    for route in registry.routes:
        for fact, found in route.provenances().items():
            assert found is not None, f"{route.key}: {fact} has no source"
            assert found.sources and all(s.startswith("https://") for s in found.sources)
            assert CORPUS_DATE <= found.checked <= date.today(), (route.key, fact)


def test_an_addressee_without_its_sources_is_refused(tmp_path: Path) -> None:
    broken = _break(
        tmp_path,
        "us.toml",
        'checked = 2026-06-30\nsources = ["https://help.x.com/en/rules-and-policies/us-tida"]\n',
        "",
    )
    expected = "us.toml: routes[0].addressee: required: the pages the addressee was checked"
    assert expected in _error(broken)


def test_no_deadline_without_its_sources_is_refused(tmp_path: Path) -> None:
    copy = _copy(tmp_path)
    path = copy / "us.toml"
    text = path.read_text(encoding="utf-8")
    start = text.index("[routes.deadline]\nnone = true")
    end = text.index("[[routes]]", start)
    text = text[:start] + text[end:]
    text = text.replace(
        'key = "us.ftc.complaint"\n', 'key = "us.ftc.complaint"\ndeadline = "none"\n'
    )
    path.write_text(text, encoding="utf-8")
    assert "us.toml: routes[1].deadline: required: the pages the deadline" in _error(copy)


def test_a_citation_without_its_sources_is_refused(tmp_path: Path) -> None:
    copy = _copy(tmp_path)
    path = copy / "us.toml"
    text = path.read_text(encoding="utf-8")
    start = text.index('citation = { text = "47 USC 223a"')
    end = text.index("] }\n", start) + len("] }\n")
    path.write_text(text[:start] + 'citation = "47 USC 223a"\n' + text[end:], encoding="utf-8")
    assert "us.toml: routes[0].citation: write it as a table" in _error(copy)


# Section numbers, figures and web addresses in a staff line; each must come through a
# translation unchanged.
_KEPT_IN_TRANSLATION = re.compile(r"\d[\w.()]*|\b[\w-]+(?:\.[\w-]+)*\.(?:org|gov|uk|in|id)\b")


def test_every_staff_warning_and_eligibility_line_is_in_french(registry: Registry) -> None:
    """The notice and letter screens show a French reader the route's lines in French, in
    French typography, each keeping the English line's section numbers, figures and sites."""
    from tests.unit.test_translations import LOOSE_SPACE

    checked = 0
    for route in registry.routes:
        if not (route.warnings or route.eligibility):
            continue
        assert "fr" in route.translated, route.key
        for english, french in (
            (route.warnings, route.warnings_in("fr")),
            (route.eligibility, route.eligibility_in("fr")),
        ):
            assert len(french) == len(english), route.key
            for source, line in zip(english, french, strict=True):
                checked += 1
                assert line != source, (route.key, line)
                assert "'" not in line, (route.key, line)  # the typographic apostrophe is ’
                assert not LOOSE_SPACE.search(line), (route.key, line)
                for kept in _KEPT_IN_TRANSLATION.findall(source):
                    assert kept.rstrip(".") in line, (route.key, kept, line)
    assert checked >= 50


def test_a_translation_with_a_line_too_many_is_refused(tmp_path: Path) -> None:
    copy = _break(
        tmp_path,
        "us.toml",
        '  "Cette loi couvre',
        '  "Une ligne de plus.",\n  "Cette loi couvre',
    )
    assert "us.toml: routes[0].translated.fr.warnings: 2 lines for the 1 English" in _error(copy)
