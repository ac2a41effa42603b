"""The registry's fixed vocabularies: units, clock starts, route kinds, notice elements."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import timedelta
from types import MappingProxyType
from typing import Final, Literal, get_args

Unit = Literal["hours", "days", "months", "business_days"]
ClockStart = Literal[
    "platform_receipt",
    "regulator_notice",
    "decision_notified",
    "request",
    # When the person entitled to make a Strafantrag learns of the act and of the offender.
    "knowledge_of_act_and_offender",
]
RouteKind = Literal[
    "platform_notice",
    "internal_complaint",
    "regulator_complaint",
    "data_erasure",
    "police_report",
    "preservation_request",
    "minor_report",
    "data_access",
    "dispute_settlement",
]
Category = Literal["nude_sexual", "revealing_attire", "minor"]
AddresseeSelect = Literal["dsc_by_victim_country", "per_case"]
DeadlineKind = Literal["fixed", "staged", "none"]
# How a period in days or months is counted where the law says so: EU acts by Regulation
# (EEC, Euratom) No 1182/71 (the day of the event does not count; a period ends as its
# last day ends, moved to the next working day from a weekend or public holiday).
CountingRule = Literal["eu_1182_71"]
ChannelKind = Literal["electronic", "postal", "email", "phone", "website"]
# When an earlier notice allows the route that follows it: once sent, once the addressee
# decided (a reply is on file), once the earlier route's own deadline has passed, or either.
FollowCondition = Literal["sent", "decision", "deadline", "decision_or_deadline"]
# A fraction of the window (0.5 = half-way) or a fixed offset before the due time.
ReminderAt = float | timedelta

UNITS: Final[tuple[str, ...]] = get_args(Unit)
CLOCK_STARTS: Final[tuple[str, ...]] = get_args(ClockStart)
ROUTE_KINDS: Final[tuple[str, ...]] = get_args(RouteKind)
CATEGORIES: Final[tuple[str, ...]] = get_args(Category)
FOLLOW_CONDITIONS: Final[tuple[str, ...]] = get_args(FollowCondition)
DEFAULT_REMINDERS: Final[tuple[ReminderAt, ...]] = (0.5, 0.9, timedelta(hours=2))

# The fixed vocabulary for what a valid notice must (or should) contain. The completeness
# checks and the letter templates key on these names, so a new element is added here first.
REQUIRED_ELEMENTS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "signature": "Physical or electronic signature of the person or their authorised "
        "representative",
        "identification_of_content": "Identification of the image or post concerned",
        "location_urls": "Exact location of the content (post URLs) or information reasonably "
        "sufficient to locate it",
        "good_faith_non_consent_statement": "Good-faith statement that the depiction is not "
        "consensual, with supporting information",
        "contact_information": "Contact information of the person reporting",
        "substantiated_explanation": "Substantiated explanation of why the content is illegal",
        "bona_fide_statement": "Statement of bona fide belief that the notice is accurate and "
        "complete",
        "statement_subject_or_representative": "Statement that the reporter is the person "
        "depicted or acts on their behalf",
        "intimate_image_declaration": "Declaration that the content is intimate image content",
        "accuracy_under_penalty_of_perjury": "Statement under penalty of perjury that the notice "
        "is accurate and the sender is authorised",
        "copyrighted_work_identified": "Identification of the copyrighted work (the original "
        "photo)",
        "good_faith_unauthorised_use_statement": "Good-faith statement that the use is not "
        "authorised by the copyright owner",
        "supporting_evidence": "Evidence of the violation (screenshots, hashes, URLs, dates)",
        "copy_of_platform_report": "Copy of the report made to the platform",
        "copy_of_platform_decision": "Copy of the platform's decision or reply",
        "preservation_scope": "The accounts, posts and data to be preserved",
        # Facts about the reporter a law makes a condition; printed only once confirmed.
        "reporter_california_resident": "Statement that the reporter resides in California",
        "reporter_x_account": "Statement that the reporter holds an account on X",
        # What a criminal complaint states, written in by the caseworker; never filled in.
        "complainant_identity": "Identity of the complainant (names, date and place of birth, "
        "address)",
        "facts_dates_places": "Dates and places of the facts",
        "harm_suffered": "The harm the person suffered",
        # For a minor, the legal representatives (parents) file and sign; met for an adult.
        "signed_by_legal_representatives": "For a minor, signature by the legal "
        "representatives (parents)",
        "reporter_is_depicted_person": "Statement that the reporter is the person depicted and "
        "did not consent to the use of their likeness",
        # The name of the person depicted, which the letter prints only once recorded.
        "depicted_person_identified": "Identification of the person depicted (their name)",
    }
)

# Only units that are exact in time: years and months are ambiguous as offsets before a due time.
_DURATION_RE: Final = re.compile(
    r"^P(?:(?P<weeks>\d+)W|(?P<days>\d+)D)?"
    r"(?:T(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+)S)?)?$"
)


def parse_iso_duration(text: str) -> timedelta:
    """Parse an ISO-8601 duration made of weeks, days, hours, minutes and seconds ("PT2H")."""
    match = _DURATION_RE.match(text)
    if match is None or text in ("P", "PT") or text.endswith("T"):
        raise ValueError(f"{text!r} is not an ISO-8601 duration such as 'PT2H' or 'P1D'")
    parts = {name: int(value) for name, value in match.groupdict().items() if value is not None}
    return timedelta(**parts)
