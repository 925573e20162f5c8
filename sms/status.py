"""Twilio's delivery status callback form, parsed into the `StatusCallback` that
core/outbox/receipts.py records and applies (forward only, never twice)."""

from __future__ import annotations

import re
from collections.abc import Mapping

from core.outbox.receipts import NOTICE_STATUS, StatusCallback

_SID = re.compile(r"^[A-Z]{2}[0-9a-fA-F]{32}$")


class StatusFormError(ValueError):
    pass


def parse_status_form(form: Mapping[str, str], idempotency_token: str | None) -> StatusCallback:
    sid = (form.get("MessageSid") or form.get("SmsSid") or "").strip()
    status = (form.get("MessageStatus") or form.get("SmsStatus") or "").strip().lower()
    code = (form.get("ErrorCode") or "").strip()
    if not _SID.match(sid):
        raise StatusFormError("MessageSid missing or malformed")
    if status not in NOTICE_STATUS:
        raise StatusFormError("MessageStatus missing or unknown")
    if code and not (code.isascii() and code.isdigit() and len(code) <= 8):
        raise StatusFormError("ErrorCode malformed")
    token = (idempotency_token or "").strip()[:128] or None
    return StatusCallback(sid, status, code or None, token)
