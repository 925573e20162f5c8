"""Constants, errors and table helper shared by the broadcast modules."""

from __future__ import annotations

import logging
from datetime import timedelta

from core.kernel.errors import Conflict, Invalid, NotFound
from core.kernel.labels import label, labels

log = logging.getLogger(__name__)

TEMPLATE = "staff_broadcast"
KIND = "broadcast"
CHANNELS: tuple[str, ...] = ("telegram", "wechat", "sms")
CHANNEL_LABELS = {c: label("channel", c) for c in CHANNELS}
GROUPS = labels("broadcast_group")
STATUS_LABELS = labels("broadcast_status")
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
