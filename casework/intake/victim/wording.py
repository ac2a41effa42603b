"""How the case page says things to the person: statuses in plain words, places, dates."""

from __future__ import annotations

from datetime import datetime
from typing import Final

from babel import Locale
from babel.dates import format_date, format_time
from flask_babel import LazyString, get_locale
from flask_babel import lazy_gettext as _l

from casework.intake.choices import REGIONS, country_name
from casework.timefmt import zone_or_utc

STATUS_WORDS: Final[dict[str, tuple[LazyString, LazyString]]] = {
    "new": (
        _l("Received"),
        _l("We have your report. An advocate will read it soon, urgent cases first."),
    ),
    "triage": (
        _l("Being checked"),
        _l("An advocate is checking your report and which laws protect you."),
    ),
    "action": (
        _l("Notices being prepared"),
        _l("An advocate is preparing the takedown notices and any complaints you asked for."),
    ),
    "awaiting_platform": (
        _l("Waiting for the platform"),
        _l("Notices have been sent. We are watching for the platform's answer."),
    ),
    "escalated": (
        _l("Escalated"),
        _l("The platform did not act in time. Your advocate is taking the next step."),
    ),
    "resolved": (
        _l("Resolved"),
        _l("The posts in your case have been dealt with. Tell us if they come back."),
    ),
    "closed": (
        _l("Closed"),
        _l("This case is closed. You can still see it here until it is deleted."),
    ),
    "withdrawn": (
        _l("Withdrawn"),
        _l("You withdrew this case, so nothing more will be done for it. You can still delete it."),
    ),
}


def jurisdiction_label(code: str | None) -> str:
    """A place a reader recognises: a country, a US state, or the European Union."""
    if not code:
        return ""
    if code == "EU":
        return str(_l("the European Union"))
    country, _, region = code.partition("-")
    if region:
        return str(REGIONS.get(country, {}).get(region, code))
    return country_name(country)


def local_date(value: datetime, timezone: str) -> str:
    """A date in the person's zone and language ("5 December 2026")."""
    return format_date(value.astimezone(zone_or_utc(timezone)), format="long", locale=get_locale())


def local_datetime(value: datetime, timezone: str) -> str:
    """A date and time to the minute, in the person's zone and language ("5 Dec 2026, 14:05").

    Seconds say nothing to the person and make the timeline harder to read.
    """
    local = value.astimezone(zone_or_utc(timezone))
    locale = get_locale()
    time = format_time(local, format="short", locale=locale)
    day = format_date(local, format="medium", locale=locale)
    return str(Locale.parse(locale).datetime_formats["medium"]).format(time, day)
