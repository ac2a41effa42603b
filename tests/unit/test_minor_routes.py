"""The dedicated routes shown for a minor, per country."""

from __future__ import annotations

from casework.intake.minor_routes import FOR_ADULTS, ROUTES, TAKE_IT_DOWN, routes_for


def test_each_country_named_in_the_brief_has_its_routes() -> None:
    names = {code: [r.name for r in routes] for code, routes in ROUTES.items()}
    assert names == {
        "US": ["NCMEC CyberTipline"],
        "GB": ["IWF + Childline Report Remove"],
        "FR": ["PHAROS", "Point de Contact", "3018"],
        "AU": ["eSafety"],
        "IE": ["Hotline.ie"],
        "CA": ["Cybertip.ca"],
        "IN": ["NCRP"],
    }


def test_take_it_down_carries_ncmecs_caveat_and_the_tipline_its_phone() -> None:
    tipline, take_it_down = routes_for("us")
    assert take_it_down is TAKE_IT_DOWN
    assert tipline.phone == "1-800-THE-LOST" and tipline.url == "https://cybertipline.org"
    assert take_it_down.caveat is not None
    assert "do not download" in str(take_it_down.caveat)
    assert routes_for("IN")[0].phone == "1930"


def test_every_link_is_https_and_unknown_countries_have_none() -> None:
    for routes in ROUTES.values():
        for route in routes:
            assert route.url is None or route.url.startswith("https://")
    assert routes_for("DE") == (TAKE_IT_DOWN,) and routes_for(None) == (TAKE_IT_DOWN,)


def test_take_it_down_is_offered_for_every_country_and_last() -> None:
    for code in [*ROUTES, "DE", "BR", None]:
        assert routes_for(code)[-1] is TAKE_IT_DOWN
    assert all(not route.worldwide for routes in ROUTES.values() for route in routes)


def test_france_lists_the_3018_line_and_point_de_contact_has_its_address() -> None:
    by_name = {route.name: route for route in routes_for("FR")}
    assert by_name["3018"].phone == "3018"
    assert by_name["Point de Contact"].url == "https://www.pointdecontact.net"


def test_adults_are_offered_stopncii_and_minors_never_are() -> None:
    assert [route.name for route in FOR_ADULTS] == ["StopNCII.org"]
    assert all(
        route.name != "StopNCII.org" for code in [*ROUTES, None] for route in routes_for(code)
    )
