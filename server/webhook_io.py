"""What the webhook routes share: reading a body with a size cap, and turning a door's
framework-free answer (`WebhookResponse` of sms/ or wechat/) into a FastAPI response."""

from __future__ import annotations

from typing import Protocol

from fastapi import Request, Response


class DoorAnswer(Protocol):
    @property
    def status_code(self) -> int: ...
    @property
    def body(self) -> str: ...
    @property
    def media_type(self) -> str: ...


def respond(result: DoorAnswer) -> Response:
    return Response(result.body, status_code=result.status_code, media_type=result.media_type)


async def read_capped(request: Request, max_bytes: int, too_large: str) -> bytes | Response:
    """The body, or 413 `too_large` as soon as the declared length or the bytes read pass
    `max_bytes` (nothing more is read)."""
    declared = request.headers.get("content-length", "")
    if declared.isascii() and declared.isdigit() and int(declared) > max_bytes:
        return Response(too_large, status_code=413)
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > max_bytes:
            return Response(too_large, status_code=413)
    return bytes(body)
