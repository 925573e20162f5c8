"""Public contracts the tests hold the code to, spelled once (the issues name them exactly)."""

from __future__ import annotations

#: The pre-check's JSON answer (POST /api/precheck, Decision.to_json_dict()), keys in order.
PRECHECK_FIELDS = [
    "eligible",
    "max_amount",
    "max_term_months",
    "reasons",
    "documents",
    "subsidy",
    "next_steps",
    "expected_by",
    "expected_workdays",
    "expected_is_estimate",
]

#: One repayment reminder's template parameters (knowledge/templates, the SMS template catalogue),
#: filled as the reminder sweep fills them.
REPAY_REMINDER_PARAMS = {
    "name": "张建国",
    "loan_no": "****0001",
    "seq": 3,
    "amount": "3,333.33元",
    "due_date": "2026年12月1日",
    "bank": "兰州银行",
}

#: The Lanzhou 2013 policy's placeholder values (knowledge/policies/lanzhou-2013.yaml), as the
#: answers show them.
LANZHOU_2013 = {
    "policy_name": "《兰州市失业人员小额担保贷款实施办法》（兰政发〔2013〕76号）",
    "policy_doc": "兰政发〔2013〕76号",
    "policy_short": "兰州2013年实施办法",
    "cap_unemployed": "5万元",
    "cap_veteran": "5万元",
    "cap_woman": "8万元",
    "cap_graduate": "10万元",
    "cap_partnership": "30万元",
    "cap_enterprise": "200万元",
    "term_individual": "2年",
    "term_partnership": "2年",
    "term_enterprise": "2年",
    "ratio": "30%",
    "ratio_large": "15%",
    "large_staff": "100",
    "contract_min": "1年",
    "days_individual": "18",
    "days_community": "4",
    "days_street": "2",
    "days_guarantee": "6",
    "days_bank": "6",
    "days_ent_guarantee": "10",
    "days_ent_bank": "10",
    "art_types": "第二条",
    "art_exclusions": "第二条",
    "art_eligibility": "第四条",
    "art_in_person": "第五条",
    "art_credit": "第五条",
    "art_guarantee_fund": "第八条",
    "art_banks": "第九条",
    "art_leverage": "第十二条",
    "art_process": "第十三条",
    "art_caps": "第十四条",
    "art_enterprise_conditions": "第十六条",
    "art_enterprise_docs": "第十七条",
    "art_enterprise_cap": "第十八条",
    "art_subsidy": "第二十条",
}
