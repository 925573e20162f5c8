"""Small SQL helpers shared by the feature packages."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import ARRAY
from sqlmodel import Session

CHUNK = 2000
T = TypeVar("T")


def chunks(items: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def in_(session: Session, column: Any, values: Sequence[Any]) -> Any:
    """`column IN values`; on PostgreSQL `= ANY(array)` (one parameter instead of thousands)."""
    if session.get_bind().dialect.name == "postgresql":
        return column == sa.any_(sa.bindparam(None, list(values), type_=ARRAY(column.type)))
    return column.in_(list(values))


def table(model: Any) -> sa.Table:
    result: sa.Table = model.__table__
    return result


def insert_ignore(
    dialect: str, target: sa.Table, index_elements: Sequence[str] | None = None
) -> Any:
    """`INSERT … ON CONFLICT DO NOTHING` for PostgreSQL and SQLite (a plain INSERT elsewhere);
    add `.returning(…)` to learn whether the row went in (psycopg's rowcount is -1 here)."""
    if dialect == "postgresql":
        return postgresql.insert(target).on_conflict_do_nothing(index_elements=index_elements)
    if dialect == "sqlite":
        return sqlite.insert(target).on_conflict_do_nothing(index_elements=index_elements)
    return sa.insert(target)  # pragma: no cover - only the two databases are supported
