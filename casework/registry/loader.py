"""Reading the registry files: TOML in, validated records out, every problem named."""

from __future__ import annotations

import hashlib
import re
import tomllib
from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final, TypeVar, cast

from casework.registry.model import (
    Addressee,
    Channel,
    ChildProtectionRoute,
    DeadlineRule,
    DeadlineStage,
    EscalationStep,
    Extension,
    FilingWindow,
    FollowedStep,
    Follows,
    Jurisdiction,
    Registry,
    Route,
    SupersededRule,
    SupportService,
)
from casework.registry.vocabulary import (
    ADDRESSEE_SELECTS,
    CATEGORIES,
    CHANNEL_KINDS,
    CLOCK_STARTS,
    DEFAULT_REMINDERS,
    FOLLOW_CONDITIONS,
    REQUIRED_ELEMENTS,
    ROUTE_KINDS,
    UNITS,
    AddresseeSelect,
    Category,
    ChannelKind,
    ClockStart,
    FollowCondition,
    ReminderAt,
    RouteKind,
    Unit,
    parse_iso_duration,
)

REPO_ROOT: Final = Path(__file__).resolve().parents[2]
DEFAULT_DIRECTORY: Final = REPO_ROOT / "letters" / "registry"

_CODE_RE: Final = re.compile(r"^(any|[a-z]{2}(-[a-z0-9]{1,3})?)$")
_COUNTRY_RE: Final = re.compile(r"^[A-Z]{2}$")
_LANGUAGE_RE: Final = re.compile(r"^[a-z]{2}$")
_ROUTE_KEY_RE: Final = re.compile(r"^[a-z0-9-]+(\.[a-z0-9_]+)+$")
_STAGE_RE: Final = re.compile(r"^[a-z][a-z0-9_]*$")
_EMAIL_RE: Final = re.compile(r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$")
_TEMPLATE_RE: Final = re.compile(r"^[a-z0-9-]+(/[a-z0-9_-]+)+\.html$")
# Registry facts can't have been checked before the project existed or after today.
_EARLIEST_CHECK: Final = date(2020, 1, 1)


class RegistryError(ValueError):
    """The registry data is invalid; the message names the file and the field path."""

    def __init__(self, errors: Iterable[str]) -> None:
        self.errors: tuple[str, ...] = tuple(errors)
        super().__init__("\n".join(self.errors))


T = TypeVar("T")
S = TypeVar("S", bound="SupportService")


class _Invalid(Exception):
    """One validation failure inside a file; collected into a RegistryError."""


class _Table:
    """A TOML table being read: typed getters that name the field path, and no unknown keys."""

    def __init__(self, path: str, data: Any) -> None:
        self.path = path
        if not isinstance(data, dict):
            raise _Invalid(f"{path or '(top level)'}: expected a table")
        self.data: dict[str, Any] = data
        self.seen: set[str] = set()

    def at(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def fail(self, key: str, message: str) -> _Invalid:
        return _Invalid(f"{self.at(key)}: {message}")

    def has(self, key: str) -> bool:
        return key in self.data

    def _get(self, key: str, kind: type[T], label: str, required: bool) -> T | None:
        self.seen.add(key)
        if key not in self.data:
            if required:
                raise self.fail(key, "missing required field")
            return None
        value = self.data[key]
        # bool is an int in Python; a `true` where a number belongs is a typo, not 1.
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise self.fail(key, f"expected {label}, got {_describe(value)}")
        return value

    def req_str(self, key: str) -> str:
        value = self._get(key, str, "a string", True)
        if value is None or not value.strip():
            raise self.fail(key, "must not be empty")
        return value

    def opt_str(self, key: str) -> str | None:
        if not self.has(key):
            self.seen.add(key)
            return None
        return self.req_str(key)

    def req_bool(self, key: str) -> bool:
        value = self._get(key, bool, "true or false", True)
        return bool(value)

    def req_int(self, key: str, minimum: int = 1) -> int:
        value = self._get(key, int, "an integer", True)
        if value is None or value < minimum:
            raise self.fail(key, f"{value} is below the minimum {minimum}")
        return value

    def opt_int(self, key: str, minimum: int = 1) -> int | None:
        if not self.has(key):
            self.seen.add(key)
            return None
        return self.req_int(key, minimum)

    def req_date(self, key: str) -> date:
        self.seen.add(key)
        if key not in self.data:
            raise self.fail(key, "missing required field")
        value = self.data[key]
        # TOML datetimes are also dates in Python; a time of day here is a mistake.
        if not isinstance(value, date) or isinstance(value, datetime):
            raise self.fail(key, f"expected a date like 2026-06-30, got {_describe(value)}")
        return value

    def opt_date(self, key: str) -> date | None:
        if not self.has(key):
            self.seen.add(key)
            return None
        return self.req_date(key)

    def checked_date(self, key: str) -> date:
        value = self.req_date(key)
        if value < _EARLIEST_CHECK or value > date.today():
            raise self.fail(key, f"{value.isoformat()} is not a plausible check date")
        return value

    def choice(self, key: str, options: tuple[str, ...]) -> str:
        value = self.req_str(key)
        if value not in options:
            raise self.fail(key, f"{value!r} is not one of {', '.join(options)}")
        return value

    def opt_choice(self, key: str, options: tuple[str, ...]) -> str | None:
        if not self.has(key):
            self.seen.add(key)
            return None
        return self.choice(key, options)

    def str_list(
        self,
        key: str,
        *,
        required: bool = True,
        non_empty: bool = False,
        vocabulary: Iterable[str] | None = None,
        pattern: re.Pattern[str] | None = None,
    ) -> tuple[str, ...]:
        raw = self._get(key, list, "a list of strings", required)
        if raw is None:
            return ()
        if non_empty and not raw:
            raise self.fail(key, "must not be empty")
        allowed = tuple(vocabulary) if vocabulary is not None else None
        seen: set[str] = set()
        for i, item in enumerate(raw):
            where = f"{key}[{i}]"
            if not isinstance(item, str) or not item.strip():
                raise self.fail(where, f"expected a non-empty string, got {_describe(item)}")
            if allowed is not None and item not in allowed:
                raise self.fail(where, f"{item!r} is not one of {', '.join(allowed)}")
            if pattern is not None and not pattern.match(item):
                raise self.fail(where, f"{item!r} is not well formed")
            if item in seen:
                raise self.fail(where, f"{item!r} is listed twice")
            seen.add(item)
        return tuple(raw)

    def sub(self, key: str) -> _Table:
        self.seen.add(key)
        if key not in self.data:
            raise self.fail(key, "missing required table")
        return _Table(self.at(key), self.data[key])

    def opt_sub(self, key: str) -> _Table | None:
        if not self.has(key):
            self.seen.add(key)
            return None
        return self.sub(key)

    def subs(self, key: str) -> list[_Table]:
        raw = self._get(key, list, "an array of tables", False)
        return [_Table(f"{self.at(key)}[{i}]", item) for i, item in enumerate(raw or [])]

    def raw(self, key: str) -> Any:
        self.seen.add(key)
        return self.data.get(key)

    def done(self) -> None:
        unknown = sorted(set(self.data) - self.seen)
        if unknown:
            allowed = ", ".join(sorted(self.seen))
            raise self.fail(unknown[0], f"unknown key (allowed here: {allowed})")


def _describe(value: object) -> str:
    return f"{type(value).__name__} {value!r}"


def _read_channels(t: _Table) -> tuple[Channel, ...]:
    channels: list[Channel] = []
    for kind in CHANNEL_KINDS:
        sub = t.opt_sub(kind)
        if sub is None:
            continue
        value = sub.req_str("value")
        if kind == "email" and not _EMAIL_RE.match(value):
            raise sub.fail("value", f"{value!r} is not an email address")
        if kind in ("electronic", "website") and (" " in value or value.startswith("http://")):
            raise sub.fail("value", f"{value!r} is not a web address (https only, no spaces)")
        channels.append(
            Channel(
                kind=cast(ChannelKind, kind),
                value=value,
                verified=sub.req_bool("verified"),
                note=sub.opt_str("note"),
            )
        )
        sub.done()
    return tuple(channels)


def _read_addressee(t: _Table, *, dsc: bool = False) -> Addressee:
    country = t.opt_str("country") if not dsc else t.req_str("country")
    if country is not None and not _COUNTRY_RE.match(country):
        raise t.fail("country", f"{country!r} is not a two-letter country code")
    addressee = Addressee(
        name=t.req_str("name"),
        verified=t.req_bool("verified"),
        select=cast(AddresseeSelect | None, t.opt_choice("select", ADDRESSEE_SELECTS)),
        channels=_read_channels(t),
        country=country,
        note=t.opt_str("note"),
    )
    t.done()
    return addressee


def _read_extension(t: _Table) -> Extension:
    ext = Extension(
        amount=t.req_int("amount"),
        unit=cast(Unit, t.choice("unit", UNITS)),
        condition=t.req_str("condition"),
        verified=t.req_bool("verified"),
    )
    t.done()
    return ext


def _opt_extension(t: _Table) -> Extension | None:
    sub = t.opt_sub("extension")
    return _read_extension(sub) if sub is not None else None


def _read_stage(t: _Table, earlier: list[str], default_clock: ClockStart | None) -> DeadlineStage:
    name = t.req_str("name")
    if not _STAGE_RE.match(name) or len(name) > 40:
        raise t.fail("name", f"{name!r} must be a short snake_case name")
    if name in earlier:
        raise t.fail("name", f"stage {name!r} is listed twice")
    after = t.opt_str("after")
    if after is not None and after not in earlier:
        raise t.fail("after", f"{after!r} is not an earlier stage ({', '.join(earlier) or 'none'})")
    clock = cast(ClockStart | None, t.opt_choice("clock_starts", CLOCK_STARTS))
    if after is not None and clock is not None:
        raise t.fail("clock_starts", "a stage that runs `after` another has no own clock start")
    stage = DeadlineStage(
        name=name,
        amount=t.req_int("amount"),
        unit=cast(Unit, t.choice("unit", UNITS)),
        clock_starts=None if after is not None else (clock or default_clock),
        verified=t.req_bool("verified"),
        after=after,
        extension=_opt_extension(t),
        note=t.opt_str("note"),
    )
    if stage.after is None and stage.clock_starts is None:
        raise t.fail("clock_starts", "missing: set it on the stage or on the deadline")
    t.done()
    return stage


def _read_superseded(t: _Table) -> SupersededRule:
    rule = SupersededRule(
        amount=t.req_int("amount"),
        unit=cast(Unit, t.choice("unit", UNITS)),
        until=t.req_date("until"),
        verified=t.req_bool("verified"),
        basis=t.opt_str("basis"),
        note=t.opt_str("note"),
    )
    t.done()
    return rule


def _read_deadline(parent: _Table) -> DeadlineRule:
    raw = parent.raw("deadline")
    if raw is None:
        raise parent.fail("deadline", 'missing required field (write deadline = "none" if none)')
    if isinstance(raw, str):
        if raw != "none":
            raise parent.fail("deadline", f'{raw!r}: a string deadline can only be "none"')
        return DeadlineRule(kind="none", verified=True)
    t = _Table(parent.at("deadline"), raw)
    if t.has("none"):
        # The table form of "none" lets an unverified "no fixed deadline" be marked as such.
        if t.raw("none") is not True:
            raise t.fail("none", "must be true (or remove the key)")
        rule = DeadlineRule(kind="none", verified=t.req_bool("verified"), note=t.opt_str("note"))
        t.done()
        return rule
    clock = cast(ClockStart, t.choice("clock_starts", CLOCK_STARTS))
    verified = t.req_bool("verified")
    note = t.opt_str("note")
    basis = t.opt_str("basis")
    if t.has("stages"):
        names: list[str] = []
        stages: list[DeadlineStage] = []
        for sub in t.subs("stages"):
            stage = _read_stage(sub, names, clock)
            names.append(stage.name)
            stages.append(stage)
        if len(stages) < 2:
            raise t.fail("stages", "a staged deadline needs at least two stages")
        rule = DeadlineRule(
            kind="staged",
            verified=verified,
            clock_starts=clock,
            stages=tuple(stages),
            basis=basis,
            note=note,
        )
        t.done()
        return rule
    superseded = tuple(_read_superseded(sub) for sub in t.subs("superseded"))
    in_force_from = t.opt_date("in_force_from")
    if superseded:
        if in_force_from is None:
            raise t.fail("in_force_from", "required when earlier rules are listed as superseded")
        untils = [s.until for s in superseded]
        if untils != sorted(set(untils)):
            raise t.fail("superseded", "entries must be in order of strictly increasing `until`")
        if untils[-1] != in_force_from:
            raise t.fail(
                "superseded",
                f"the last superseded rule must end ({untils[-1]}) when this one starts "
                f"({in_force_from})",
            )
    rule = DeadlineRule(
        kind="fixed",
        verified=verified,
        amount=t.req_int("amount"),
        unit=cast(Unit, t.choice("unit", UNITS)),
        clock_starts=clock,
        extension=_opt_extension(t),
        superseded=superseded,
        in_force_from=in_force_from,
        basis=basis,
        note=note,
    )
    t.done()
    return rule


def _read_reminders(t: _Table) -> tuple[ReminderAt, ...]:
    raw = t.raw("reminders")
    if raw is None:
        return DEFAULT_REMINDERS
    if not isinstance(raw, list):
        raise t.fail("reminders", f"expected a list, got {_describe(raw)}")
    out: list[ReminderAt] = []
    for i, item in enumerate(raw):
        where = f"reminders[{i}]"
        if isinstance(item, float) and 0.0 < item < 1.0:
            out.append(item)
        elif isinstance(item, str):
            try:
                offset = parse_iso_duration(item)
            except ValueError as exc:
                raise t.fail(where, str(exc)) from None
            if offset <= timedelta(0):
                raise t.fail(where, "an offset before the due time must be positive")
            out.append(offset)
        else:
            raise t.fail(
                where, f"expected a fraction between 0 and 1 or a duration, got {_describe(item)}"
            )
    return tuple(out)


def _read_route(t: _Table, jurisdiction: str) -> Route:
    key = t.req_str("key")
    if not _ROUTE_KEY_RE.match(key) or len(key) > 80:
        raise t.fail("key", f"{key!r} is not a route key like 'us.tida.removal'")
    if not key.startswith(f"{jurisdiction}."):
        raise t.fail("key", f"{key!r} must start with the jurisdiction code '{jurisdiction}.'")
    kind = cast(RouteKind, t.choice("kind", ROUTE_KINDS))
    language = t.req_str("language")
    if not _LANGUAGE_RE.match(language):
        raise t.fail("language", f"{language!r} is not a two-letter language code")
    title_t = t.sub("title")
    titles: dict[str, str] = {}
    for lang in list(title_t.data):
        if not _LANGUAGE_RE.match(lang):
            raise title_t.fail(lang, "title keys are two-letter language codes")
        titles[lang] = title_t.req_str(lang)
    for needed in dict.fromkeys(("en", language)):
        if needed not in titles:
            raise title_t.fail(needed, "missing title in this language")
    title_t.done()

    covers = cast(tuple[Category, ...], t.str_list("covers", non_empty=True, vocabulary=CATEGORIES))
    may_cover = cast(
        tuple[Category, ...], t.str_list("may_cover", required=False, vocabulary=CATEGORIES)
    )
    if overlap := set(covers) & set(may_cover):
        raise t.fail("may_cover", f"{sorted(overlap)} already in covers")

    deadline = _read_deadline(t)
    follow_up = t.opt_int("follow_up_days")
    if follow_up is not None and not deadline.is_none:
        raise t.fail("follow_up_days", "only for routes with no legal deadline")

    window_t = t.opt_sub("filing_window")
    window = None
    if window_t is not None:
        window = FilingWindow(
            amount=window_t.req_int("amount"),
            unit=cast(Unit, window_t.choice("unit", UNITS)),
            clock_starts=cast(ClockStart, window_t.choice("clock_starts", CLOCK_STARTS)),
            verified=window_t.req_bool("verified"),
            note=window_t.opt_str("note"),
        )
        window_t.done()

    escalation_t = t.opt_sub("escalation")
    escalation = None
    if escalation_t is not None:
        escalation = EscalationStep(
            route=escalation_t.opt_str("route"),
            body=escalation_t.opt_str("body"),
            verified=escalation_t.req_bool("verified"),
            note=escalation_t.opt_str("note"),
        )
        if escalation.route is None and escalation.body is None:
            raise escalation_t.fail("route", "an escalation names a route, a body, or both")
        escalation_t.done()

    follows = _read_follows(t.opt_sub("follows"))

    required = t.str_list("required_elements", vocabulary=REQUIRED_ELEMENTS)
    recommended = t.str_list("recommended_elements", required=False, vocabulary=REQUIRED_ELEMENTS)
    if twice := set(required) & set(recommended):
        raise t.fail("recommended_elements", f"{sorted(twice)} already required")

    alternatives: dict[Category, tuple[str, ...]] = {}
    alt_t = t.opt_sub("alternatives")
    if alt_t is not None:
        for category in list(alt_t.data):
            if category not in CATEGORIES:
                raise alt_t.fail(category, f"{category!r} is not one of {', '.join(CATEGORIES)}")
            if category in covers:
                raise alt_t.fail(category, "this route already covers the category")
            alternatives[cast(Category, category)] = alt_t.str_list(
                category, non_empty=True, pattern=_ROUTE_KEY_RE
            )
        alt_t.done()

    route = Route(
        key=key,
        jurisdiction=jurisdiction,
        kind=kind,
        title=MappingProxyType(titles),
        language=language,
        citation=t.req_str("citation"),
        minor_citation=t.opt_str("minor_citation"),
        verified=t.req_bool("verified"),
        last_checked=t.checked_date("last_checked"),
        sources=t.str_list("sources", non_empty=True),
        covers=covers,
        may_cover=may_cover,
        eligibility=t.str_list("eligibility", required=False),
        addressee=_read_addressee(t.sub("addressee")),
        deadline=deadline,
        follow_up_days=follow_up,
        filing_window=window,
        escalation=escalation,
        follows=follows,
        required_elements=required,
        recommended_elements=recommended,
        alternatives=MappingProxyType(alternatives),
        templates=t.str_list("templates", non_empty=True, pattern=_TEMPLATE_RE),
        reminders=_read_reminders(t) if not deadline.is_none else _no_reminders(t),
        warnings=t.str_list("warnings", required=False),
        notes=t.str_list("notes", required=False),
    )
    if route.addressee.select == "dsc_by_victim_country" and route.kind != "regulator_complaint":
        raise t.fail("addressee.select", "only a regulator complaint goes to a DSC")
    t.done()
    return route


def _read_follows(t: _Table | None) -> Follows | None:
    if t is None:
        return None
    raw = t.raw("steps")
    if not isinstance(raw, list) or not raw:
        raise t.fail("steps", "expected a non-empty array of tables {route, after}")
    steps: list[FollowedStep] = []
    for sub in t.subs("steps"):
        route = sub.req_str("route")
        if not _ROUTE_KEY_RE.match(route):
            raise sub.fail("route", f"{route!r} is not a route key like 'us.tida.removal'")
        if route in {step.route for step in steps}:
            raise sub.fail("route", f"{route!r} is listed twice")
        after = cast(FollowCondition, sub.choice("after", FOLLOW_CONDITIONS))
        steps.append(FollowedStep(route=route, after=after))
        sub.done()
    follows = Follows(required=t.req_bool("required"), steps=tuple(steps))
    t.done()
    return follows


def _no_reminders(t: _Table) -> tuple[ReminderAt, ...]:
    if t.has("reminders"):
        raise t.fail("reminders", 'a route with deadline = "none" has no reminders')
    return ()


def _read_service(t: _Table, cls: type[S]) -> S:
    url = t.opt_str("url")
    if url is not None and (" " in url or url.startswith("http://")):
        raise t.fail("url", f"{url!r} is not a web address (https only, no spaces)")
    email = t.opt_str("email")
    if email is not None and not _EMAIL_RE.match(email):
        raise t.fail("email", f"{email!r} is not an email address")
    service = cls(
        name=t.req_str("name"),
        description=t.req_str("description"),
        verified=t.req_bool("verified"),
        last_checked=t.checked_date("last_checked"),
        sources=t.str_list("sources", non_empty=True),
        url=url,
        phone=t.opt_str("phone"),
        email=email,
        note=t.opt_str("note"),
    )
    t.done()
    return service


def _read_jurisdiction(t: _Table, stem: str) -> Jurisdiction:
    code = t.req_str("code")
    if not _CODE_RE.match(code):
        raise t.fail("code", f"{code!r} is not a jurisdiction code like 'fr' or 'us-ca'")
    if code != stem:
        raise t.fail("code", f"{code!r} must match the file name '{stem}.toml'")
    country = t.opt_str("country")
    if country is not None and not _COUNTRY_RE.match(country):
        raise t.fail("country", f"{country!r} is not a two-letter country code")
    last_checked = t.checked_date("last_checked")
    jurisdiction = Jurisdiction(
        code=code,
        name=t.req_str("name"),
        country=country,
        region=t.opt_str("region"),
        parent=t.opt_str("parent"),
        languages=t.str_list("languages", non_empty=True, pattern=_LANGUAGE_RE),
        last_checked=last_checked,
        sources=t.str_list("sources", non_empty=True),
        notes=t.str_list("notes", required=False),
        routes=tuple(_read_route(sub, code) for sub in t.subs("routes")),
        minor_routes=tuple(
            _read_service(sub, ChildProtectionRoute) for sub in t.subs("minor_routes")
        ),
        support=tuple(_read_service(sub, SupportService) for sub in t.subs("support")),
        digital_services_coordinators=tuple(
            _read_addressee(sub, dsc=True) for sub in t.subs("digital_services_coordinators")
        ),
    )
    t.done()
    return jurisdiction


def _display(path: Path) -> str:
    try:
        return path.resolve().relative_to(REPO_ROOT).as_posix()
    except ValueError:
        return str(path)


def _cross_check(
    jurisdictions: list[tuple[str, Jurisdiction]],
) -> list[str]:
    errors: list[str] = []
    by_code = {j.code: j for _, j in jurisdictions}
    routes: dict[str, Route] = {}
    dscs: dict[str, Addressee] = {}
    where: dict[str, str] = {}
    for shown, j in jurisdictions:
        for i, route in enumerate(j.routes):
            if route.key in routes:
                errors.append(
                    f"{shown}: routes[{i}].key: {route.key!r} already defined in {where[route.key]}"
                )
            routes.setdefault(route.key, route)
            where.setdefault(route.key, shown)
        for i, dsc in enumerate(j.digital_services_coordinators):
            if dsc.country is None:  # required when read; this only narrows the type
                continue
            if dsc.country in dscs:
                errors.append(
                    f"{shown}: digital_services_coordinators[{i}].country: {dsc.country!r} "
                    "is listed twice"
                )
            dscs.setdefault(dsc.country, dsc)

    for shown, j in jurisdictions:
        if j.parent is not None and j.parent not in by_code:
            errors.append(f"{shown}: parent: {j.parent!r} is not a jurisdiction in the registry")
        chain = [j.code]
        parent = j.parent
        while parent is not None and parent in by_code:
            if parent in chain:
                errors.append(f"{shown}: parent: cycle {' → '.join([*chain, parent])}")
                break
            chain.append(parent)
            parent = by_code[parent].parent
        for i, route in enumerate(j.routes):
            here = f"{shown}: routes[{i}]"
            esc = route.escalation
            if esc is not None and esc.route is not None:
                if esc.route not in routes:
                    errors.append(
                        f"{here}.escalation.route: {esc.route!r} is not a route key in the registry"
                    )
                elif esc.route == route.key:
                    errors.append(f"{here}.escalation.route: a route cannot escalate to itself")
            errors.extend(_check_follows(here, route, routes))
            for category, keys in route.alternatives.items():
                for n, alt in enumerate(keys):
                    if alt not in routes:
                        errors.append(
                            f"{here}.alternatives.{category}[{n}]: {alt!r} is not a route key "
                            "in the registry"
                        )
                    elif alt == route.key:
                        errors.append(
                            f"{here}.alternatives.{category}[{n}]: a route is not its own "
                            "alternative"
                        )
            if route.addressee.select == "dsc_by_victim_country" and not dscs:
                errors.append(
                    f"{here}.addressee.select: no digital_services_coordinators are recorded"
                )
    # A member state whose file exists but whose DSC is missing would leave Art. 53
    # complaints from that country without an addressee.
    for shown, j in jurisdictions:
        if j.parent == "eu" and (j.country is None or j.country not in dscs):
            errors.append(
                f"{shown}: country: no entry in eu digital_services_coordinators for {j.country!r}"
            )
    return errors


def _check_follows(here: str, route: Route, routes: Mapping[str, Route]) -> list[str]:
    """Followed routes exist, and a condition on a deadline names a route that has one."""
    errors: list[str] = []
    for n, step in enumerate(route.follows.steps if route.follows else ()):
        where = f"{here}.follows.steps[{n}]"
        earlier = routes.get(step.route)
        if earlier is None:
            errors.append(f"{where}.route: {step.route!r} is not a route key in the registry")
        elif earlier.key == route.key:
            errors.append(f"{where}.route: a route cannot follow itself")
        elif step.after in ("deadline", "decision_or_deadline") and earlier.deadline.kind != (
            "fixed"
        ):
            errors.append(
                f"{where}.after: {step.route!r} has no single deadline to wait for "
                f"(its deadline is {earlier.deadline.kind!r})"
            )
    # A route that escalates to another must be one the other may refer to.
    for other in routes.values():
        esc = other.escalation
        if esc is None or esc.route != route.key or other.key == route.key:
            continue
        if route.follows is None or other.key not in route.follows.routes:
            errors.append(
                f"{here}.follows: {other.key!r} escalates to this route but is not among "
                "the steps it follows"
            )
    return errors


def load_registry(directory: Path) -> Registry:
    """Load and validate every `*.toml` in `directory`; errors name the file and the field."""
    files = sorted(directory.glob("*.toml"))
    if not files:
        raise RegistryError([f"{_display(directory)}: no *.toml registry files found"])
    errors: list[str] = []
    loaded: list[tuple[str, Jurisdiction]] = []
    digest = hashlib.sha256()
    for path in files:
        shown = _display(path)
        data = path.read_bytes()
        # Names and bytes both count: renaming a file changes the registry too.
        digest.update(path.name.encode() + b"\0" + data + b"\0")
        try:
            table = tomllib.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            errors.append(f"{shown}: invalid TOML: {exc}")
            continue
        try:
            loaded.append((shown, _read_jurisdiction(_Table("", table), path.stem)))
        except _Invalid as exc:
            errors.append(f"{shown}: {exc}")
    if errors:
        raise RegistryError(errors)
    cross_errors = _cross_check(loaded)
    if cross_errors:
        raise RegistryError(cross_errors)
    return Registry(jurisdictions=tuple(j for _, j in loaded), version=digest.hexdigest()[:12])


@lru_cache(maxsize=1)
def default_registry() -> Registry:
    """The shipped registry in <repo>/letters/registry, loaded once per process."""
    return load_registry(DEFAULT_DIRECTORY)
