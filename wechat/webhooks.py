"""GET/POST /wechat without a web framework (as sms/webhooks.py): one step a line, returns a value.

POST: authenticate (403) and parse (400) before anything is stored → messages that need no
engine (voice, the 政策问答 menu key, unsupported types) get a passive text → unsubscribe marks the
openid unreachable → everything else runs the dialogue engine (files downloaded first) within the
reply budget (4 s of WeChat's 5): done in time → a passive reply (the first 2,048 bytes; the rest
through the outbox); not done → "success" at once, the message is marked deferred and its reply is
queued to the outbox (客服消息) when the engine finishes. The engine records the id, so a retry of
the same message runs nothing again: it gets the stored reply passively, or "success" when the
reply went (or goes) through the outbox.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

from wechatpy.replies import TextReply

from core.database import Database
from core.dialogue.events import Attachment, EngineResult, InboundEvent
from wechat import store
from wechat.inbound import Authenticator, Incoming, Refused
from wechat.media import MediaFetcher
from wechat.render import reply_text, split_text
from wechat.texts import WechatData

log = logging.getLogger(__name__)

REPLY_BUDGET_SECONDS = 4.0
SUCCESS = "success"
# menu CLICK keys → the words the engine understands (faq is answered here)
CLICK_WORDS = {
    "precheck": "预审",
    "status": "进度",
    "human": "人工",
    "docs": "材料",
    "link": "绑定",
}
_SUBSCRIBE = ("event:subscribe", "event:subscribe_scan")


class Dialogue(Protocol):
    def handle(self, event: InboundEvent) -> EngineResult: ...


@dataclass(frozen=True)
class WebhookResponse:
    status_code: int
    body: str = ""
    media_type: str = "text/plain"


class WechatWebhooks:
    def __init__(
        self,
        *,
        db: Database,
        dialogue: Callable[[], Dialogue],
        auth: Authenticator | None,
        media: MediaFetcher | None,
        data: WechatData,
        reply_budget: float = REPLY_BUDGET_SECONDS,
    ) -> None:
        self.db = db
        self.dialogue = dialogue
        self.auth = auth
        self.media = media
        self.data = data
        self.reply_budget = reply_budget
        self._late: set[asyncio.Task[None]] = set()

    def verify(self, query: Mapping[str, str]) -> WebhookResponse:
        if self.auth is None:
            return _not_configured()
        try:
            return WebhookResponse(200, self.auth.verify(query))
        except Refused as exc:
            log.warning("wechat verification refused: %s", exc.reason)
            return WebhookResponse(exc.status, exc.reason)

    async def receive(self, query: Mapping[str, str], body: bytes) -> WebhookResponse:
        started = time.monotonic()
        if self.auth is None:
            return _not_configured()
        try:
            msg = self.auth.open(query, body)
        except Refused as exc:
            log.warning("wechat message refused: %s %s", exc.status, exc.reason)
            return WebhookResponse(exc.status, exc.reason)
        direct = self._direct_text(msg)
        if direct is not None:
            return self._passive(msg, query, direct)
        if msg.kind == "event:unsubscribe":
            await asyncio.to_thread(store.set_reachable, self.db, msg.openid, False, "unsubscribe")
            return WebhookResponse(200, SUCCESS)
        if msg.kind in _SUBSCRIBE:
            await asyncio.to_thread(store.set_reachable, self.db, msg.openid, True)
        if not self._for_engine(msg):
            return WebhookResponse(200, SUCCESS)
        task = asyncio.ensure_future(self._run(msg))
        remaining = max(self.reply_budget - (time.monotonic() - started), 0.0)
        try:
            result = await asyncio.wait_for(asyncio.shield(task), remaining)
        except TimeoutError:
            return await self._defer(msg, task)
        except Exception:
            log.exception("wechat message %s failed in the engine", msg.dedupe_key)
            return self._passive(msg, query, self.data.text("busy"))
        return await self._answer(msg, query, result)

    # --- steps ----------------------------------------------------------------------------------

    def _direct_text(self, msg: Incoming) -> str | None:
        """A passive text that needs no engine (and stores nothing), else None."""
        if msg.kind == "voice":
            return self.data.text("voice")
        if msg.kind == "event:click" and str(msg.raw.get("EventKey") or "") == "faq":
            return self.data.text("faq_prompt")
        if msg.kind in ("video", "shortvideo", "location", "link", "miniprogrampage"):
            return self.data.text("unsupported")
        return None

    def _for_engine(self, msg: Incoming) -> bool:
        if msg.kind == "event:click":
            return str(msg.raw.get("EventKey") or "") in CLICK_WORDS
        return msg.kind in ("text", "image", "file", *_SUBSCRIBE)

    async def _run(self, msg: Incoming) -> EngineResult:
        """Download files (unless the message was handled before), then run the engine."""
        attachments: tuple[Attachment, ...] = ()
        media_id = str(msg.raw.get("MediaId") or "")
        if msg.kind in ("image", "file") and not await asyncio.to_thread(
            store.seen, self.db, msg.dedupe_key
        ):
            if self.media is None or not media_id:
                attachments = (Attachment(),)
            else:
                name = str(msg.raw.get("Title") or "") or None
                attachments = (await self.media.fetch(media_id, name),)
        event = self._event(msg, attachments)
        return await asyncio.to_thread(self.dialogue().handle, event)

    def _event(self, msg: Incoming, attachments: tuple[Attachment, ...]) -> InboundEvent:
        text = ""
        start: str | None = None
        if msg.kind == "text":
            text = str(msg.raw.get("Content") or "")
        elif msg.kind == "event:click":
            text = CLICK_WORDS[str(msg.raw.get("EventKey") or "")]
        elif msg.kind in _SUBSCRIBE:
            start = ""
        elif msg.kind in ("image", "file") and not attachments:
            attachments = (Attachment(),)  # a repeat: the engine answers from its record
        return InboundEvent(
            channel=store.CHANNEL,
            address=msg.openid,
            message_id=msg.dedupe_key,
            text=text,
            attachments=attachments,
            start_payload=start,
        )

    async def _answer(
        self, msg: Incoming, query: Mapping[str, str], result: EngineResult
    ) -> WebhookResponse:
        pieces = split_text(reply_text(result.replies))
        if not pieces:
            return WebhookResponse(200, SUCCESS)
        if result.duplicate and await asyncio.to_thread(store.is_deferred, self.db, msg.dedupe_key):
            # its reply goes through the outbox (queued again in case the first worker died)
            await asyncio.to_thread(
                store.enqueue_reply, self.db, msg.dedupe_key, msg.openid, "\n".join(pieces)
            )
            return WebhookResponse(200, SUCCESS)
        if len(pieces) > 1:
            await asyncio.to_thread(
                store.enqueue_reply, self.db, msg.dedupe_key, msg.openid, "\n".join(pieces[1:])
            )
        return self._passive(msg, query, pieces[0])

    async def _defer(self, msg: Incoming, task: asyncio.Future[EngineResult]) -> WebhookResponse:
        await asyncio.to_thread(store.mark_deferred, self.db, msg.dedupe_key, msg.openid)
        late = asyncio.ensure_future(self._send_late(msg, task))
        self._late.add(late)
        late.add_done_callback(self._late.discard)
        log.info("wechat message %s: reply deferred to the 客服消息 API", msg.dedupe_key)
        return WebhookResponse(200, SUCCESS)

    async def _send_late(self, msg: Incoming, task: asyncio.Future[EngineResult]) -> None:
        try:
            result = await task
        except Exception:
            log.exception("wechat message %s failed in the engine (deferred)", msg.dedupe_key)
            return
        text = "\n".join(split_text(reply_text(result.replies)))
        if text:
            await asyncio.to_thread(store.enqueue_reply, self.db, msg.dedupe_key, msg.openid, text)

    def _passive(self, msg: Incoming, query: Mapping[str, str], text: str) -> WebhookResponse:
        xml = TextReply(message=msg.message, content=text).render()
        assert self.auth is not None
        return WebhookResponse(200, self.auth.seal(xml, query), "application/xml")

    async def drain(self) -> None:
        """Wait for late replies still running (shutdown, tests)."""
        while self._late:
            await asyncio.gather(*list(self._late), return_exceptions=True)


def _not_configured() -> WebhookResponse:
    log.warning("wechat request refused: WECHAT_APP_ID/WECHAT_APP_SECRET/WECHAT_TOKEN are not set")
    return WebhookResponse(503, "wechat not configured")
