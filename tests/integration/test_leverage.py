"""Guarantee-fund leverage per handling bank (issue 11): each bank's outstanding balance in a
county/district against leverage × that county's fund (兰州 第八条、第十二条), the multiple from
the policy file and the fund sizes from settings."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from core.kernel.settings import Settings
from core.kernel.workdays import WorkCalendar
from core.persistence.db import session_scope
from core.staff import overview as dashboard
from knowledge.policy import load_policy
from tests.db_kit import add_loan, add_person

TODAY = date(2026, 6, 1)


def _loan(engine: Engine, no: str, district: str, bank: str, principal_yuan: int) -> None:
    with session_scope(engine) as s:
        add_loan(
            s,
            no,
            add_person(s, f"借款人{no}", "+8613893100001"),
            [(date(2028, 3, 1), principal_yuan * 100)],
            disbursed_on=date(2026, 3, 1),
            term_months=24,
            repayment_method="interest_quarterly_principal_at_maturity",
            district=district,
            bank=bank,
        )


def test_each_bank_against_its_countys_fund(engine: Engine) -> None:
    _loan(engine, "A1", "城关区", "兰州银行", 3_000_000)
    _loan(engine, "A2", "城关区", "兰州银行", 3_000_000)
    _loan(engine, "B1", "城关区", "邮储银行", 1_000_000)
    _loan(engine, "C1", "榆中县", "农商银行", 2_000_000)
    policy = load_policy("lanzhou-2013")
    with Session(engine) as s:
        d = dashboard.build(
            s,
            step_days={},
            calendar=WorkCalendar(),
            today=TODAY,
            fund_yuan=2_000_000,
            funds_yuan={"城关区": 1_000_000},
            leverage=policy.guarantee_fund.leverage,
            leverage_article=policy.guarantee_fund.article,
        )
    banks = {(b["district"], b["bank"]): b for b in d.to_json()["guarantee"]["banks"]}
    lanzhou = banks[("城关区", "兰州银行")]
    assert lanzhou["loans"] == 2 and lanzhou["outstanding_fen"] == 600_000_000
    assert lanzhou["limit_fen"] == 5 * 100_000_000  # 5 × 城关区's 100万 fund
    assert lanzhou["over_limit"] is True and lanzhou["usage_percent"] == 120.0
    assert banks[("城关区", "邮储银行")]["over_limit"] is False
    yuzhong = banks[("榆中县", "农商银行")]
    assert yuzhong["fund_listed"] is False and yuzhong["fund_fen"] == 200_000_000
    assert d.to_json()["guarantee"]["article"] == "兰政发〔2013〕76号 第十二条"
    assert d.banks[0].bank == "兰州银行"  # fullest first


def test_guarantee_funds_setting_parses_json(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GUARANTEE_FUNDS", '{"城关区": 10000000, "七里河区": 5000000}')
    assert Settings().guarantee_funds == {"城关区": 10_000_000, "七里河区": 5_000_000}
