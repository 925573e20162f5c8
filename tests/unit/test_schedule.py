"""Repayment schedules to the fen: hand-computed examples and properties."""

from __future__ import annotations

from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.loans.schedule import (
    EQUAL_INSTALLMENT,
    EQUAL_PRINCIPAL,
    METHODS,
    QUARTERLY_INTEREST,
    SUBSIDY_KINDS,
    PlannedInstallment,
    ScheduleError,
    add_months,
    borrower_interest,
    generate_schedule,
    maturity_date,
    normalize_method,
    normalize_subsidy_kind,
    schedule_columns,
)


def _fen(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


# --- due dates ---------------------------------------------------------------------------------


def test_due_dates_clamp_to_month_end() -> None:
    plan = generate_schedule(
        1_200_000, Decimal("0.06"), date(2026, 1, 31), 12, EQUAL_PRINCIPAL, "individual_full"
    )
    assert [p.due_on for p in plan[:4]] == [
        date(2026, 2, 28),
        date(2026, 3, 31),
        date(2026, 4, 30),
        date(2026, 5, 31),
    ]
    assert plan[-1].due_on == date(2027, 1, 31)
    assert add_months(date(2024, 1, 31), 1) == date(2024, 2, 29)  # leap year
    assert add_months(date(2023, 12, 31), 2) == date(2024, 2, 29)
    assert add_months(date(2026, 8, 30), 6) == date(2027, 2, 28)


def test_maturity_date() -> None:
    assert maturity_date(date(2026, 3, 5), 24) == date(2028, 3, 5)
    assert maturity_date(date(2024, 2, 29), 12) == date(2025, 2, 28)
    with pytest.raises(ScheduleError):
        maturity_date(date(2026, 1, 1), 0)


# --- 等额本金 ------------------------------------------------------------------------------------


def test_equal_principal_by_hand() -> None:
    # 12,000.00 yuan at 6% for 12 months: principal 1,000.00 a month, interest 0.5% of the
    # balance: 60.00, 55.00, 50.00, … 5.00.
    plan = generate_schedule(
        1_200_000, Decimal("0.06"), date(2026, 1, 31), 12, "等额本金", "个人全额贴息"
    )
    assert [p.seq for p in plan] == list(range(1, 13))
    assert [p.principal_fen for p in plan] == [100_000] * 12
    assert [p.interest_fen for p in plan] == [6000 - 500 * k for k in range(12)]
    assert all(p.borrower_interest_fen == 0 for p in plan)
    assert plan[0] == PlannedInstallment(1, date(2026, 2, 28), 100_000, 6000, 0)


def test_equal_principal_last_instalment_absorbs_rounding() -> None:
    # 50,000.00 yuan over 24 months: 2,083.33 a month (208,333.33 fen → 208,333), the last one
    # 208,341 fen; interest month 1 = 5,000,000 × 0.0435 / 12 = 18,125 fen exactly, month 2 =
    # 4,791,667 × 0.0435 / 12 = 17,370.1929 → 17,370.
    plan = generate_schedule(
        5_000_000, Decimal("0.0435"), date(2026, 1, 5), 24, EQUAL_PRINCIPAL, "individual_full"
    )
    assert [p.principal_fen for p in plan[:23]] == [208_333] * 23
    assert plan[-1].principal_fen == 5_000_000 - 23 * 208_333 == 208_341
    assert plan[0].interest_fen == 18_125
    assert plan[1].interest_fen == 17_370
    assert plan[-1].interest_fen == 755  # 208,341 × 0.003625 = 755.236


def test_interest_rounds_half_up() -> None:
    # 10,001.00 yuan at 6% for one month: 1,000,100 × 0.005 = 5,000.5 fen → 5,001 (half up,
    # where banker's rounding would give 5,000).
    (only,) = generate_schedule(
        1_000_100, Decimal("0.06"), date(2026, 1, 5), 1, EQUAL_PRINCIPAL, "none"
    )
    assert only.principal_fen == 1_000_100
    assert only.interest_fen == 5001
    assert only.borrower_interest_fen == 5001


# --- 按季付息、到期还本 -----------------------------------------------------------------------------


def enterprise_quarterly(
    amount_fen: int, annual_rate: Decimal, disbursed_on: date, *, base_rate: Decimal
) -> list[PlannedInstallment]:
    """An enterprise loan of the worked examples: 24 months, 按季付息、到期还本, 企业50%贴息."""
    return generate_schedule(
        amount_fen, annual_rate, disbursed_on, 24, "按季付息、到期还本", "企业50%贴息", base_rate
    )


def test_quarterly_interest_principal_at_maturity_by_hand() -> None:
    # 50,000.00 yuan at 4.35%, 24 months: 8 quarterly payments of 50,000 × 4.35% / 4 = 543.75
    # yuan; the principal with the last. Enterprise loan at the benchmark rate itself: the
    # borrower pays 543.75 − 271.88 (round half up of 271.875) = 271.87.
    plan = enterprise_quarterly(
        5_000_000, Decimal("0.0435"), date(2026, 3, 5), base_rate=Decimal("0.0435")
    )
    assert len(plan) == 8
    assert [p.due_on.isoformat() for p in plan] == [
        "2026-06-05", "2026-09-05", "2026-12-05", "2027-03-05",
        "2027-06-05", "2027-09-05", "2027-12-05", "2028-03-05",
    ]  # fmt: skip
    assert [p.principal_fen for p in plan] == [0] * 7 + [5_000_000]
    assert {p.interest_fen for p in plan} == {54_375}
    assert {p.borrower_interest_fen for p in plan} == {27_187}


def test_quarterly_with_a_short_last_period() -> None:
    # 13 months: quarters end at months 3, 6, 9, 12, then one month of interest at month 13.
    plan = generate_schedule(
        1_200_000, Decimal("0.06"), date(2026, 1, 10), 13, QUARTERLY_INTEREST, "none"
    )
    assert [p.due_on.isoformat() for p in plan] == [
        "2026-04-10", "2026-07-10", "2026-10-10", "2027-01-10", "2027-02-10",
    ]  # fmt: skip
    assert [p.interest_fen for p in plan] == [18_000, 18_000, 18_000, 18_000, 6_000]
    assert plan[-1].principal_fen == 1_200_000


# --- 等额本息 ------------------------------------------------------------------------------------


def test_equal_installment_by_hand() -> None:
    # 10,000.00 yuan at 12% (1% a month) for 12 months: the annuity is
    # 1,000,000 × 0.01 × 1.01^12 / (1.01^12 − 1) = 88,848.79 fen → 888.49 yuan a month.
    plan = generate_schedule(
        1_000_000, Decimal("0.12"), date(2026, 1, 15), 12, "等额本息", "无贴息"
    )
    totals = [p.principal_fen + p.interest_fen for p in plan]
    assert totals[:11] == [88_849] * 11
    assert plan[0].interest_fen == 10_000 and plan[0].principal_fen == 78_849
    # month 2: (1,000,000 − 78,849) × 1% = 9,211.51 → 9,212
    assert plan[1].interest_fen == 9_212 and plan[1].principal_fen == 79_637
    assert sum(p.principal_fen for p in plan) == 1_000_000
    # An independent Decimal computation of the whole table.
    outstanding = Decimal(1_000_000)
    payment = _fen(Decimal(1_000_000) * Decimal("0.01") * Decimal("1.01") ** 12
                   / (Decimal("1.01") ** 12 - 1))  # fmt: skip
    assert payment == 88_849
    for k, p in enumerate(plan):
        interest = _fen(outstanding * Decimal("0.01"))
        principal = int(outstanding) if k == 11 else payment - interest
        assert (p.principal_fen, p.interest_fen, p.borrower_interest_fen) == (
            principal,
            interest,
            interest,
        )
        outstanding -= principal
    assert outstanding == 0


def test_equal_installment_zero_rate() -> None:
    plan = generate_schedule(1_000, Decimal(0), date(2026, 1, 1), 3, EQUAL_INSTALLMENT, "none")
    assert [p.principal_fen for p in plan] == [333, 333, 334]
    assert all(p.interest_fen == 0 for p in plan)


# --- subsidy -----------------------------------------------------------------------------------


def test_subsidy_kinds() -> None:
    assert borrower_interest(54_375, "individual_full") == 0
    assert borrower_interest(54_375, "individual_uncertified") == 54_375
    assert borrower_interest(54_375, "个人非微利项目不贴息") == 54_375
    assert borrower_interest(54_375, "actual_rate_half") == 27_187
    assert borrower_interest(54_374, "按实际利率50%贴息") == 27_187
    assert borrower_interest(1, "actual_rate_half") == 0  # 0.5 fen subsidy rounds up to 1
    assert borrower_interest(54_375, "无贴息") == 54_375
    # 第二十条: 50% of the interest at the benchmark rate, the float above it is the firm's.
    rates = {"annual_rate": Decimal("0.06175"), "base_rate": Decimal("0.0475")}
    assert borrower_interest(3_087_500, "enterprise_half", **rates) == 1_900_000
    with pytest.raises(ScheduleError, match="基准利率"):
        borrower_interest(3_087_500, "enterprise_half", annual_rate=Decimal("0.06175"))


def test_enterprise_subsidy_is_half_of_benchmark_interest() -> None:
    """200万, 24 months, 按季付息到期还本, contract 6.175%, benchmark 4.75% (issue 11): total
    interest 247,000.00 元, the borrower pays 247,000 − 50% × 190,000 = 152,000.00 元."""
    plan = enterprise_quarterly(
        200_000_000, Decimal("0.06175"), date(2026, 1, 20), base_rate=Decimal("0.0475")
    )
    assert sum(p.interest_fen for p in plan) == 24_700_000
    assert sum(p.borrower_interest_fen for p in plan) == 15_200_000
    assert {p.borrower_interest_fen for p in plan} == {1_900_000}


def test_enterprise_subsidy_on_the_declining_balance() -> None:
    # 等额本金 12 × 10,000: month k's benchmark interest is on the balance before it.
    plan = generate_schedule(
        12_000_000, Decimal("0.06"), date(2026, 1, 5), 12, EQUAL_PRINCIPAL, "enterprise_half",
        Decimal("0.04"),
    )  # fmt: skip
    for k, p in enumerate(plan):
        balance = 12_000_000 - 1_000_000 * k
        assert p.interest_fen == balance * 6 // 1200
        subsidy = _fen(Decimal(balance) * Decimal("0.04") / 24)
        assert p.borrower_interest_fen == p.interest_fen - subsidy


def test_enterprise_half_needs_a_benchmark_rate() -> None:
    with pytest.raises(ScheduleError, match="基准利率"):
        generate_schedule(
            5_000_000,
            Decimal("0.0435"),
            date(2026, 3, 5),
            24,
            QUARTERLY_INTEREST,
            "enterprise_half",
        )


def test_aliases() -> None:
    assert normalize_method("等额本金") == EQUAL_PRINCIPAL
    assert normalize_method(" 按季付息，到期还本 ") == QUARTERLY_INTEREST
    assert normalize_method("按季付息到期还本") == QUARTERLY_INTEREST
    assert normalize_method("Equal_Installment") == EQUAL_INSTALLMENT
    assert normalize_subsidy_kind("个人全额贴息") == "individual_full"
    assert normalize_subsidy_kind("企业50％贴息") == "enterprise_half"
    assert normalize_subsidy_kind("none") == "none"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"amount_fen": 0}, "贷款金额必须大于0"),
        ({"amount_fen": -100}, "贷款金额必须大于0"),
        ({"annual_rate": Decimal("1.5")}, "年利率应在0到100%之间"),
        ({"annual_rate": Decimal("-0.01")}, "年利率应在0到100%之间"),
        ({"term_months": 0}, "贷款期限应在1到360个月之间"),
        ({"term_months": 361}, "贷款期限应在1到360个月之间"),
        ({"method": "气球贷"}, "还款方式不正确"),
        ({"subsidy_kind": "全免"}, "贴息类型不正确"),
    ],
)
def test_bad_inputs_raise_chinese_errors(kwargs: dict[str, object], message: str) -> None:
    args: dict[str, object] = {
        "amount_fen": 5_000_000,
        "annual_rate": Decimal("0.0435"),
        "disbursed_on": date(2026, 1, 5),
        "term_months": 24,
        "method": EQUAL_PRINCIPAL,
        "subsidy_kind": "individual_full",
        **kwargs,
    }
    with pytest.raises(ScheduleError, match=message):
        generate_schedule(**args)  # type: ignore[arg-type]


def test_datetime_disbursement_is_its_date() -> None:
    a = schedule_columns(
        100_000, Decimal("0.05"), datetime(2026, 1, 5, 9, 30), 3, "等额本金", "none"
    ).rows()
    b = schedule_columns(100_000, Decimal("0.05"), date(2026, 1, 5), 3, "等额本金", "none").rows()
    assert a == b


# --- properties --------------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(
    amount=st.integers(min_value=1, max_value=1_000_000_000),
    rate=st.decimals(min_value=0, max_value=Decimal("0.2"), places=6),
    disbursed=st.dates(min_value=date(2000, 1, 1), max_value=date(2060, 12, 31)),
    term=st.integers(min_value=1, max_value=120),
    method=st.sampled_from(METHODS),
    subsidy=st.sampled_from(SUBSIDY_KINDS),
)
def test_schedule_properties(
    amount: int, rate: Decimal, disbursed: date, term: int, method: str, subsidy: str
) -> None:
    base = Decimal("0.0475") if subsidy == "enterprise_half" else None
    plan = generate_schedule(amount, rate, disbursed, term, method, subsidy, base)
    assert sum(p.principal_fen for p in plan) == amount
    assert all(p.principal_fen >= 0 and p.interest_fen >= 0 for p in plan)
    assert all(0 <= p.borrower_interest_fen <= p.interest_fen for p in plan)
    dates = [disbursed, *(p.due_on for p in plan)]
    assert all(a < b for a, b in pairwise(dates))
    assert plan[-1].due_on == maturity_date(disbursed, term)
    assert [p.seq for p in plan] == list(range(1, len(plan) + 1))
    if method == QUARTERLY_INTEREST:
        assert len(plan) == (term + 2) // 3
    else:
        assert len(plan) == term
    if subsidy == "individual_full":
        assert all(p.borrower_interest_fen == 0 for p in plan)
    if subsidy == "none":
        assert all(p.borrower_interest_fen == p.interest_fen for p in plan)


@pytest.mark.parametrize("rate", ["sNaN", "NaN", "Infinity", "-0.0001", "1"])
def test_bad_rates_are_refused_every_time(rate: str) -> None:
    # Valid rates are memoised as fractions; invalid ones must never be (and sNaN not hashed).
    for _ in range(2):
        with pytest.raises(ScheduleError, match="年利率"):
            schedule_columns(
                100_000, Decimal(rate), date(2026, 1, 5), 12, EQUAL_PRINCIPAL, "none"
            ).rows()


def test_equal_rates_written_differently_give_the_same_schedule() -> None:
    a = schedule_columns(
        100_000, Decimal("0.0435"), date(2026, 1, 5), 24, EQUAL_INSTALLMENT, "none"
    ).rows()
    b = schedule_columns(
        100_000, Decimal("0.043500"), date(2026, 1, 5), 24, EQUAL_INSTALLMENT, "none"
    ).rows()
    c = schedule_columns(
        100_000, Decimal("4.35E-2"), date(2026, 1, 5), 24, "等额本息", "无贴息"
    ).rows()
    assert a == b == c
