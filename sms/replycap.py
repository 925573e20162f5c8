"""The reply cap: at most SMS_REPLIES_PER_HOUR automatic replies per number per hour.

An SMS-pumping flood (many messages from or to premium numbers) must not run up the bill. Each
automatic reply is a row in `sms_auto_reply`; the row is inserted first and the window counted
after, in the same transaction (serialised per number by an advisory lock on PostgreSQL, by the
single writer on SQLite), so concurrent messages cannot both slip under the cap.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, func, select

from core.db import session_scope
from core.models_sms import SmsAutoReplyRow
from core.timeutil import utcnow

WINDOW = timedelta(hours=1)


def _lock_key(address: str) -> int:
    return int.from_bytes(
        hashlib.sha1(f"sms-cap:{address}".encode()).digest()[:8], "big", signed=True
    )


def allow_reply(db: Engine, address: str, message_sid: str, per_hour: int) -> bool:
    """Record one reply to `address`; False when it is over the cap (or was already answered)."""
    with session_scope(db) as s:
        return allow_reply_in(s, address, message_sid, per_hour)


def allow_reply_in(s: Session, address: str, message_sid: str, per_hour: int) -> bool:
    """`allow_reply` inside the caller's transaction (the dialogue engine's, for SMS)."""
    now = utcnow()
    table = SmsAutoReplyRow.__table__  # type: ignore[attr-defined]
    dialect = s.get_bind().dialect.name
    if dialect == "postgresql":
        s.execute(sa.select(sa.func.pg_advisory_xact_lock(_lock_key(address))))
    row = {"address": address, "message_sid": message_sid, "suppressed": False, "at": now}
    stmt: sa.Insert
    if dialect == "postgresql":
        stmt = postgresql.insert(table).on_conflict_do_nothing()
    elif dialect == "sqlite":
        stmt = sqlite.insert(table).on_conflict_do_nothing()
    else:  # pragma: no cover
        stmt = sa.insert(table)
    # RETURNING, not rowcount: psycopg reports -1 for INSERT .. ON CONFLICT DO NOTHING
    if s.execute(stmt.values(row).returning(table.c.id)).first() is None:
        return False
    count = s.exec(
        select(func.count())
        .select_from(SmsAutoReplyRow)
        .where(
            SmsAutoReplyRow.address == address,
            col(SmsAutoReplyRow.at) > now - WINDOW,
            col(SmsAutoReplyRow.suppressed).is_(False),
        )
    ).one()
    if count <= per_hour:
        return True
    s.execute(sa.update(table).where(table.c.message_sid == message_sid).values(suppressed=True))
    return False


def prune(db: Engine, older_than: timedelta = timedelta(days=2)) -> int:
    """Drop reply records that no longer count toward any window."""
    table = SmsAutoReplyRow.__table__  # type: ignore[attr-defined]
    with session_scope(db) as s:
        result = s.execute(sa.delete(table).where(table.c.at < utcnow() - older_than))
        return int(result.rowcount or 0)  # type: ignore[attr-defined]
