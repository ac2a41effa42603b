"""The dedicated routes shown for a minor, per country, and the help shown to adults."""

from __future__ import annotations

import pytest

from casework.registry import ChildProtectionRoute, Registry, default_registry


@pytest.fixture(scope="module")
def registry() -> Registry:
    return default_registry()


@pytest.fixture(scope="module")
def take_it_down(registry: Registry) -> ChildProtectionRoute:
    (route,) = (r for r in registry.minor_routes("US") if r.worldwide)
    return route


def test_each_country_named_in_the_brief_has_its_routes(registry: Registry) -> None:
    by_country = registry.minor_routes_shown_by_country()
    names = {code: [r.shown.name for r in routes if r.shown] for code, routes in by_country.items()}
    assert names == {
        "US": ["NCMEC CyberTipline"],
        "GB": ["IWF + Childline Report Remove"],
        "FR": ["PHAROS", "Point de Contact", "3018"],
        "AU": ["eSafety"],
        "IE": ["Hotline.ie"],
        "CA": ["Cybertip.ca"],
        "IN": ["NCRP"],
    }


def test_take_it_down_carries_ncmecs_caveat_and_the_tipline_its_phone(
    registry: Registry, take_it_down: ChildProtectionRoute
) -> None:
    tipline, shown_last = registry.minor_routes_shown("us")
    assert shown_last is take_it_down
    assert take_it_down.shown is not None and take_it_down.shown.name == "Take It Down"
    assert tipline.shown is not None
    assert tipline.phone == "1-800-THE-LOST" and tipline.shown.link == "https://cybertipline.org"
    caveat = take_it_down.shown.caveat_in("en")
    assert caveat is not None
    assert "do not download" in caveat
    assert registry.minor_routes_shown("IN")[0].phone == "1930"


def test_every_link_is_https_and_unknown_countries_have_none(
    registry: Registry, take_it_down: ChildProtectionRoute
) -> None:
    for routes in registry.minor_routes_shown_by_country().values():
        for route in routes:
            assert route.shown is not None
            assert route.shown.link is None or route.shown.link.startswith("https://")
    assert registry.minor_routes_shown("DE") == (take_it_down,)
    assert registry.minor_routes_shown(None) == (take_it_down,)


def test_take_it_down_is_offered_for_every_country_and_last(
    registry: Registry, take_it_down: ChildProtectionRoute
) -> None:
    by_country = registry.minor_routes_shown_by_country()
    for code in [*by_country, "DE", "BR", None]:
        assert registry.minor_routes_shown(code)[-1] is take_it_down
    assert all(not route.worldwide for routes in by_country.values() for route in routes)


def test_france_lists_the_3018_line_and_point_de_contact_has_its_address(
    registry: Registry,
) -> None:
    by_name = {r.shown.name: r for r in registry.minor_routes_shown("FR") if r.shown}
    assert by_name["3018"].phone == "3018"
    point_de_contact = by_name["Point de Contact"].shown
    assert point_de_contact is not None
    assert point_de_contact.link == "https://www.pointdecontact.net"


def test_adults_are_offered_stopncii_and_minors_never_are(registry: Registry) -> None:
    by_country = registry.minor_routes_shown_by_country()
    for code in [*by_country, "DE", None]:
        assert [s.shown.name for s in registry.support_shown(code) if s.shown] == ["StopNCII.org"]
        assert all(
            route.shown is not None and route.shown.name != "StopNCII.org"
            for route in registry.minor_routes_shown(code)
        )


def test_routes_recorded_without_wording_for_the_person_are_not_shown(registry: Registry) -> None:
    shown = {r.name for c in ("AU", "CA") for r in registry.minor_routes_shown(c)}
    recorded = {r.name for c in ("AU", "CA") for r in registry.minor_routes(c)}
    assert {"ACCCE", "NeedHelpNow.ca"} <= recorded - shown
    assert all(r.shown is None for r in registry.minor_routes("AU") if r.name == "ACCCE")


def test_the_words_shown_follow_the_language_and_fall_back_to_english(
    take_it_down: ChildProtectionRoute,
) -> None:
    shown = take_it_down.shown
    assert shown is not None
    assert shown.text_in("fr").startswith("Le service du NCMEC")
    assert shown.text_in("de") == shown.text_in("en")
    caveat = shown.caveat_in("fr")
    assert caveat is not None and "ne téléchargez pas" in caveat
