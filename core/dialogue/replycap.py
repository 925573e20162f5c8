"""The reply cap: at most SMS_REPLIES_PER_HOUR automatic replies per number per hour.

An SMS-pumping flood (many messages from or to premium numbers) must not run up the bill. Each
automatic reply is a row in `sms_auto_reply`; the row is inserted first and the window counted
after, in the same transaction (serialised per number by an advisory lock on PostgreSQL, by the
single writer on SQLite), so concurrent messages cannot both slip under the cap.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from core.dialogue.events import Reply
from core.kernel.identity import mask_phone
from core.kernel.timeutil import utcnow
from core.persistence.db import session_scope
from core.persistence.models_sms import SmsAutoReplyRow
from core.persistence.sql import insert_ignore, table

log = logging.getLogger(__name__)
WINDOW = timedelta(hours=1)


def _lock_key(address: str) -> int:
    return int.from_bytes(
        hashlib.sha1(f"sms-cap:{address}".encode()).digest()[:8], "big", signed=True
    )


def allow_reply(db: Engine, address: str, message_sid: str, per_hour: int) -> bool:
    """Record one reply to `address`; False when it is over the cap (or was already answered)."""
    with session_scope(db) as s:
        return allow_reply_in(s, address, message_sid, per_hour)


def capped(
    address: str,
    message_sid: str,
    per_hour: int,
    render: Callable[[list[Reply]], str],
    silent: str,
) -> Callable[[Session, list[Reply]], str]:
    """The engine's `finish` hook of an SMS door that answers in its response (TwiML): inside
    the engine's transaction, count the reply in the cap and render it; `silent` when there is
    nothing to answer or the cap is reached (the message is recorded, not answered)."""

    def finish(s: Session, replies: list[Reply]) -> str:
        if not replies:
            return silent
        if not allow_reply_in(s, address, message_sid, per_hour):
            log.warning(
                "sms reply cap reached for %s; message recorded, not answered", mask_phone(address)
            )
            return silent
        return render(replies)

    return finish


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


_TABLE = table(SmsAutoReplyRow)
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
        stmt = _INSERTS[dialect] = insert_ignore(dialect, _TABLE).returning(_TABLE.c.id)
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
    with session_scope(db) as s:
        result = s.execute(sa.delete(_TABLE).where(_TABLE.c.at < utcnow() - older_than))
        return int(result.rowcount or 0)  # type: ignore[attr-defined]
