"""The dedicated routes shown for a minor, per country."""

from __future__ import annotations

from casework.intake.minor_routes import ROUTES, routes_for


def test_each_country_named_in_the_brief_has_its_routes() -> None:
    names = {code: [r.name for r in routes] for code, routes in ROUTES.items()}
    assert names == {
        "US": ["NCMEC CyberTipline", "Take It Down"],
        "GB": ["IWF + Childline Report Remove"],
        "FR": ["PHAROS", "Point de Contact"],
        "AU": ["eSafety"],
        "IE": ["Hotline.ie"],
        "CA": ["Cybertip.ca"],
        "IN": ["NCRP"],
    }


def test_take_it_down_carries_ncmecs_caveat_and_the_tipline_its_phone() -> None:
    tipline, take_it_down = routes_for("us")
    assert tipline.phone == "1-800-THE-LOST" and tipline.url == "https://cybertipline.org"
    assert take_it_down.caveat is not None
    assert "do not download" in str(take_it_down.caveat)
    assert routes_for("IN")[0].phone == "1930"


def test_every_link_is_https_and_unknown_countries_have_none() -> None:
    for routes in ROUTES.values():
        for route in routes:
            assert route.url is None or route.url.startswith("https://")
    assert routes_for("DE") == () and routes_for(None) == ()
