"""Delivery receipts: move the outbox notice forward, never back, never twice.

Used by every SMS gateway: Twilio's status webhook (parsed by sms/status.py), and Aliyun's
SmsReport push and QuerySendDetails polling (sms/aliyun_receipts.py), which build the same
`StatusCallback` (delivered/undelivered) in Twilio's status words.

Twilio reports queued → sent → delivered / undelivered / failed, but callbacks arrive late, twice
or out of order. Every callback is first recorded in `sms_status_event`, unique per (MessageSid,
status) and per `I-Twilio-Idempotency-Token`: a repeat inserts nothing and changes nothing. The
notice is then updated with one conditional UPDATE that only succeeds when the new status ranks
higher than the current one, so concurrent callbacks cannot move it backwards on either database.
A callback for a message we do not know (yet), or whose notice the dispatcher still holds
(`sending`: it records `sent` only on rows it leased), is kept unapplied; `reconcile_all` (run
periodically by the server) applies it once the notice carries the provider id and is released.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from core.kernel.timeutil import utcnow
from core.outbox.identities import mark_in
from core.persistence.db import session_scope
from core.persistence.models import NoticeRow
from core.persistence.models_sms import SmsStatusEventRow
from core.persistence.sql import insert_ignore
from core.persistence.sql import table as _table

log = logging.getLogger(__name__)

# Twilio MessageStatus -> the notice status it means (None: recorded, no notice change).
NOTICE_STATUS: dict[str, str | None] = {
    "accepted": "queued",
    "scheduled": "queued",
    "queued": "queued",
    "sending": "queued",
    "sent": "sent",
    "delivered": "delivered",
    "undelivered": "undelivered",
    "failed": "failed",
    "canceled": None,
    "read": None,
    "partially_delivered": None,
    "receiving": None,
    "received": None,
}
# Rank of notice statuses; anything else (pending, claimed by the dispatcher) ranks 0.
RANK = {"queued": 1, "sent": 2, "delivered": 3, "undelivered": 3, "failed": 3, "cancelled": 3}
# Delivery errors that mean the number itself cannot receive SMS from us.
PERMANENT_DELIVERY_ERRORS = frozenset({"21610", "21211", "21614", "30005", "30006"})

HELD = "sending"  # the dispatcher's leased state: it must record `sent` before receipts apply


def provider_of(message_sid: str) -> str:
    """Twilio SIDs are bare; other gateways' provider ids start with their name (aliyun:…)."""
    head, sep, _rest = message_sid.partition(":")
    return head if sep else "twilio"


@dataclass(frozen=True)
class StatusCallback:
    message_sid: str
    status: str
    error_code: str | None = None
    idempotency_token: str | None = None


def record_status(db: Engine, cb: StatusCallback) -> str:
    """Store and apply one callback.

    Returns 'duplicate' | 'unknown' | 'held' (dispatcher still sending) | 'applied' | 'stale' |
    'ignored' (a status that does not change a notice)."""
    with session_scope(db) as s:
        table = _table(SmsStatusEventRow)
        values = {
            "message_sid": cb.message_sid,
            "status": cb.status,
            "error_code": cb.error_code,
            "idempotency_token": cb.idempotency_token,
            "applied": False,
            "received_at": utcnow(),
        }
        stmt = insert_ignore(s.get_bind().dialect.name, table)
        # RETURNING, not rowcount: psycopg reports -1 for INSERT .. ON CONFLICT DO NOTHING
        inserted = s.execute(stmt.values(values).returning(table.c.id)).first()
        if inserted is None:
            log.info("sms status %s for %s: repeat, ignored", cb.status, cb.message_sid)
            return "duplicate"
        event = s.get(SmsStatusEventRow, inserted[0])
        assert event is not None
        outcome = _apply(s, event)
        if outcome == "unknown":
            log.warning("sms status %s for unknown message %s kept", cb.status, cb.message_sid)
        return outcome


def reconcile(s: Session, provider_id: str) -> int:
    """Apply the stored callbacks of `provider_id` that arrived before its notice knew it."""
    events = s.exec(
        select(SmsStatusEventRow).where(
            SmsStatusEventRow.message_sid == provider_id,
            col(SmsStatusEventRow.applied).is_(False),
        )
    ).all()
    ordered = sorted(events, key=lambda e: RANK.get(NOTICE_STATUS.get(e.status) or "", 0))
    return sum(1 for e in ordered if _apply(s, e) == "applied")


def _apply(s: Session, event: SmsStatusEventRow) -> str:
    notice = s.exec(select(NoticeRow).where(NoticeRow.provider_id == event.message_sid)).first()
    if notice is None or notice.id is None:
        return "unknown"
    if notice.status == HELD:
        return "held"
    event.notice_id = notice.id
    event.applied = True
    s.add(event)
    target = NOTICE_STATUS.get(event.status)
    if target is None:
        return "ignored"
    rank = RANK[target]
    not_below = [status for status, r in RANK.items() if r >= rank]
    now = utcnow()
    values: dict[str, object] = {"status": target, "updated_at": now}
    if target in ("sent", "delivered"):
        values["sent_at"] = sa.func.coalesce(col(NoticeRow.sent_at), now)
    if target == "delivered":
        values["delivered_at"] = now
    provider = provider_of(event.message_sid)
    if target in ("undelivered", "failed"):
        values["last_error"] = f"{provider} {event.error_code or '?'}: delivery {target}"
    result = s.execute(
        sa.update(NoticeRow)
        .where(col(NoticeRow.id) == notice.id, col(NoticeRow.status).not_in(not_below))
        .values(**values)
    )
    if not result.rowcount:  # type: ignore[attr-defined]
        log.info("sms status %s for notice %s is late; kept %s", target, notice.id, notice.status)
        return "stale"
    if provider == "twilio" and event.error_code in PERMANENT_DELIVERY_ERRORS:
        mark_in(s, "sms", notice.address, False, f"twilio {event.error_code}")
    log.info("notice %s: %s -> %s", notice.id, notice.status, target)
    return "applied"


def reconcile_all(db: Engine, limit: int = 500) -> int:
    """Apply every kept callback whose notice now has the provider id and is not held."""
    with session_scope(db) as s:
        sids = s.exec(
            select(SmsStatusEventRow.message_sid)
            .join(NoticeRow, col(NoticeRow.provider_id) == col(SmsStatusEventRow.message_sid))
            .where(col(SmsStatusEventRow.applied).is_(False), col(NoticeRow.status) != HELD)
            .distinct()
            .limit(limit)
        ).all()
        return sum(reconcile(s, sid) for sid in sids)


def prune_unapplied(db: Engine, older_than: timedelta = timedelta(days=7)) -> int:
    """Drop callbacks that never matched a notice (e.g. receipts of TwiML replies)."""
    with session_scope(db) as s:
        result = s.execute(
            sa.delete(SmsStatusEventRow).where(
                col(SmsStatusEventRow.applied).is_(False),
                col(SmsStatusEventRow.received_at) < utcnow() - older_than,
            )
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]


def link_notice(db: Engine, notice_id: int, provider_id: str) -> None:
    """Record the provider id on the notice at once (the dispatcher records it again with `sent`),
    so a receipt that beats the dispatcher's write finds its notice and is kept, not lost."""
    with session_scope(db) as s:
        s.execute(
            sa.update(NoticeRow)
            .where(col(NoticeRow.id) == notice_id, col(NoticeRow.provider_id).is_(None))
            .values(provider_id=provider_id)
        )


def awaiting_receipt(
    db: Engine, prefix: str, now: datetime, max_age: timedelta, min_age: timedelta, limit: int
) -> list[tuple[str, datetime]]:
    """(provider id, sent at) of SMS notices sent through the gateway whose ids start with
    `prefix`, between `min_age` and `max_age` ago, with no receipt yet; oldest first."""
    with Session(db) as s:
        rows = s.exec(
            select(NoticeRow.provider_id, NoticeRow.sent_at)
            .where(
                NoticeRow.channel == "sms",
                NoticeRow.status == "sent",
                col(NoticeRow.provider_id).like(f"{prefix}%"),
                col(NoticeRow.sent_at) >= now - max_age,
                col(NoticeRow.sent_at) <= now - min_age,
            )
            .order_by(col(NoticeRow.sent_at))
            .limit(limit)
        ).all()
    return [(str(pid), sent_at) for pid, sent_at in rows if pid and sent_at]
