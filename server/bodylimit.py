"""Request body limits for every route, counted on the stream (pure ASGI middleware).

A declared Content-Length above the route's limit is refused with 413 before anything is read;
a chunked or lying body is counted as it arrives and refused at the first byte over the limit,
so memory stays flat whatever a client sends. Limits are chosen by path prefix (longest wins).
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from fastapi import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

KB = 1024
MB = 1024 * 1024


class BodyTooLarge(HTTPException):
    """Raised from `receive`; an HTTPException so FastAPI's body parsing lets it through."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"请求内容过大：上限 {_human(limit)}")
        self.limit = limit


def _human(limit: int) -> str:
    return f"{limit // MB} MB" if limit >= MB and limit % MB == 0 else f"{limit // KB} KB"


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, limits: Sequence[tuple[str, int]], default: int) -> None:
        self.app = app
        self.limits = sorted(limits, key=lambda item: len(item[0]), reverse=True)
        self.default = default

    def limit_for(self, path: str) -> int:
        return next((n for prefix, n in self.limits if path.startswith(prefix)), self.default)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope.get("path", ""))
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _refuse(send, limit)
            return
        seen = 0
        started = False

        async def counted_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise BodyTooLarge(limit)
            return message

        async def tracked_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted_receive, tracked_send)
        except BodyTooLarge:
            if not started:
                await _refuse(send, limit)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            text = value.decode("latin-1").strip()
            return int(text) if text.isascii() and text.isdigit() and len(text) < 19 else None
    return None


async def _refuse(send: Send, limit: int) -> None:
    body = json.dumps({"detail": f"请求内容过大：上限 {_human(limit)}"}, ensure_ascii=False)
    headers: list[tuple[bytes, bytes]] = [
        (b"content-type", b"application/json; charset=utf-8"),
        (b"content-length", str(len(body.encode())).encode()),
        (b"connection", b"close"),
    ]
    await send({"type": "http.response.start", "status": 413, "headers": headers})
    await send({"type": "http.response.body", "body": body.encode()})


def route_limits(max_import_bytes: int) -> tuple[list[tuple[str, int]], int]:
    """The limits of this app: public pre-check 64 KB, webhooks 1 MB, imports per setting
    (two files and the form around them), everything else 1 MB."""
    imports = 2 * max_import_bytes + 64 * KB
    limits = [
        ("/api/precheck", 64 * KB),
        ("/telegram/", MB),
        ("/sms/", MB),
        ("/api/staff/imports/", imports),
        ("/console/imports", imports),
    ]
    return limits, MB


__all__ = ["BodyLimitMiddleware", "BodyTooLarge", "route_limits"]
