"""Police reports and regulator complaints: where each fact was read, and who they go to."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from casework.cases.jurisdiction import jurisdictions_for
from casework.registry import Registry, load_registry

REGISTRY_DIR = Path(__file__).resolve().parents[2] / "letters" / "registry"
CORPUS_DATE = date(2026, 6, 30)


@pytest.fixture(scope="module")
def registry() -> Registry:
    return load_registry(REGISTRY_DIR)


NEW_ROUTES = ("ie.garda.report", "in.police.fir", "au.police.report")
NEW_COMPLAINTS = ("my.mcmc.complaint", "id.komdigi.aduan")


@pytest.mark.parametrize("key", [*NEW_ROUTES, *NEW_COMPLAINTS, "ie.hotline.iia_report"])
def test_police_and_regulator_routes_source_each_fact_with_links(
    registry: Registry, key: str
) -> None:
    route = registry.route(key)
    for fact, provenance in route.provenances().items():
        assert provenance is not None, (key, fact)
        assert provenance.checked >= CORPUS_DATE, (key, fact)
        assert all(link.startswith("https://") for link in provenance.sources), (key, fact)
    assert route.deadline.is_none


@pytest.mark.parametrize("key", NEW_ROUTES)
def test_police_reports_go_to_the_station_the_caseworker_names(
    registry: Registry, key: str
) -> None:
    route = registry.route(key)
    assert route.kind == "police_report"
    assert route.addressee.select == "per_case"


def test_a_fact_read_only_in_secondary_pages_stays_unverified(registry: Registry) -> None:
    # India's statutes were read only in reproductions; Malaysia's and Indonesia's laws in
    # news reports and summaries; so their letters say "check before sending".
    for key in ("in.police.fir", "my.mcmc.complaint", "id.komdigi.aduan"):
        route = registry.route(key)
        provenance = route.provenances()["citation"]
        assert provenance is not None
        assert all(link.endswith("(secondary)") or ".gov." in link for link in provenance.sources)
        assert "citation" in route.unverified_facts(), key
    # The Irish and Australian statutes were read in their official text.
    for key in ("ie.garda.report", "au.police.report"):
        assert registry.route(key).unverified_facts() == (), key


def test_malaysia_and_indonesia_have_their_own_jurisdictions(registry: Registry) -> None:
    for code, country in (("my", "MY"), ("id", "ID")):
        jurisdiction = registry.jurisdiction(code)
        assert jurisdiction.country == country
        assert jurisdiction.languages == ("en",)
        assert (country, "subject") in jurisdictions_for(country, None)
        assert [r.key for r in registry.routes_for([code]) if r.jurisdiction == code]
