"""Eligibility pre-check (资格预审): pure rules over a policy file, no database.

Public JSON contract (used by the web API, the CLI and the dialogue engine):

input (`PrecheckInput`, unknown fields ignored)::

    applicant_type   "individual" | "partnership" | "enterprise"            required
    category         "unemployed" | "veteran" | "graduate" | "returnee" | "woman"
                     required for individuals and partnerships
    has_certificate  bool   required for individuals and partnerships (《就业失业登记证》, or 户籍证明
                     for 回乡创业带头人 / 农村妇女); optional for enterprises (《企业实体吸纳失业人员认定证明》)
    industry         str    required, free Chinese text
    purpose          str    optional, free text
    bad_credit       bool   required (null: not known, the decision says unconfirmed)
    amount           number ≥ 0 (yuan), optional
    term_months      int > 0, optional
    members          int ≥ 2 (eligible partners), required for partnerships
    employees        int ≥ 1, required for enterprises (current staff)
    new_hires        int ≥ 0, ≤ employees, required for enterprises (eligible people hired this year)
    contract_months  int ≥ 0, required for enterprises (shortest contract of those hires)

output (`Decision.to_json_dict()`)::

    {"eligible": bool, "max_amount": int | null, "max_term_months": int | null,
     "reasons": [{"code": str, "article": str, "message": str}, ...],
     "documents": [str, ...], "subsidy": str, "next_steps": str, "expected_by": "YYYY-MM-DD" | null}

Reasons come refusals first, then cautions, then the reasons that explain a positive outcome; each
carries the article string of the policy file it rests on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict

from core.applications.precheck_input import PrecheckInput
from core.kernel.workdays import WorkCalendar
from knowledge.exclusions import ExclusionMatch
from knowledge.policy import Policy, format_months, format_yuan_wan


class Reason(BaseModel):
    model_config = ConfigDict(frozen=True)

    code: str
    article: str
    message: str


class Decision(BaseModel):
    """Outcome of a pre-check (see the module docstring for the JSON form)."""

    eligible: bool
    max_amount: int | None
    max_term_months: int | None
    reasons: list[Reason]
    documents: list[str]
    subsidy: str
    next_steps: str
    expected_by: date | None
    # 第十三条/第十六条's limit ("原则上…个工作日内") and whether `expected_by` lies in a year
    # without an official holiday arrangement (then it is only an estimate, and is said so).
    expected_workdays: int | None = None
    expected_is_estimate: bool = False

    def to_json_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

    def codes(self) -> list[str]:
        return [r.code for r in self.reasons]


# --- the rules -----------------------------------------------------------------------------------

_BLOCK, _WARN, _INFO = 0, 1, 2
# Amount and term reasons, left out of a refusal (there is no amount to speak of then).
_AMOUNT_CODES = frozenset(
    {
        "category_ok",
        "partnership_cap",
        "enterprise_cap",
        "cap_staff_decides",
        "amount_above_cap",
        "amount_within_cap",
        "term_above_limit",
        "term_within_limit",
    }
)


@dataclass
class _Reasons:
    items: list[tuple[int, Reason]] = field(default_factory=list)

    def add(self, level: int, code: str, article: str, message: str) -> None:
        self.items.append((level, Reason(code=code, article=article, message=message)))

    @property
    def blocked(self) -> bool:
        return any(level == _BLOCK for level, _ in self.items)

    def ordered(self) -> list[Reason]:
        return [r for _, r in sorted(self.items, key=lambda item: item[0])]


def _yuan(amount: Decimal | int) -> str:
    d = Decimal(amount)
    if d == d.to_integral_value():
        return f"{int(d)}元"
    return f"{d.normalize():f}元"


def _exclusions(inp: PrecheckInput, policy: Policy, out: _Reasons) -> None:
    ex = policy.exclusions
    found: list[tuple[str, str, ExclusionMatch]] = []
    texts = [("industry", inp.industry)]
    if inp.purpose:
        texts.append(("purpose", inp.purpose))
    seen: set[str] = set()
    for source, text in texts:
        by_industry = ex.match_industry(text, purpose=source == "purpose")
        for kind, match in (("industry", by_industry), ("use", ex.match_use(text))):
            if match is not None and match.name not in seen:
                seen.add(match.name)
                found.append((source, kind, match))
    what = {"industry": "经营项目", "purpose": "贷款用途"}
    for source, kind, m in found:
        quoted = inp.industry if source == "industry" else inp.purpose
        if kind == "industry":
            out.add(
                _BLOCK,
                "excluded_industry",
                ex.article,
                f"{what[source]}“{quoted}”中的“{m.word}”属于{m.name}，"
                f"按规定小额担保贷款不得用于{m.name}。",
            )
        else:
            out.add(
                _BLOCK,
                "excluded_purpose",
                ex.article,
                f"{what[source]}“{quoted}”中的“{m.word}”属于{m.name}，"
                "贷款不得用于个人消费，也不得投资股票、债券、基金、房产等非生产经营性支出。",
            )
    cautions = [] if found else [m for m in (ex.caution_industry(inp.industry),) if m]
    for m in cautions:
        out.add(
            _WARN,
            "industry_caution",
            ex.article,
            ex.texts.caution.format(word=m.word, name=m.name, article=ex.article),
        )
    if not found and not cautions:
        banned = "、".join(c.name for c in ex.industries)
        out.add(
            _INFO,
            "industry_ok",
            ex.article,
            f"经营项目未发现不得申请的行业（{banned}）或禁止用途，最终以担保机构审核认定为准。",
        )


def _amount_and_term(
    inp: PrecheckInput,
    cap: int | None,
    cap_article: str,
    term: int,
    term_article: str,
    out: _Reasons,
) -> None:
    if inp.amount is not None and cap is not None:
        if inp.amount > cap:
            out.add(
                _WARN,
                "amount_above_cap",
                cap_article,
                f"申请金额{_yuan(inp.amount)}超过最高额度{format_yuan_wan(cap)}，"
                f"最多可按{format_yuan_wan(cap)}申请，具体额度由担保机构和经办银行确定。",
            )
        else:
            out.add(
                _INFO,
                "amount_within_cap",
                cap_article,
                f"申请金额{_yuan(inp.amount)}未超过最高额度{format_yuan_wan(cap)}。",
            )
    if inp.term_months is not None:
        if inp.term_months > term:
            out.add(
                _WARN,
                "term_above_limit",
                term_article,
                f"申请期限{inp.term_months}个月超过最长期限{format_months(term)}（{term}个月），"
                f"最长可按{term}个月申请。",
            )
        else:
            out.add(
                _INFO,
                "term_within_limit",
                term_article,
                f"申请期限{inp.term_months}个月未超过最长期限{format_months(term)}。",
            )


def _personal(inp: PrecheckInput, policy: Policy, out: _Reasons) -> tuple[int | None, int]:
    """Rules for individuals and partnerships; returns (max_amount, max_term_months)."""
    assert inp.category is not None
    cat = policy.category(inp.category)
    if inp.has_certificate:
        out.add(
            _INFO,
            "certificate_ok",
            cat.certificate_article,
            f"{cat.label}持{cat.certificate}，属于可申请对象。",
        )
    else:
        out.add(
            _BLOCK,
            "no_certificate",
            cat.certificate_article,
            f"{cat.label}申请须持{cat.certificate}；{cat.certificate_hint}",
        )
    out.add(
        _INFO,
        "in_person",
        policy.in_person.article,
        "个人贷款申请人须本人亲自办理申请手续，不能由他人或中介代办。",
    )
    if inp.applicant_type == "individual":
        term = cat.term_months
        if cat.cap_yuan is None:
            out.add(
                _WARN,
                "cap_staff_decides",
                cat.article,
                cat.cap_note or f"文件未规定{cat.label}的贷款额度，具体额度请咨询工作人员。",
            )
        else:
            out.add(
                _INFO,
                "category_ok",
                cat.article,
                f"{cat.label}个人贷款最高{format_yuan_wan(cat.cap_yuan)}，"
                f"期限不超过{format_months(term)}。",
            )
        _amount_and_term(inp, cat.cap_yuan, cat.article, term, cat.article, out)
        return cat.cap_yuan, term

    # partnership
    p = policy.partnership
    members = inp.members or p.min_members
    term = p.term_months
    cap = p.max_amount(members, cat.cap_yuan)
    if members < p.min_members:  # only when a policy asks for more than the input minimum
        out.add(
            _BLOCK,
            "too_few_members",
            p.article,
            f"合伙申请须有至少{p.min_members}名符合条件的人员，现为{members}人。",
        )
    if cap is None:
        out.add(
            _WARN,
            "cap_staff_decides",
            p.article,
            f"{p.note}合伙人所属类别没有规定个人额度，合伙额度请咨询工作人员。",
        )
    else:
        detail = ""
        if p.member_cap_percent is not None and cat.cap_yuan is not None:
            detail = f"按{members}人×{format_yuan_wan(cat.cap_yuan)}×{p.member_cap_percent}%计，"
        out.add(
            _INFO,
            "partnership_cap",
            p.article,
            f"{p.note}{detail}本次预审按最高{format_yuan_wan(cap)}、"
            f"期限不超过{format_months(term)}计算，实际规模由担保机构和经办银行按人数和需求确定。",
        )
    _amount_and_term(inp, cap, p.article, term, p.article, out)
    return cap, term


def _enterprise(inp: PrecheckInput, policy: Policy, out: _Reasons) -> tuple[int, int]:
    e = policy.enterprise
    assert inp.employees is not None and inp.new_hires is not None
    assert inp.contract_months is not None
    if inp.has_certificate is False:
        out.add(
            _BLOCK,
            "no_certificate",
            e.certificate_article,
            f"企业贷款须取得{e.certificate}；请先向人社部门申请认定。",
        )
    elif inp.has_certificate is None:
        out.add(
            _WARN,
            "certificate_needed",
            e.certificate_article,
            f"企业贷款须取得{e.certificate}，申请前请确认已取得。",
        )
    else:
        out.add(_INFO, "certificate_ok", e.certificate_article, f"企业已取得{e.certificate}。")
    required = e.required_ratio_percent(inp.employees)
    size = f"超过{e.large_staff}人的企业" if inp.employees > e.large_staff else "企业"
    share = Decimal(inp.new_hires * 100) / Decimal(inp.employees)
    share_text = f"{share.quantize(Decimal('0.1'))}%"
    if inp.new_hires * 100 >= required * inp.employees:
        out.add(
            _INFO,
            "hiring_ratio_ok",
            e.ratio_article,
            f"当年新招用符合条件人员{inp.new_hires}人，占现有职工{inp.employees}人的{share_text}，"
            f"达到{size}须达到的{required}%。",
        )
    else:
        out.add(
            _BLOCK,
            "hiring_ratio_low",
            e.ratio_article,
            f"当年新招用符合条件人员{inp.new_hires}人，占现有职工{inp.employees}人的{share_text}，"
            f"低于{size}须达到的{required}%（{e.large_staff}人及以下{e.hiring_ratio_percent}%，"
            f"超过{e.large_staff}人{e.large_ratio_percent}%）。",
        )
    if inp.contract_months >= e.contract_min_months:
        out.add(
            _INFO,
            "contract_ok",
            e.contract_article,
            f"与新招用人员签订的劳动合同为{inp.contract_months}个月，"
            f"达到{format_months(e.contract_min_months)}以上的要求。",
        )
    else:
        out.add(
            _BLOCK,
            "contract_too_short",
            e.contract_article,
            f"与新招用人员签订的劳动合同为{inp.contract_months}个月，"
            f"须签订{format_months(e.contract_min_months)}（{e.contract_min_months}个月）以上。",
        )
    if e.social_insurance_required:
        out.add(
            _INFO,
            "social_insurance_required",
            e.conditions_article,
            "还须为新招用人员缴纳社会保险，担保机构审核时会核查（请准备劳动合同书、职工花名册等）。",
        )
    if e.size_standard and e.size_article:
        out.add(_INFO, "enterprise_size", e.size_article, e.size_standard)
    out.add(
        _INFO,
        "enterprise_cap",
        e.article,
        f"{e.label}贷款最高{format_yuan_wan(e.cap_yuan)}，期限不超过{format_months(e.term_months)}。"
        + (e.cap_note or ""),
    )
    _amount_and_term(inp, e.cap_yuan, e.article, e.term_months, e.article, out)
    return e.cap_yuan, e.term_months


def _subsidy_text(policy: Policy, applicant_type: str) -> str:
    """The subsidy rule with its condition (e.g. 微利项目 certification, 第十九条): a subsidy is
    never promised without it."""
    sub = policy.subsidy_for(applicant_type)
    condition = policy.subsidy_condition(applicant_type)
    text = f"{sub.text}（{sub.article}）"
    return f"{text}。{condition}" if condition else text


def precheck(inp: PrecheckInput, policy: Policy, today: date, calendar: WorkCalendar) -> Decision:
    """Pre-check `inp` against `policy`; `today` starts the working-day count for `expected_by`."""
    out = _Reasons()
    if inp.bad_credit:
        out.add(
            _BLOCK,
            "bad_credit",
            policy.credit.article,
            "征信有不良记录的，经办银行不得发放贷款（申请人、反担保人、企业及其法定代表人和股东均适用）。"
            "对征信情况有疑问的，请咨询经办银行或工作人员。",
        )
    elif inp.bad_credit is None:
        out.add(
            _WARN,
            "credit_unconfirmed",
            policy.credit.article,
            "征信情况未确认：有不良记录的，经办银行不得发放贷款。请先到人民银行征信中心"
            "（或经办银行）查询本人及反担保人的信用报告。",
        )
    else:
        out.add(
            _INFO,
            "credit_check",
            policy.credit.article,
            "自报征信无不良记录；经办银行还会查询申请人及反担保人"
            "（企业为企业及其法定代表人、股东）的征信。",
        )
    _exclusions(inp, policy, out)
    if inp.applicant_type == "enterprise":
        max_amount: int | None
        max_amount, max_term = _enterprise(inp, policy, out)
    else:
        max_amount, max_term = _personal(inp, policy, out)

    eligible = not out.blocked
    proc = policy.procedure(inp.applicant_type)
    caveat = policy.texts["caveat"]
    if eligible:
        expected = calendar.add_workdays(today, proc.total_days)
        estimate = calendar.is_estimate(today, expected)
        steps = "、".join(f"{s.name}{s.days}个工作日" for s in proc.steps)
        out.add(
            _INFO,
            "timeline",
            proc.article,
            f"材料齐全时，从申请到放款原则上在{proc.total_days}个工作日内完成（{steps}），"
            f"按工作日推算约为{expected.year}年{expected.month}月{expected.day}日"
            + (f"（{expected.year}年法定节假日安排尚未公布，此日期为估算）" if estimate else "")
            + "；补办材料的时间不计算在内。",
        )
        out.add(_INFO, "policy_caveat", policy.document, caveat)
        return Decision(
            eligible=True,
            max_amount=max_amount,
            max_term_months=max_term,
            reasons=out.ordered(),
            documents=policy.documents_for(inp.applicant_type),
            subsidy=_subsidy_text(policy, inp.applicant_type),
            next_steps=policy.next_steps_for(inp.applicant_type).text,
            expected_by=expected,
            expected_workdays=proc.total_days,
            expected_is_estimate=estimate,
        )
    out.add(_INFO, "policy_caveat", policy.document, caveat)
    office = policy.texts["office"]
    return Decision(
        eligible=False,
        max_amount=None,
        max_term_months=None,
        reasons=[r for r in out.ordered() if r.code not in _AMOUNT_CODES],
        documents=[],
        subsidy="",
        next_steps=f"按预审结果暂不符合申请条件，原因见上。情况有变化或对结果有疑问的，请咨询{office}。",
        expected_by=None,
    )
