"""Aliyun delivery receipts: the SmsReport push and QuerySendDetails polling, both applied through
the shared receipt logic of core/outbox/receipts.py (stored first, forward-only, idempotent).

A receipt names the BizId and the number; together they are the notice's provider id
(`aliyun:<BizId>:<number>`). `success: true` / SendStatus 3 is `delivered`, `success: false` /
SendStatus 2 is `undelivered` (with Alibaba's error code); SendStatus 1 (waiting) changes nothing.
The poller asks only about notices still `sent` within the last `max_age` (QuerySendDetails
keeps 30 days), the oldest first, `limit` per round, through the port's own rate limit.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from core.database import Database
from core.kernel.timeutil import to_local, utcnow
from core.outbox.receipts import StatusCallback, awaiting_receipt, record_status
from sms.aliyun_sender import DeliveryDetail, parse_provider_id, provider_id

log = logging.getLogger(__name__)

MAX_ITEMS = 1000  # one push carries at most a few hundred receipts
_PHONE = re.compile(r"^1[3-9]\d{9}$")
_BIZ = re.compile(r"^[0-9A-Za-z^_-]{1,40}$")
_ERR = re.compile(r"^[0-9A-Za-z:_.-]{0,16}$")


class PushFormatError(ValueError):
    pass


def push_objects(items: Any, name: str, noun: str) -> list[dict[str, Any]]:
    """A push body: a JSON array of 1–1000 objects; PushFormatError naming the bad one."""
    if not isinstance(items, list) or not 1 <= len(items) <= MAX_ITEMS:
        raise PushFormatError(f"{name} 必须是 1–{MAX_ITEMS} 条{noun}的 JSON 数组")
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise PushFormatError(f"第{i + 1}条{noun}不是对象")
    return items


def parse_report(items: Any) -> list[StatusCallback]:
    """The SmsReport push (a JSON array) as status callbacks; PushFormatError if any is bad."""
    out: list[StatusCallback] = []
    for i, item in enumerate(push_objects(items, "SmsReport", "回执")):
        phone = str(item.get("phone_number") or "")
        biz = str(item.get("biz_id") or "")
        success = item.get("success")
        err = str(item.get("err_code") or "")
        if not _PHONE.match(phone) or not _BIZ.match(biz) or not isinstance(success, bool):
            raise PushFormatError(f"第{i + 1}条回执缺少 phone_number、biz_id 或 success")
        if not _ERR.match(err):
            raise PushFormatError(f"第{i + 1}条回执的 err_code 格式不正确")
        status = "delivered" if success else "undelivered"
        code = None if success else (err or None)
        out.append(StatusCallback(provider_id(biz, phone), status, code))
    return out


def apply_receipts(db: Database, callbacks: Sequence[StatusCallback]) -> dict[str, int]:
    """Record each receipt (the same path as Twilio's callbacks); outcome -> count."""
    counts: dict[str, int] = {}
    for cb in callbacks:
        outcome = record_status(db, cb)
        counts[outcome] = counts.get(outcome, 0) + 1
    return counts


def detail_callback(pid: str, details: Sequence[DeliveryDetail]) -> StatusCallback | None:
    """The receipt QuerySendDetails reports for this provider id, if it is final."""
    parsed = parse_provider_id(pid)
    if parsed is None:
        return None
    _biz, phone = parsed
    for d in details:
        if d.phone == phone and d.status == 3:
            return StatusCallback(pid, "delivered", None)
        if d.phone == phone and d.status == 2:
            return StatusCallback(pid, "undelivered", (d.err_code or "?")[:16])
    return None


@dataclass(frozen=True)
class PollStats:
    asked: int = 0
    applied: int = 0
    waiting: int = 0
    failed: int = 0


def poll_receipts(
    db: Database,
    query: Callable[[str, str, Any], list[DeliveryDetail] | None],
    *,
    now: datetime | None = None,
    max_age: timedelta = timedelta(days=3),
    min_age: timedelta = timedelta(seconds=10),
    limit: int = 200,
) -> PollStats:
    """Ask QuerySendDetails about `sent` Aliyun notices and apply the final receipts.

    `query(phone, biz_id, send_date)` is `AliyunSmsPort.query_details` (blocking; run this in a
    thread)."""
    now = now or utcnow()
    asked = applied = waiting = failed = 0
    for pid, sent_at in awaiting_receipt(db, "aliyun:", now, max_age, min_age, limit):
        parsed = parse_provider_id(pid)
        if parsed is None:
            continue
        biz, phone = parsed
        asked += 1
        details = query(phone, biz, to_local(sent_at).date())
        if details is None:
            failed += 1
            continue
        cb = detail_callback(pid, details)
        if cb is None:
            waiting += 1
            continue
        if record_status(db, cb) == "applied":
            applied += 1
    if asked:
        log.info(
            "aliyun receipts polled: %d asked, %d applied, %d waiting", asked, applied, waiting
        )
    return PollStats(asked, applied, waiting, failed)
