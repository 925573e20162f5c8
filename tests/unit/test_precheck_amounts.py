import pytest

from core.applications.precheck_input import PrecheckInputError, parse_precheck_input

BASE = {
    "applicant_type": "individual",
    "category": "unemployed",
    "has_certificate": True,
    "industry": "小饭馆",
    "bad_credit": False,
}


@pytest.mark.parametrize(
    ("amount", "yuan"),
    [
        (50000, 50000),
        ("50000", 50000),
        ("50,000元", 50000),
        ("5万", 50000),
        ("五万", 50000),
        ("5w", 50000),
        ("30万", 300000),
    ],
)
def test_amounts_as_people_write_them(amount: object, yuan: int) -> None:
    assert parse_precheck_input({**BASE, "amount": amount}).amount == yuan


@pytest.mark.parametrize("amount", ["很多", "-5万", "abc", True])
def test_bad_amounts_name_the_field(amount: object) -> None:
    with pytest.raises(PrecheckInputError) as err:
        parse_precheck_input({**BASE, "amount": amount})
    assert err.value.field == "amount"
