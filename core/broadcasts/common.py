"""Constants, errors and table helper shared by the broadcast modules."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from core.kernel.errors import Conflict, Invalid, NotFound

log = logging.getLogger(__name__)

TEMPLATE = "staff_broadcast"
KIND = "broadcast"
CHANNELS: tuple[str, ...] = ("telegram", "wechat", "sms")
CHANNEL_LABELS = {"telegram": "Telegram", "wechat": "微信", "sms": "短信"}
GROUPS: dict[str, str] = {
    "all": "全部订阅用户",
    "applicants": "申请人（按阶段）",
    "borrowers": "在贷借款人",
    "overdue": "逾期借款人",
}
STATUS_LABELS: dict[str, str] = {
    "draft": "草稿",
    "pending_confirm": "待第二人确认",
    "scheduled": "已定时",
    "fanout": "正在排队",
    "queued": "发送中",
    "done": "已完成",
    "cancelled": "已取消",
}
OPEN_STATUSES = ("draft", "pending_confirm", "scheduled", "fanout", "queued")
ERR_CANCELLED = "群发已取消"
BATCH = 20_000
STALE_FANOUT = timedelta(minutes=2)


class BroadcastError(Conflict):
    """A broadcast operation that cannot be done; the message is Chinese."""


class BroadcastNotFound(NotFound, BroadcastError):
    """No broadcast with that id."""


class BroadcastInvalid(Invalid, BroadcastError):
    """A bad audience, title, body or SMS text."""


def _t(model: Any) -> sa.Table:
    table: sa.Table = model.__table__
    return table
