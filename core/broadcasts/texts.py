"""Broadcast texts, SMS cost and the preview shown before sending."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlmodel import Session

from core.broadcasts.audience import Audience, resolve
from core.broadcasts.common import TEMPLATE
from core.outbox.senders import CHAT_CHANNELS
from core.outbox.templates import render
from core.persistence.models import (
    BroadcastRow,
)

# --- texts and preview ------------------------------------------------------------------------


@dataclass(frozen=True)
class SmsCost:
    """What `core` needs to know about SMS for a preview (built by the composition root)."""

    decorate: Callable[[str], str]  # signature + unsubscribe hint, exactly as the sender adds them
    segments: Callable[[str], int]
    price_per_segment_yuan: Decimal
    encoding: Callable[[str], str] = lambda _text: ""


def _params(row: BroadcastRow, channel: str) -> dict[str, str]:
    text = row.body if channel in CHAT_CHANNELS else sms_body_of(row)
    return {"title": row.title, "text": text}


def sms_body_of(row: BroadcastRow) -> str:
    """The SMS text before signature and hint: the SMS version, else the title and the body."""
    if row.sms_body and row.sms_body.strip():
        return row.sms_body.strip()
    return f"{row.title}：{row.body}".strip()


def telegram_text(row: BroadcastRow) -> str:
    return render(TEMPLATE, "telegram", _params(row, "telegram"))


def sms_text(row: BroadcastRow, sms: SmsCost | None = None) -> str:
    """The SMS as sent (with signature and unsubscribe hint when `sms` is given)."""
    text = render(TEMPLATE, "sms", _params(row, "sms"))
    return sms.decorate(text) if sms is not None else text


@dataclass(frozen=True)
class Preview:
    telegram_text: str
    sms_text: str
    sms_chars: int
    sms_encoding: str
    sms_segments: int
    per_channel: dict[str, int]
    total: int
    sms_total_segments: int
    sms_cost_yuan: Decimal
    opted_out: int
    unreachable: int
    no_address: int
    threshold: int
    needs_second_person: bool

    def to_json(self) -> dict[str, Any]:
        return {
            "telegram_text": self.telegram_text,
            "sms_text": self.sms_text,
            "sms_chars": self.sms_chars,
            "sms_encoding": self.sms_encoding,
            "sms_segments": self.sms_segments,
            "audience": {"total": self.total, **self.per_channel},
            "sms_total_segments": self.sms_total_segments,
            "sms_cost_yuan": str(self.sms_cost_yuan),
            "excluded": {
                "opted_out": self.opted_out,
                "unreachable": self.unreachable,
                "no_address": self.no_address,
            },
            "threshold": self.threshold,
            "needs_second_person": self.needs_second_person,
        }


def preview(
    session: Session, row: BroadcastRow, sms: SmsCost, threshold: int, today: date | None = None
) -> Preview:
    """Both texts, SMS segments and cost, and the audience size per channel (reads only)."""
    res = resolve(session, Audience.from_json(row.audience), today)
    per = res.per_channel()
    text = sms_text(row, sms)
    segments = sms.segments(text)
    total = len(res.recipients)
    return Preview(
        telegram_text=telegram_text(row),
        sms_text=text,
        sms_chars=len(text),
        sms_encoding=sms.encoding(text),
        sms_segments=segments,
        per_channel=per,
        total=total,
        sms_total_segments=segments * per.get("sms", 0),
        sms_cost_yuan=(sms.price_per_segment_yuan * segments * per.get("sms", 0)).quantize(
            Decimal("0.01")
        ),
        opted_out=res.opted_out,
        unreachable=res.unreachable,
        no_address=res.no_address,
        threshold=threshold,
        needs_second_person=total > threshold,
    )
