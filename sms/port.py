"""The template-based SMS port, and the outbox `Sender` built on any adapter of it.

Every outgoing SMS is a named template plus parameters (`send_template(to, template, params,
kind)`): a text gateway (Twilio, sms/twilio_sender.py) renders the template to text; a domestic
template gateway (Aliyun, Tencent Cloud) maps the name to its pre-approved template code and sends
the parameters. Adding such a gateway is one new file with a class satisfying `SmsPort`.

`SmsSender` adds what every gateway needs: the database-shared rate limit per sender, retries with
backoff on temporary errors, no broadcast to opted-out numbers, and marking a number unreachable on
a permanent error so nobody retries it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from core.database import Database
from core.outbox import identities
from core.outbox.ratelimit import DbRateLimiter, RateLimited
from core.outbox.receipts import link_notice
from core.outbox.senders import OutgoingMessage, SendResult
from core.outbox.templates import TemplateError
from sms.templates import FREE_TEXT, template_kind

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PortResult:
    """The outcome of one attempt at one gateway."""

    ok: bool
    provider_id: str | None = None
    status: str | None = None  # the provider's first status (queued, accepted)
    segments: int | None = None
    error_code: int | str | None = None
    error: str | None = None
    temporary: bool = False  # 429, 5xx, network: the same message may succeed later
    permanent: bool = False  # the number can never be reached (unsubscribed, invalid, landline)
    deferred: bool = False  # the provider asks to come back later (per-number frequency limit)
    retry_after: float | None = None  # seconds, when the provider said so


@dataclass(frozen=True)
class BatchItem:
    to: str
    template: str
    params: Mapping[str, Any]
    kind: str


class SmsPort(Protocol):
    """One SMS gateway. `sender_key` names the sending identity the rate limit applies to."""

    name: str
    sender_key: str

    async def send_template(
        self, to: str, template: str, params: Mapping[str, Any], kind: str
    ) -> PortResult: ...


@runtime_checkable
class BatchPort(SmsPort, Protocol):
    """A gateway with a bulk call (Aliyun SendBatchSms): one template, up to `batch_limit`
    numbers per call; `SmsSender` sends broadcasts through it, one rate-limit slot per call."""

    batch_limit: int

    async def send_batch(self, items: Sequence[BatchItem]) -> list[PortResult]: ...


class Batcher:
    """Gathers concurrent broadcast sends of one template into bulk calls of `batch_limit`.

    A group is sent when it is full, when no item joined it for `linger` seconds, or
    `max_linger` after its first item, after one slot of the shared rate limit (the provider's
    limit is on calls). Each caller gets its own item's result."""

    def __init__(
        self, port: BatchPort, limiter: DbRateLimiter, linger: float = 0.05, max_linger: float = 0.5
    ) -> None:
        self.port = port
        self.limiter = limiter
        self.linger = linger
        self.max_linger = max_linger
        self._groups: dict[str, list[tuple[BatchItem, asyncio.Future[PortResult]]]] = {}
        self._first: dict[str, float] = {}
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    async def submit(self, item: BatchItem) -> PortResult:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[PortResult] = loop.create_future()
        key = item.template
        group = self._groups.setdefault(key, [])
        group.append((item, future))
        if len(group) >= max(self.port.batch_limit, 1):
            self._flush(key)
        else:
            first = self._first.setdefault(key, loop.time())
            at = min(loop.time() + self.linger, first + self.max_linger)
            timer = self._timers.pop(key, None)
            if timer is not None:
                timer.cancel()
            self._timers[key] = loop.call_at(at, self._flush, key)
        return await future

    def _flush(self, key: str) -> None:
        self._first.pop(key, None)
        timer = self._timers.pop(key, None)
        if timer is not None:
            timer.cancel()
        group = self._groups.pop(key, [])
        if group:
            task = asyncio.ensure_future(self._send(group))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _send(self, group: list[tuple[BatchItem, asyncio.Future[PortResult]]]) -> None:
        items = [item for item, _ in group]
        try:
            await self.limiter.acquire()
            results = await self.port.send_batch(items)
        except RateLimited as exc:
            results = [
                PortResult(ok=False, temporary=True, retry_after=exc.retry_after, error=str(exc))
            ] * len(items)
        except Exception as exc:  # a bug or an unmapped error: every caller hears of it
            log.exception("%s: bulk send of %d failed", self.port.name, len(items))
            results = [PortResult(ok=False, temporary=True, error=repr(exc)[:200])] * len(items)
        for (_, future), result in zip(group, results, strict=True):
            if not future.done():
                future.set_result(result)


class SmsSender:
    """`core.outbox.senders.Sender` for channel "sms" on top of any `SmsPort`."""

    channel = "sms"

    def __init__(
        self,
        port: SmsPort,
        db: Database,
        *,
        rate_per_second: float = 1.0,
        attempts: int = 3,
        backoff: float = 1.0,
        max_backoff: float = 30.0,
        max_wait: float = 30.0,
        batch_linger: float = 0.05,
    ) -> None:
        self.port = port
        self.db = db
        self.limiter = DbRateLimiter(db, port.sender_key, rate_per_second, max_wait)
        self.attempts = max(attempts, 1)
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.batcher = (
            Batcher(port, self.limiter, batch_linger) if isinstance(port, BatchPort) else None
        )

    async def send(self, message: OutgoingMessage) -> SendResult:
        template = message.template or FREE_TEXT
        params: Mapping[str, Any] = message.params if message.template else {"text": message.text}
        kind = "broadcast" if template_kind(template) == "broadcast" else message.kind
        if kind == "broadcast" and await asyncio.to_thread(
            identities.is_opted_out, self.db, "sms", message.address
        ):
            return SendResult(ok=False, error="opted_out: broadcasts are not sent to this number")
        if kind == "broadcast" and self.batcher is not None:
            item = BatchItem(message.address, template, params, kind)
            return await self._settle(message, await self.batcher.submit(item))
        last: PortResult | None = None
        for attempt in range(self.attempts):
            try:
                await self.limiter.acquire()
            except RateLimited as exc:
                return SendResult(
                    ok=False, temporary=True, retry_after=exc.retry_after, error=str(exc)
                )
            try:
                last = await self.port.send_template(message.address, template, params, kind)
            except TemplateError as exc:
                return SendResult(ok=False, error=f"template: {exc}")
            if last.ok or last.permanent or last.deferred or not last.temporary:
                return await self._settle(message, last)
            if attempt + 1 < self.attempts:
                await asyncio.sleep(
                    min(max(self._delay(attempt), last.retry_after or 0), self.max_backoff)
                )
        assert last is not None
        return SendResult(
            ok=False,
            temporary=True,
            retry_after=max(self._delay(self.attempts), last.retry_after or 0),
            error=f"{last.error_code}: {last.error}",
        )

    async def _settle(self, message: OutgoingMessage, last: PortResult) -> SendResult:
        """One attempt's final result as the outbox sees it (links, marks the number)."""
        if last.ok:
            if message.notice_id is not None and last.provider_id:
                await asyncio.to_thread(link_notice, self.db, message.notice_id, last.provider_id)
            return SendResult(ok=True, provider_id=last.provider_id, segments=last.segments)
        if last.permanent:
            reason = f"{self.port.name} {last.error_code}: {last.error or ''}".strip()
            await asyncio.to_thread(identities.mark, self.db, "sms", message.address, False, reason)
            return SendResult(ok=False, unreachable=True, error=reason)
        error = f"{last.error_code}: {last.error}"
        if last.deferred:
            return SendResult(
                ok=False, temporary=True, deferred=True, retry_after=last.retry_after, error=error
            )
        if last.temporary:
            return SendResult(
                ok=False,
                temporary=True,
                retry_after=last.retry_after or self._delay(0),
                error=error,
            )
        return SendResult(ok=False, error=error)

    def _delay(self, attempt: int) -> float:
        return float(min(self.backoff * (2**attempt), self.max_backoff))
