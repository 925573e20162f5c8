"""Aliyun SMS push: POST /sms/aliyun/{token}/report (receipts) and /sms/aliyun/{token}/up (replies).
The receipt polling (QuerySendDetails) runs in server/workers.py."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from fastapi import APIRouter, FastAPI, Request, Response

from server.webhook_io import read_capped, respond

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
        body = await read_capped(request, MAX_PUSH_BYTES, "body too large")
        if isinstance(body, Response):
            return body
        return respond(await push.report(token, body))

    @router.post("/{token}/up", include_in_schema=False)
    async def aliyun_up(token: str, request: Request) -> Response:
        """Alibaba's SmsUp push: replies to our SMS, handled by the dialogue engine."""
        body = await read_capped(request, MAX_PUSH_BYTES, "body too large")
        if isinstance(body, Response):
            return body
        return respond(await push.up(token, body))

    app.include_router(router)
