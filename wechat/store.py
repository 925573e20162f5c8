"""What the WeChat door keeps, in the shared tables through core functions (no SQL here).

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

from core.database import Database
from core.dialogue import inbound
from core.outbox import identities
from core.outbox.enqueue import queue

CHANNEL = "wechat"
DEFERRED = "wechat-deferred"
REPLY_KIND = "reply"


def seen(db: Database, key: str) -> bool:
    return inbound.seen(db, CHANNEL, key)


def mark_deferred(db: Database, key: str, openid: str) -> None:
    inbound.record(db, DEFERRED, key, openid)


def is_deferred(db: Database, key: str) -> bool:
    return inbound.seen(db, DEFERRED, key)


def enqueue_reply(db: Database, key: str, openid: str, text: str) -> bool:
    """Queue a reply for the 客服消息 API; False when it was queued before."""
    notice = {
        "key": f"wechat:reply:{key}",
        "kind": REPLY_KIND,
        "channel": CHANNEL,
        "address": openid,
        "text": text,
    }
    return queue(db, [notice]) == 1


def set_reachable(db: Database, openid: str, reachable: bool, reason: str | None = None) -> None:
    """Mark the openid reachable (subscribe) or not (unsubscribe, 43004), creating its identity."""
    identities.mark(db, CHANNEL, openid, reachable, reason)


def last_inbound_at(db: Database, openid: str) -> datetime | None:
    """When the openid last wrote to us (the 48-hour 客服消息 window starts there)."""
    return inbound.last_inbound_at(db, CHANNEL, openid)
