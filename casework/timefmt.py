"""Times as a reader sees them: in their own time zone and language."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.dates import format_datetime
from flask_babel import get_locale


def zone_or_utc(name: str | None) -> ZoneInfo:
    """The named time zone; UTC when the name is empty or unknown (a stale setting)."""
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def parse_utc(value: object) -> datetime | None:
    """A datetime from a stored value (an aware datetime or an ISO 8601 string), or None."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str) and value:
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return None
    else:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def local_time(value: object, timezone: str = "UTC", fmt: str = "medium") -> str:
    """The moment in the reader's zone and locale, with the zone named; "" if there is none."""
    moment = parse_utc(value)
    if moment is None:
        return ""
    zone = zone_or_utc(timezone)
    locale = get_locale() or "en"
    text = format_datetime(moment, format=fmt, tzinfo=zone, locale=locale)
    return f"{text} ({zone.key})"
