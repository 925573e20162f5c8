"""The outbox: messages the system sends on its own initiative are rows here first.

Rows are written in the same transaction as the change that causes them, so nothing is sent for a
change that did not commit. Each row has a unique `key`: enqueueing the same key twice is a no-op.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from core.models import NoticeRow
from core.timeutil import utcnow


def enqueue(
    session: Session,
    *,
    key: str,
    kind: str,
    channel: str,
    address: str,
    text: str,
    send_after: datetime | None = None,
    **fields: Any,
) -> bool:
    """Insert a notice unless one with the same key exists. Returns True if it was inserted."""
    now = utcnow()
    values: dict[str, Any] = {
        "key": key,
        "kind": kind,
        "channel": channel,
        "address": address,
        "text": text,
        "status": "pending",
        "send_after": send_after or now,
        "attempts": 0,
        "params": fields.pop("params", {}) or {},
        "created_at": now,
        "updated_at": now,
        **fields,
    }
    return enqueue_many(session, [values]) == 1


def enqueue_many(session: Session, rows: list[dict[str, Any]]) -> int:
    """Bulk insert notices, skipping keys that already exist (race-safe on both databases)."""
    if not rows:
        return 0
    now = utcnow()
    for r in rows:
        r.setdefault("status", "pending")
        r.setdefault("attempts", 0)
        r.setdefault("params", {})
        r.setdefault("created_at", now)
        r.setdefault("updated_at", now)
        r.setdefault("send_after", now)
    table = NoticeRow.__table__  # type: ignore[attr-defined]
    dialect = session.get_bind().dialect.name
    stmt: Any
    if dialect == "postgresql":
        stmt = postgresql.insert(table).on_conflict_do_nothing(index_elements=["key"])
    elif dialect == "sqlite":
        stmt = sqlite.insert(table).on_conflict_do_nothing(index_elements=["key"])
    else:  # pragma: no cover
        stmt = sa.insert(table)
    result = session.execute(stmt, rows)
    return int(result.rowcount or 0)
