"""Eligibility pre-check: rules, JSON contract, input errors, and properties (hypothesis)."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.applications.eligibility import Decision, precheck
from core.applications.precheck_input import PrecheckInput, PrecheckInputError, parse_precheck_input
from core.kernel.workdays import WorkCalendar
from knowledge.policy import CATEGORY_KEYS, Policy, load_policy
from tests.contracts import PRECHECK_FIELDS

TODAY = date(2026, 3, 2)  # a Monday
CAL = WorkCalendar()
LZ = load_policy("lanzhou-2013")
NAT = load_policy("national-2023")


def run(policy: Policy = LZ, today: date = TODAY, **data: Any) -> Decision:
    return precheck(parse_precheck_input(data), policy, today, CAL)


def individual(**extra: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "applicant_type": "individual",
        "category": "unemployed",
        "has_certificate": True,
        "industry": "开牛肉面馆",
        "bad_credit": False,
    }
    return base | extra


def enterprise(**extra: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "applicant_type": "enterprise",
        "has_certificate": True,
        "industry": "服装加工",
        "bad_credit": False,
        "employees": 50,
        "new_hires": 15,
        "contract_months": 12,
    }
    return base | extra


def reason(d: Decision, code: str) -> Any:
    found = [r for r in d.reasons if r.code == code]
    assert found, f"{code} not in {d.codes()}"
    return found[0]


# --- individuals ---------------------------------------------------------------------------------


def test_unemployed_individual_eligible() -> None:
    d = run(**individual())
    assert d.eligible
    assert (d.max_amount, d.max_term_months) == (50000, 24)
    assert reason(d, "category_ok").article == "兰政发〔2013〕76号 第十四条"
    assert reason(d, "certificate_ok").article.endswith("第四条")
    assert len(d.documents) == 5
    assert "全额贴息" in d.subsidy
    assert "社区" in d.next_steps and "户籍地" in d.next_steps
    # 18 working days from Monday 2026-03-02 → Thursday 2026-03-26
    assert d.expected_by == date(2026, 3, 26) == CAL.add_workdays(TODAY, 18)
    assert all(r.article for r in d.reasons)


@pytest.mark.parametrize(
    ("category", "cap"),
    [("unemployed", 50000), ("veteran", 50000), ("woman", 80000), ("graduate", 100000)],
)
def test_category_caps(category: str, cap: int) -> None:
    assert run(**individual(category=category)).max_amount == cap


def test_returnee_staff_decide() -> None:
    d = run(**individual(category="returnee", amount=100000))
    assert d.eligible
    assert d.max_amount is None
    assert d.max_term_months == 24
    r = reason(d, "cap_staff_decides")
    assert r.article.endswith("第十四条")
    assert "未规定" in r.message
    assert "amount_above_cap" not in d.codes()
    assert d.reasons[0].code == "cap_staff_decides"  # cautions come before the explanations


def test_no_certificate_refused() -> None:
    d = run(**individual(has_certificate=False))
    assert not d.eligible
    assert d.reasons[0].code == "no_certificate"
    assert d.reasons[0].article == "兰政发〔2013〕76号 第四条"
    assert (d.max_amount, d.max_term_months, d.expected_by) == (None, None, None)
    assert d.documents == [] and d.subsidy == ""
    assert "社区" in d.next_steps


def test_rural_woman_certificate_wording() -> None:
    d = run(**individual(category="woman", has_certificate=False))
    assert "户籍证明" in reason(d, "no_certificate").message


def test_bad_credit_refused() -> None:
    d = run(**individual(bad_credit=True))
    assert not d.eligible
    r = reason(d, "bad_credit")
    assert r.article.endswith("第五条")


@pytest.mark.parametrize(
    ("industry", "cls", "word"),
    [
        ("开KTV", "娱乐业", "KTV"),
        ("搞装修", "建筑业", "搞装修"),
        ("足疗店", "按摩", "足疗"),
        ("网咖", "网吧", "网咖"),
    ],
)
def test_excluded_industry(industry: str, cls: str, word: str) -> None:
    d = run(**individual(industry=industry))
    assert not d.eligible
    r = reason(d, "excluded_industry")
    assert r.article.endswith("第二条")
    assert cls in r.message and word in r.message


def test_retail_of_building_materials_allowed() -> None:
    d = run(**individual(industry="开装修材料店", purpose="店面装修和进货"))
    assert d.eligible
    assert "industry_ok" in d.codes()


@pytest.mark.parametrize(
    ("purpose", "cls"),
    [("炒股", "股票"), ("买房首付", "房产"), ("结婚", "个人消费"), ("装修自家房子", "非生产经营")],
)
def test_excluded_purpose(purpose: str, cls: str) -> None:
    d = run(**individual(purpose=purpose))
    assert not d.eligible
    r = reason(d, "excluded_purpose")
    assert r.article.endswith("第二条")
    assert cls in r.message and purpose[:2] in r.message


@pytest.mark.parametrize("purpose", ["装修", "装修和进货", "装潢一下再开业"])
def test_fitting_out_the_business_is_a_use_not_construction(purpose: str) -> None:
    # 装修 as the answer to "what is the loan for" fits out the applicant's own premises
    d = run(**individual(industry="开农家乐", purpose=purpose))
    assert d.eligible and "excluded_industry" not in d.codes()


def test_fitting_out_for_others_in_the_purpose_is_construction() -> None:
    d = run(**individual(industry="服务业", purpose="给别人家做室内装修"))
    assert not d.eligible and "excluded_industry" in d.codes()


def test_industry_word_in_purpose_is_caught() -> None:
    d = run(**individual(industry="服务业", purpose="开个网吧"))
    assert "excluded_industry" in d.codes()


def test_amount_and_term_above_limits_are_not_refusals() -> None:
    d = run(**individual(amount=80000, term_months=36))
    assert d.eligible
    assert d.max_amount == 50000
    assert reason(d, "amount_above_cap").article.endswith("第十四条")
    assert reason(d, "term_above_limit").article.endswith("第十四条")
    within = run(**individual(amount="30000", term_months=12))
    assert {"amount_within_cap", "term_within_limit"} <= set(within.codes())


# --- partnerships --------------------------------------------------------------------------------


def test_partnership_lanzhou_cap() -> None:
    d = run(**individual(applicant_type="partnership", members=3))
    assert d.eligible
    assert (d.max_amount, d.max_term_months) == (300000, 24)
    r = reason(d, "partnership_cap")
    assert "人数" in r.message and r.article.endswith("第十四条")
    assert d.expected_by == CAL.add_workdays(TODAY, 18)


def test_partnership_national_by_headcount() -> None:
    d = run(NAT, **individual(applicant_type="partnership", members=2))
    assert d.max_amount == 660000  # 2 × 30万 × 110%
    assert d.max_term_months == 36


# --- enterprises ---------------------------------------------------------------------------------


def test_enterprise_eligible() -> None:
    d = run(**enterprise())
    assert d.eligible
    assert (d.max_amount, d.max_term_months) == (2000000, 24)
    assert len(d.documents) == 20
    assert "注册地" in d.next_steps
    assert "50%" in d.subsidy
    assert d.expected_by == CAL.add_workdays(TODAY, 20)
    assert reason(d, "social_insurance_required").article.endswith("第十六条")
    assert reason(d, "hiring_ratio_ok").article.endswith("第四条")


def test_enterprise_ratio_boundaries() -> None:
    assert run(**enterprise(employees=100, new_hires=30)).eligible  # exactly 30%
    low = run(**enterprise(employees=100, new_hires=29))
    assert not low.eligible and "hiring_ratio_low" in low.codes()
    assert run(**enterprise(employees=101, new_hires=16)).eligible  # 15.8% ≥ 15% above 100
    assert not run(**enterprise(employees=200, new_hires=29)).eligible  # 14.5%


def test_enterprise_contract_too_short() -> None:
    d = run(**enterprise(contract_months=11))
    assert not d.eligible
    assert reason(d, "contract_too_short").article.endswith("第十六条")


def test_enterprise_certificate() -> None:
    assert not run(**enterprise(has_certificate=False)).eligible
    d = run(**enterprise(has_certificate=None))
    assert d.eligible and "certificate_needed" in d.codes()


def test_national_policy_switch_needs_no_code_change() -> None:
    ind = run(NAT, **individual())
    assert (ind.max_amount, ind.max_term_months) == (300000, 36)
    ent = run(NAT, **enterprise(employees=50, new_hires=5))  # 10% passes nationally
    assert ent.eligible and (ent.max_amount, ent.max_term_months) == (4000000, 24)
    assert not run(**enterprise(employees=50, new_hires=5)).eligible  # but not in Lanzhou
    assert "50%" in ind.subsidy
    assert reason(ind, "policy_caveat").message == NAT.texts["caveat"]


def test_expected_by_crosses_into_2027() -> None:
    d = run(today=date(2026, 12, 15), **individual())
    assert d.expected_by == date(2027, 1, 11)  # 元旦 2027 is known even without the arrangement
    assert d.expected_is_estimate is True
    timeline = next(r for r in d.reasons if r.code == "timeline")
    assert "原则上在18个工作日内完成" in timeline.message
    assert "2027年法定节假日安排尚未公布，此日期为估算" in timeline.message
    assert "最晚" not in timeline.message and "预计" not in timeline.message


def test_timeline_wording_follows_article_13() -> None:
    d = run(today=date(2026, 3, 2), **individual())
    timeline = next(r for r in d.reasons if r.code == "timeline")
    assert timeline.article.endswith("第十三条")
    assert "原则上在18个工作日内完成" in timeline.message and "估算" not in timeline.message
    assert d.expected_workdays == 18 and d.expected_is_estimate is False


def test_subsidy_promise_states_the_micro_profit_condition() -> None:
    d = run(**individual())
    assert "微利项目" in d.subsidy and "第十九条" in d.subsidy


# --- JSON contract -------------------------------------------------------------------------------


def test_json_contract() -> None:
    body = run(**individual(amount=60000)).to_json_dict()
    assert list(body) == PRECHECK_FIELDS
    assert body["expected_by"] == "2026-03-26"
    assert isinstance(body["max_amount"], int)
    assert set(body["reasons"][0]) == {"code", "article", "message"}
    json.dumps(body, ensure_ascii=False)
    refused = run(**individual(bad_credit=True)).to_json_dict()
    assert refused["expected_by"] is None and refused["max_amount"] is None


def test_unknown_fields_ignored_and_strings_coerced() -> None:
    inp = parse_precheck_input(
        individual(extra="x", has_certificate="是", amount="50,000元", term_months="24")
    )
    assert inp.has_certificate is True
    assert inp.amount == Decimal(50000)
    assert inp.term_months == 24


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({}, "applicant_type"),
        ({"applicant_type": "company"}, "applicant_type"),
        ({"applicant_type": "individual", "industry": "x", "bad_credit": False}, "category"),
        (individual(category="student"), "category"),
        (individual(has_certificate=None), "has_certificate"),
        (individual(industry=" "), "industry"),
        ({k: v for k, v in individual().items() if k != "bad_credit"}, "bad_credit"),
        (individual(bad_credit="maybe"), "bad_credit"),
        (individual(amount=-1), "amount"),
        (individual(amount="abc"), "amount"),
        (individual(term_months=0), "term_months"),
        (individual(term_months=1.5), "term_months"),
        (individual(applicant_type="partnership"), "members"),
        (individual(applicant_type="partnership", members=1), "members"),
        (enterprise(employees=None), "employees"),
        (enterprise(new_hires=None), "new_hires"),
        (enterprise(contract_months=None), "contract_months"),
        (enterprise(employees=0), "employees"),
        (enterprise(employees=10, new_hires=11), "new_hires"),
        (enterprise(new_hires=True), "new_hires"),
    ],
)
def test_input_errors_name_the_field(data: dict[str, Any], field: str) -> None:
    with pytest.raises(PrecheckInputError) as err:
        parse_precheck_input(data)
    assert err.value.field == field
    assert f"字段 {field}" in err.value.message
    assert any("\u4e00" <= ch <= "\u9fff" for ch in err.value.message)


def test_category_missing_message() -> None:
    with pytest.raises(PrecheckInputError) as err:
        parse_precheck_input({"applicant_type": "individual", "industry": "x", "bad_credit": False})
    assert err.value.message.startswith("字段 category 缺失：个人和合伙申请须填写人员类别")


def test_not_a_mapping() -> None:
    with pytest.raises(PrecheckInputError):
        parse_precheck_input(["applicant_type"])


# --- properties ----------------------------------------------------------------------------------

POLICIES = st.sampled_from([LZ, NAT])
amounts = st.one_of(st.none(), st.integers(min_value=0, max_value=10_000_000))
terms = st.one_of(st.none(), st.integers(min_value=1, max_value=120))


@st.composite
def personal_inputs(draw: st.DrawFn) -> PrecheckInput:
    t = draw(st.sampled_from(["individual", "partnership"]))
    return PrecheckInput(
        applicant_type=t,
        category=draw(st.sampled_from(CATEGORY_KEYS)),
        has_certificate=draw(st.booleans()),
        industry=draw(st.sampled_from(["开餐馆", "养殖", "开KTV", "装修材料店", "足疗"])),
        purpose=draw(st.sampled_from([None, "进货", "炒股", "买设备"])),
        bad_credit=draw(st.booleans()),
        amount=draw(amounts),
        term_months=draw(terms),
        members=draw(st.integers(min_value=2, max_value=20)) if t == "partnership" else None,
    )


@st.composite
def enterprise_inputs(draw: st.DrawFn) -> PrecheckInput:
    employees = draw(st.integers(min_value=1, max_value=500))
    return PrecheckInput(
        applicant_type="enterprise",
        has_certificate=draw(st.sampled_from([True, None, False])),
        industry=draw(st.sampled_from(["服装加工", "食品加工", "广告公司"])),
        bad_credit=draw(st.booleans()),
        amount=draw(amounts),
        term_months=draw(terms),
        employees=employees,
        new_hires=draw(st.integers(min_value=0, max_value=employees)),
        contract_months=draw(st.integers(min_value=0, max_value=60)),
    )


def policy_cap(policy: Policy, inp: PrecheckInput) -> int | None:
    if inp.applicant_type == "enterprise":
        return policy.enterprise.cap_yuan
    assert inp.category is not None
    cat = policy.category(inp.category)
    if inp.applicant_type == "individual":
        return cat.cap_yuan
    assert inp.members is not None
    return policy.partnership.max_amount(inp.members, cat.cap_yuan)


@settings(max_examples=150, deadline=None)
@given(policy=POLICIES, inp=st.one_of(personal_inputs(), enterprise_inputs()))
def test_max_amount_never_exceeds_policy_cap(policy: Policy, inp: PrecheckInput) -> None:
    d = precheck(inp, policy, TODAY, CAL)
    cap = policy_cap(policy, inp)
    if d.max_amount is not None:
        assert cap is not None and d.max_amount <= cap
    if inp.applicant_type == "individual" and inp.category is not None:
        assert d.max_amount is None or d.max_amount <= policy.category(inp.category).cap_yuan  # type: ignore[operator]
    assert d.eligible == (d.expected_by is not None)
    assert all(r.article for r in d.reasons)


@settings(max_examples=150, deadline=None)
@given(
    policy=POLICIES,
    inp=st.one_of(personal_inputs(), enterprise_inputs()),
    extra=st.integers(min_value=1, max_value=10_000_000),
)
def test_request_above_cap_never_raises_max_amount(
    policy: Policy, inp: PrecheckInput, extra: int
) -> None:
    base = precheck(inp.model_copy(update={"amount": None}), policy, TODAY, CAL)
    cap = policy_cap(policy, inp) or 0
    above = precheck(inp.model_copy(update={"amount": Decimal(cap + extra)}), policy, TODAY, CAL)
    assert above.eligible == base.eligible
    if base.max_amount is not None:
        assert above.max_amount is not None and above.max_amount <= base.max_amount
    else:
        assert above.max_amount is None


@settings(max_examples=200, deadline=None)
@given(policy=POLICIES, inp=enterprise_inputs(), more=st.integers(min_value=0, max_value=500))
def test_more_hires_never_makes_eligible_firm_ineligible(
    policy: Policy, inp: PrecheckInput, more: int
) -> None:
    d = precheck(inp, policy, TODAY, CAL)
    assert inp.employees is not None and inp.new_hires is not None
    hires = min(inp.employees, inp.new_hires + more)
    d2 = precheck(inp.model_copy(update={"new_hires": hires}), policy, TODAY, CAL)
    if d.eligible:
        assert d2.eligible


@settings(max_examples=50, deadline=None)
@given(inp=st.one_of(personal_inputs(), enterprise_inputs()))
def test_roundtrip_through_json(inp: PrecheckInput) -> None:
    raw = json.loads(inp.model_dump_json())
    assert parse_precheck_input(raw) == inp


def test_unknown_credit_is_unconfirmed_not_clean() -> None:
    d = run(**individual(bad_credit=None))
    assert d.eligible
    r = reason(d, "credit_unconfirmed")
    assert "未确认" in r.message and "人民银行征信中心" in r.message
    assert "credit_check" not in d.codes()
