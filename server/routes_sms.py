"""Twilio webhooks: POST /sms/inbound (messages in, TwiML out) and POST /sms/status (receipts)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl

from fastapi import APIRouter, FastAPI, Request, Response

from server.webhook_io import DoorAnswer, read_capped, respond
from sms.twilio_sender import twilio_configured

if TYPE_CHECKING:
    from server.bootstrap import Container

log = logging.getLogger(__name__)

MAX_FORM_BYTES = 64 * 1024  # a Twilio webhook form is a few kB


async def _read_form(request: Request) -> list[tuple[str, str]] | Response:
    """The urlencoded form (any other body is an empty form), refusing oversized bodies."""
    body = await read_capped(request, MAX_FORM_BYTES, "form too large")
    if isinstance(body, Response):
        return body
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        return []
    try:
        return parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
    except (UnicodeDecodeError, ValueError):
        return Response("form is not valid urlencoded UTF-8", status_code=400)


def _path(request: Request) -> str:
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


FormPairs = list[tuple[str, str]]


async def _answer(
    request: Request, handle: Callable[[str, FormPairs, str | None], Awaitable[DoorAnswer]]
) -> Response:
    """The webhook's form (4xx when unreadable) handed to `handle` with the request's path and
    signature, its answer as a response."""
    form = await _read_form(request)
    if isinstance(form, Response):
        return form
    return respond(await handle(_path(request), form, request.headers.get("X-Twilio-Signature")))


def mount(app: FastAPI, container: Container) -> None:
    router = APIRouter(prefix="/sms", tags=["sms"])
    webhooks = container.sms_webhooks
    if not container.settings.twilio_auth_token:
        log.warning("SMS: TWILIO_AUTH_TOKEN not set; /sms webhooks answer 503")
    elif not twilio_configured(container.settings):
        log.warning("SMS: no TWILIO_MESSAGING_SERVICE_SID or TWILIO_FROM; SMS are only logged")

    @router.post("/inbound")
    async def sms_inbound(request: Request) -> Response:
        """Twilio inbound message webhook: signature-checked, answered with TwiML."""
        return await _answer(request, webhooks.inbound)

    @router.post("/status")
    async def sms_status(request: Request) -> Response:
        """Twilio delivery status callback: moves the outbox notice forward only."""
        token = request.headers.get("I-Twilio-Idempotency-Token")
        return await _answer(
            request, lambda path, form, sig: webhooks.status(path, form, sig, token)
        )

    app.include_router(router)
