"""What a valid notice must contain, and which items a route's legal definition covers."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final, Literal

from flask_babel import lazy_gettext as _l

from casework.registry import REQUIRED_ELEMENTS, Registry, Route

__all__ = [
    "CAPACITIES",
    "COVERED_POST",
    "EARLIER_STEP",
    "ELEMENT_LABELS",
    "IN_LETTER",
    "STATEMENT_ELEMENTS",
    "TEXT_ELEMENTS",
    "MissingElement",
    "NoticeFacts",
    "ScopeFlag",
    "Verdict",
    "in_letter",
    "is_present",
    "item_coverage",
    "missing_for",
    "scope_flags",
    "verdict",
]

# Elements the signatory confirms with a tick: the letter prints them only once confirmed.
STATEMENT_ELEMENTS: Final = (
    "good_faith_non_consent_statement",
    "bona_fide_statement",
    "intimate_image_declaration",
    "accuracy_under_penalty_of_perjury",
    "good_faith_unauthorised_use_statement",
    "reporter_california_resident",
    "reporter_x_account",
    "reporter_is_depicted_person",
)
CAPACITIES: Final = ("subject", "representative", "legal_representative")
# Elements the caseworker writes in, one text each, kept in the notice's `particulars`.
TEXT_ELEMENTS: Final = ("complainant_identity", "facts_dates_places", "harm_suffered")
# A product check, not a legal element: a letter needs someone to go to.
ADDRESSEE: Final = "addressee"
# For a route that follows an earlier step: that notice is on file, sent as a letter we
# hold, and its waiting time is over (the registry's `follows`).
EARLIER_STEP: Final = "earlier_step"
# A product check too: a letter lists only the posts its route's law covers, so a letter
# whose posts all fall outside that law (or are not classified yet) asks for nothing.
COVERED_POST: Final = "covered_post"

ELEMENT_LABELS: Final[Mapping[str, object]] = {
    "signature": _l("Signature of the person depicted or their authorised representative"),
    "identification_of_content": _l("Identification of the images or posts"),
    "location_urls": _l("Where the content is: the post links"),
    "good_faith_non_consent_statement": _l(
        "Good-faith statement that the depiction is not consensual"
    ),
    "contact_information": _l("Contact information for the reply"),
    "substantiated_explanation": _l("Explanation of why the content is illegal"),
    "bona_fide_statement": _l("Statement that the notice is accurate and complete"),
    "statement_subject_or_representative": _l(
        "Whether the signatory is the person depicted or acts for them"
    ),
    "intimate_image_declaration": _l("Declaration that the content is intimate image content"),
    "accuracy_under_penalty_of_perjury": _l(
        "Statement under penalty of perjury that the notice is accurate and authorised"
    ),
    "copyrighted_work_identified": _l("The copyrighted work (the original photo)"),
    "good_faith_unauthorised_use_statement": _l(
        "Good-faith statement that the use is not authorised"
    ),
    "supporting_evidence": _l("Supporting evidence (an evidence file, or links for a minor)"),
    "copy_of_platform_report": _l("A copy of the earlier report to the platform"),
    "copy_of_platform_decision": _l("A copy of the platform's decision or reply"),
    "preservation_scope": _l("What is to be preserved: the posts and accounts"),
    "reporter_california_resident": _l("Statement that the reporter resides in California"),
    "reporter_x_account": _l("Statement that the reporter holds an account on X"),
    "complainant_identity": _l(
        "Identity of the complainant (names, date and place of birth, address)"
    ),
    "facts_dates_places": _l("Dates and places of the facts"),
    "harm_suffered": _l("The harm the person suffered"),
    "signed_by_legal_representatives": _l(
        "For a minor: signed by the parents as legal representatives"
    ),
    "reporter_is_depicted_person": _l(
        "Statement that the reporter is the person depicted and did not consent"
    ),
    "depicted_person_identified": _l("The name of the person depicted"),
    ADDRESSEE: _l("The addressee"),
    EARLIER_STEP: _l(
        "The earlier notice this letter follows: recorded as sent with its letter, "
        "and its waiting time over"
    ),
    COVERED_POST: _l("A post the route's law covers"),
}
# Elements about the posts a letter lists: with no covered post, COVERED_POST names the
# one cause and these are not listed again.
POST_ELEMENTS: Final = frozenset(
    {"identification_of_content", "location_urls", "supporting_evidence", "preservation_scope"}
)


@dataclass(frozen=True)
class NoticeFacts:
    """What a notice (or a draft letter without one) says, as plain values.

    `item_count` counts the posts the letter lists: those the route's law covers or may
    cover. `left_out` counts the posts chosen for it that the law does not cover (or that
    are not classified yet), which the letter leaves out.
    """

    item_count: int
    items_with_urls: int
    left_out: int = 0
    signature_name: str | None = None
    signed_at: datetime | None = None
    capacity: str | None = None
    contact: str | None = None
    statements: frozenset[str] = frozenset()
    explanation: str | None = None
    copyrighted_work: str | None = None
    particulars: Mapping[str, str] = field(default_factory=dict)
    depicted_person: str | None = None
    evidence_files: int = 0
    minor: bool = False
    related_sent: bool = False
    related_decided: bool = False
    addressee_known: bool = True
    earlier_step: bool = False


@dataclass(frozen=True)
class MissingElement:
    """An element a notice lacks; `law` is the route's citation, for a label that names it."""

    code: str
    law: str | None = None

    @property
    def label(self) -> str:
        if self.code == COVERED_POST and self.law:
            return str(_l("No post in this letter is covered by %(law)s", law=self.law))
        return str(ELEMENT_LABELS.get(self.code, REQUIRED_ELEMENTS.get(self.code, self.code)))

    def __str__(self) -> str:
        return self.label


def _filled(text: str | None) -> bool:
    return bool(text and text.strip())


def is_present(element: str, facts: NoticeFacts) -> bool:
    """Whether the notice contains this element of the registry's vocabulary."""
    has_items = facts.item_count > 0
    checks = {
        "signature": _filled(facts.signature_name) and facts.signed_at is not None,
        "identification_of_content": has_items,
        "location_urls": has_items and facts.items_with_urls == facts.item_count,
        "contact_information": _filled(facts.contact),
        "substantiated_explanation": _filled(facts.explanation),
        "statement_subject_or_representative": facts.capacity in CAPACITIES,
        "copyrighted_work_identified": _filled(facts.copyrighted_work),
        "depicted_person_identified": _filled(facts.depicted_person),
        # No image of a minor is ever stored, so for them the links and times are the evidence.
        "supporting_evidence": facts.evidence_files > 0 or (facts.minor and has_items),
        "copy_of_platform_report": facts.related_sent,
        "copy_of_platform_decision": facts.related_decided,
        "preservation_scope": has_items,
        # An adult signs for themselves; a minor's complaint is signed by their parents.
        "signed_by_legal_representatives": not facts.minor
        or facts.capacity == "legal_representative",
        ADDRESSEE: facts.addressee_known,
        EARLIER_STEP: facts.earlier_step,
        COVERED_POST: has_items or facts.left_out == 0,
    }
    if element == "reporter_is_depicted_person":
        # Only the person depicted can say this of themselves: never when a representative signs.
        return element in facts.statements and facts.capacity != "representative"
    if element in STATEMENT_ELEMENTS:
        return element in facts.statements
    if element in TEXT_ELEMENTS:
        return _filled(facts.particulars.get(element))
    try:
        return checks[element]
    except KeyError:
        raise ValueError(f"unknown notice element {element!r}") from None


def missing_for(route: Route, facts: NoticeFacts) -> list[MissingElement]:
    """The route's required elements the notice lacks, in the registry's order.

    When posts were chosen but the law covers none of them, the one thing missing about
    the posts is a covered post (COVERED_POST, first): the elements about the posts the
    letter would list follow from it and are not named as well.
    """
    needed = [*route.required_elements]
    if facts.item_count == 0 and facts.left_out > 0:
        needed = [COVERED_POST, *(code for code in needed if code not in POST_ELEMENTS)]
    elif facts.item_count == 0 and "location_urls" not in needed:
        # Whatever the law lists, a notice about nothing is not a notice.
        needed.insert(0, "location_urls")
    if "signature" not in needed:
        # Every letter ends with its signature block, empty until someone signs: unsigned,
        # it is a draft, so a notice is not complete without a signature either.
        needed.append("signature")
    needed.append(ADDRESSEE)
    if route.follows is not None and route.follows.required:
        needed.append(EARLIER_STEP)
    return [
        MissingElement(code, law=route.citation) for code in needed if not is_present(code, facts)
    ]


Verdict = Literal["covered", "grey_zone", "outside", "unclassified"]
# What a letter lists. A grey zone stays in: `may_cover` means the law may cover the post,
# and whether it does is the lawyer's call, so the screens flag it and the letter keeps it.
# A post outside the definition, or not classified yet, is left out until that changes.
IN_LETTER: Final[frozenset[Verdict]] = frozenset({"covered", "grey_zone"})


def verdict(route: Route, category: str) -> Verdict:
    """Whether the route's legal definition covers a post of this category.

    "covered" when the route lists it under `covers`; "grey_zone" under `may_cover`;
    "unclassified" for a post nobody has classified yet (category "unknown"), which no
    definition covers until it is; "outside" otherwise (a revealing-attire image of an
    adult under a law that covers only nudity or sexual conduct).
    """
    if category in route.covers:
        return "covered"
    if category == "unknown":
        return "unclassified"
    if category in route.may_cover:
        return "grey_zone"
    return "outside"


def in_letter(route: Route, category: str) -> bool:
    """Whether a letter under the route lists a post of this category (see IN_LETTER)."""
    return verdict(route, category) in IN_LETTER


@dataclass(frozen=True)
class ScopeFlag:
    """How the route's legal definition treats one item, with the routes to turn to instead."""

    item_id: int
    category: str
    verdict: Verdict
    alternatives: tuple[str, ...] = ()

    @property
    def in_letter(self) -> bool:
        return self.verdict in IN_LETTER


def _alternatives(
    route: Route, category: str, registry: Registry, jurisdiction_codes: Iterable[str]
) -> tuple[str, ...]:
    listed = route.alternatives.get(category)  # type: ignore[call-overload]
    if listed:
        return tuple(listed)
    try:
        candidates = registry.routes_for(jurisdiction_codes)
    except KeyError:
        candidates = registry.routes
    return tuple(r.key for r in candidates if r.key != route.key and category in r.covers)


def item_coverage(
    route: Route,
    items: Iterable[tuple[int, str]],
    registry: Registry,
    jurisdiction_codes: Iterable[str] = (),
) -> list[ScopeFlag]:
    """The verdict on every item (id, category), in order, with alternative routes.

    An item the route does not simply cover (a grey zone or outside) comes with the routes
    to turn to: the route's own `alternatives` for the category when the registry lists
    them, otherwise the routes of the case's jurisdictions that cover it. An unclassified
    item has none: what covers it depends on what it shows.
    """
    codes = tuple(jurisdiction_codes)
    flags: list[ScopeFlag] = []
    for item_id, category in items:
        found = verdict(route, category)
        alternatives: tuple[str, ...] = ()
        if found in ("grey_zone", "outside"):
            alternatives = _alternatives(route, category, registry, codes)
        flags.append(ScopeFlag(item_id, category, found, alternatives))
    return flags


def scope_flags(
    route: Route,
    items: Iterable[tuple[int, str]],
    registry: Registry,
    jurisdiction_codes: Iterable[str] = (),
) -> list[ScopeFlag]:
    """The items (id, category) the route's definition does not simply cover, flagged."""
    return [
        flag
        for flag in item_coverage(route, items, registry, jurisdiction_codes)
        if flag.verdict != "covered"
    ]
