"""The answers the public form offers: stored codes, and labels in the reader's language."""

from __future__ import annotations

import unicodedata
from functools import cache
from typing import Final

from babel import Locale
from flask_babel import LazyString, force_locale, get_locale
from flask_babel import lazy_gettext as _l

from casework.cases.models import ItemKind

# Stored codes; the labels are for people.
RELATIONSHIPS: Final[dict[str, LazyString]] = {
    "parent_guardian": _l("Parent or guardian"),
    "partner": _l("Partner"),
    "family": _l("Other family member"),
    "friend": _l("Friend"),
    "lawyer": _l("Lawyer"),
    "advocate": _l("Support worker or advocate"),
    "other": _l("Other"),
}

ITEM_KINDS: Final[dict[str, LazyString]] = {
    ItemKind.UNKNOWN.value: _l("Not sure"),
    ItemKind.AI_IMAGE.value: _l("An AI-generated image"),
    ItemKind.PROMPT_REPLY.value: _l("The reply that asked for the image"),
    ItemKind.REPOST.value: _l("A repost"),
    ItemKind.ORIGINAL_PHOTO.value: _l("The original photo that was altered"),
}

WANTED_ACTIONS: Final[dict[str, LazyString]] = {
    "takedown": _l("Get the posts taken down"),
    "regulator_complaint": _l(
        "Also complain to the regulator (for example Ofcom, Arcom or eSafety)"
    ),
    "police_report": _l("Help with reporting it to the police"),
    "legal_advice": _l("Legal advice"),
}

LANGUAGES: Final[dict[str, str]] = {"en": "English", "fr": "Français"}

# Sub-regions whose law differs from the national one (ISO 3166-2 codes without the
# country prefix, so "US" + "CA" is California).
REGIONS: Final[dict[str, dict[str, LazyString]]] = {
    "US": {
        "AL": _l("Alabama"),
        "AK": _l("Alaska"),
        "AZ": _l("Arizona"),
        "AR": _l("Arkansas"),
        "CA": _l("California"),
        "CO": _l("Colorado"),
        "CT": _l("Connecticut"),
        "DE": _l("Delaware"),
        "DC": _l("District of Columbia"),
        "FL": _l("Florida"),
        "GA": _l("Georgia (US state)"),
        "HI": _l("Hawaii"),
        "ID": _l("Idaho"),
        "IL": _l("Illinois"),
        "IN": _l("Indiana"),
        "IA": _l("Iowa"),
        "KS": _l("Kansas"),
        "KY": _l("Kentucky"),
        "LA": _l("Louisiana"),
        "ME": _l("Maine"),
        "MD": _l("Maryland"),
        "MA": _l("Massachusetts"),
        "MI": _l("Michigan"),
        "MN": _l("Minnesota"),
        "MS": _l("Mississippi"),
        "MO": _l("Missouri"),
        "MT": _l("Montana"),
        "NE": _l("Nebraska"),
        "NV": _l("Nevada"),
        "NH": _l("New Hampshire"),
        "NJ": _l("New Jersey"),
        "NM": _l("New Mexico"),
        "NY": _l("New York"),
        "NC": _l("North Carolina"),
        "ND": _l("North Dakota"),
        "OH": _l("Ohio"),
        "OK": _l("Oklahoma"),
        "OR": _l("Oregon"),
        "PA": _l("Pennsylvania"),
        "RI": _l("Rhode Island"),
        "SC": _l("South Carolina"),
        "SD": _l("South Dakota"),
        "TN": _l("Tennessee"),
        "TX": _l("Texas"),
        "UT": _l("Utah"),
        "VT": _l("Vermont"),
        "VA": _l("Virginia"),
        "WA": _l("Washington (state)"),
        "WV": _l("West Virginia"),
        "WI": _l("Wisconsin"),
        "WY": _l("Wyoming"),
    },
    "CA": {
        "AB": _l("Alberta"),
        "BC": _l("British Columbia"),
        "MB": _l("Manitoba"),
        "NB": _l("New Brunswick"),
        "NL": _l("Newfoundland and Labrador"),
        "NS": _l("Nova Scotia"),
        "ON": _l("Ontario"),
        "PE": _l("Prince Edward Island"),
        "QC": _l("Quebec"),
        "SK": _l("Saskatchewan"),
        "NT": _l("Northwest Territories"),
        "NU": _l("Nunavut"),
        "YT": _l("Yukon"),
    },
    "GB": {
        "ENG": _l("England"),
        "WLS": _l("Wales"),
        "SCT": _l("Scotland"),
        "NIR": _l("Northern Ireland"),
    },
    "AU": {
        "NSW": _l("New South Wales"),
        "VIC": _l("Victoria"),
        "QLD": _l("Queensland"),
        "WA": _l("Western Australia"),
        "SA": _l("South Australia"),
        "TAS": _l("Tasmania"),
        "ACT": _l("Australian Capital Territory"),
        "NT": _l("Northern Territory"),
    },
}

# Babel's territory list also holds groupings and private-use codes; these are not countries.
_NOT_COUNTRIES: Final = frozenset({"EU", "EZ", "UN", "ZZ", "QO", "XA", "XB"})


def _sort_key(name: str) -> str:
    # "Émirats" sorts with the E's, as a French reader expects.
    return "".join(
        c for c in unicodedata.normalize("NFKD", name.casefold()) if not unicodedata.combining(c)
    )


def country_choices() -> list[tuple[str, str]]:
    """Every country, named and sorted in the current language."""
    return list(_sorted_countries(str(get_locale() or "en")))


@cache
def _sorted_countries(locale: str) -> tuple[tuple[str, str], ...]:
    # Sorting 250 names with accents folded took a millisecond on every page that lists them.
    territories = Locale.parse(locale).territories
    names = [
        (code, name)
        for code, name in territories.items()
        if len(code) == 2 and code.isalpha() and code not in _NOT_COUNTRIES
    ]
    return tuple(sorted(names, key=lambda pair: _sort_key(pair[1])))


def region_names() -> dict[str, dict[str, str]]:
    """Every state or region of REGIONS, by country, named in the current language."""
    return _region_names(str(get_locale() or "en"))


@cache
def _region_names(locale: str) -> dict[str, dict[str, str]]:
    # Turning a hundred lazy names into text took some 300 catalog look-ups on every
    # render of the "where" page; the names are fixed for a language.
    with force_locale(locale):
        return {
            country: {code: str(label) for code, label in names.items()}
            for country, names in REGIONS.items()
        }


def country_name(code: str | None) -> str:
    if not code:
        return ""
    return str(get_locale().territories.get(code.upper(), code))


def region_name(country: str | None, region: str | None) -> str:
    if not country or not region:
        return ""
    return str(REGIONS.get(country, {}).get(region, region))


@cache
def _country_codes() -> frozenset[str]:
    codes = [str(code) for code in Locale("en").territories]
    return frozenset(
        code for code in codes if len(code) == 2 and code.isalpha() and code not in _NOT_COUNTRIES
    )


def is_known_country(code: str) -> bool:
    return code in _country_codes()
