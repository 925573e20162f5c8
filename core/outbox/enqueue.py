"""The outbox: messages the system sends on its own initiative are rows here first.

Rows are written in the same transaction as the change that causes them, so nothing is sent for a
change that did not commit. Each row has a unique `key`: enqueueing the same key twice is a no-op.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session

from core.kernel.timeutil import utcnow
from core.persistence.db import session_scope
from core.persistence.models import NoticeRow
from core.persistence.sql import insert_ignore, table


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
    stmt = _insert_ignore(session).returning(table(NoticeRow).c.id)
    return session.execute(stmt, [values]).first() is not None


def _insert_ignore(session: Session) -> Any:
    return insert_ignore(session.get_bind().dialect.name, table(NoticeRow), ["key"])


def queue(db: Engine, notices: Sequence[Mapping[str, Any]]) -> int:
    """`enqueue` each notice (its keyword arguments) in one transaction of their own, for a door
    answering outside any other transaction; returns how many were new."""
    with session_scope(db) as s:
        return sum(enqueue(s, **notice) for notice in notices)


def enqueue_many(session: Session, rows: list[dict[str, Any]]) -> int:
    """Bulk insert notices, skipping keys that already exist (race-safe on both databases).

    Returns the driver's row count, which psycopg reports as -1 for executemany: callers that
    need exact counts must count themselves."""
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
    result = session.execute(_insert_ignore(session), rows)
    return int(getattr(result, "rowcount", 0) or 0)


def prune_inbound(session: Session, older_than_days: int = 30) -> int:
    """Forget inbound message ids older than the dedupe window (providers retry within hours)."""
    from datetime import timedelta

    from sqlalchemy import delete

    from core.persistence.models import InboundMessageRow

    cutoff = utcnow() - timedelta(days=older_than_days)
    result = session.execute(
        delete(InboundMessageRow).where(InboundMessageRow.created_at < cutoff)  # type: ignore[arg-type]
    )
    return int(getattr(result, "rowcount", 0) or 0)
