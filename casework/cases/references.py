"""Case reference numbers CW-<year>-<6 digits>, safe under concurrent intakes."""

from __future__ import annotations

import re
from datetime import datetime
from types import ModuleType

from sqlalchemy import Connection, Engine
from sqlalchemy.dialects import postgresql, sqlite

from casework.cases.models import ReferenceCounter
from casework.orm import DbSession

REFERENCE_RE = re.compile(r"^CW-(\d{4})-(\d{6,})$")


def format_reference(year: int, number: int) -> str:
    return f"CW-{year}-{number:06d}"


def next_reference(session: DbSession, now: datetime) -> str:
    """Issue the next reference for now's year; two intakes never draw the same number.

    The number is drawn by one upsert, which creates the year's counter or adds one to
    it and returns the value. On PostgreSQL it runs on a connection of its own in
    autocommit, so the counter row is locked for that one statement rather than for
    the whole intake (reports are saved side by side instead of one after another), in
    a single round trip. An intake that then fails leaves a gap in the numbers, which
    is harmless (a duplicate would not be). SQLite lets one writer work at a time
    anyway, so there it is drawn in the caller's transaction.
    """
    year = now.year
    bind = session.get_bind()
    if isinstance(bind, Engine) and bind.dialect.name == "postgresql":
        with bind.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            number = _draw(connection, year, postgresql)
    else:
        number = _draw(session, year, sqlite)
    return format_reference(year, number)


def _draw(executor: DbSession | Connection, year: int, dialect: ModuleType) -> int:
    table = ReferenceCounter.__table__
    number: int = executor.execute(
        dialect.insert(table)
        .values(year=year, last_value=1)
        .on_conflict_do_update(
            index_elements=[table.c.year], set_={"last_value": table.c.last_value + 1}
        )
        .returning(table.c.last_value)
    ).scalar_one()
    return number


def normalise_reference(text: str) -> str | None:
    """Accept what people type (spaces, lower case, missing dashes); None if not a reference."""
    compact = re.sub(r"[\s\-_]", "", text.strip().upper())
    match = re.fullmatch(r"CW(\d{4})(\d{6,9})", compact)
    if not match:
        return None
    return f"CW-{match.group(1)}-{match.group(2)}"
