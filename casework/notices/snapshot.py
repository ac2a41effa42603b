"""The data a letter is made from, frozen as JSON: everything its template may print."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo

from casework.accounts.models import Organisation
from casework.cases.models import (
    Case,
    ContentCategory,
    Item,
    ItemKind,
    MinorStatus,
    RemovalState,
)
from casework.deadlines.rules import compute_due, rule_in_force, stage_due_dates, with_extension
from casework.evidence.models import EvidenceFile
from casework.notices.completeness import STATEMENT_ELEMENTS, TEXT_ELEMENTS
from casework.notices.followups import earlier_due
from casework.notices.models import Notice
from casework.registry import Addressee, DeadlineRule, Registry, Route

__all__ = [
    "SNAPSHOT_SCHEMA",
    "LetterSource",
    "ResolvedAddressee",
    "build_snapshot",
    "content_fingerprint",
    "deadline_snapshot",
    "letter_language",
    "letter_reference",
    "resolve_addressee",
    "sample_snapshot",
]

SNAPSHOT_SCHEMA: Final = 1
# Keys that change with every generation even when the content does not.
VOLATILE_KEYS: Final = ("letter",)
STABLE_DEADLINE_KEYS: Final = ("kind", "amount", "unit", "clock_starts", "basis", "note")


def _text(value: str | None) -> str | None:
    return (value or "").strip() or None


def _iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class ResolvedAddressee:
    name: str
    lines: tuple[str, ...]
    channels: tuple[tuple[str, str, bool], ...]
    verified: bool
    known: bool
    # The language the addressee takes letters in, where recorded (a coordinator's).
    language: str | None = None


def _channels(addressee: Addressee) -> tuple[tuple[str, str, bool], ...]:
    return tuple((c.kind, c.value, c.verified) for c in addressee.channels if c.kind != "postal")


def _postal_lines(addressee: Addressee) -> tuple[str, ...]:
    postal = addressee.channel("postal")
    return tuple(part.strip() for part in postal.value.split(",")) if postal else ()


def resolve_addressee(
    route: Route, registry: Registry, case: Case, notice: Notice | None
) -> ResolvedAddressee:
    """Who the letter goes to: the registry's addressee, the victim's DSC, or the one named.

    `known` is False when the letter cannot be addressed yet (no DSC is recorded for the
    victim's country), which blocks sending it.
    """
    base = route.addressee
    if base.select == "dsc_by_victim_country":
        dsc = registry.dsc(case.country) if case.country else None
        if dsc is None:
            return ResolvedAddressee(base.name, (), (), base.verified, known=False)
        return ResolvedAddressee(
            dsc.name,
            _postal_lines(dsc),
            _channels(dsc),
            dsc.verified,
            known=True,
            language=dsc.language,
        )
    if base.select == "per_case" and notice is not None and notice.addressee_name:
        lines = tuple(
            line.strip() for line in (notice.addressee_address or "").splitlines() if line.strip()
        )
        return ResolvedAddressee(notice.addressee_name.strip(), lines, (), True, known=True)
    return ResolvedAddressee(
        base.name, _postal_lines(base), _channels(base), base.verified, known=True
    )


def letter_language(route: Route, registry: Registry, case: Case, notice: Notice | None) -> str:
    """The language the route's letter is written in for this case: the addressee's, where
    the route has a template in it (a complaint to a coordinator), else the route's own."""
    return route.letter_language(resolve_addressee(route, registry, case, notice).language)


def _due(moment: datetime, rule: DeadlineRule) -> str | None:
    """A due time for the letter: a period counted by days (Reg. 1182/71) ends as a day
    ends where the act is done, so the letter names that day, not a minute in UTC."""
    if rule.counting is None:
        return _iso(moment)
    return moment.astimezone(ZoneInfo(rule.counting.zone)).date().isoformat()


def _period(amount: int | None, unit: str | None) -> dict[str, Any]:
    return {"amount": amount, "unit": unit}


def deadline_snapshot(
    route: Route,
    *,
    as_of: datetime,
    received: bool,
    clock_started_at: datetime | None,
    follow_up_from: datetime,
) -> dict[str, Any]:
    """The route's deadline as the letter states it, with dates counted from `as_of`.

    `received` says whether `as_of` is the real receipt time or the letter's own date
    (the letter then says "if received on ..."). A clock that starts on a regulator's
    notice has a due date only once that notice is recorded.
    """
    rule: DeadlineRule = route.deadline
    out: dict[str, Any] = {
        "kind": rule.kind,
        "clock_starts": rule.clock_starts,
        "from": _iso(as_of),
        "received": received,
        "basis": rule.basis,
        "note": rule.note,
        "verified": rule.verified,
        "due": None,
        "stages": [],
        "extension": None,
        "follow_up": None,
        "superseded": [],
        "in_force_from": rule.in_force_from.isoformat() if rule.in_force_from else None,
        **_period(rule.amount, rule.unit),
    }
    if rule.kind == "fixed":
        start = as_of
        if rule.clock_starts == "regulator_notice":
            start = clock_started_at  # type: ignore[assignment]
            out["from"] = _iso(clock_started_at)
        in_force = rule_in_force(rule, as_of)
        out.update(_period(in_force.amount, in_force.unit))
        out["basis"] = in_force.basis or rule.basis
        out["superseded"] = [
            {"amount": old.amount, "unit": old.unit, "until": old.until.isoformat()}
            for old in rule.superseded
        ]
        if start is not None:
            out["due"] = _due(compute_due(start, rule), rule)
            if rule.extension is not None:
                out["extension"] = {
                    **_period(rule.extension.amount, rule.extension.unit),
                    "condition": rule.extension.condition,
                    "due": _due(with_extension(start, rule), rule),
                }
    elif rule.kind == "staged":
        dues = stage_due_dates(as_of, rule)
        out["stages"] = [
            {
                "name": stage.name,
                "after": stage.after,
                "note": stage.note,
                "due": _iso(dues[stage.name]),
                "extension": (
                    {
                        **_period(stage.extension.amount, stage.extension.unit),
                        "condition": stage.extension.condition,
                    }
                    if stage.extension
                    else None
                ),
                **_period(stage.amount, stage.unit),
            }
            for stage in rule.stages
        ]
    elif route.follow_up_days:
        out["follow_up"] = _iso(follow_up_from + timedelta(days=route.follow_up_days))
    return out


def letter_reference(case: Case, route: Route, version: int) -> str:
    return f"{case.reference}/{route.key}/v{version}"


def _notice_summary(notice: Notice, registry: Registry, language: str) -> dict[str, Any]:
    """The earlier notice as it was: route, addressee, dates, channel and the letter sent.

    Called only for a notice that followups.step_met accepted: sent, with its letter.
    """
    route: Route | None
    try:
        route = registry.route(notice.route_key)
        title, citation = route.title_in(language), route.citation
        addressee = resolve_addressee(route, registry, notice.case, notice).name
    except KeyError:
        route, title, citation, addressee = None, notice.route_key, "", None
    sent_letter = notice.sent_letter
    return {
        "id": notice.id,
        "route_key": notice.route_key,
        "title": title,
        "citation": citation,
        "channel": notice.channel,
        "sent_at": _iso(notice.sent_at),
        "received_at": _iso(notice.received_at),
        "response": notice.response,
        "response_at": _iso(notice.response_at),
        "deadline_due": _iso(earlier_due(route, notice)),
        "addressee": addressee,
        "items": [link.item_id for link in notice.items],
        "letter": (
            {
                "id": sent_letter.id,
                "reference": sent_letter.data_snapshot["letter"]["reference"],
                "date": sent_letter.data_snapshot["letter"]["date"],
                "sha256": sent_letter.sha256,
            }
            if sent_letter is not None
            else None
        ),
    }


def _filing_window(route: Route, related: Notice | None) -> dict[str, Any] | None:
    """How long the victim had to file this route. Its start is printed only when the record
    holds it: the decision it challenges; a start the record does not hold (the day the person
    learned of the offender) leaves the letter to state the rule without a date."""
    window = route.filing_window
    if window is None:
        return None
    decided = (
        related.response_at
        if related is not None and window.clock_starts == "decision_notified"
        else None
    )
    return {
        **_period(window.amount, window.unit),
        "note": window.note,
        "from": _iso(decided),
        "due": _iso(compute_due(decided, window)) if decided is not None else None,
    }


@dataclass(frozen=True)
class LetterSource:
    """What a letter is made from: rows the caller has loaded, and how screenshots show.

    `images` holds the SHA-256 of each screenshot the caller could read for the annex.
    """

    case: Case
    route: Route
    registry: Registry
    notice: Notice | None
    related: Notice | None
    items: Sequence[Item]
    files: Mapping[int, Sequence[EvidenceFile]]
    missing: Sequence[str] = ()
    include_screenshots: bool = False
    blur_screenshots: bool = True
    images: frozenset[str] = frozenset()

    @property
    def minor(self) -> bool:
        return self.case.minor is not MinorStatus.NO

    @property
    def screenshots(self) -> str | None:
        """How screenshots are shown: "blurred", "clear", or None when not at all."""
        if not self.include_screenshots:
            return None
        return "blurred" if self.blur_screenshots else "clear"


def build_snapshot(source: LetterSource, *, version: int, generated_at: datetime) -> dict[str, Any]:
    """Freeze everything a letter shows into JSON-ready data.

    Pure: the caller loads the rows. Holding only what the letter prints (and the hashes
    the annex lists), the snapshot is what the stored version proves it was made from.
    """
    case, route, notice = source.case, source.route, source.notice
    received = notice is not None and notice.received_at is not None
    as_of = (notice.received_at if received and notice else None) or generated_at
    # A letter is dated the day it is sent: a version made after sending keeps that day.
    dated = notice.sent_at if notice is not None and notice.sent_at is not None else generated_at
    items, exhibits = _items_and_exhibits(source)
    addressee = resolve_addressee(route, source.registry, case, notice)
    language = route.letter_language(addressee.language)
    return {
        "schema": SNAPSHOT_SCHEMA,
        "letter": {
            "version": version,
            "reference": letter_reference(case, route, version),
            "generated_at": _iso(generated_at),
            "date": dated.astimezone(UTC).date().isoformat(),
        },
        "organisation": {"name": case.organisation.name},
        "case": {"reference": case.reference, "minor": source.minor, "country": case.country},
        "route": _route_part(source, language),
        "addressee": _addressee_part(addressee),
        **_notice_parts(notice),
        "related": (
            _notice_summary(source.related, source.registry, language)
            if source.related is not None
            else None
        ),
        "items": items,
        "exhibits": exhibits,
        "screenshots": source.screenshots,
        "deadline": deadline_snapshot(
            route,
            as_of=as_of,
            received=received,
            clock_started_at=notice.clock_started_at if notice is not None else None,
            follow_up_from=as_of,
        ),
        "missing": list(source.missing),
        # Set by the letter's maker once the text is rendered (placeholders make a draft too).
        "draft": bool(source.missing),
    }


def _items_and_exhibits(
    source: LetterSource,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The posts, numbered from 1, and their evidence files as exhibits E1, E2, ..."""
    exhibits: list[dict[str, Any]] = []
    items: list[dict[str, Any]] = []
    shown_as = source.screenshots if not source.minor else None
    for number, item in enumerate(source.items, start=1):
        item_files = []
        for evidence in source.files.get(item.id, ()):
            label = f"E{len(exhibits) + 1}"
            shown = shown_as is not None and evidence.sha256 in source.images
            exhibits.append(
                {
                    "label": label,
                    "item": number,
                    "sha256": evidence.sha256,
                    "pdq": evidence.stated_pdq,
                    "media_type": evidence.media_type,
                    "size_bytes": evidence.size_bytes,
                    "width": evidence.width,
                    "height": evidence.height,
                    "kept_on_device": evidence.kept_on_device,
                    "image": shown_as if shown else None,
                }
            )
            item_files.append(
                {"sha256": evidence.sha256, "pdq": evidence.stated_pdq, "exhibit": label}
            )
        items.append(
            {
                "n": number,
                "id": item.id,
                "url": item.url,
                "status_id": str(item.status_id),
                "handle": item.handle,
                "posted_at": _iso(item.posted_at),
                "seen_at": _iso(item.seen_at),
                "kind": item.kind.value,
                "category": item.category.value,
                "removal_state": item.removal_state.value,
                "files": item_files,
            }
        )
    return items, exhibits


def _route_part(source: LetterSource, language: str) -> dict[str, Any]:
    route, registry = source.route, source.registry
    return {
        "key": route.key,
        "kind": route.kind,
        "jurisdiction": route.jurisdiction,
        "jurisdiction_name": registry.jurisdiction(route.jurisdiction).name,
        "language": language,
        "title": route.title_in(language),
        "citation": route.citation,
        "minor_citation": route.minor_citation,
        "elements": [*route.required_elements, *route.recommended_elements],
        "unverified_facts": list(route.unverified_facts()),
        "escalation_body": route.escalation.body if route.escalation else None,
        "filing_window": _filing_window(route, source.related),
    }


def _addressee_part(addressee: ResolvedAddressee) -> dict[str, Any]:
    return {
        "name": addressee.name,
        "lines": list(addressee.lines),
        "channels": [
            {"kind": kind, "value": value, "verified": verified}
            for kind, value, verified in addressee.channels
        ],
        "verified": addressee.verified,
    }


def _notice_parts(notice: Notice | None) -> dict[str, Any]:
    """The notice, its signature and the sender's statements (all None for a draft)."""
    if notice is None:
        return {
            "notice": None,
            "signature": None,
            "capacity": None,
            "contact": None,
            "statements": [],
            "explanation": None,
            "copyrighted_work": None,
            "particulars": {},
            "depicted_person": None,
        }
    statements = set(notice.statements or ())
    return {
        "notice": {
            "id": notice.id,
            "state": notice.state.value,
            "channel": notice.channel,
            "sent_at": _iso(notice.sent_at),
            "received_at": _iso(notice.received_at),
        },
        "signature": (
            {
                "name": notice.signature_name.strip(),
                "signed_at": _iso(notice.signed_at),
                "capacity": notice.signatory_capacity,
            }
            if notice.signature_name and notice.signed_at
            else None
        ),
        "capacity": notice.signatory_capacity,
        "contact": _text(notice.contact_details),
        "statements": [code for code in STATEMENT_ELEMENTS if code in statements],
        "explanation": _text(notice.explanation),
        "copyrighted_work": _text(notice.copyrighted_work),
        "particulars": {
            code: text
            for code in TEXT_ELEMENTS
            if (text := _text((notice.particulars or {}).get(code))) is not None
        },
        "depicted_person": _text(notice.depicted_person),
    }


def content_fingerprint(snapshot: Mapping[str, Any]) -> str:
    """A hash of what the letter says, ignoring its version and date.

    A letter not yet received counts its deadline dates from its own date, so those dates
    are left out too: the same content on another day is still the same letter.
    """
    content = {k: v for k, v in snapshot.items() if k not in VOLATILE_KEYS}
    deadline = content.get("deadline") or {}
    if not deadline.get("received"):
        content["deadline"] = {k: deadline.get(k) for k in STABLE_DEADLINE_KEYS}
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def sample_snapshot(route: Route, registry: Registry, *, items: int = 3) -> dict[str, Any]:
    """A snapshot of made-up data for the route (nothing is stored): for warming a renderer.

    Built from unsaved rows through build_snapshot, so it always has the real shape.
    """
    moment = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    jurisdiction = registry.jurisdiction(route.jurisdiction)
    case = Case(
        reference="CW-2026-000000",
        organisation=Organisation(name="Casework"),
        minor=MinorStatus.NO,
        country=jurisdiction.country or "IE",
    )
    rows = [
        Item(
            id=n,
            url=f"https://x.com/example/status/{2008000000000000000 + n}",
            status_id=2008000000000000000 + n,
            handle="example",
            kind=ItemKind.AI_IMAGE,
            category=ContentCategory.NUDE_SEXUAL,
            removal_state=RemovalState.UNKNOWN,
            posted_at=moment,
        )
        for n in range(1, items + 1)
    ]
    source = LetterSource(
        case=case, route=route, registry=registry, notice=None, related=None, items=rows, files={}
    )
    return build_snapshot(source, version=1, generated_at=moment)
