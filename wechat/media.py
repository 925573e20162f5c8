"""Files people send (images, files): downloaded from the media API (media/get) for the document flow.

The request goes to the client's base URL with the shared access_token (a refused token is
refreshed once). The size is checked against Content-Length before reading and again while
streaming, so a file above MAX_UPLOAD_MB is never held in memory: it becomes an
`Attachment(too_large=True)`. An error answer (JSON with errcode) gives an empty attachment, which
the engine's document checks refuse with a message in Chinese.
"""

from __future__ import annotations

import asyncio
import json
import logging

import httpx

from core.dialogue.events import Attachment
from wechat.client import TOKEN_ERRORS, WechatApiClient

log = logging.getLogger(__name__)


class MediaFetcher:
    def __init__(self, client: WechatApiClient, *, max_bytes: int, timeout: float = 30.0) -> None:
        self.client = client
        self.max_bytes = max_bytes
        self.timeout = timeout

    async def fetch(self, media_id: str, filename: str | None = None) -> Attachment:
        for attempt in range(2):
            if attempt == 0:
                token = await asyncio.to_thread(lambda: self.client.access_token)
            else:
                token = await asyncio.to_thread(self.client.refresh_after_refusal)
            result = await self._get(token, media_id, filename)
            if result is not None:
                return result
        return Attachment(filename=filename)

    async def _get(self, token: str, media_id: str, filename: str | None) -> Attachment | None:
        """The attachment, or None when the token was refused (refresh and try again)."""
        url = self.client.API_BASE_URL + "media/get"
        params = {"access_token": token, "media_id": media_id}
        try:
            async with (
                httpx.AsyncClient(timeout=self.timeout, follow_redirects=True) as http,
                http.stream("GET", url, params=params) as response,
            ):
                ctype = response.headers.get("content-type", "").split(";")[0].strip()
                declared = response.headers.get("content-length", "")
                size = int(declared) if declared.isdigit() else None
                if response.status_code != 200:
                    log.warning("wechat media/get answered HTTP %s", response.status_code)
                    return Attachment(filename=filename)
                if ctype in ("application/json", "text/plain"):
                    body = await response.aread()
                    return self._error(body, filename)
                if size is not None and size > self.max_bytes:
                    return Attachment(
                        filename=filename, declared_type=ctype, declared_size=size, too_large=True
                    )
                data = bytearray()
                async for chunk in response.aiter_bytes():
                    data.extend(chunk)
                    if len(data) > self.max_bytes:
                        return Attachment(filename=filename, declared_type=ctype, too_large=True)
                return Attachment(
                    data=bytes(data), filename=filename, declared_type=ctype, declared_size=size
                )
        except httpx.HTTPError as exc:
            log.warning("wechat media download failed: %s", type(exc).__name__)
            return Attachment(filename=filename)

    def _error(self, body: bytes, filename: str | None) -> Attachment | None:
        try:
            code = int(json.loads(body.decode("utf-8", "replace")).get("errcode", -1))
        except (ValueError, AttributeError, TypeError):
            code = -1
        if code in TOKEN_ERRORS:
            return None
        log.warning("wechat media/get refused: errcode %s", code)
        return Attachment(filename=filename)
