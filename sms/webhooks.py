"""Twilio webhooks without a web framework: POST /sms/inbound and POST /sms/status.

Both check X-Twilio-Signature with twilio's RequestValidator over PUBLIC_BASE_URL + path and the
form parameters before anything is stored (403 otherwise); a signed but malformed form is a 400,
also with nothing stored. Inbound messages run the dialogue engine in a thread and are answered
with TwiML. The reply cap is counted and the TwiML rendered inside the engine's transaction and
stored with the message id, so a MessageSid already handled (Twilio retries after a timeout or a
crash) gets the same TwiML again and nothing else happens.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

from core.database import Database, writer_executor
from core.dialogue import inbound
from core.dialogue.engine import Finish
from core.dialogue.events import EngineResult, InboundEvent, Reply, render_sms
from core.dialogue.replycap import capped
from core.outbox import receipts
from sms import status as sms_status
from sms.inbound import InboundFormError, parse_inbound_form
from sms.media import MediaFetcher
from sms.replies import plan_reply

log = logging.getLogger(__name__)


class Dialogue(Protocol):
    def handle(self, event: InboundEvent, finish: Finish | None = ...) -> EngineResult: ...


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
        db: Database,
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
        if sms.media:  # a provider retry must not download the media again
            stored = await asyncio.to_thread(self._stored_response, sms.message_sid)
            if stored is not None:
                return stored
        attachments = await self.media.fetch_all(sms.media) if sms.media else ()
        event = InboundEvent(
            channel="sms",
            address=sms.from_number,
            message_id=sms.message_sid,
            text=sms.body,
            attachments=attachments,
        )
        silent = twiml([]).body
        finish = capped(
            sms.from_number, sms.message_sid, self.replies_per_hour, self._render, silent
        )
        handle = functools.partial(self.dialogue().handle, event, finish)
        result = await asyncio.get_running_loop().run_in_executor(writer_executor(self.db), handle)
        if result.duplicate:
            log.info("sms %s repeated; the stored reply is returned again", sms.message_sid)
        return _twiml_body(result.response)

    def _render(self, replies: list[Reply]) -> str:
        """The TwiML stored with the message id (a provider retry gets the same body back)."""
        texts = [render_sms(reply) for reply in replies]
        return twiml(plan_reply(texts, signature=self.signature)).body

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
        outcome = await asyncio.to_thread(receipts.record_status, self.db, callback)
        return WebhookResponse(200, outcome)

    def _stored_response(self, message_sid: str) -> WebhookResponse | None:
        found = inbound.handled(self.db, "sms", message_sid)
        return None if found is None else _twiml_body(found.response)


def _twiml_body(body: str | None) -> WebhookResponse:
    """A stored TwiML body (rows stored before the response was kept answer empty TwiML)."""
    return WebhookResponse(200, body, "application/xml") if body is not None else twiml([])
