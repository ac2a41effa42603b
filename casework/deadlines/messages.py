"""What staff are told about deadlines, in the app and by email: references and times only."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from flask_babel import force_locale, gettext, ngettext

from casework.registry import default_registry
from casework.timefmt import zone_or_utc

# Notification kinds written by the deadline worker; the notifications page renders them.
KIND_REMINDER = "deadline_reminder"
KIND_MISSED = "deadline_missed"
KIND_FOLLOW_UP = "follow_up_due"


@dataclass(frozen=True)
class Message:
    subject: str
    body: str


def route_title(route_key: str, locale: str = "en") -> str:
    """The route's title from the registry in the reader's language, else English, else its key."""
    try:
        titles = default_registry().route(route_key).title
    except KeyError:
        return route_key
    return titles.get(locale) or titles.get("en") or route_key


def local_time(moment: datetime, zone: str) -> str:
    """A UTC time shown in the case's time zone, with the zone named so nobody guesses."""
    tz = zone_or_utc(zone)
    return f"{moment.astimezone(tz).strftime('%Y-%m-%d %H:%M')} ({tz.key})"


def deadline_params(
    *, reference: str, route_key: str, stage: str, due_at: datetime, timezone: str
) -> dict[str, Any]:
    """Notification parameters: ids, codes and times only."""
    return {
        "reference": reference,
        "route_key": route_key,
        "stage": stage,
        "due_at": due_at.isoformat(),
        "timezone": timezone,
    }


def render(kind: str, params: dict[str, Any], locale: str = "en") -> Message:
    """The subject and body of a deadline message in the reader's language."""
    subject, body = _templates(kind, locale)
    due = local_time(datetime.fromisoformat(params["due_at"]), params.get("timezone") or "UTC")
    values = {
        "reference": params["reference"],
        "route": route_title(params["route_key"], locale),
        "due": due,
    }
    return Message(subject % values, body % values)


def render_many(kind: str, many: list[dict[str, Any]], locale: str = "en") -> Message:
    """One message about several cases: each case's own text, one after the other."""
    if len(many) == 1:
        return render(kind, many[0], locale)
    with force_locale(locale):
        subject = _SUMMARY_SUBJECTS[kind](len(many))
    parts = [render(kind, params, locale).body for params in many]
    return Message(subject, "\n\n".join(parts))


_SUMMARY_SUBJECTS = {
    KIND_REMINDER: lambda n: ngettext(
        "Reminder: %(num)d platform deadline", "Reminder: %(num)d platform deadlines", n
    ),
    KIND_MISSED: lambda n: ngettext(
        "Deadline missed: %(num)d case", "Deadlines missed: %(num)d cases", n
    ),
    KIND_FOLLOW_UP: lambda n: ngettext("Follow up: %(num)d case", "Follow up: %(num)d cases", n),
}


@lru_cache(maxsize=64)
def _templates(kind: str, locale: str) -> tuple[str, str]:
    """The translated subject and body patterns, looked up once per kind and language."""
    with force_locale(locale):
        if kind == KIND_REMINDER:
            return (
                gettext("Reminder: %(reference)s, platform deadline %(due)s"),
                gettext(
                    "Case %(reference)s: the platform must act on the notice (%(route)s) "
                    "by %(due)s. Check whether the content has been removed and record it "
                    "on the case."
                ),
            )
        if kind == KIND_MISSED:
            return (
                gettext("Deadline missed: %(reference)s"),
                gettext(
                    "Case %(reference)s: the platform did not remove the content by %(due)s "
                    "(%(route)s). The case has been escalated and the escalation is ready to "
                    "review."
                ),
            )
        if kind == KIND_FOLLOW_UP:
            return (
                gettext("Follow up: %(reference)s"),
                gettext(
                    "Case %(reference)s: it is time to follow up the notice (%(route)s) sent "
                    "with no legal deadline; the follow-up date was %(due)s."
                ),
            )
    raise ValueError(f"unknown deadline message kind {kind!r}")
