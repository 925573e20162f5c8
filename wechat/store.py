"""What the WeChat door keeps in the database (all in shared tables).

- inbound ids: the engine records each MsgId (events: FromUserName:CreateTime) under channel
  "wechat" in `inbound_message`; a message whose reply went out late is also recorded under
  "wechat-deferred", so a retry of it is answered "success" instead of a second passive reply;
- late replies and the rest of long replies: outbox notices of kind `reply`, key
  `wechat:reply:<id>` (one per inbound message, so a retry never queues a second one);
- reachability of an openid (`channel_identity`, channel "wechat"): unsubscribe → unreachable,
  subscribe → reachable again.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, func, select

from core.outbox.enqueue import enqueue
from core.persistence.db import session_scope
from core.persistence.models import ChannelIdentityRow, InboundMessageRow

CHANNEL = "wechat"
DEFERRED = "wechat-deferred"
REPLY_KIND = "reply"


def seen(db: Engine, key: str) -> bool:
    with session_scope(db) as s:
        return (
            s.exec(
                select(InboundMessageRow.id).where(
                    InboundMessageRow.channel == CHANNEL, InboundMessageRow.message_id == key
                )
            ).first()
            is not None
        )


def mark_deferred(db: Engine, key: str, openid: str) -> None:
    try:
        with session_scope(db) as s:
            s.add(InboundMessageRow(channel=DEFERRED, message_id=key, address=openid))
    except IntegrityError:
        pass  # already marked by an earlier delivery of the same message


def is_deferred(db: Engine, key: str) -> bool:
    with session_scope(db) as s:
        return (
            s.exec(
                select(InboundMessageRow.id).where(
                    InboundMessageRow.channel == DEFERRED, InboundMessageRow.message_id == key
                )
            ).first()
            is not None
        )


def enqueue_reply(db: Engine, key: str, openid: str, text: str) -> bool:
    """Queue a reply for the 客服消息 API; False when it was queued before."""
    with session_scope(db) as s:
        return enqueue(
            s,
            key=f"wechat:reply:{key}",
            kind=REPLY_KIND,
            channel=CHANNEL,
            address=openid,
            text=text,
        )


def set_reachable(db: Engine, openid: str, reachable: bool, reason: str | None = None) -> None:
    """Mark the openid reachable (subscribe) or not (unsubscribe, 43004), creating its identity."""
    for _ in range(2):  # a concurrent first insert: the second pass updates
        try:
            with session_scope(db) as s:
                ident = s.exec(
                    select(ChannelIdentityRow).where(
                        ChannelIdentityRow.channel == CHANNEL, ChannelIdentityRow.address == openid
                    )
                ).first()
                if ident is None:
                    ident = ChannelIdentityRow(channel=CHANNEL, address=openid)
                ident.unreachable = not reachable
                ident.unreachable_reason = None if reachable else (reason or "")[:200]
                s.add(ident)
            return
        except IntegrityError:
            continue


def last_inbound_at(db: Engine, openid: str) -> datetime | None:
    """When the openid last wrote to us (the 48-hour 客服消息 window starts there)."""
    with session_scope(db) as s:
        value = s.exec(
            select(func.max(InboundMessageRow.created_at)).where(
                col(InboundMessageRow.channel) == CHANNEL,
                col(InboundMessageRow.address) == openid,
            )
        ).one()
    if value is None:
        return None
    if isinstance(value, str):  # SQLite returns the aggregate as text
        value = datetime.fromisoformat(value)
    from datetime import UTC

    return value if value.tzinfo else value.replace(tzinfo=UTC)
