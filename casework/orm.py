"""ORM foundations: declarative base, naming conventions, the UTC-aware datetime type."""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, TypeAlias

from sqlalchemy import BigInteger, DateTime, Enum, Integer, MetaData, Table
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Session, mapped_column, scoped_session
from sqlalchemy.types import TypeDecorator

# What services take: a plain Session (jobs, tests) or Flask-SQLAlchemy's scoped db.session.
DbSession: TypeAlias = Session | scoped_session[Any]

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every database.

    SQLite has no time zone type, so values are stored as naive UTC and made
    aware again on the way out; naive input is refused so local times can
    never slip in unnoticed.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime refused: store timezone-aware UTC times")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


# SQLite only auto-increments INTEGER PRIMARY KEY, so big ids use a variant.
BigId = BigInteger().with_variant(Integer(), "sqlite")

intpk = Annotated[int, mapped_column(BigId, primary_key=True)]


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)

    if TYPE_CHECKING:
        # SQLAlchemy types this as any FromClause (a model may map a join or a
        # subquery); every model here maps one Table, so Core statements take it as is.
        __table__: ClassVar[Table]


def enum_type(enum_cls: type[enum.Enum], name: str) -> Enum:
    """An enum stored as its values in a VARCHAR: portable, and a new value needs no ALTER TYPE."""
    return Enum(
        enum_cls,
        name=name,
        values_callable=lambda members: [m.value for m in members],
        native_enum=False,
        length=32,
    )
