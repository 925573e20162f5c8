"""Aliyun SMS push: POST /sms/aliyun/{token}/report (receipts) and /sms/aliyun/{token}/up (replies).
The receipt polling (QuerySendDetails) runs in server/workers.py."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from functools import partial
from typing import TYPE_CHECKING

from fastapi import APIRouter, FastAPI, Request, Response

from server.webhook_io import DoorAnswer, read_capped, respond

if TYPE_CHECKING:
    from server.bootstrap import Container

log = logging.getLogger(__name__)

MAX_PUSH_BYTES = 512 * 1024  # a batch push of a few hundred receipts


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


async def _answer(request: Request, handle: Callable[[bytes], Awaitable[DoorAnswer]]) -> Response:
    """The push body (413 past MAX_PUSH_BYTES) handed to `handle`, its answer as a response."""
    body = await read_capped(request, MAX_PUSH_BYTES, "body too large")
    if isinstance(body, Response):
        return body
    return respond(await handle(body))


def mount(app: FastAPI, container: Container) -> None:
    router = APIRouter(prefix="/sms/aliyun", tags=["sms"])
    push = container.aliyun_push
    if push.token:
        access = logging.getLogger("uvicorn.access")
        if not any(isinstance(f, RedactToken) for f in access.filters):
            access.addFilter(RedactToken(push.token))

    @router.post("/{token}/report", include_in_schema=False)
    async def aliyun_report(token: str, request: Request) -> Response:
        """Alibaba's SmsReport push: delivery receipts, forward-only."""
        return await _answer(request, partial(push.report, token))

    @router.post("/{token}/up", include_in_schema=False)
    async def aliyun_up(token: str, request: Request) -> Response:
        """Alibaba's SmsUp push: replies to our SMS, handled by the dialogue engine."""
        return await _answer(request, partial(push.up, token))

    app.include_router(router)
