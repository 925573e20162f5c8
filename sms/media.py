"""MMS media: download what Twilio received, within the upload size limit, for the document flow.

Media URLs are fetched with the account credentials (HTTP basic auth; httpx drops it on the
redirect to Twilio's storage host). Only Twilio hosts (or the host of TWILIO_API_BASE_URL) are
fetched. The size is checked against Content-Length before reading and again while streaming, so a
file above MAX_UPLOAD_MB is never held in memory: it becomes an `Attachment(too_large=True)`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

from core.dialogue.events import Attachment

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MediaItem:
    url: str
    content_type: str | None = None


def allowed_media_hosts(api_base_url: str | None) -> frozenset[str]:
    hosts = {"api.twilio.com"}
    if api_base_url:
        host = urlsplit(api_base_url).hostname
        if host:
            hosts.add(host)
    return frozenset(hosts)


class MediaFetcher:
    def __init__(
        self,
        *,
        auth: tuple[str, str] | None,
        max_bytes: int,
        allowed_hosts: frozenset[str],
        timeout: float = 30.0,
    ) -> None:
        self.auth = auth
        self.max_bytes = max_bytes
        self.allowed_hosts = allowed_hosts
        self.timeout = timeout

    def allowed(self, url: str) -> bool:
        parts = urlsplit(url)
        host = parts.hostname or ""
        return parts.scheme in ("http", "https") and (
            host in self.allowed_hosts or host.endswith(".twilio.com")
        )

    async def fetch_all(self, items: Sequence[MediaItem]) -> tuple[Attachment, ...]:
        wanted = [item for item in items if self.allowed(item.url)]
        if len(wanted) < len(items):
            log.warning("mms: %d media url(s) on foreign hosts ignored", len(items) - len(wanted))
        if not wanted:
            return ()
        async with httpx.AsyncClient(
            auth=self.auth, follow_redirects=True, timeout=self.timeout
        ) as client:
            return tuple([await self._fetch(client, item) for item in wanted])

    async def _fetch(self, client: httpx.AsyncClient, item: MediaItem) -> Attachment:
        try:
            async with client.stream("GET", item.url) as response:
                if response.status_code != 200:
                    log.warning("mms media download answered %s", response.status_code)
                    return Attachment(declared_type=item.content_type)
                declared = response.headers.get("content-length")
                size = (
                    int(declared)
                    if declared and declared.isascii() and declared.isdigit()
                    else None
                )
                if size is not None and size > self.max_bytes:
                    return Attachment(
                        declared_type=item.content_type, declared_size=size, too_large=True
                    )
                data = bytearray()
                async for chunk in response.aiter_bytes():
                    data.extend(chunk)
                    if len(data) > self.max_bytes:
                        return Attachment(
                            declared_type=item.content_type, declared_size=size, too_large=True
                        )
                return Attachment(
                    data=bytes(data), declared_type=item.content_type, declared_size=size
                )
        except httpx.HTTPError as exc:
            log.warning("mms media download failed: %s", type(exc).__name__)
            return Attachment(declared_type=item.content_type)
