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

#: How the Lanzhou 2013 policy (knowledge/policies/lanzhou-2013.yaml) names itself in answers.
LANZHOU_2013_NAMES = {
    "policy_name": "《兰州市失业人员小额担保贷款实施办法》（兰政发〔2013〕76号）",
    "policy_doc": "兰政发〔2013〕76号",
    "policy_short": "兰州2013年实施办法",
}
