"""Aliyun HTTP push without a web framework: SmsReport (receipts) and SmsUp (上行, replies).

Alibaba POSTs a JSON array to the URLs configured in the console's 通用设置 → HTTP 批量推送:
    {PUBLIC_BASE_URL}/sms/aliyun/<ALIYUN_SMS_PUSH_TOKEN>/report   and   …/up
The token in the path is the authentication (the push carries no signature): a wrong token is 403
and nothing is read into the database. A malformed body is 400 with nothing stored. Alibaba
expects `{"code": 0, "msg": "成功"}`; anything else makes it push again later, which is what we
answer when a message could not be handled (no message is lost, none is handled twice).

A reply goes to the same dialogue engine as a Twilio inbound SMS (so 退订/TD/T/R/拒收 opt out
the same way), deduplicated by Alibaba's `sequence_id` in `inbound_message`; the engine's replies
cannot be answered in the response as with TwiML, so they are queued in the outbox as `relay`
notices with the `sms_auto_reply` template (same reply-length plan and hourly reply cap).
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from core.database import Database
from core.dialogue.events import InboundEvent, render_sms
from core.dialogue.replycap import allow_reply, was_answered
from core.kernel.identity import mask_phone
from core.outbox.enqueue import queue
from sms.aliyun_receipts import PushFormatError, apply_receipts, parse_report, push_objects
from sms.aliyun_templates import AUTO_REPLY
from sms.replies import plan_reply
from sms.webhooks import Dialogue, WebhookResponse

log = logging.getLogger(__name__)
T = TypeVar("T")

OK_BODY = json.dumps({"code": 0, "msg": "成功"}, ensure_ascii=False)
RETRY_BODY = json.dumps({"code": 1, "msg": "处理失败，请稍后重推"}, ensure_ascii=False)
MAX_BODY_CHARS = 1600
_PHONE = re.compile(r"^1[3-9]\d{9}$")


@dataclass(frozen=True)
class UpMessage:
    message_id: str  # aliyun-up:<sequence_id>
    address: str  # E.164
    text: str


def parse_up(items: Any) -> list[UpMessage]:
    """The SmsUp push (a JSON array) as inbound messages; PushFormatError if any is bad."""
    out: list[UpMessage] = []
    for i, item in enumerate(push_objects(items, "SmsUp", "上行短信")):
        phone = str(item.get("phone_number") or "")
        seq = item.get("sequence_id")
        text = item.get("content")
        if not _PHONE.match(phone) or not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
            raise PushFormatError(f"第{i + 1}条上行短信缺少 phone_number 或 sequence_id")
        if not isinstance(text, str) or len(text) > MAX_BODY_CHARS or "\x00" in text:
            raise PushFormatError(f"第{i + 1}条上行短信的 content 不是短信文本")
        out.append(UpMessage(f"aliyun-up:{seq}", f"+86{phone}", text))
    return out


def _json(body: bytes) -> Any:
    try:
        return json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise PushFormatError("推送内容不是 UTF-8 JSON") from exc


class AliyunPush:
    def __init__(
        self,
        *,
        db: Database,
        dialogue: Callable[[], Dialogue],
        token: str | None,
        replies_per_hour: int = 20,
    ) -> None:
        self.db = db
        self.dialogue = dialogue
        self.token = token
        self.replies_per_hour = replies_per_hour

    def _refused(self, token: str) -> WebhookResponse | None:
        if not self.token:
            log.warning("aliyun push refused: ALIYUN_SMS_PUSH_TOKEN is not set")
            return WebhookResponse(503, "aliyun push not configured")
        if not hmac.compare_digest(token.encode(), self.token.encode()):
            log.warning("aliyun push refused: wrong token in the path")
            return WebhookResponse(403, "forbidden")
        return None

    def _read(self, token: str, body: bytes, parse: Callable[[Any], T]) -> T | WebhookResponse:
        """The push parsed, or the answer refusing it (403/503 token, 400 body)."""
        refused = self._refused(token)
        if refused is not None:
            return refused
        try:
            return parse(_json(body))
        except PushFormatError as exc:
            return WebhookResponse(400, str(exc))

    async def report(self, token: str, body: bytes) -> WebhookResponse:
        callbacks = self._read(token, body, parse_report)
        if isinstance(callbacks, WebhookResponse):
            return callbacks
        counts = await asyncio.to_thread(apply_receipts, self.db, callbacks)
        log.info("aliyun SmsReport: %s", counts)
        return WebhookResponse(200, OK_BODY, "application/json")

    async def up(self, token: str, body: bytes) -> WebhookResponse:
        messages = self._read(token, body, parse_up)
        if isinstance(messages, WebhookResponse):
            return messages
        for message in messages:
            try:
                await asyncio.to_thread(self._handle, message)
            except Exception:
                log.exception(
                    "aliyun SmsUp %s not handled; asking for a re-push", message.message_id
                )
                return WebhookResponse(200, RETRY_BODY, "application/json")
        return WebhookResponse(200, OK_BODY, "application/json")

    def _handle(self, message: UpMessage) -> int:
        """Run the engine on one reply and queue its answers; returns the notices queued."""
        event = InboundEvent(
            channel="sms", address=message.address, message_id=message.message_id, text=message.text
        )
        result = self.dialogue().handle(event)
        if not result.replies:
            return 0
        if result.duplicate:
            # A re-push: queue the stored replies again only if they were meant to go out (a
            # crash between the engine and the outbox); the outbox keys make this a no-op otherwise.
            if not was_answered(self.db, message.message_id):
                return 0
        elif not allow_reply(self.db, message.address, message.message_id, self.replies_per_hour):
            log.warning(
                "sms reply cap reached for %s; recorded, not answered", mask_phone(message.address)
            )
            return 0
        texts = plan_reply([render_sms(reply) for reply in result.replies])
        notices = [
            {
                "key": f"sms-reply:{message.message_id}:{i}",
                "kind": "relay",
                "channel": "sms",
                "address": message.address,
                "text": text,
                "template": AUTO_REPLY,
                "params": {"text": text},
            }
            for i, text in enumerate(texts)
        ]
        queue(self.db, notices)
        return len(texts)
