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
from sqlmodel import Session, col, select

from core.kernel.timeutil import utcnow
from core.persistence.db import session_scope
from core.persistence.models_sms import SmsAutoReplyRow

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
    dialect = s.get_bind().dialect.name
    if dialect == "postgresql":
        s.execute(sa.select(sa.func.pg_advisory_xact_lock(_lock_key(address))))
    row = {"address": address, "message_sid": message_sid, "suppressed": False, "at": now}
    # RETURNING, not rowcount: psycopg reports -1 for INSERT .. ON CONFLICT DO NOTHING
    if s.execute(_insert_once(dialect), row).first() is None:
        return False
    count = s.execute(_COUNT, {"address": address, "since": now - WINDOW}).scalar_one()
    if count <= per_hour:
        return True
    s.execute(_SUPPRESS, {"sid": message_sid})
    return False


_TABLE: sa.Table = SmsAutoReplyRow.__table__  # type: ignore[attr-defined]
# Built once (bound parameters): this runs inside every SMS message's transaction.
_COUNT = (
    sa.select(sa.func.count())
    .select_from(_TABLE)
    .where(
        _TABLE.c.address == sa.bindparam("address"),
        _TABLE.c.at > sa.bindparam("since", type_=_TABLE.c.at.type),
        _TABLE.c.suppressed.is_(False),
    )
)
_SUPPRESS = (
    sa.update(_TABLE).where(_TABLE.c.message_sid == sa.bindparam("sid")).values(suppressed=True)
)
_INSERTS: dict[str, sa.Insert] = {}


def _insert_once(dialect: str) -> sa.Insert:
    stmt = _INSERTS.get(dialect)
    if stmt is None:
        if dialect == "postgresql":
            stmt = postgresql.insert(_TABLE).on_conflict_do_nothing()
        elif dialect == "sqlite":
            stmt = sqlite.insert(_TABLE).on_conflict_do_nothing()
        else:  # pragma: no cover
            stmt = sa.insert(_TABLE)
        stmt = stmt.returning(_TABLE.c.id)
        _INSERTS[dialect] = stmt
    return stmt


def was_answered(db: Engine, message_sid: str) -> bool:
    """Whether an automatic reply to this inbound message was allowed (recorded, not suppressed)."""
    with session_scope(db) as s:
        found = s.exec(
            select(SmsAutoReplyRow.id).where(
                SmsAutoReplyRow.message_sid == message_sid,
                col(SmsAutoReplyRow.suppressed).is_(False),
            )
        ).first()
        return found is not None


def prune(db: Engine, older_than: timedelta = timedelta(days=2)) -> int:
    """Drop reply records that no longer count toward any window."""
    table = SmsAutoReplyRow.__table__  # type: ignore[attr-defined]
    with session_scope(db) as s:
        result = s.execute(sa.delete(table).where(table.c.at < utcnow() - older_than))
        return int(result.rowcount or 0)  # type: ignore[attr-defined]
