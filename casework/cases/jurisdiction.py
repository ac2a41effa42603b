"""Which jurisdictions' law applies to a case: where the subject lives, where X is established."""

from __future__ import annotations

EU_MEMBER_STATES = frozenset(
    {
        "AT",
        "BE",
        "BG",
        "HR",
        "CY",
        "CZ",
        "DK",
        "EE",
        "FI",
        "FR",
        "DE",
        "GR",
        "HU",
        "IE",
        "IT",
        "LV",
        "LT",
        "LU",
        "MT",
        "NL",
        "PL",
        "PT",
        "RO",
        "SK",
        "SI",
        "ES",
        "SE",
    }
)

# Countries with a registry file of their own besides the EU's.
NATIONAL_REGISTRIES = frozenset({"US", "GB", "FR", "IE", "DE", "AU", "IN", "MY", "ID"})

# Sub-regions whose own law differs from the national one.
REGIONAL_REGISTRIES = frozenset({"US-CA"})


def jurisdictions_for(country: str | None, region: str | None) -> list[tuple[str, str]]:
    """(code, basis) pairs: the subject's country and region, then the platform's establishment.

    X Corp is established in the United States; for people in the EU its EU
    entity is established in Ireland, so Irish and EU law apply to the platform.
    """
    result: list[tuple[str, str]] = []

    def add(code: str, basis: str) -> None:
        if all(existing != code for existing, _ in result):
            result.append((code, basis))

    country = (country or "").upper() or None
    if country:
        if country in NATIONAL_REGISTRIES:
            add(country, "subject")
        if region and f"{country}-{region.upper()}" in REGIONAL_REGISTRIES:
            add(f"{country}-{region.upper()}", "subject")
        if country in EU_MEMBER_STATES:
            add("EU", "subject")
            add("IE", "platform")
    add("US", "platform")
    return result
