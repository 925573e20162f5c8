"""Personal identifiers: GB 11643 ID numbers and E.164 phones, masked for display and logs."""

from __future__ import annotations

import operator
import re
from datetime import date
from functools import lru_cache

import phonenumbers

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_ID_RE = re.compile(r"^\d{17}[\dX]$")


class IdentityError(ValueError):
    """An ID number or phone number that is not valid; the message is Chinese."""


def id_check_digit(first17: str) -> str:
    """The GB 11643-1999 check character for the first 17 digits."""
    if len(first17) != 17:
        raise ValueError("an ID number's check digit needs exactly 17 digits")
    return _ID_CHECK[sum(map(operator.mul, map(int, first17), _ID_WEIGHTS)) % 11]


def normalize_id_number(raw: str) -> str:
    """Validate an 18-digit resident ID number (GB 11643) and return it upper-cased."""
    value = raw.strip().upper().replace(" ", "")
    if not _ID_RE.match(value):
        raise IdentityError("身份证号应为18位（前17位数字，最后一位数字或X）")
    try:
        date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError as exc:
        raise IdentityError("身份证号中的出生日期不正确") from exc
    if id_check_digit(value[:17]) != value[17]:
        raise IdentityError("身份证号校验位不正确，请核对")
    return value


def mask_id_number(value: str | None) -> str:
    """'620102199001011234' -> '620102********1234'."""
    if not value:
        return ""
    if len(value) <= 8:
        return "*" * len(value)
    return value[:6] + "*" * (len(value) - 10) + value[-4:]


_MOBILE_RE = re.compile(r"^(?:\+?86)?(1\d{10})$")
_PHONE_STRIP = str.maketrans("", "", " -()（）\u3000")


@lru_cache(maxsize=4096)
def _mobile_prefix_valid(prefix5: str) -> bool:
    # Mainland mobile validity (libphonenumber metadata) depends only on the first 5 digits.
    try:
        return phonenumbers.is_valid_number(phonenumbers.parse(prefix5 + "000000", "CN"))
    except phonenumbers.NumberParseException:  # pragma: no cover - 11 digits always parse
        return False


def _mobile_digits(text: str) -> str | None:
    """The 11 digits of a mainland mobile number written with or without +86 and separators."""
    m = _MOBILE_RE.match(text.translate(_PHONE_STRIP))
    return m.group(1) if m else None


def normalize_phone(raw: str, region: str = "CN") -> str:
    """Parse a phone number (mainland numbers without +86 accepted) into E.164.

    Mainland mobile numbers take a fast path (a pattern and the libphonenumber verdict cached
    per 5-digit prefix) with the same result as the full parse: bulk imports parse millions."""
    text = raw.strip()
    if not text:
        raise IdentityError("手机号为空")
    if region == "CN":
        national = _mobile_digits(text)
        if national and _mobile_prefix_valid(national[:5]):
            return "+86" + national
    try:
        parsed = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        raise IdentityError(f"手机号格式不正确：{mask_phone(text)}") from exc
    if not phonenumbers.is_valid_number(parsed):
        raise IdentityError(f"手机号无效：{mask_phone(text)}")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


_E164_RE = re.compile(r"^\+\d{8,15}$")


def e164_or_none(phone: str | None) -> str | None:
    """A stored phone number as E.164 (stored numbers usually are: no parsing then), or None when
    it cannot be read as a phone number."""
    if not phone:
        return None
    phone = phone.strip()
    if _E164_RE.match(phone):
        return phone
    try:
        return normalize_phone(phone)
    except IdentityError:
        return None


def is_mobile(e164: str) -> bool:
    """Whether an E.164 number can receive SMS: a mobile number, never a landline (0931-…).

    Mainland numbers are mobile exactly when the national number is 1 followed by 10 digits
    (area codes never start with 1); other countries ask libphonenumber."""
    if e164.startswith("+86"):
        national = e164[3:]
        return len(national) == 11 and national.startswith("1") and national.isdigit()
    try:
        parsed = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return False
    kind = phonenumbers.number_type(parsed)
    return kind in (
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    )


def mask_phone(value: str | None) -> str:
    """'+8613812348000' -> '+86138****8000'; works on any string of digits."""
    if not value:
        return ""
    digits = value
    if len(digits) <= 7:
        return digits[:2] + "*" * max(len(digits) - 2, 0)
    return digits[:-8] + "****" + digits[-4:]


_ID_IN_TEXT = re.compile(r"(?<!\d)(\d{6})\d{8}(\d{3}[\dXx])(?!\d)")
_PHONE_IN_TEXT = re.compile(r"(?<!\d)(\+?86)?(1[3-9]\d)\d{4}(\d{4})(?!\d)")


def mask_text(text: str) -> str:
    """Mask ID numbers and mainland mobile numbers wherever they appear in free text (for logs)."""
    text = _ID_IN_TEXT.sub(lambda m: f"{m.group(1)}********{m.group(2)}", text)
    return _PHONE_IN_TEXT.sub(lambda m: f"{m.group(1) or ''}{m.group(2)}****{m.group(3)}", text)


# --- search keys (the staff console's one search box) ---------------------------------------------

_SEARCH_STRIP = str.maketrans("", "", " -()（）\u3000.")
_DIGITS_RE = re.compile(r"^\d+$")
_ID_FRAGMENT_RE = re.compile(r"^\d{3,17}[\dX]$")


def search_digits(raw: str) -> str | None:
    """The digits of a number typed with spaces, dashes, dots or brackets ('138 9310 0012',
    '86-138…', '(0931) 8…'), a leading + dropped; None when anything else is in it."""
    text = raw.strip().translate(_SEARCH_STRIP).removeprefix("+")
    return text if _DIGITS_RE.match(text) else None


def mobile_or_none(raw: str) -> str | None:
    """A mainland mobile number in any common format (13893100012, 138 9310 0012, +86 138…,
    86-138…) as E.164; None for anything else (a fragment, a landline, a name)."""
    national = _mobile_digits(raw.strip())
    return "+86" + national if national else None


def id_fragment(raw: str) -> str | None:
    """An ID number typed whole or as its last 4–18 characters (x or X), upper-cased; None when it
    cannot be part of one."""
    text = raw.strip().replace(" ", "").upper()
    return text if len(text) >= 4 and _ID_FRAGMENT_RE.match(text) else None


def format_phone(value: str | None, masked: bool = False) -> str:
    """A phone number for staff to read: '+8613893100012' → '138 9310 0012' (masked: '138 ****
    0012'); other countries' numbers in E.164 as stored; '' for None."""
    if not value:
        return ""
    national = value[3:] if value.startswith("+86") else None
    if national is None or not _DIGITS_RE.match(national):
        return mask_phone(value) if masked else value
    if len(national) == 11:
        middle = "****" if masked else national[3:7]
        return f"{national[:3]} {middle} {national[7:]}"
    return ("0" + national[:-4] + "****" if masked else "0" + national) if national else value
