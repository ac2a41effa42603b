"""The registry as the app uses it: frozen records of routes, deadlines, contacts and services."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from types import MappingProxyType
from typing import TypeVar

from casework.registry.vocabulary import (
    AddresseeSelect,
    Category,
    ChannelKind,
    ClockStart,
    CountingRule,
    DeadlineKind,
    FollowCondition,
    ReminderAt,
    RouteKind,
    Unit,
)


@dataclass(frozen=True)
class Provenance:
    """Where one fact comes from: the pages it was checked against, and on which day."""

    sources: tuple[str, ...]
    checked: date


@dataclass(frozen=True)
class Channel:
    """One way to reach an addressee (form, postal address, email, phone, website)."""

    kind: ChannelKind
    value: str
    verified: bool
    note: str | None = None


@dataclass(frozen=True)
class Addressee:
    """Who receives a notice; channels are listed only where a source gives them."""

    name: str
    verified: bool
    select: AddresseeSelect | None = None
    channels: tuple[Channel, ...] = ()
    country: str | None = None
    note: str | None = None
    provenance: Provenance | None = None
    # The language the addressee takes letters in, where the registry records one (a
    # Digital Services Coordinator); a route with a template in it writes in that language.
    language: str | None = None

    def channel(self, kind: ChannelKind) -> Channel | None:
        return next((c for c in self.channels if c.kind == kind), None)


@dataclass(frozen=True)
class Extension:
    amount: int
    unit: Unit
    condition: str
    verified: bool


@dataclass(frozen=True)
class SupersededRule:
    """An earlier version of a deadline, applicable to requests received before `until`."""

    amount: int
    unit: Unit
    until: date
    verified: bool
    basis: str | None = None
    note: str | None = None


@dataclass(frozen=True)
class DeadlineStage:
    """One step of a multi-stage deadline; `after` names the stage whose completion starts it."""

    name: str
    amount: int
    unit: Unit
    clock_starts: ClockStart | None
    verified: bool
    after: str | None = None
    extension: Extension | None = None
    note: str | None = None


@dataclass(frozen=True)
class Counting:
    """A rule for counting periods in days or months, with the public holidays and the
    time zone of the place where the act is to be done (Reg. 1182/71 Art. 2(1))."""

    rule: CountingRule
    holidays: str
    zone: str
    verified: bool
    sources: tuple[str, ...] = ()
    note: str | None = None


@dataclass(frozen=True)
class DeadlineRule:
    """The response deadline of a route: fixed, staged, or explicitly none."""

    kind: DeadlineKind
    verified: bool
    amount: int | None = None
    unit: Unit | None = None
    clock_starts: ClockStart | None = None
    extension: Extension | None = None
    stages: tuple[DeadlineStage, ...] = ()
    superseded: tuple[SupersededRule, ...] = ()
    in_force_from: date | None = None
    basis: str | None = None
    note: str | None = None
    counting: Counting | None = None
    provenance: Provenance | None = None

    @property
    def is_none(self) -> bool:
        return self.kind == "none"


@dataclass(frozen=True)
class FilingWindow:
    """How long the victim has to file this route (e.g. an appeal), not a platform deadline."""

    amount: int
    unit: Unit
    clock_starts: ClockStart
    verified: bool
    note: str | None = None


# Anything with an amount and a unit that compute_due() can turn into a due time.
Period = DeadlineRule | DeadlineStage | SupersededRule | FilingWindow


@dataclass(frozen=True)
class EscalationStep:
    route: str | None
    body: str | None
    verified: bool
    note: str | None = None


@dataclass(frozen=True)
class FollowedStep:
    """An earlier route whose notice this route refers to, and when it may follow it."""

    route: str
    after: FollowCondition


@dataclass(frozen=True)
class Follows:
    """The earlier steps a route escalates or complains about.

    A letter refers to an earlier notice only if one under these routes is on file, sent,
    and its condition is met; when `required`, the letter cannot be final without one.
    """

    required: bool
    steps: tuple[FollowedStep, ...]

    @property
    def routes(self) -> tuple[str, ...]:
        return tuple(step.route for step in self.steps)

    def step(self, route_key: str) -> FollowedStep | None:
        return next((s for s in self.steps if s.route == route_key), None)


@dataclass(frozen=True)
class Route:
    """One legal route: a notice, complaint or request under one legal basis."""

    key: str
    jurisdiction: str
    kind: RouteKind
    title: Mapping[str, str] = field(hash=False)
    language: str
    citation: str
    verified: bool
    last_checked: date
    sources: tuple[str, ...]
    covers: tuple[Category, ...]
    addressee: Addressee
    deadline: DeadlineRule
    required_elements: tuple[str, ...]
    templates: tuple[str, ...]
    reminders: tuple[ReminderAt, ...]
    may_cover: tuple[Category, ...] = ()
    minor_citation: str | None = None
    eligibility: tuple[str, ...] = ()
    # A product choice for routes without a legal deadline, never presented as the law's.
    follow_up_days: int | None = None
    filing_window: FilingWindow | None = None
    escalation: EscalationStep | None = None
    follows: Follows | None = None
    recommended_elements: tuple[str, ...] = ()
    alternatives: Mapping[Category, tuple[str, ...]] = field(
        default_factory=lambda: MappingProxyType({}), hash=False
    )
    warnings: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    # Staff texts in other languages: {"fr": {"warnings": (...), "eligibility": (...)}}.
    translated: Mapping[str, Mapping[str, tuple[str, ...]]] = field(
        default_factory=lambda: MappingProxyType({}), hash=False
    )
    # The citation is a fact of its own: checked against its sources, verified or not.
    citation_verified: bool = True
    citation_provenance: Provenance | None = None
    # A citation that describes rather than names a law, in other languages; a law's name
    # stays as the law writes it.
    citation_translated: Mapping[str, str] = field(
        default_factory=lambda: MappingProxyType({}), hash=False
    )
    # Templates for letters in other languages than `language`, used when the addressee
    # takes letters in one of them (a coordinator's language, for a complaint under Art. 53).
    language_templates: Mapping[str, str] = field(
        default_factory=lambda: MappingProxyType({}), hash=False
    )

    def title_in(self, language: str) -> str:
        return self.title.get(language) or self.title["en"]

    def citation_in(self, language: str) -> str:
        """The citation for a reader of `language`: translated where it is a description."""
        return self.citation_translated.get(language, self.citation)

    def warnings_in(self, language: str) -> tuple[str, ...]:
        """The warnings for staff in `language`, or in English where none are translated."""
        texts = self.translated.get(language)
        return texts["warnings"] if texts and texts["warnings"] else self.warnings

    def eligibility_in(self, language: str) -> tuple[str, ...]:
        texts = self.translated.get(language)
        return texts["eligibility"] if texts and texts["eligibility"] else self.eligibility

    def letter_language(self, addressee_language: str | None) -> str:
        """The addressee's language where this route has a template in it, else its own."""
        if addressee_language is not None and addressee_language in self.language_templates:
            return addressee_language
        return self.language

    def template_for(self, language: str) -> str:
        """The template that writes this route's letter in `language`."""
        return self.language_templates.get(language, self.templates[0])

    def unverified_facts(self) -> tuple[str, ...]:
        """Paths of the facts this route rests on that nobody has verified yet."""
        found: list[str] = []
        if not self.verified:
            found.append("route")
        if not self.citation_verified:
            found.append("citation")
        found.extend(_unverified_deadline(self.deadline, "deadline"))
        if self.filing_window is not None and not self.filing_window.verified:
            found.append("filing_window")
        if not self.addressee.verified:
            found.append("addressee.name")
        found.extend(f"addressee.{c.kind}" for c in self.addressee.channels if not c.verified)
        if self.escalation is not None and not self.escalation.verified:
            found.append("escalation")
        return tuple(found)

    def provenances(self) -> dict[str, Provenance | None]:
        """The sources of the three facts every letter rests on, None where none is recorded."""
        return {
            "citation": self.citation_provenance,
            "addressee": self.addressee.provenance,
            "deadline": self.deadline.provenance,
        }

    @property
    def oldest_check(self) -> date:
        """The earliest day any of this route's facts was last checked."""
        checks = [p.checked for p in self.provenances().values() if p is not None]
        return min([self.last_checked, *checks])


def _unverified_deadline(rule: DeadlineRule, path: str) -> list[str]:
    found = [path] if not rule.verified else []
    if rule.extension is not None and not rule.extension.verified:
        found.append(f"{path}.extension")
    if rule.counting is not None and not rule.counting.verified:
        found.append(f"{path}.counting")
    for stage in rule.stages:
        if not stage.verified:
            found.append(f"{path}.stages.{stage.name}")
        if stage.extension is not None and not stage.extension.verified:
            found.append(f"{path}.stages.{stage.name}.extension")
    found.extend(
        f"{path}.superseded[{i}]" for i, old in enumerate(rule.superseded) if not old.verified
    )
    return found


@dataclass(frozen=True)
class Shown:
    """A service as the person reporting sees it: its name, its link, and words per language.

    `url` on the service is the address shown as the link's text; English is the fallback.
    """

    name: str
    text: Mapping[str, str] = field(hash=False)
    link: str | None = None
    caveat: Mapping[str, str] | None = field(default=None, hash=False)

    def text_in(self, language: str) -> str:
        return self.text.get(language) or self.text["en"]

    def caveat_in(self, language: str) -> str | None:
        if self.caveat is None:
            return None
        return self.caveat.get(language) or self.caveat["en"]


@dataclass(frozen=True)
class SupportService:
    """A helpline, hotline or reporting service; offered to the person only when `shown`."""

    name: str
    description: str
    verified: bool
    last_checked: date
    sources: tuple[str, ...]
    url: str | None = None
    phone: str | None = None
    email: str | None = None
    note: str | None = None
    # Takes reports from people in any country, wherever its own jurisdiction is.
    worldwide: bool = False
    shown: Shown | None = None


@dataclass(frozen=True)
class ChildProtectionRoute(SupportService):
    """A dedicated route for images of a person under 18."""


S = TypeVar("S", bound=SupportService)


@dataclass(frozen=True)
class Jurisdiction:
    code: str
    name: str
    languages: tuple[str, ...]
    last_checked: date
    sources: tuple[str, ...]
    routes: tuple[Route, ...]
    country: str | None = None
    region: str | None = None
    parent: str | None = None
    minor_routes: tuple[ChildProtectionRoute, ...] = ()
    support: tuple[SupportService, ...] = ()
    digital_services_coordinators: tuple[Addressee, ...] = ()
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Registry:
    """All jurisdictions, indexed; `version` identifies the exact data a letter was made from."""

    jurisdictions: tuple[Jurisdiction, ...]
    version: str
    _by_code: Mapping[str, Jurisdiction] = field(init=False, repr=False, compare=False, hash=False)
    _routes: Mapping[str, Route] = field(init=False, repr=False, compare=False, hash=False)
    _dscs: Mapping[str, Addressee] = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        # The loader refuses duplicate keys; should any slip through, the first one wins.
        routes: dict[str, Route] = {}
        dscs: dict[str, Addressee] = {}
        for j in self.jurisdictions:
            for route in j.routes:
                routes.setdefault(route.key, route)
            for dsc in j.digital_services_coordinators:
                if dsc.country is not None:
                    dscs.setdefault(dsc.country, dsc)
        by_code = {j.code: j for j in self.jurisdictions}
        object.__setattr__(self, "_by_code", MappingProxyType(by_code))
        object.__setattr__(self, "_routes", MappingProxyType(routes))
        object.__setattr__(self, "_dscs", MappingProxyType(dscs))

    @property
    def routes(self) -> tuple[Route, ...]:
        return tuple(self._routes.values())

    def jurisdiction(self, code: str) -> Jurisdiction:
        try:
            return self._by_code[code.lower()]
        except KeyError:
            raise KeyError(f"no jurisdiction {code!r} in the registry") from None

    def route(self, key: str) -> Route:
        try:
            return self._routes[key]
        except KeyError:
            raise KeyError(f"no route {key!r} in the registry") from None

    def routes_for(self, jurisdiction_codes: Iterable[str]) -> tuple[Route, ...]:
        """Routes of these jurisdictions, then of their parents (fr → eu), then `any`, once each.

        An unknown code raises KeyError: silently offering no routes would hide a gap.
        """
        ordered: list[str] = []
        for code in jurisdiction_codes:
            current: Jurisdiction | None = self.jurisdiction(code)
            while current is not None and current.code not in ordered:
                ordered.append(current.code)
                current = self._by_code.get(current.parent) if current.parent else None
        if "any" in self._by_code and "any" not in ordered:
            ordered.append("any")
        return tuple(route for code in ordered for route in self._by_code[code].routes)

    def minor_routes(self, country_code: str) -> tuple[ChildProtectionRoute, ...]:
        """The dedicated routes for minors in a country; empty when none is recorded."""
        country = country_code.upper()
        return tuple(
            route for j in self.jurisdictions if j.country == country for route in j.minor_routes
        )

    def minor_routes_shown(self, country_code: str | None) -> tuple[ChildProtectionRoute, ...]:
        """What a minor's report shows: the country's own routes, then the worldwide ones."""
        return _shown(self.jurisdictions, lambda j: j.minor_routes, country_code)

    def minor_routes_shown_by_country(self) -> Mapping[str, tuple[ChildProtectionRoute, ...]]:
        """Every country's own shown routes, for a person who has not named a country yet."""
        by_country: dict[str, tuple[ChildProtectionRoute, ...]] = {}
        for j in self.jurisdictions:
            own = tuple(r for r in j.minor_routes if r.shown is not None and not r.worldwide)
            if j.country is not None and own:
                by_country[j.country] = (*by_country.get(j.country, ()), *own)
        return MappingProxyType(by_country)

    def support_shown(self, country_code: str | None) -> tuple[SupportService, ...]:
        """Help offered to an adult: the country's own services, then the worldwide ones."""
        return _shown(self.jurisdictions, lambda j: j.support, country_code)

    def dsc(self, country_code: str) -> Addressee | None:
        """The Digital Services Coordinator of an EU member state, if recorded."""
        return self._dscs.get(country_code.upper())

    def templates(self) -> tuple[str, ...]:
        return tuple(
            sorted(
                {
                    t
                    for r in self._routes.values()
                    for t in (*r.templates, *r.language_templates.values())
                }
            )
        )

    def missing_templates(self, templates_dir: Path) -> tuple[str, ...]:
        """Template names the registry uses that do not exist yet under `templates_dir`."""
        return tuple(t for t in self.templates() if not (templates_dir / t).is_file())


def _shown(
    jurisdictions: Iterable[Jurisdiction],
    services_of: Callable[[Jurisdiction], tuple[S, ...]],
    country_code: str | None,
) -> tuple[S, ...]:
    country = (country_code or "").upper()
    everywhere = [
        s for j in jurisdictions for s in services_of(j) if s.shown is not None and s.worldwide
    ]
    own = [
        s
        for j in jurisdictions
        if j.country is not None and j.country == country
        for s in services_of(j)
        if s.shown is not None and not s.worldwide
    ]
    return (*own, *everywhere)


def iter_periods(registry: Registry) -> Iterator[tuple[str, Period]]:
    """Every computable period in the registry with a path naming it (for tests and audits)."""
    for route in registry.routes:
        rule = route.deadline
        if rule.kind == "fixed":
            yield f"{route.key}.deadline", rule
            for i, old in enumerate(rule.superseded):
                yield f"{route.key}.deadline.superseded[{i}]", old
        for stage in rule.stages:
            yield f"{route.key}.deadline.stages.{stage.name}", stage
        if route.filing_window is not None:
            yield f"{route.key}.filing_window", route.filing_window
