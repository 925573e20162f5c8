"""Repayment schedules (还款计划) of 创业担保贷款, exact to the fen.

Pure functions, no I/O. Three repayment methods:

- ``equal_principal`` (等额本金): monthly; the same principal each month, interest on the balance.
- ``interest_quarterly_principal_at_maturity`` (按季付息、到期还本): interest every 3 months, the
  whole principal with the last instalment (a term that is not a multiple of 3 ends with a short
  period whose interest covers only its months).
- ``equal_installment`` (等额本息): monthly annuity; the same total each month, the last instalment
  absorbs the rounding.

Interest of a period = outstanding principal × annual rate / 12 × months in the period, rounded
half-up to the fen. The arithmetic is exact rational arithmetic on integers (the annual rate is a
Decimal, i.e. a fraction with a power-of-ten denominator), which gives the same result as Decimal
with ROUND_HALF_UP without its 28-digit precision limit and is fast enough to generate the
schedules of 100,000 loans in a few seconds. The principal always sums exactly to the amount.

The borrower's share of the interest depends on the subsidy (贴息) kind (兰州 第十九条、第二十条):

- ``individual_full`` (个人微利项目全额贴息): an individual loan whose project the guarantee
  institution certified as 微利项目 (第十三条(四) stamp, 第十九条、第二十条) is fully subsidised → 0.
- ``individual_uncertified`` (个人非微利项目不贴息): an individual loan without that certification:
  第十九条 ties the individual subsidy to 微利项目, so the borrower pays all the interest.
- ``actual_rate_half`` (按实际利率50%贴息): 财金〔2023〕75号 subsidises 50% of the actual loan rate →
  the borrower pays interest − round_half_up(interest × 50%).
- ``enterprise_half`` (企业基准利率50%贴息): 劳动密集型小企业 (第二十条: "基准利率的利息中央财政贴息25%，
  县、区财政贴息25%，上浮利率的利息由企业负担"). The subsidy is 50% of the interest *at the benchmark
  rate* on the same balance and period, so the borrower pays contract interest −
  round_half_up(benchmark interest × 50%) (never below 0). The loan carries its benchmark rate
  (`base_rate`); without it no schedule can be made.
- ``none`` (无贴息): the borrower pays all the interest (e.g. during an extension, which gets no
  subsidy under later rules).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache

from core.kernel.labels import labels

EQUAL_PRINCIPAL = "equal_principal"
QUARTERLY_INTEREST = "interest_quarterly_principal_at_maturity"
EQUAL_INSTALLMENT = "equal_installment"
METHODS = (EQUAL_PRINCIPAL, QUARTERLY_INTEREST, EQUAL_INSTALLMENT)

SUBSIDY_INDIVIDUAL_FULL = "individual_full"
SUBSIDY_ENTERPRISE_HALF = "enterprise_half"
SUBSIDY_INDIVIDUAL_UNCERTIFIED = "individual_uncertified"
SUBSIDY_ACTUAL_RATE_HALF = "actual_rate_half"
SUBSIDY_NONE = "none"
SUBSIDY_KINDS = (
    SUBSIDY_INDIVIDUAL_FULL,
    SUBSIDY_INDIVIDUAL_UNCERTIFIED,
    SUBSIDY_ACTUAL_RATE_HALF,
    SUBSIDY_ENTERPRISE_HALF,
    SUBSIDY_NONE,
)

METHOD_LABELS = labels("repayment_method")
SUBSIDY_LABELS = labels("subsidy_kind")

MAX_TERM_MONTHS = 360

# Separators people put in the Chinese method names: 按季付息、到期还本 / 按季付息,到期还本 / ...
_SEPARATORS = str.maketrans("", "", " \t\u3000、，,;；/|-_（）()")

_METHOD_ALIASES: dict[str, str] = {
    EQUAL_PRINCIPAL: EQUAL_PRINCIPAL,
    "equalprincipal": EQUAL_PRINCIPAL,
    "等额本金": EQUAL_PRINCIPAL,
    "等额本金还款": EQUAL_PRINCIPAL,
    "按月等额本金": EQUAL_PRINCIPAL,
    QUARTERLY_INTEREST: QUARTERLY_INTEREST,
    "interestquarterlyprincipalatmaturity": QUARTERLY_INTEREST,
    "按季付息到期还本": QUARTERLY_INTEREST,
    "按季结息到期还本": QUARTERLY_INTEREST,
    "按季付息到期一次还本": QUARTERLY_INTEREST,
    "按季付息一次还本": QUARTERLY_INTEREST,
    EQUAL_INSTALLMENT: EQUAL_INSTALLMENT,
    "equalinstallment": EQUAL_INSTALLMENT,
    "等额本息": EQUAL_INSTALLMENT,
    "等额本息还款": EQUAL_INSTALLMENT,
    "按月等额本息": EQUAL_INSTALLMENT,
}

_SUBSIDY_ALIASES: dict[str, str] = {
    SUBSIDY_INDIVIDUAL_FULL: SUBSIDY_INDIVIDUAL_FULL,
    "individualfull": SUBSIDY_INDIVIDUAL_FULL,
    "个人全额贴息": SUBSIDY_INDIVIDUAL_FULL,
    "全额贴息": SUBSIDY_INDIVIDUAL_FULL,
    "个人贷款全额贴息": SUBSIDY_INDIVIDUAL_FULL,
    "财政全额贴息": SUBSIDY_INDIVIDUAL_FULL,
    "微利项目全额贴息": SUBSIDY_INDIVIDUAL_FULL,
    "个人微利项目全额贴息": SUBSIDY_INDIVIDUAL_FULL,
    SUBSIDY_INDIVIDUAL_UNCERTIFIED: SUBSIDY_INDIVIDUAL_UNCERTIFIED,
    "individualuncertified": SUBSIDY_INDIVIDUAL_UNCERTIFIED,
    "个人非微利项目不贴息": SUBSIDY_INDIVIDUAL_UNCERTIFIED,
    "非微利项目不贴息": SUBSIDY_INDIVIDUAL_UNCERTIFIED,
    "非微利项目": SUBSIDY_INDIVIDUAL_UNCERTIFIED,
    "个人不贴息": SUBSIDY_INDIVIDUAL_UNCERTIFIED,
    SUBSIDY_ACTUAL_RATE_HALF: SUBSIDY_ACTUAL_RATE_HALF,
    "actualratehalf": SUBSIDY_ACTUAL_RATE_HALF,
    "按实际利率50%贴息": SUBSIDY_ACTUAL_RATE_HALF,
    "按实际利率50％贴息": SUBSIDY_ACTUAL_RATE_HALF,
    "实际利率50%贴息": SUBSIDY_ACTUAL_RATE_HALF,
    "实际利率50％贴息": SUBSIDY_ACTUAL_RATE_HALF,
    SUBSIDY_ENTERPRISE_HALF: SUBSIDY_ENTERPRISE_HALF,
    "enterprisehalf": SUBSIDY_ENTERPRISE_HALF,
    "企业50%贴息": SUBSIDY_ENTERPRISE_HALF,
    "企业50％贴息": SUBSIDY_ENTERPRISE_HALF,
    "小企业50%贴息": SUBSIDY_ENTERPRISE_HALF,
    "小企业50％贴息": SUBSIDY_ENTERPRISE_HALF,
    "企业贴息50%": SUBSIDY_ENTERPRISE_HALF,
    "50%贴息": SUBSIDY_ENTERPRISE_HALF,
    "企业半额贴息": SUBSIDY_ENTERPRISE_HALF,
    "企业基准利率50%贴息": SUBSIDY_ENTERPRISE_HALF,
    "企业基准利率50％贴息": SUBSIDY_ENTERPRISE_HALF,
    SUBSIDY_NONE: SUBSIDY_NONE,
    "无贴息": SUBSIDY_NONE,
    "不贴息": SUBSIDY_NONE,
    "无": SUBSIDY_NONE,
}

_DAYS_IN_MONTH = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


class ScheduleError(ValueError):
    """Inputs from which no schedule can be made; the message is Chinese."""


@dataclass(frozen=True, slots=True)
class PlannedInstallment:
    """One planned instalment. `borrower_interest_fen` is the borrower's share after subsidy."""

    seq: int
    due_on: date
    principal_fen: int
    interest_fen: int
    borrower_interest_fen: int

    @property
    def borrower_due_fen(self) -> int:
        """What the borrower pays for this instalment: principal + the borrower's interest share."""
        return self.principal_fen + self.borrower_interest_fen


def normalize_method(value: str) -> str:
    """The canonical repayment method for an English or Chinese name (等额本金 …)."""
    return _canonical(value, _METHOD_ALIASES, "还款方式", "等额本金、按季付息、到期还本、等额本息")


def normalize_subsidy_kind(value: str) -> str:
    """The canonical subsidy kind for an English or Chinese name (个人全额贴息 …)."""
    return _canonical(value, _SUBSIDY_ALIASES, "贴息类型", "、".join(SUBSIDY_LABELS.values()))


def _canonical(value: str, aliases: dict[str, str], what: str, choices: str) -> str:
    found = aliases.get(str(value).strip().lower().translate(_SEPARATORS))
    if found is None:
        raise ScheduleError(f"{what}不正确：{value}（可用：{choices}）")
    return found


def _days_in_month(year: int, month: int) -> int:
    if month == 2 and year % 4 == 0 and (year % 100 != 0 or year % 400 == 0):
        return 29
    return _DAYS_IN_MONTH[month - 1]


def add_months(start: date, months: int) -> date:
    """The same day-of-month `months` later, clamped to the month end (Jan 31 + 1 → Feb 28/29)."""
    index = start.year * 12 + (start.month - 1) + months
    year, month0 = divmod(index, 12)
    if year < 1 or year > 9999:
        raise ScheduleError("日期超出范围")
    month = month0 + 1
    return date(year, month, min(start.day, _days_in_month(year, month)))


def maturity_date(disbursed_on: date, term_months: int) -> date:
    """到期日: the disbursement date plus the term, clamped to the month end."""
    _check_term(term_months)
    return add_months(disbursed_on, term_months)


@lru_cache(maxsize=8192)
def _due_dates(disbursed_on: date, months: tuple[int, ...]) -> tuple[date, ...]:
    return tuple(add_months(disbursed_on, m) for m in months)


@lru_cache(maxsize=1024)
def _period_months(method: str, term_months: int) -> tuple[int, ...]:
    """Months after disbursement at which instalments fall due."""
    if method == QUARTERLY_INTEREST:
        ends = list(range(3, term_months, 3))
        ends.append(term_months)
        return tuple(ends)
    return tuple(range(1, term_months + 1))


def _div_half_up(num: int, den: int) -> int:
    """round_half_up(num / den) for num >= 0, den > 0."""
    return (2 * num + den) // (2 * den)


def _check_term(term_months: int) -> None:
    if isinstance(term_months, bool) or not isinstance(term_months, int):
        raise ScheduleError("贷款期限（月）必须是整数")
    if term_months < 1 or term_months > MAX_TERM_MONTHS:
        raise ScheduleError(f"贷款期限应在1到{MAX_TERM_MONTHS}个月之间")


def _rate_fraction(annual_rate: Decimal) -> tuple[int, int]:
    if isinstance(annual_rate, Decimal) and annual_rate.is_finite():  # sNaN is not hashable
        hit = _RATE_FRACTIONS.get(annual_rate)
        if hit is not None:
            return hit
    if not isinstance(annual_rate, Decimal) or not annual_rate.is_finite():
        raise ScheduleError("年利率必须是小数（如 0.0435）")
    if annual_rate < 0 or annual_rate >= 1:
        raise ScheduleError(f"年利率应在0到100%之间（例如 0.0435 表示4.35%）：{annual_rate}")
    num, den = annual_rate.as_integer_ratio()
    if len(_RATE_FRACTIONS) < 4096:
        _RATE_FRACTIONS[annual_rate] = (num, den)
    return num, den


# Valid rates seen so far (a portfolio has a handful); equal Decimals have equal fractions.
_RATE_FRACTIONS: dict[Decimal, tuple[int, int]] = {}


@dataclass(frozen=True, slots=True)
class ScheduleColumns:
    """A schedule column-wise (the importer's bulk form): instalment k is element k of each."""

    due_on: tuple[date, ...]
    principal_fen: tuple[int, ...]
    interest_fen: tuple[int, ...]
    borrower_interest_fen: tuple[int, ...]

    def rows(self) -> list[tuple[int, date, int, int, int]]:
        """(seq, due_on, principal, interest, borrower's interest) per instalment."""
        n = len(self.due_on)
        return list(
            zip(
                range(1, n + 1),
                self.due_on,
                self.principal_fen,
                self.interest_fen,
                self.borrower_interest_fen,
                strict=True,
            )
        )


def schedule_columns(
    amount_fen: int,
    annual_rate: Decimal,
    disbursed_on: date,
    term_months: int,
    method: str,
    subsidy_kind: str,
    base_rate: Decimal | None = None,
) -> ScheduleColumns:
    """The schedule column-wise; see `generate_schedule`. Raises ScheduleError."""
    if isinstance(amount_fen, bool) or not isinstance(amount_fen, int):
        raise ScheduleError("贷款金额必须是整数（分）")
    if amount_fen <= 0:
        raise ScheduleError("贷款金额必须大于0")
    if isinstance(disbursed_on, datetime):
        disbursed_on = disbursed_on.date()
    if not isinstance(disbursed_on, date):
        raise ScheduleError("放款日期不正确")
    _check_term(term_months)
    rate_num, rate_den = _rate_fraction(annual_rate)
    method = method if method in METHODS else normalize_method(method)
    subsidy = (
        subsidy_kind if subsidy_kind in SUBSIDY_KINDS else normalize_subsidy_kind(subsidy_kind)
    )
    base = _base_fraction(subsidy, base_rate)
    months = _period_months(method, term_months)
    principals, interests, borrower = _amounts(
        method, subsidy, amount_fen, rate_num, rate_den * 12, months, base
    )
    return ScheduleColumns(_due_dates(disbursed_on, months), principals, interests, borrower)


def _base_fraction(subsidy: str, base_rate: Decimal | None) -> tuple[int, int] | None:
    """The benchmark rate as a fraction, required for (and only used by) ``enterprise_half``."""
    if subsidy != SUBSIDY_ENTERPRISE_HALF:
        return None
    if base_rate is None:
        raise ScheduleError("企业50%贴息须填写基准利率（第二十条按基准利率计算贴息）")
    try:
        return _rate_fraction(base_rate)
    except ScheduleError as exc:
        raise ScheduleError(f"基准利率：{exc}") from exc


@lru_cache(maxsize=65536)
def _amounts(
    method: str,
    subsidy: str,
    amount_fen: int,
    rate_num: int,
    monthly_den: int,
    months: tuple[int, ...],
    base: tuple[int, int] | None = None,
) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]:
    """Principal, interest and borrower's interest per instalment (monthly rate =
    rate_num / monthly_den). Cached: real portfolios repeat amounts, rates and terms a lot."""
    n = len(months)
    principals: list[int]
    interests: list[int]
    if method == EQUAL_PRINCIPAL:
        principals, interests = _equal_principal(amount_fen, rate_num, monthly_den, n)
    elif method == QUARTERLY_INTEREST:
        principals = [0] * (n - 1) + [amount_fen]
        interests = []
        prev = 0
        for end in months:
            interests.append(_div_half_up(amount_fen * rate_num * (end - prev), monthly_den))
            prev = end
    else:
        principals, interests = _equal_installment(amount_fen, rate_num, monthly_den, n)

    if subsidy == SUBSIDY_INDIVIDUAL_FULL:
        borrower = [0] * n
    elif subsidy == SUBSIDY_ACTUAL_RATE_HALF:
        borrower = [i - (i + 1) // 2 for i in interests]  # i − round_half_up(i × 50%)
    elif subsidy == SUBSIDY_ENTERPRISE_HALF:
        assert base is not None
        borrower = _enterprise_share(amount_fen, principals, interests, months, base)
    else:
        borrower = interests
    return tuple(principals), tuple(interests), tuple(borrower)


def _enterprise_share(
    amount_fen: int,
    principals: list[int],
    interests: list[int],
    months: tuple[int, ...],
    base: tuple[int, int],
) -> list[int]:
    """Contract interest − round_half_up(50% × interest at the benchmark rate on the same balance
    and period), never below 0 (第二十条)."""
    base_num, base_den = base
    out: list[int] = []
    balance, prev = amount_fen, 0
    for principal, interest, end in zip(principals, interests, months, strict=True):
        subsidy = _div_half_up(balance * base_num * (end - prev), base_den * 24)
        out.append(max(interest - subsidy, 0))
        balance -= principal
        prev = end
    return out


def _equal_principal(
    amount_fen: int, rate_num: int, monthly_den: int, n: int
) -> tuple[list[int], list[int]]:
    step = (2 * amount_fen + n) // (2 * n)  # round_half_up(amount / n)
    return _amortize(amount_fen, rate_num, monthly_den, n, lambda _interest: step)


def _equal_installment(
    amount_fen: int, rate_num: int, monthly_den: int, n: int
) -> tuple[list[int], list[int]]:
    if rate_num == 0:
        payment = _div_half_up(amount_fen, n)
    else:
        # A·r·(1+r)^n / ((1+r)^n − 1) with r = rate_num / monthly_den, exactly.
        growth = (monthly_den + rate_num) ** n
        base = monthly_den**n
        payment = _div_half_up(amount_fen * rate_num * growth, monthly_den * (growth - base))
    return _amortize(amount_fen, rate_num, monthly_den, n, lambda interest: payment - interest)


def _amortize(
    amount_fen: int, rate_num: int, monthly_den: int, n: int, principal: Callable[[int], int]
) -> tuple[list[int], list[int]]:
    """Month by month: the interest on the outstanding balance (rounded half up) and
    `principal(interest)` kept within [0, outstanding]; the last instalment takes the rest."""
    r2, d2 = 2 * rate_num, 2 * monthly_den
    principals: list[int] = []
    interests: list[int] = []
    outstanding = amount_fen
    for _ in range(n - 1):
        interest = (outstanding * r2 + monthly_den) // d2
        p = min(max(principal(interest), 0), outstanding)
        interests.append(interest)
        principals.append(p)
        outstanding -= p
    interests.append((outstanding * r2 + monthly_den) // d2)
    principals.append(outstanding)
    return principals, interests


def generate_schedule(
    amount_fen: int,
    annual_rate: Decimal,
    disbursed_on: date,
    term_months: int,
    method: str,
    subsidy_kind: str,
    base_rate: Decimal | None = None,
) -> list[PlannedInstallment]:
    """The planned instalments of a loan (see the module docstring for the rules).

    `method` and `subsidy_kind` accept the English codes or the Chinese names (等额本金,
    按季付息、到期还本, 等额本息; 个人全额贴息, 企业50%贴息, 无贴息 …); `base_rate` (the benchmark
    rate) is required for ``enterprise_half``. Raises ScheduleError.
    """
    return [
        PlannedInstallment(seq, due, principal, interest, borrower)
        for seq, due, principal, interest, borrower in schedule_columns(
            amount_fen, annual_rate, disbursed_on, term_months, method, subsidy_kind, base_rate
        ).rows()
    ]


def borrower_interest(
    interest_fen: int,
    subsidy_kind: str,
    *,
    annual_rate: Decimal | None = None,
    base_rate: Decimal | None = None,
) -> int:
    """The borrower's share of `interest_fen` under a subsidy kind (used for bank schedules).

    For ``enterprise_half`` the interest at the benchmark rate on the same balance and period is
    interest × base_rate / annual_rate, so both rates are needed."""
    if interest_fen < 0:
        raise ScheduleError("利息不能为负数")
    kind = normalize_subsidy_kind(subsidy_kind)
    if kind == SUBSIDY_INDIVIDUAL_FULL:
        return 0
    if kind == SUBSIDY_ACTUAL_RATE_HALF:
        return interest_fen - _div_half_up(interest_fen, 2)
    if kind == SUBSIDY_ENTERPRISE_HALF:
        base = _base_fraction(kind, base_rate)
        assert base is not None
        base_num, base_den = base
        if annual_rate is None:
            raise ScheduleError("计算企业贴息须知道合同年利率")
        rate_num, rate_den = _rate_fraction(annual_rate)
        if rate_num == 0:
            return 0
        subsidy = _div_half_up(interest_fen * base_num * rate_den, 2 * base_den * rate_num)
        return max(interest_fen - subsidy, 0)
    return interest_fen
