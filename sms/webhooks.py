"""Twilio webhooks without a web framework: POST /sms/inbound and POST /sms/status.

Both check X-Twilio-Signature with twilio's RequestValidator over PUBLIC_BASE_URL + path and the
form parameters before anything is stored (403 otherwise); a signed but malformed form is a 400,
also with nothing stored. Inbound messages run the dialogue engine in a thread and are answered
with TwiML; a MessageSid already handled is answered with empty TwiML (no second reply, no rows).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy.engine import Engine
from sqlmodel import select
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

from core.db import session_scope
from core.dialogue.events import EngineResult, InboundEvent, render_sms
from core.identity import mask_phone
from core.models import InboundMessageRow
from sms import status as sms_status
from sms.inbound import InboundFormError, parse_inbound_form
from sms.media import MediaFetcher
from sms.replies import plan_reply
from sms.replycap import allow_reply

log = logging.getLogger(__name__)


class Dialogue(Protocol):
    def handle(self, event: InboundEvent) -> EngineResult: ...


@dataclass(frozen=True)
class WebhookResponse:
    status_code: int
    body: str = ""
    media_type: str = "text/plain"


class _Params(dict[str, list[str]]):
    """Form parameters with repeats, in the shape RequestValidator reads (getall)."""

    def getall(self, name: str) -> list[str]:
        return self[name]

    def single(self) -> dict[str, str] | None:
        if any(len(v) != 1 for v in self.values()):
            return None
        return {k: v[0] for k, v in self.items()}


def twiml(messages: Sequence[str]) -> WebhookResponse:
    response = MessagingResponse()
    for text in messages:
        response.message(text)
    return WebhookResponse(200, str(response), "application/xml")


class SmsWebhooks:
    def __init__(
        self,
        *,
        db: Engine,
        dialogue: Callable[[], Dialogue],
        auth_token: str | None,
        public_base_url: str,
        media: MediaFetcher,
        signature: str = "",
        replies_per_hour: int = 20,
    ) -> None:
        self.db = db
        self.dialogue = dialogue
        self.validator = RequestValidator(auth_token) if auth_token else None
        self.public_base_url = public_base_url.rstrip("/")
        self.media = media
        self.signature = signature
        self.replies_per_hour = replies_per_hour

    def _check(
        self, path: str, form: Sequence[tuple[str, str]], signature: str | None
    ) -> tuple[WebhookResponse | None, dict[str, str]]:
        if self.validator is None:
            log.warning("sms webhook refused: TWILIO_AUTH_TOKEN is not set")
            return WebhookResponse(503, "sms not configured"), {}
        params = _Params()
        for key, value in form:
            params.setdefault(key, []).append(value)
        url = self.public_base_url + path
        if not signature or not self.validator.validate(url, params, signature):
            log.warning("sms webhook %s: bad or missing X-Twilio-Signature", path)
            return WebhookResponse(403, "invalid signature"), {}
        single = params.single()
        if single is None:
            return WebhookResponse(400, "repeated form fields"), {}
        return None, single

    async def inbound(
        self, path: str, form: Sequence[tuple[str, str]], signature: str | None
    ) -> WebhookResponse:
        refused, fields = self._check(path, form, signature)
        if refused is not None:
            return refused
        try:
            sms = parse_inbound_form(fields)
        except InboundFormError as exc:
            return WebhookResponse(400, str(exc))
        if await asyncio.to_thread(self._seen, sms.message_sid):
            log.info("sms %s already handled; no second reply", sms.message_sid)
            return twiml([])
        attachments = await self.media.fetch_all(sms.media) if sms.media else ()
        event = InboundEvent(
            channel="sms",
            address=sms.from_number,
            message_id=sms.message_sid,
            text=sms.body,
            attachments=attachments,
        )
        result = await asyncio.to_thread(self.dialogue().handle, event)
        if result.duplicate or not result.replies:
            return twiml([])
        allowed = await asyncio.to_thread(
            allow_reply, self.db, sms.from_number, sms.message_sid, self.replies_per_hour
        )
        if not allowed:
            log.warning(
                "sms reply cap reached for %s; message recorded, not answered",
                mask_phone(sms.from_number),
            )
            return twiml([])
        texts = [render_sms(reply) for reply in result.replies]
        return twiml(plan_reply(texts, signature=self.signature))

    async def status(
        self,
        path: str,
        form: Sequence[tuple[str, str]],
        signature: str | None,
        idempotency_token: str | None,
    ) -> WebhookResponse:
        refused, fields = self._check(path, form, signature)
        if refused is not None:
            return refused
        try:
            callback = sms_status.parse_status_form(fields, idempotency_token)
        except sms_status.StatusFormError as exc:
            return WebhookResponse(400, str(exc))
        outcome = await asyncio.to_thread(sms_status.record_status, self.db, callback)
        return WebhookResponse(200, outcome)

    def _seen(self, message_sid: str) -> bool:
        with session_scope(self.db) as s:
            return (
                s.exec(
                    select(InboundMessageRow.id).where(
                        InboundMessageRow.channel == "sms",
                        InboundMessageRow.message_id == message_sid,
                    )
                ).first()
                is not None
            )
