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
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import col

from core.db import session_scope
from core.models import NoticeRow
from core.notice_templates import TemplateError
from core.senders import OutgoingMessage, SendResult
from sms.identities import is_opted_out, mark_unreachable
from sms.ratelimit import DbRateLimiter, RateLimited
from sms.templates import FREE_TEXT, template_kind

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PortResult:
    """The outcome of one attempt at one gateway."""

    ok: bool
    provider_id: str | None = None
    status: str | None = None  # the provider's first status (queued, accepted)
    segments: int | None = None
    error_code: int | None = None
    error: str | None = None
    temporary: bool = False  # 429, 5xx, network: the same message may succeed later
    permanent: bool = False  # the number can never be reached (unsubscribed, invalid, landline)


class SmsPort(Protocol):
    """One SMS gateway. `sender_key` names the sending identity the rate limit applies to."""

    name: str
    sender_key: str

    async def send_template(
        self, to: str, template: str, params: Mapping[str, Any], kind: str
    ) -> PortResult: ...


def link_notice(db: Engine, notice_id: int, provider_id: str) -> None:
    """Record the provider id on the notice at once (the dispatcher records it again with `sent`),
    so a receipt that beats the dispatcher's write finds its notice and is kept, not lost."""
    with session_scope(db) as s:
        s.execute(
            sa.update(NoticeRow)
            .where(col(NoticeRow.id) == notice_id, col(NoticeRow.provider_id).is_(None))
            .values(provider_id=provider_id)
        )


class SmsSender:
    """`core.senders.Sender` for channel "sms" on top of any `SmsPort`."""

    channel = "sms"

    def __init__(
        self,
        port: SmsPort,
        db: Engine,
        *,
        rate_per_second: float = 1.0,
        attempts: int = 3,
        backoff: float = 1.0,
        max_backoff: float = 30.0,
        max_wait: float = 30.0,
    ) -> None:
        self.port = port
        self.db = db
        self.limiter = DbRateLimiter(db, port.sender_key, rate_per_second, max_wait)
        self.attempts = max(attempts, 1)
        self.backoff = backoff
        self.max_backoff = max_backoff

    async def send(self, message: OutgoingMessage) -> SendResult:
        template = message.template or FREE_TEXT
        params: Mapping[str, Any] = message.params if message.template else {"text": message.text}
        kind = "broadcast" if template_kind(template) == "broadcast" else message.kind
        if kind == "broadcast" and await asyncio.to_thread(is_opted_out, self.db, message.address):
            return SendResult(ok=False, error="opted_out: broadcasts are not sent to this number")
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
            if last.ok:
                if message.notice_id is not None and last.provider_id:
                    await asyncio.to_thread(
                        link_notice, self.db, message.notice_id, last.provider_id
                    )
                return SendResult(ok=True, provider_id=last.provider_id, segments=last.segments)
            if last.permanent:
                reason = f"{self.port.name} {last.error_code}: {last.error or ''}".strip()
                await asyncio.to_thread(mark_unreachable, self.db, message.address, reason)
                return SendResult(ok=False, unreachable=True, error=reason)
            if not last.temporary:
                return SendResult(ok=False, error=f"{last.error_code}: {last.error}")
            if attempt + 1 < self.attempts:
                await asyncio.sleep(self._delay(attempt))
        assert last is not None
        return SendResult(
            ok=False,
            temporary=True,
            retry_after=self._delay(self.attempts),
            error=f"{last.error_code}: {last.error}",
        )

    def _delay(self, attempt: int) -> float:
        return float(min(self.backoff * (2**attempt), self.max_backoff))
