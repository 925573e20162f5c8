"""The sending port: the outbox dispatcher talks to channels only through `Sender`.

Adapters: bot/ (Telegram), sms/ (Twilio; a domestic template gateway is one more adapter), and
`ConsoleSender` here, used when a channel has no credentials (it logs instead of sending).
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Protocol

from aiolimiter import AsyncLimiter

from core.kernel.identity import mask_phone, mask_text

log = logging.getLogger(__name__)

# Chat channels a person links with proof (preferred in this order over SMS): one definition for
# the reminder sweep, broadcasts and review notices.
CHAT_CHANNELS: tuple[str, ...] = ("telegram", "wechat")


@dataclass(frozen=True)
class OutgoingMessage:
    """One message to send. SMS adapters render `template` + `params`; Telegram sends `text`."""

    notice_id: int | None
    channel: str
    address: str
    text: str
    kind: str = "notification"  # notification | broadcast | reply
    template: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    options: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class SendResult:
    ok: bool
    provider_id: str | None = None
    # failure details
    temporary: bool = False  # try again later (429, 5xx, network)
    retry_after: float | None = None  # seconds, when the provider said so
    unreachable: bool = False  # the address can never be reached (blocked bot, 21610, 21211)
    deferred: bool = False  # not now (a per-number frequency limit): later, not counted as a try
    error: str | None = None
    segments: int | None = None


class Sender(Protocol):
    channel: str

    async def send(self, message: OutgoingMessage) -> SendResult: ...


class ConsoleSender:
    """Logs messages instead of sending them (no credentials configured)."""

    def __init__(self, channel: str) -> None:
        self.channel = channel
        self.sent: list[OutgoingMessage] = []

    async def send(self, message: OutgoingMessage) -> SendResult:
        self.sent.append(message)
        log.info(
            "[console %s] to %s: %s",
            self.channel,
            mask_phone(message.address),
            mask_text(message.text)[:200],
        )
        return SendResult(ok=True, provider_id=f"console-{len(self.sent)}")


class PerAddressLimits:
    """One `aiolimiter` bucket per address (a chat, an openid) allowing `per_second` sends,
    kept for the `max_addresses` addresses used most recently."""

    def __init__(self, per_second: float, max_addresses: int = 10_000) -> None:
        self.per_second = per_second
        self.max_addresses = max_addresses
        self._buckets: OrderedDict[str, AsyncLimiter] = OrderedDict()

    def of(self, address: str) -> AsyncLimiter:
        bucket = self._buckets.pop(address, None) or AsyncLimiter(1, 1 / self.per_second)
        self._buckets[address] = bucket
        if len(self._buckets) > self.max_addresses:
            self._buckets.popitem(last=False)
        return bucket

    def clear(self) -> None:
        self._buckets.clear()
