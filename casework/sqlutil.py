"""Small SQL helpers that must behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, TypeVar

from sqlalchemy import CursorResult, Result, Table
from sqlalchemy.dialects import postgresql, sqlite

from casework.orm import DbSession

T = TypeVar("T")
# SQLite refuses more than 999 bound parameters in one statement.
IN_LIST_SIZE = 900


def in_chunks(values: Sequence[T]) -> Iterator[Sequence[T]]:
    """`values` in slices small enough for one IN (...) list on every database."""
    for start in range(0, len(values), IN_LIST_SIZE):
        yield values[start : start + IN_LIST_SIZE]


def insert_ignoring_conflict(session: DbSession, table: Table, values: dict[str, Any]) -> None:
    """INSERT ... ON CONFLICT DO NOTHING, so racing creators of one row both succeed."""
    dialect = session.get_bind().dialect.name
    module = postgresql if dialect == "postgresql" else sqlite
    session.execute(module.insert(table).values(**values).on_conflict_do_nothing())


def rowcount(result: Result[Any]) -> int:
    """How many rows an UPDATE or DELETE matched.

    Session.execute is typed to return a Result; for these statements it is a
    CursorResult, the only kind that carries the count.
    """
    if not isinstance(result, CursorResult):
        raise TypeError(f"{type(result).__name__} has no row count: not an UPDATE or DELETE")
    return result.rowcount
