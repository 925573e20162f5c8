"""The Twilio adapter of the SMS port, and the factory of the "sms" sender.

The twilio `Client` is built with a Messaging Service SID (preferred) or a From number. When
TWILIO_API_BASE_URL is set, a `TwilioHttpClient` subclass given to `Client(http_client=...)` (the
library's documented extension point) sends every request to that server instead of
api.twilio.com; the tests point it at a local fake.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests
from twilio.base.exceptions import TwilioRestException, TwilioServiceException
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client

from core.database import Database
from core.kernel.identity import mask_phone
from core.kernel.settings import Settings
from core.outbox.senders import ConsoleSender, Sender
from sms.port import PortResult, SmsSender
from sms.segments import count_segments
from sms.templates import decorate, render_sms

log = logging.getLogger(__name__)

# Twilio error codes that mean the recipient number can never be reached from this sender.
PERMANENT_CODES = frozenset({21211, 21217, 21407, 21610, 21612, 21614, 21635})


class BaseUrlHttpClient(TwilioHttpClient):
    """Sends the library's requests to another base URL (same paths, same auth)."""

    def __init__(self, base_url: str, timeout: float = 15.0) -> None:
        super().__init__(timeout=timeout)
        parts = urlsplit(base_url.rstrip("/"))
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"TWILIO_API_BASE_URL is not an http(s) URL: {base_url!r}")
        self._scheme, self._netloc, self._prefix = parts.scheme, parts.netloc, parts.path

    def rewrite(self, url: str) -> str:
        parts = urlsplit(url)
        path = self._prefix + parts.path
        return urlunsplit((self._scheme, self._netloc, path, parts.query, parts.fragment))

    def request(
        self,
        method: str,
        url: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,
        allow_redirects: bool = False,
    ) -> Response:
        return super().request(
            method,
            self.rewrite(url),
            params=params,
            data=data,
            headers=headers,
            auth=auth,
            timeout=timeout,
            allow_redirects=allow_redirects,
        )


def classify(status: int, code: int | None, message: str) -> PortResult:
    """A Twilio REST error as a port result: temporary (429/5xx), permanent (number), or other."""
    if code in PERMANENT_CODES:
        return PortResult(ok=False, error_code=code, error=message[:200], permanent=True)
    temporary = status == 429 or status >= 500
    return PortResult(ok=False, error_code=code or status, error=message[:200], temporary=temporary)


class TwilioSmsPort:
    """Renders the template to text (hint for broadcasts, signature) and creates a Message."""

    name = "twilio"

    def __init__(
        self,
        *,
        account_sid: str,
        auth_token: str,
        messaging_service_sid: str | None = None,
        from_number: str | None = None,
        api_base_url: str | None = None,
        status_callback: str | None = None,
        signature: str = "",
        unsubscribe_hint: str = "",
        timeout: float = 15.0,
    ) -> None:
        if not (messaging_service_sid or from_number):
            raise ValueError("TWILIO_MESSAGING_SERVICE_SID or TWILIO_FROM is required")
        http = (
            BaseUrlHttpClient(api_base_url, timeout)
            if api_base_url
            else TwilioHttpClient(timeout=timeout)
        )
        self.client = Client(account_sid, auth_token, http_client=http)
        self.messaging_service_sid = messaging_service_sid
        self.from_number = from_number
        self.status_callback = status_callback
        self.signature = signature
        self.unsubscribe_hint = unsubscribe_hint
        self.sender_key = f"twilio:{messaging_service_sid or from_number}"

    def render(self, template: str, params: Mapping[str, Any], kind: str) -> str:
        text = render_sms(template, dict(params))
        return decorate(
            text, kind=kind, signature=self.signature, unsubscribe_hint=self.unsubscribe_hint
        )

    async def send_template(
        self, to: str, template: str, params: Mapping[str, Any], kind: str
    ) -> PortResult:
        body = self.render(template, params, kind)
        return await asyncio.to_thread(self._create, to, body)

    def _create(self, to: str, body: str) -> PortResult:
        kwargs: dict[str, Any] = {"to": to, "body": body}
        if self.messaging_service_sid:
            kwargs["messaging_service_sid"] = self.messaging_service_sid
        else:
            kwargs["from_"] = self.from_number
        if self.status_callback:
            kwargs["status_callback"] = self.status_callback
        try:
            message = self.client.messages.create(**kwargs)
        except TwilioRestException as exc:
            log.info("twilio refused sms to %s: %s %s", mask_phone(to), exc.status, exc.code)
            return classify(int(exc.status), exc.code, str(exc.msg))
        except TwilioServiceException as exc:
            log.info("twilio refused sms to %s: %s %s", mask_phone(to), exc.status, exc.code)
            return classify(int(exc.status), exc.code, str(exc.title))
        except requests.RequestException as exc:
            return PortResult(ok=False, error=f"network: {type(exc).__name__}", temporary=True)
        segments = int(message.num_segments) if message.num_segments else count_segments(body)
        return PortResult(
            ok=True, provider_id=message.sid, status=message.status, segments=segments
        )


def status_callback_url(public_base_url: str) -> str | None:
    """PUBLIC_BASE_URL + /sms/status, unless it is a local address Twilio cannot reach."""
    host = urlsplit(public_base_url).hostname or ""
    if host in ("", "localhost") or host.startswith("127."):
        return None
    return public_base_url.rstrip("/") + "/sms/status"


def twilio_configured(settings: Settings) -> bool:
    return bool(
        settings.twilio_account_sid
        and settings.twilio_auth_token
        and (settings.twilio_messaging_service_sid or settings.twilio_from)
    )


def build_sms_sender(settings: Settings, db: Database) -> Sender:
    """The "sms" sender of the outbox: Twilio when configured, else the console sender."""
    if not twilio_configured(settings):
        log.warning(
            "SMS: Twilio is not configured (TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and "
            "TWILIO_MESSAGING_SERVICE_SID or TWILIO_FROM); SMS are logged, not sent"
        )
        return ConsoleSender("sms")
    assert settings.twilio_account_sid and settings.twilio_auth_token
    port = TwilioSmsPort(
        account_sid=settings.twilio_account_sid,
        auth_token=settings.twilio_auth_token,
        messaging_service_sid=settings.twilio_messaging_service_sid,
        from_number=settings.twilio_from,
        api_base_url=settings.twilio_api_base_url,
        status_callback=status_callback_url(settings.public_base_url),
        signature=settings.sms_signature,
        unsubscribe_hint=settings.sms_unsubscribe_hint,
    )
    return SmsSender(port, db, rate_per_second=settings.sms_rate_per_second)
