"""`WechatSender`: the outbox's port to WeChat (channel "wechat", address = openid).

- replies (late engine replies, staff replies: kinds reply/relay) go as 客服消息 text
  (message/custom/send), split at 2,048 bytes and sent in order; outside the 48-hour window
  (45015) a mapped template message is used instead;
- notifications and broadcasts go as 模板消息 (message/template/send) with the template id and
  fields of knowledge/templates/wechat.yaml; a template not set up there falls back to a 客服消息
  while the person wrote within 48 hours, otherwise the notice fails with a clear error;
- errors: 43004 (unsubscribed), 40003 (unknown openid) → unreachable; 45009 (daily quota),
  45047 (客服消息 count limit), 45011, -1 (busy), network → temporary with a back-off; 40001/40014/
  42001 → the token is refreshed once (shared, see wechat/client.py) and the call retried once;
- rate: at most `rate_per_second` calls per process and one per second per openid (aiolimiter).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import requests
from aiolimiter import AsyncLimiter
from wechatpy.exceptions import WeChatClientException

from core.database import Database
from core.kernel.timeutil import local_today, utcnow
from core.outbox.senders import OutgoingMessage, PerAddressLimits, SendResult
from core.reminders.ladder import local_day_start
from wechat import store
from wechat.client import TOKEN_ERRORS, TokenUnavailable, WechatApiClient
from wechat.render import split_text
from wechat.texts import WechatData, WechatDataError

log = logging.getLogger(__name__)

UNREACHABLE_CODES = frozenset({43004, 40003, 43019})
QUOTA_CODES = frozenset({45009, 45047, 45011, -1})
OUT_OF_WINDOW = 45015
WINDOW = timedelta(hours=48)
MAX_CHAT_LIMITERS = 10_000
_REPLY_KINDS = ("reply",)


class _Failed(Exception):
    def __init__(self, result: SendResult) -> None:
        super().__init__(result.error)
        self.result = result


def quota_backoff(code: int, now: datetime | None = None) -> float:
    """Seconds to wait after a quota error: the daily quota resets at midnight Beijing time."""
    if code == 45009:
        now = now or utcnow()
        tomorrow = local_day_start(local_today(now) + timedelta(days=1))
        return max((tomorrow - now).total_seconds(), 60.0)
    return 600.0 if code == 45047 else 60.0


class WechatSender:
    channel = "wechat"

    def __init__(
        self,
        client: WechatApiClient,
        db: Database,
        data: WechatData,
        *,
        rate_per_second: float = 20.0,
        per_user_per_second: float = 1.0,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.client = client
        self.db = db
        self.data = data
        self.rate_per_second = max(rate_per_second, 0.1)
        self.limiter = AsyncLimiter(self.rate_per_second, 1)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._users = PerAddressLimits(per_user_per_second, MAX_CHAT_LIMITERS)
        self.clock = clock

    def _limiters(self, openid: str) -> tuple[AsyncLimiter, AsyncLimiter]:
        """The process-wide and the per-openid limiter (new ones in a new event loop: aiolimiter
        buckets belong to one loop; the CLI runs one loop per command)."""
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            self._loop = loop
            self.limiter = AsyncLimiter(self.rate_per_second, 1)
            self._users.clear()
        return self.limiter, self._users.of(openid)

    async def send(self, message: OutgoingMessage) -> SendResult:
        try:
            if message.kind in _REPLY_KINDS:
                return await self._custom(message, fallback=True)
            return await self._template_or_custom(message)
        except _Failed as failed:
            return failed.result

    async def _template_or_custom(self, message: OutgoingMessage) -> SendResult:
        mapped = self.data.template(message.template)
        if mapped is not None:
            try:
                data = mapped.render(message.params)
            except WechatDataError as exc:
                return SendResult(ok=False, error=str(exc)[:300])
            payload = (message.address, mapped.template_id, data, mapped.url)
            result = await self._call(message.address, self.client.message.send_template, *payload)
            return SendResult(ok=True, provider_id=_msgid(result))
        if await self._in_window(message.address):
            return await self._custom(message, fallback=False)
        return SendResult(
            ok=False,
            error=f"未配置微信模板消息（{message.template}）且超过48小时客服消息时限，无法发送",
        )

    async def _custom(self, message: OutgoingMessage, *, fallback: bool) -> SendResult:
        pieces = split_text(message.text) or [message.text]
        first: str | None = None
        for piece in pieces:
            try:
                result = await self._call(
                    message.address, self.client.message.send_text, message.address, piece
                )
            except _Failed as failed:
                if fallback and failed.result.error and str(OUT_OF_WINDOW) in failed.result.error:
                    return await self._out_of_window(message)
                raise
            first = first or _msgid(result)
        return SendResult(ok=True, provider_id=first, segments=len(pieces))

    async def _out_of_window(self, message: OutgoingMessage) -> SendResult:
        if self.data.template(message.template) is not None:
            return await self._template_or_custom(message)
        return SendResult(ok=False, error=f"{OUT_OF_WINDOW}: 超过48小时客服消息时限，无法回复")

    async def _in_window(self, openid: str) -> bool:
        last = await asyncio.to_thread(store.last_inbound_at, self.db, openid)
        return last is not None and self.clock() - last < WINDOW

    async def _call(self, openid: str, fn: Callable[..., Any], *args: Any) -> Any:
        """One API call, rate-limited (see `_call_once` for the token refresh)."""
        overall, per_user = self._limiters(openid)
        async with overall, per_user:
            try:
                return await asyncio.to_thread(self._call_once, fn, *args)
            except WeChatClientException as exc:
                result = await asyncio.to_thread(self._classify, openid, _code(exc), exc)
                raise _Failed(result) from exc
            except TokenUnavailable as exc:
                error = self.client.scrub(str(exc))[:300]
                raise _Failed(SendResult(ok=False, temporary=True, error=error)) from exc
            except requests.RequestException as exc:
                error = f"network: {type(exc).__name__}"
                raise _Failed(SendResult(ok=False, temporary=True, error=error)) from exc

    def _call_once(self, fn: Callable[..., Any], *args: Any) -> Any:
        """The call; a refused token (40001/40014/42001) is refreshed once and the call retried
        once. In one thread, so the store knows which token the refused call used."""
        try:
            return fn(*args)
        except WeChatClientException as exc:
            if _code(exc) not in TOKEN_ERRORS:
                raise
            log.info("wechat: access_token refused (%s), refreshing once", _code(exc))
        self.client.refresh_after_refusal()
        return fn(*args)

    def _classify(self, openid: str, code: int | None, exc: Exception) -> SendResult:
        error = self.client.scrub(f"{code}: {getattr(exc, 'errmsg', '') or exc}")[:300]
        if code in UNREACHABLE_CODES:
            store.set_reachable(self.db, openid, False, error)
            return SendResult(ok=False, unreachable=True, error=error)
        if code in QUOTA_CODES:
            log.warning("wechat quota/limit %s: backing off", code)
            return SendResult(
                ok=False, temporary=True, retry_after=quota_backoff(code, self.clock()), error=error
            )
        if code is None or code in TOKEN_ERRORS:  # HTTP error, or a token refused twice
            return SendResult(ok=False, temporary=True, error=error)
        return SendResult(ok=False, error=error)


def _code(exc: WeChatClientException) -> int | None:
    try:
        return int(exc.errcode) if exc.errcode is not None else None
    except (TypeError, ValueError):
        return None


def _msgid(result: Any) -> str | None:
    if isinstance(result, dict) and result.get("msgid") is not None:
        return str(result["msgid"])
    return None
