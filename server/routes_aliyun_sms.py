"""Aliyun SMS push: POST /sms/aliyun/{token}/report (receipts) and /sms/aliyun/{token}/up (replies),
and, with SMS_PROVIDER=aliyun, the background receipt work (QuerySendDetails polling, late
receipts applied once the dispatcher released their notice)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, FastAPI, Request, Response
from sqlalchemy.engine import Engine

from sms.aliyun_push import AliyunPush
from sms.aliyun_receipts import poll_receipts
from sms.aliyun_sender import AliyunSmsPort
from sms.port import SmsSender
from sms.webhooks import Dialogue, WebhookResponse

if TYPE_CHECKING:
    from server.bootstrap import Container

log = logging.getLogger(__name__)

MAX_PUSH_BYTES = 512 * 1024  # a batch push of a few hundred receipts


def build_push(container: Container) -> AliyunPush:
    settings = container.settings

    def dialogue() -> Dialogue:
        holder: Any = container
        engine: Dialogue = holder.dialogue
        return engine

    token = settings.aliyun_sms_push_token
    return AliyunPush(
        db=container.engine,
        dialogue=dialogue,
        token=token.get_secret_value() if token is not None else None,
        replies_per_hour=settings.sms_replies_per_hour,
    )


async def _read_body(request: Request) -> bytes | Response:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_PUSH_BYTES:
        return Response("body too large", status_code=413)
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > MAX_PUSH_BYTES:
            return Response("body too large", status_code=413)
    return bytes(body)


def _respond(result: WebhookResponse) -> Response:
    return Response(result.body, status_code=result.status_code, media_type=result.media_type)


async def receipt_work(db: Engine, port: AliyunSmsPort, stop: asyncio.Event, every: float) -> None:
    """Poll QuerySendDetails for notices still waiting for a receipt, every `every` seconds."""
    while not stop.is_set():
        try:
            await asyncio.to_thread(poll_receipts, db, port.query_details)
        except Exception:
            log.exception("aliyun receipt polling failed; retrying later")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=every)


def _register_background(app: FastAPI, container: Container) -> None:
    from server.routes_sms import housekeeping

    stop = asyncio.Event()
    tasks: list[asyncio.Task[None]] = []

    async def start(_app: FastAPI) -> None:
        tasks.append(asyncio.create_task(housekeeping(container.engine, stop)))
        sender: Any = container.sms_sender
        every = container.settings.aliyun_sms_poll_seconds
        if isinstance(sender, SmsSender) and isinstance(sender.port, AliyunSmsPort) and every > 0:
            tasks.append(
                asyncio.create_task(receipt_work(container.engine, sender.port, stop, every))
            )

    async def shutdown(_app: FastAPI) -> None:
        stop.set()
        for task in tasks:
            await task

    app.state.startup_hooks.append(start)
    app.state.shutdown_hooks.append(shutdown)


class RedactToken(logging.Filter):
    """Keeps the push token out of the access log (uvicorn logs request paths)."""

    def __init__(self, token: str) -> None:
        super().__init__()
        self.token = token

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args:
            args = record.args if isinstance(record.args, tuple) else (record.args,)
            record.args = tuple(
                a.replace(self.token, "***") if isinstance(a, str) else a for a in args
            )
        if isinstance(record.msg, str):
            record.msg = record.msg.replace(self.token, "***")
        return True


def mount(app: FastAPI, container: Container) -> None:
    router = APIRouter(prefix="/sms/aliyun", tags=["sms"])
    push = build_push(container)
    if push.token:
        access = logging.getLogger("uvicorn.access")
        if not any(isinstance(f, RedactToken) for f in access.filters):
            access.addFilter(RedactToken(push.token))
    if container.settings.sms_provider == "aliyun" and hasattr(app.state, "startup_hooks"):
        _register_background(app, container)

    @router.post("/{token}/report", include_in_schema=False)
    async def aliyun_report(token: str, request: Request) -> Response:
        """Alibaba's SmsReport push: delivery receipts, forward-only."""
        body = await _read_body(request)
        if isinstance(body, Response):
            return body
        return _respond(await push.report(token, body))

    @router.post("/{token}/up", include_in_schema=False)
    async def aliyun_up(token: str, request: Request) -> Response:
        """Alibaba's SmsUp push: replies to our SMS, handled by the dialogue engine."""
        body = await _read_body(request)
        if isinstance(body, Response):
            return body
        return _respond(await push.up(token, body))

    app.include_router(router)
