"""The inbound Twilio form, checked field by field before anything touches the database."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from sms.media import MediaItem

MAX_BODY = 1600  # Twilio's limit for one (concatenated) message
MAX_MEDIA = 10

_SID = re.compile(r"^[A-Z]{2}[0-9a-fA-F]{32}$")
_E164 = re.compile(r"^\+[1-9]\d{6,14}$")


class InboundFormError(ValueError):
    pass


@dataclass(frozen=True)
class InboundSms:
    message_sid: str
    from_number: str
    body: str
    media: tuple[MediaItem, ...] = ()


def parse_inbound_form(form: Mapping[str, str]) -> InboundSms:
    sid = (form.get("MessageSid") or form.get("SmsMessageSid") or "").strip()
    sender = (form.get("From") or "").strip()
    body = form.get("Body") or ""
    if not _SID.match(sid):
        raise InboundFormError("MessageSid missing or malformed")
    if not _E164.match(sender):
        raise InboundFormError("From is not an E.164 number")
    if len(body) > MAX_BODY or "\x00" in body:
        raise InboundFormError("Body too long or not text")
    raw_count = (form.get("NumMedia") or "0").strip()
    if not (raw_count.isascii() and raw_count.isdigit()) or int(raw_count) > MAX_MEDIA:
        raise InboundFormError("NumMedia malformed")
    media: list[MediaItem] = []
    for i in range(int(raw_count)):
        url = (form.get(f"MediaUrl{i}") or "").strip()
        if not url.startswith(("https://", "http://")):
            raise InboundFormError(f"MediaUrl{i} missing")
        content_type = (form.get(f"MediaContentType{i}") or "").strip()[:100] or None
        media.append(MediaItem(url=url, content_type=content_type))
    return InboundSms(message_sid=sid, from_number=sender, body=body, media=tuple(media))
