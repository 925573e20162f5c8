from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.kernel.identity import (
    IdentityError,
    id_check_digit,
    mask_id_number,
    mask_phone,
    mask_text,
    normalize_id_number,
    normalize_phone,
)
from core.kernel.money import MoneyError, fen_to_yuan, format_yuan, yuan_to_fen
from knowledge.policy import format_yuan_wan as format_wan

VALID_ID = "11010519491231002X"  # the GB 11643 standard's own example


def test_gb11643_check_digit_example() -> None:
    assert id_check_digit(VALID_ID[:17]) == "X"
    assert normalize_id_number(VALID_ID.lower()) == VALID_ID


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("110105194912310021", "校验位"),
        ("11010519491331002X", "出生日期"),
        ("12345", "18位"),
        ("", "18位"),
    ],
)
def test_bad_id_numbers_are_refused_in_chinese(raw: str, message: str) -> None:
    with pytest.raises(IdentityError, match=message):
        normalize_id_number(raw)


@given(st.text(alphabet="0123456789", min_size=17, max_size=17))
def test_any_17_digits_with_their_check_digit_validate(first17: str) -> None:
    candidate = first17[:6] + "19900101" + first17[14:]
    full = candidate + id_check_digit(candidate)
    assert normalize_id_number(full) == full


def test_phones_to_e164_and_masked() -> None:
    assert normalize_phone("138 1234 8000") == "+8613812348000"
    assert normalize_phone("+86-13812348000") == "+8613812348000"
    assert mask_phone("+8613812348000") == "+86138****8000"
    with pytest.raises(IdentityError):
        normalize_phone("12345")
    with pytest.raises(IdentityError):
        normalize_phone("")


def test_masking_in_free_text() -> None:
    text = f"身份证 {VALID_ID} 手机 13812348000 和 +8613912345678"
    masked = mask_text(text)
    assert VALID_ID not in masked and "13812348000" not in masked
    assert "110105********002X" in masked
    assert "138****8000" in masked and "+86139****5678" in masked
    assert mask_id_number(VALID_ID) == "110105********002X"


def test_money_is_fen() -> None:
    assert yuan_to_fen("1,234.56") == 123456
    assert yuan_to_fen("0.005") == 1  # half-up
    assert yuan_to_fen(Decimal("50000")) == 5_000_000
    assert yuan_to_fen("3333.33元") == 333333
    assert fen_to_yuan(123456) == Decimal("1234.56")
    assert format_yuan(123456) == "1,234.56元"
    assert format_wan(50_000) == "5万元" and format_wan(2_000_000) == "200万元"
    for bad in ("", "abc", "NaN", "-"):
        with pytest.raises(MoneyError):
            yuan_to_fen(bad)


def test_search_keys_and_phone_display() -> None:
    from core.kernel.identity import format_phone, id_fragment, mobile_or_none, search_digits

    for typed in ("13893100012", "138 9310 0012", "+86 138 9310 0012", "86-138-9310-0012"):
        assert mobile_or_none(typed) == "+8613893100012", typed
    assert mobile_or_none("0012") is None and mobile_or_none("张三") is None
    assert search_digits("138 9310-0012") == "13893100012" and search_digits("LZ-1") is None
    assert id_fragment("12345x") == "12345X" and id_fragment("123") is None
    assert id_fragment("abcd") is None
    assert format_phone("+8613893100012") == "138 9310 0012"
    assert format_phone("+8613893100012", masked=True) == "138 **** 0012"
    assert format_phone("+869318123456") == "09318123456"
    assert format_phone("+869318123456", masked=True) == "0931812****"
    assert format_phone("+12025550123") == "+12025550123"
    assert format_phone("+12025550123", masked=True) == "+120****0123"
    assert format_phone(None) == ""
