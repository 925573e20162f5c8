"""SMS segment calculator for previews and cost estimates.

GSM-7: 160 septets in a single message, 153 per part of a concatenated one; characters of the
extension table (^ { } \\ [ ~ ] | € and form feed) take two septets and are never split across
parts. Anything outside the GSM-7 alphabet switches the whole message to UCS-2: 70 UTF-16 code
units single, 67 per part; a character outside the BMP (emoji) takes two units and is not split.
Prices are Decimal yuan (setting SMS_SEGMENT_PRICE_YUAN, default 0.05 元 per segment).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")

GSM7_SINGLE, GSM7_MULTI = 160, 153
UCS2_SINGLE, UCS2_MULTI = 70, 67
DEFAULT_PRICE_YUAN = Decimal("0.05")

Encoding = Literal["GSM-7", "UCS-2"]


@dataclass(frozen=True)
class SegmentInfo:
    encoding: Encoding
    chars: int  # characters as people count them
    units: int  # septets (GSM-7) or UTF-16 code units (UCS-2)
    segments: int
    per_segment: int  # the limit that applied: 160/153 or 70/67
    remaining: int  # units left in the last segment before another one is needed


@dataclass(frozen=True)
class CostEstimate:
    segments_each: int
    recipients: int
    total_segments: int
    price_per_segment_yuan: Decimal
    cost_yuan: Decimal


def is_gsm7(text: str) -> bool:
    return all(ch in GSM7_BASIC or ch in GSM7_EXTENSION for ch in text)


def encoding_of(text: str) -> Encoding:
    return "GSM-7" if is_gsm7(text) else "UCS-2"


def _unit_sizes(text: str, encoding: Encoding) -> list[int]:
    if encoding == "GSM-7":
        return [2 if ch in GSM7_EXTENSION else 1 for ch in text]
    return [len(ch.encode("utf-16-le")) // 2 for ch in text]


def _pack(sizes: list[int], limit: int) -> list[int]:
    """Character counts of consecutive parts, never splitting one character across parts."""
    parts: list[int] = []
    used = count = 0
    for size in sizes:
        if used + size > limit:
            parts.append(count)
            used = count = 0
        used += size
        count += 1
    if count:
        parts.append(count)
    return parts


def analyze(text: str) -> SegmentInfo:
    """How many segments `text` costs, and in which encoding."""
    encoding = encoding_of(text)
    sizes = _unit_sizes(text, encoding)
    units = sum(sizes)
    single, multi = (GSM7_SINGLE, GSM7_MULTI) if encoding == "GSM-7" else (UCS2_SINGLE, UCS2_MULTI)
    if units == 0:
        return SegmentInfo(encoding, 0, 0, 0, single, single)
    if units <= single:
        return SegmentInfo(encoding, len(text), units, 1, single, single - units)
    parts = _pack(sizes, multi)
    last_units = sum(sizes[len(text) - parts[-1] :])
    return SegmentInfo(encoding, len(text), units, len(parts), multi, multi - last_units)


def count_segments(text: str) -> int:
    return analyze(text).segments


def split_segments(text: str) -> list[str]:
    """The text of each segment as the network will cut it (for previews)."""
    info = analyze(text)
    if info.segments <= 1:
        return [text] if text else []
    parts = _pack(_unit_sizes(text, info.encoding), info.per_segment)
    out: list[str] = []
    start = 0
    for n in parts:
        out.append(text[start : start + n])
        start += n
    return out


def estimate_cost(
    text: str, recipients: int = 1, price_per_segment_yuan: Decimal = DEFAULT_PRICE_YUAN
) -> CostEstimate:
    """Segments and cost (Decimal yuan, exact) of sending `text` to `recipients` numbers."""
    if recipients < 0:
        raise ValueError("recipients must be >= 0")
    each = count_segments(text)
    total = each * recipients
    return CostEstimate(
        segments_each=each,
        recipients=recipients,
        total_segments=total,
        price_per_segment_yuan=price_per_segment_yuan,
        cost_yuan=price_per_segment_yuan * total,
    )
