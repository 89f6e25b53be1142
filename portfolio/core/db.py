"""Declarative base with a naming convention so migrations name every constraint the same way."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, Float, MetaData, Table
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, scoped_session
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always returned timezone-aware (SQLite drops the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; use portfolio.core.db.utcnow()")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    """Base class of every model."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class TimestampMixin:
    """`created_at` set on insert."""

    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)


def lock_row(session: Session | scoped_session[Any], table: Table, row_id: int) -> None:
    """Hold a write lock on one row until the transaction ends, on every database.

    PostgreSQL locks the row (`SELECT ... FOR UPDATE`): a second transaction that locks the same
    row waits until the first commits and then reads what it wrote. SQLite has no row locks but
    one database write lock; a no-op UPDATE takes it at once, instead of when the first real
    write comes after the reads (two readers would otherwise both decide on stale numbers).
    Used where a decision reads rows and then writes (quota reservations, the last admin).
    """
    from sqlalchemy import select, update

    pk = table.c.id
    if session.get_bind().dialect.name == "sqlite":
        session.execute(update(table).where(pk == row_id).values(id=pk))
    else:
        session.execute(select(pk).where(pk == row_id).with_for_update())


class seconds_between(FunctionElement[float]):
    """`seconds_between(start, end)`: the seconds from one timestamp column to another, in SQL
    (PostgreSQL: exact; SQLite: from Julian days, rounded to the millisecond so that whole
    durations such as exactly 24 hours stay whole)."""

    type = Float()
    inherit_cache = True
    name = "seconds_between"


@compiles(seconds_between)
def _seconds_between_sqlite(element: seconds_between, compiler: SQLCompiler, **kw: Any) -> str:
    start, end = (compiler.process(arg, **kw) for arg in element.clauses)
    return f"ROUND((julianday({end}) - julianday({start})) * 86400.0, 3)"


@compiles(seconds_between, "postgresql")
def _seconds_between_pg(element: seconds_between, compiler: SQLCompiler, **kw: Any) -> str:
    start, end = (compiler.process(arg, **kw) for arg in element.clauses)
    return f"EXTRACT(EPOCH FROM ({end} - {start}))"
