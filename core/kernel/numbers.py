"""Chinese number parsing for amounts, counts and terms ("五万", "5w", "50000元", "三个人", "两年").

Uses cn2an (a maintained converter) for Chinese numerals; this module only handles units.
"""

from __future__ import annotations

import re
import unicodedata
import warnings
from decimal import Decimal, InvalidOperation

import cn2an

_NUM = r"(\d+(?:\.\d+)?)"
_MAX_YUAN = 100_000_000  # nobody asks for more than 1亿 here; above is a typo


# Words that contain numeral characters but are not numbers.
_NOT_NUMBERS = (
    "一共",
    "一起",
    "一些",
    "一下",
    "一直",
    "一般",
    "统一",
    "一定",
    "万一",
    "一点",
    "一样",
)


def _to_arabic(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).strip().lower()
    for word in _NOT_NUMBERS:
        text = text.replace(word, " ")
    text = text.replace("两", "二").replace("俩", "二").replace(",", "").replace("，", "")
    # "一百五" / "一万五" / "十万" -> digits; cn2an leaves what it cannot convert untouched
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return str(cn2an.transform(text, "cn2an"))
        except (ValueError, KeyError, IndexError):
            return text


def _decimal(s: str) -> Decimal | None:
    try:
        return Decimal(s)
    except InvalidOperation:
        return None


def parse_amount_yuan(text: str) -> int | None:
    """An amount of money in whole yuan, or None if the text holds no sensible amount."""
    t = _to_arabic(text)
    if re.search(r"[-−]\s*\d", t):
        return None
    m = re.search(_NUM + r"\s*(万|w|万元|个w|个万)", t)
    if m:
        value = _decimal(m.group(1))
        amount = value * 10_000 if value is not None else None
    else:
        m = re.search(_NUM + r"\s*(千|k)", t)
        if m:
            value = _decimal(m.group(1))
            amount = value * 1_000 if value is not None else None
        else:
            m = re.search(_NUM, t)
            amount = _decimal(m.group(1)) if m else None
    if amount is None or amount <= 0 or amount > _MAX_YUAN:
        return None
    return int(amount)


def parse_count(text: str, maximum: int = 100_000) -> int | None:
    """A head count or other whole number ("三个人" -> 3, "120人" -> 120)."""
    t = _to_arabic(text)
    m = re.search(r"\d+", t)
    if not m:
        return None
    value = int(m.group(0))
    if value > maximum:
        return None
    return value


def parse_months(text: str, maximum: int = 600) -> int | None:
    """A term in months: "18个月" -> 18, "两年" -> 24, "1年半" -> 18, "3" -> 3 (months)."""
    t = _to_arabic(text)
    m = re.search(_NUM + r"\s*年(半)?", t)
    if m:
        years = _decimal(m.group(1))
        if years is None:
            return None
        months = int(years * 12) + (6 if m.group(2) else 0)
    else:
        m = re.search(r"(\d+)\s*(个)?月?", t)
        if not m:
            return None
        months = int(m.group(1))
    if months <= 0 or months > maximum:
        return None
    return months


def is_not_positive(text: str) -> bool:
    """'0', '0元', '-5万', '负一万': a number that is zero or negative (told apart from nonsense)."""
    t = _to_arabic(text)
    if re.search(r"(^|[^\d])[-−]\s*\d", t) or t.lstrip().startswith("负"):
        return True
    m = re.search(_NUM, t)
    return m is not None and _decimal(m.group(1)) == 0
