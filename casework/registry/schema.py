"""What a registry file may say, as pydantic models: strict types, fixed vocabularies, no
unknown keys. Each model mirrors one TOML table and turns into the records of `model`.

A check whose message is ours raises `invalid(message, *at)`: `at` continues the field path
below the value being checked, so every message still names the exact field. Checks across
records (route keys named elsewhere, parents, coordinators) are in `checks`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import replace
from datetime import date, timedelta
from types import MappingProxyType
from typing import Annotated, Any, Final, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    PlainValidator,
    Tag,
    ValidationInfo,
    model_validator,
)
from pydantic_core import PydanticCustomError

from casework.registry.model import (
    Addressee,
    Channel,
    ChildProtectionRoute,
    Counting,
    DeadlineRule,
    DeadlineStage,
    EscalationStep,
    Extension,
    FilingWindow,
    FollowedStep,
    Follows,
    Jurisdiction,
    Provenance,
    Route,
    Shown,
    SupersededRule,
    SupportService,
)
from casework.registry.vocabulary import (
    DEFAULT_REMINDERS,
    REQUIRED_ELEMENTS,
    AddresseeSelect,
    Category,
    ChannelKind,
    ClockStart,
    CountingRule,
    FollowCondition,
    ReminderAt,
    RouteKind,
    Unit,
    parse_iso_duration,
)

# Registry facts can't have been checked before the project existed or after today.
EARLIEST_CHECK: Final = date(2020, 1, 1)
# The error type of our own checks; the message is ours and ctx["at"] extends the path.
INVALID: Final = "registry"


S = TypeVar("S", bound=SupportService)


def invalid(message: str, *at: str | int) -> PydanticCustomError:
    return PydanticCustomError(INVALID, "{message}", {"message": message, "at": at})


def describe(value: object) -> str:
    return f"{type(value).__name__} {value!r}"


# --- value types --------------------------------------------------------------------------


def _not_blank(value: str) -> str:
    if not value.strip():
        raise invalid("must not be empty")
    return value


def _matching(pattern: str, message: str, max_length: int | None = None) -> AfterValidator:
    """A string check against `pattern`; `message` may name the value as {value!r}."""
    regex = re.compile(pattern)

    def check(value: str) -> str:
        if not regex.match(value) or (max_length is not None and len(value) > max_length):
            raise invalid(message.format(value=value))
        return value

    return AfterValidator(check)


def _one_of(options: Iterable[str]) -> AfterValidator:
    allowed = tuple(options)

    def check(value: str) -> str:
        if value not in allowed:
            raise invalid(f"{value!r} is not one of {', '.join(allowed)}")
        return value

    return AfterValidator(check)


def _web_address(value: str) -> str:
    if " " in value or value.startswith("http://"):
        raise invalid(f"{value!r} is not a web address (https only, no spaces)")
    return value


def _unique(items: list[str]) -> list[str]:
    seen: set[str] = set()
    for i, item in enumerate(items):
        if item in seen:
            raise invalid(f"{item!r} is listed twice", i)
        seen.add(item)
    return items


def _plausible_check(value: date) -> date:
    if value < EARLIEST_CHECK or value > date.today():
        raise invalid(f"{value.isoformat()} is not a plausible check date")
    return value


def _reminder(value: Any) -> ReminderAt:
    # bool is not a float, and a TOML integer is not a fraction: 1 would be the due time.
    if isinstance(value, float) and 0.0 < value < 1.0:
        return value
    if isinstance(value, str):
        try:
            offset = parse_iso_duration(value)
        except ValueError as exc:
            raise invalid(str(exc)) from None
        if offset <= timedelta(0):
            raise invalid("an offset before the due time must be positive")
        return offset
    raise invalid(f"expected a fraction between 0 and 1 or a duration, got {describe(value)}")


Text = Annotated[str, AfterValidator(_not_blank)]
Count = Annotated[int, Field(ge=1)]
CheckDate = Annotated[date, AfterValidator(_plausible_check)]
JurisdictionCode = Annotated[
    Text,
    _matching(
        r"^(any|[a-z]{2}(-[a-z0-9]{1,3})?)$",
        "{value!r} is not a jurisdiction code like 'fr' or 'us-ca'",
    ),
]
CountryCode = Annotated[
    Text, _matching(r"^[A-Z]{2}$", "{value!r} is not a two-letter country code")
]


def _known_holidays(value: str) -> str:
    if value not in holidays.list_supported_countries():
        raise invalid(f"{value!r}: no public holidays are known for this country")
    return value


def _known_zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise invalid(f"{value!r} is not an IANA time zone like 'Europe/Dublin'") from None
    return value


HolidayCountry = Annotated[CountryCode, AfterValidator(_known_holidays)]
ZoneName = Annotated[Text, AfterValidator(_known_zone)]
LanguageCode = Annotated[
    Text, _matching(r"^[a-z]{2}$", "{value!r} is not a two-letter language code")
]
RouteKey = Annotated[
    Text,
    _matching(
        r"^[a-z0-9-]+(\.[a-z0-9_]+)+$",
        "{value!r} is not a route key like 'us.tida.removal'",
        max_length=80,
    ),
]
StageName = Annotated[
    Text,
    _matching(r"^[a-z][a-z0-9_]*$", "{value!r} must be a short snake_case name", max_length=40),
]
TemplateName = Annotated[
    Text,
    _matching(
        r"^[a-z0-9-]+(/[a-z0-9_-]+)+\.html$",
        "{value!r} is not a template path like 'us/tida_removal.html'",
    ),
]
EmailAddress = Annotated[
    Text,
    _matching(r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$", "{value!r} is not an email address"),
]
WebAddress = Annotated[Text, AfterValidator(_web_address)]
Element = Annotated[Text, _one_of(REQUIRED_ELEMENTS)]
Reminder = Annotated[ReminderAt, PlainValidator(_reminder)]

SourceUrl = Annotated[
    Text,
    _matching(
        r"^https://\S+( \(secondary\))?$",
        "{value!r} is not a source link: https://…, optionally followed by ' (secondary)'",
    ),
]
SourceUrls = Annotated[list[SourceUrl], Field(min_length=1), AfterValidator(_unique)]

TextList = Annotated[list[Text], AfterValidator(_unique)]
Sources = Annotated[list[Text], Field(min_length=1), AfterValidator(_unique)]
Languages = Annotated[list[LanguageCode], Field(min_length=1), AfterValidator(_unique)]
Categories = Annotated[list[Category], AfterValidator(_unique)]
Elements = Annotated[list[Element], AfterValidator(_unique)]
Templates = Annotated[list[TemplateName], Field(min_length=1), AfterValidator(_unique)]
RouteKeys = Annotated[list[RouteKey], Field(min_length=1), AfterValidator(_unique)]


class Table(BaseModel):
    """One TOML table: values of exactly the declared types, and no key it does not declare."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


class SourcedTable(Table):
    """A fact recorded with the pages it was checked against (`sources`, links) and the day
    of that check (`checked`): both or neither."""

    sources: SourceUrls | None = None
    checked: CheckDate | None = None

    @model_validator(mode="after")
    def _sources_with_date(self) -> SourcedTable:
        if self.sources is not None and self.checked is None:
            raise invalid("required with sources: the day they were checked", "checked")
        if self.checked is not None and self.sources is None:
            raise invalid("required with checked: the pages checked", "sources")
        return self

    def provenance(self) -> Provenance | None:
        if self.sources is None or self.checked is None:
            return None
        return Provenance(sources=tuple(self.sources), checked=self.checked)


class CitationTable(SourcedTable):
    """`citation = { text = "…", verified = …, checked = …, sources = […] }`."""

    text: Text
    verified: bool
    # Where the "citation" describes rather than names a law: its words in other languages.
    translated: dict[LanguageCode, Text] = {}


# --- addressees and contacts --------------------------------------------------------------


class ChannelTable(Table):
    value: Text
    verified: bool
    note: Text | None = None


class EmailChannelTable(ChannelTable):
    value: EmailAddress


class WebChannelTable(ChannelTable):
    value: WebAddress


class AddresseeTable(SourcedTable):
    name: Text
    verified: bool
    select: AddresseeSelect | None = None
    country: CountryCode | None = None
    note: Text | None = None
    electronic: WebChannelTable | None = None
    postal: ChannelTable | None = None
    email: EmailChannelTable | None = None
    phone: ChannelTable | None = None
    website: WebChannelTable | None = None

    def to_model(self) -> Addressee:
        by_kind: tuple[tuple[ChannelKind, ChannelTable | None], ...] = (
            ("electronic", self.electronic),
            ("postal", self.postal),
            ("email", self.email),
            ("phone", self.phone),
            ("website", self.website),
        )
        channels = [
            Channel(kind=kind, value=table.value, verified=table.verified, note=table.note)
            for kind, table in by_kind
            if table is not None
        ]
        return Addressee(
            name=self.name,
            verified=self.verified,
            select=self.select,
            channels=tuple(channels),
            country=self.country,
            note=self.note,
            provenance=self.provenance(),
        )


class CoordinatorTable(AddresseeTable):
    """A member state's Digital Services Coordinator, found by its country, and the
    language it takes complaints in (the language of a letter to it, where the route has a
    template in that language)."""

    country: CountryCode
    language: LanguageCode

    def to_model(self) -> Addressee:
        return replace(super().to_model(), language=self.language)


# --- deadlines ----------------------------------------------------------------------------


class ExtensionTable(Table):
    amount: Count
    unit: Unit
    condition: Text
    verified: bool

    def to_model(self) -> Extension:
        return Extension(
            amount=self.amount, unit=self.unit, condition=self.condition, verified=self.verified
        )


class SupersededTable(Table):
    amount: Count
    unit: Unit
    until: date
    verified: bool
    basis: Text | None = None
    note: Text | None = None

    def to_model(self) -> SupersededRule:
        return SupersededRule(
            amount=self.amount,
            unit=self.unit,
            until=self.until,
            verified=self.verified,
            basis=self.basis,
            note=self.note,
        )


class StageTable(Table):
    name: StageName
    amount: Count
    unit: Unit
    verified: bool
    after: Text | None = None
    clock_starts: ClockStart | None = None
    extension: ExtensionTable | None = None
    note: Text | None = None

    @model_validator(mode="after")
    def _one_start(self) -> StageTable:
        if self.after is not None and self.clock_starts is not None:
            raise invalid(
                "a stage that runs `after` another has no own clock start", "clock_starts"
            )
        return self

    def to_model(self, deadline_clock: ClockStart) -> DeadlineStage:
        return DeadlineStage(
            name=self.name,
            amount=self.amount,
            unit=self.unit,
            clock_starts=None if self.after is not None else self.clock_starts or deadline_clock,
            verified=self.verified,
            after=self.after,
            extension=self.extension.to_model() if self.extension else None,
            note=self.note,
        )


def _only_none(value: str) -> str:
    if value != "none":
        raise invalid(f'{value!r}: a string deadline can only be "none"')
    return value


def _true(value: bool) -> bool:
    if value is not True:
        raise invalid("must be true (or remove the key)")
    return value


class NoDeadlineTable(SourcedTable):
    """The table form of "none", so that an unverified "no fixed deadline" can say so."""

    none: Annotated[bool, AfterValidator(_true)]
    verified: bool
    note: Text | None = None

    def to_model(self) -> DeadlineRule:
        return DeadlineRule(
            kind="none", verified=self.verified, note=self.note, provenance=self.provenance()
        )


class StagedDeadlineTable(SourcedTable):
    clock_starts: ClockStart
    verified: bool
    stages: list[StageTable]
    basis: Text | None = None
    note: Text | None = None

    @model_validator(mode="after")
    def _stages_in_order(self) -> StagedDeadlineTable:
        if len(self.stages) < 2:
            raise invalid("a staged deadline needs at least two stages", "stages")
        earlier: list[str] = []
        for i, stage in enumerate(self.stages):
            if stage.name in earlier:
                raise invalid(f"stage {stage.name!r} is listed twice", "stages", i, "name")
            if stage.after is not None and stage.after not in earlier:
                raise invalid(
                    f"{stage.after!r} is not an earlier stage ({', '.join(earlier) or 'none'})",
                    "stages",
                    i,
                    "after",
                )
            earlier.append(stage.name)
        return self

    def to_model(self) -> DeadlineRule:
        return DeadlineRule(
            kind="staged",
            verified=self.verified,
            clock_starts=self.clock_starts,
            stages=tuple(stage.to_model(self.clock_starts) for stage in self.stages),
            basis=self.basis,
            note=self.note,
            provenance=self.provenance(),
        )


class CountingTable(Table):
    """How the period is counted: `rule = "eu_1182_71"`, the public holidays and time zone
    of the place where the act is to be done (`holidays = "IE"`, `zone = "Europe/Dublin"`)."""

    rule: CountingRule
    holidays: HolidayCountry
    zone: ZoneName
    verified: bool
    sources: TextList
    note: Text | None = None

    def to_model(self) -> Counting:
        return Counting(
            rule=self.rule,
            holidays=self.holidays,
            zone=self.zone,
            verified=self.verified,
            sources=tuple(self.sources),
            note=self.note,
        )


class FixedDeadlineTable(SourcedTable):
    clock_starts: ClockStart
    verified: bool
    amount: Count
    unit: Unit
    counting: CountingTable | None = None
    extension: ExtensionTable | None = None
    superseded: list[SupersededTable] = []
    in_force_from: date | None = None
    basis: Text | None = None
    note: Text | None = None

    @model_validator(mode="after")
    def _counted_in_days_or_months(self) -> FixedDeadlineTable:
        units = {self.unit} | ({self.extension.unit} if self.extension else set())
        if self.counting is not None and not units <= {"days", "months"}:
            raise invalid("a counting rule applies to periods in days or months", "counting")
        return self

    @model_validator(mode="after")
    def _superseded_in_order(self) -> FixedDeadlineTable:
        if not self.superseded:
            return self
        if self.in_force_from is None:
            raise invalid("required when earlier rules are listed as superseded", "in_force_from")
        untils = [old.until for old in self.superseded]
        if untils != sorted(set(untils)):
            raise invalid("entries must be in order of strictly increasing `until`", "superseded")
        if untils[-1] != self.in_force_from:
            raise invalid(
                f"the last superseded rule must end ({untils[-1]}) when this one starts "
                f"({self.in_force_from})",
                "superseded",
            )
        return self

    def to_model(self) -> DeadlineRule:
        return DeadlineRule(
            kind="fixed",
            verified=self.verified,
            amount=self.amount,
            unit=self.unit,
            clock_starts=self.clock_starts,
            extension=self.extension.to_model() if self.extension else None,
            superseded=tuple(old.to_model() for old in self.superseded),
            in_force_from=self.in_force_from,
            basis=self.basis,
            note=self.note,
            counting=self.counting.to_model() if self.counting else None,
            provenance=self.provenance(),
        )


def _deadline_form(value: Any) -> str | None:
    if isinstance(value, str):
        return "word"
    if isinstance(value, dict):
        return "none" if "none" in value else "staged" if "stages" in value else "fixed"
    return None


# `deadline = "none"`, `{ none = true, ... }`, a table with `stages`, or a fixed deadline.
Deadline = Annotated[
    Annotated[str, AfterValidator(_only_none), Tag("word")]
    | Annotated[NoDeadlineTable, Tag("none")]
    | Annotated[StagedDeadlineTable, Tag("staged")]
    | Annotated[FixedDeadlineTable, Tag("fixed")],
    Discriminator(
        _deadline_form,
        custom_error_type=INVALID,
        custom_error_message='expected a table or "none"',
    ),
]


def _deadline_rule(deadline: Deadline) -> DeadlineRule:
    if isinstance(deadline, str):
        return DeadlineRule(kind="none", verified=True)
    return deadline.to_model()


# `citation = "…"` or the table form with its own verification and sources.
CitationField = Annotated[
    Annotated[Text, Tag("text")] | Annotated[CitationTable, Tag("table")],
    Discriminator(
        lambda value: "text" if isinstance(value, str) else "table",
        custom_error_type=INVALID,
        custom_error_message="expected a string or a table",
    ),
]


class FilingWindowTable(Table):
    amount: Count
    unit: Unit
    clock_starts: ClockStart
    verified: bool
    note: Text | None = None

    def to_model(self) -> FilingWindow:
        return FilingWindow(
            amount=self.amount,
            unit=self.unit,
            clock_starts=self.clock_starts,
            verified=self.verified,
            note=self.note,
        )


# --- routes -------------------------------------------------------------------------------


class EscalationTable(Table):
    route: Text | None = None
    body: Text | None = None
    verified: bool
    note: Text | None = None

    @model_validator(mode="after")
    def _names_something(self) -> EscalationTable:
        if self.route is None and self.body is None:
            raise invalid("an escalation names a route, a body, or both", "route")
        return self

    def to_model(self) -> EscalationStep:
        return EscalationStep(
            route=self.route, body=self.body, verified=self.verified, note=self.note
        )


class FollowedStepTable(Table):
    route: RouteKey
    after: FollowCondition


class TranslatedTable(Table):
    """The staff texts of a route in another language, in the order of the English ones."""

    warnings: TextList = []
    eligibility: TextList = []


class FollowsTable(Table):
    required: bool
    steps: Annotated[list[FollowedStepTable], Field(min_length=1)]

    @model_validator(mode="after")
    def _each_route_once(self) -> FollowsTable:
        seen: set[str] = set()
        for i, step in enumerate(self.steps):
            if step.route in seen:
                raise invalid(f"{step.route!r} is listed twice", "steps", i, "route")
            seen.add(step.route)
        return self

    def to_model(self) -> Follows:
        steps = (FollowedStep(route=step.route, after=step.after) for step in self.steps)
        return Follows(required=self.required, steps=tuple(steps))


def _route_key_in_file(key: str, info: ValidationInfo) -> str:
    code = (info.context or {}).get("code")
    if code is not None and not key.startswith(f"{code}."):
        raise invalid(f"{key!r} must start with the jurisdiction code '{code}.'")
    return key


class RouteTable(Table):
    key: Annotated[RouteKey, AfterValidator(_route_key_in_file)]
    kind: RouteKind
    title: dict[LanguageCode, Text]
    language: LanguageCode
    citation: CitationField
    minor_citation: Text | None = None
    verified: bool
    last_checked: CheckDate
    sources: Sources
    covers: Annotated[Categories, Field(min_length=1)]
    may_cover: Categories = []
    eligibility: TextList = []
    addressee: AddresseeTable
    deadline: Deadline = Field(description="write deadline = { none = true, … } if none")
    follow_up_days: Count | None = None
    filing_window: FilingWindowTable | None = None
    escalation: EscalationTable | None = None
    follows: FollowsTable | None = None
    required_elements: Elements
    recommended_elements: Elements = []
    alternatives: dict[Category, RouteKeys] = {}
    templates: Templates
    language_templates: dict[LanguageCode, TemplateName] = {}
    reminders: list[Reminder] | None = None
    warnings: TextList = []
    notes: TextList = []
    translated: dict[LanguageCode, TranslatedTable] = {}

    @property
    def has_no_deadline(self) -> bool:
        return isinstance(self.deadline, str | NoDeadlineTable)

    @model_validator(mode="after")
    def _translations_complete(self) -> RouteTable:
        for language, texts in self.translated.items():
            if language == "en":
                raise invalid("English is the route's own text", "translated", language)
            for name in ("warnings", "eligibility"):
                english, other = getattr(self, name), getattr(texts, name)
                if len(other) != len(english):
                    raise invalid(
                        f"{len(other)} lines for the {len(english)} English ones, in the same "
                        "order",
                        "translated",
                        language,
                        name,
                    )
        return self

    @model_validator(mode="after")
    def _facts_sourced(self) -> RouteTable:
        # Every letter rests on these three facts: each names the pages it was checked against.
        if isinstance(self.citation, str):
            raise invalid(
                "write it as a table with text, verified, checked and sources", "citation"
            )
        if self.addressee.sources is None:
            raise invalid("required: the pages the addressee was checked against", "addressee")
        if isinstance(self.deadline, str) or self.deadline.sources is None:
            raise invalid(
                "required: the pages the deadline (or the absence of one) was checked against",
                "deadline",
            )
        return self

    @model_validator(mode="after")
    def _consistent(self) -> RouteTable:
        for language in dict.fromkeys(("en", self.language)):
            if language not in self.title:
                raise invalid("missing title in this language", "title", language)
        if overlap := set(self.covers) & set(self.may_cover):
            raise invalid(f"{sorted(overlap)} already in covers", "may_cover")
        if self.follow_up_days is not None and not self.has_no_deadline:
            raise invalid("only for routes with no legal deadline", "follow_up_days")
        if self.reminders is not None and self.has_no_deadline:
            raise invalid('a route with deadline = "none" has no reminders', "reminders")
        if twice := set(self.required_elements) & set(self.recommended_elements):
            raise invalid(f"{sorted(twice)} already required", "recommended_elements")
        for category in self.alternatives:
            if category in self.covers:
                raise invalid("this route already covers the category", "alternatives", category)
        if self.addressee.select == "dsc_by_victim_country" and self.kind != "regulator_complaint":
            raise invalid("only a regulator complaint goes to a DSC", "addressee", "select")
        self._check_language_templates()
        return self

    def _check_language_templates(self) -> None:
        """A template in another language is chosen by the coordinator's language, so it
        needs a coordinator to choose it and a title to print in that language."""
        if not self.language_templates:
            return
        if self.addressee.select != "dsc_by_victim_country":
            raise invalid(
                "only a route to the victim's coordinator writes in the addressee's language",
                "language_templates",
            )
        for language in self.language_templates:
            if language == self.language:
                raise invalid(
                    "the route's own language uses `templates`", "language_templates", language
                )
            if language not in self.title:
                raise invalid("missing title in this language", "title", language)

    def to_model(self, jurisdiction: str) -> Route:
        deadline = _deadline_rule(self.deadline)
        if deadline.is_none:
            reminders: tuple[ReminderAt, ...] = ()
        else:
            reminders = DEFAULT_REMINDERS if self.reminders is None else tuple(self.reminders)
        return Route(
            key=self.key,
            jurisdiction=jurisdiction,
            kind=self.kind,
            title=MappingProxyType(dict(self.title)),
            language=self.language,
            citation=self.citation if isinstance(self.citation, str) else self.citation.text,
            citation_verified=isinstance(self.citation, str) or self.citation.verified,
            citation_provenance=(
                None if isinstance(self.citation, str) else self.citation.provenance()
            ),
            citation_translated=MappingProxyType(
                {} if isinstance(self.citation, str) else dict(self.citation.translated)
            ),
            minor_citation=self.minor_citation,
            verified=self.verified,
            last_checked=self.last_checked,
            sources=tuple(self.sources),
            covers=tuple(self.covers),
            may_cover=tuple(self.may_cover),
            eligibility=tuple(self.eligibility),
            addressee=self.addressee.to_model(),
            deadline=deadline,
            follow_up_days=self.follow_up_days,
            filing_window=self.filing_window.to_model() if self.filing_window else None,
            escalation=self.escalation.to_model() if self.escalation else None,
            follows=self.follows.to_model() if self.follows else None,
            required_elements=tuple(self.required_elements),
            recommended_elements=tuple(self.recommended_elements),
            alternatives=MappingProxyType({c: tuple(k) for c, k in self.alternatives.items()}),
            templates=tuple(self.templates),
            language_templates=MappingProxyType(dict(self.language_templates)),
            reminders=reminders,
            warnings=tuple(self.warnings),
            translated=MappingProxyType(
                {
                    language: MappingProxyType(
                        {"warnings": tuple(t.warnings), "eligibility": tuple(t.eligibility)}
                    )
                    for language, t in self.translated.items()
                }
            ),
            notes=tuple(self.notes),
        )


# --- services and the file ----------------------------------------------------------------


def _https_link(value: str) -> str:
    if not value.startswith("https://") or " " in value:
        raise invalid(f"{value!r} is not a link starting with https:// (no spaces)")
    return value


def _in_english_too(texts: dict[str, str]) -> dict[str, str]:
    if "en" not in texts:
        raise invalid("missing text in this language", "en")
    return texts


# One text per language, {en = "...", fr = "..."}; English is the fallback for the others.
Wording = Annotated[dict[LanguageCode, Text], AfterValidator(_in_english_too)]
Link = Annotated[Text, AfterValidator(_https_link)]


class ShownTable(Table):
    """What the person reporting sees of a service; without it the service is only recorded."""

    name: Text | None = None
    link: Link | None = None
    text: Wording
    caveat: Wording | None = None


def _host(address: str) -> str:
    return address.removeprefix("https://").split("/", 1)[0].lower()


class ServiceTable(Table):
    name: Text
    description: Text
    verified: bool
    last_checked: CheckDate
    sources: Sources
    url: WebAddress | None = None
    phone: Text | None = None
    email: EmailAddress | None = None
    note: Text | None = None
    worldwide: bool = False
    shown: ShownTable | None = None

    @model_validator(mode="after")
    def _link_shows_the_address(self) -> ServiceTable:
        # The page shows `url` as the text of the link, so the two must name one site.
        if self.shown is None:
            return self
        link = self.shown.link
        if link is None and self.url is not None:
            raise invalid("missing: a shown service with a `url` links to it", "shown", "link")
        if link is not None and self.url is None:
            raise invalid("missing: the address to show as the text of `shown.link`", "url")
        if link is not None and self.url is not None:
            host, address = _host(link), _host(self.url)
            if host != address and not host.endswith(f".{address}"):
                raise invalid(f"{link!r} is not on {self.url!r}", "shown", "link")
        return self

    def to_model(self, kind: type[S]) -> S:
        shown = None
        if self.shown is not None:
            caveat = self.shown.caveat
            shown = Shown(
                name=self.shown.name or self.name,
                text=MappingProxyType(dict(self.shown.text)),
                link=self.shown.link,
                caveat=MappingProxyType(dict(caveat)) if caveat is not None else None,
            )
        return kind(
            name=self.name,
            description=self.description,
            verified=self.verified,
            last_checked=self.last_checked,
            sources=tuple(self.sources),
            url=self.url,
            phone=self.phone,
            email=self.email,
            note=self.note,
            worldwide=self.worldwide,
            shown=shown,
        )


def _named_like_its_file(code: str, info: ValidationInfo) -> str:
    stem = (info.context or {}).get("code")
    if stem is not None and code != stem:
        raise invalid(f"{code!r} must match the file name '{stem}.toml'")
    return code


class JurisdictionFile(Table):
    """One file under letters/registry: a jurisdiction, its routes and its services."""

    code: Annotated[JurisdictionCode, AfterValidator(_named_like_its_file)]
    name: Text
    country: CountryCode | None = None
    region: Text | None = None
    parent: Text | None = None
    languages: Languages
    last_checked: CheckDate
    sources: Sources
    notes: TextList = []
    routes: list[RouteTable] = []
    minor_routes: list[ServiceTable] = []
    support: list[ServiceTable] = []
    digital_services_coordinators: list[CoordinatorTable] = []

    def to_model(self) -> Jurisdiction:
        return Jurisdiction(
            code=self.code,
            name=self.name,
            country=self.country,
            region=self.region,
            parent=self.parent,
            languages=tuple(self.languages),
            last_checked=self.last_checked,
            sources=tuple(self.sources),
            notes=tuple(self.notes),
            routes=tuple(route.to_model(self.code) for route in self.routes),
            minor_routes=tuple(s.to_model(ChildProtectionRoute) for s in self.minor_routes),
            support=tuple(s.to_model(SupportService) for s in self.support),
            digital_services_coordinators=tuple(
                dsc.to_model() for dsc in self.digital_services_coordinators
            ),
        )


def read_jurisdiction(data: dict[str, Any], stem: str) -> Jurisdiction:
    """Validate one parsed file named `<stem>.toml`; raises pydantic's ValidationError."""
    return JurisdictionFile.model_validate(data, context={"code": stem}).to_model()
