"""Case reference numbers CW-<year>-<6 digits>, safe under concurrent intakes."""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import update
from sqlalchemy.orm import Session

from casework.cases.models import ReferenceCounter
from casework.sqlutil import insert_ignoring_conflict

REFERENCE_RE = re.compile(r"^CW-(\d{4})-(\d{6,})$")


def format_reference(year: int, number: int) -> str:
    return f"CW-{year}-{number:06d}"


def next_reference(session: Session, now: datetime) -> str:
    """Issue the next reference for now's year inside the caller's transaction.

    The counter row stays locked until the caller commits, so two intakes can
    never draw the same number, and a rolled-back intake leaves no gap-filling
    race (a gap is harmless; a duplicate is not).
    """
    year = now.year
    insert_ignoring_conflict(session, ReferenceCounter.__table__, {"year": year, "last_value": 0})
    number = session.execute(
        update(ReferenceCounter)
        .where(ReferenceCounter.year == year)
        .values(last_value=ReferenceCounter.last_value + 1)
        .returning(ReferenceCounter.last_value)
    ).scalar_one()
    return format_reference(year, number)


def normalise_reference(text: str) -> str | None:
    """Accept what people type (spaces, lower case, missing dashes); None if not a reference."""
    compact = re.sub(r"[\s\-_]", "", text.strip().upper())
    match = re.fullmatch(r"CW(\d{4})(\d{6,9})", compact)
    if not match:
        return None
    return f"CW-{match.group(1)}-{match.group(2)}"
