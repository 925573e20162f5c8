"""One loan as staff read it from the shell (`chuangdai loans show LOAN_NO [--json] [--full]`).

The JSON shape is a public contract: the loan, its borrower (phone and ID number masked unless
`full`), its counter-guarantors and every instalment with ``seq, due_on, principal_yuan,
interest_yuan, borrower_interest_yuan, paid_yuan, status`` (status from core.loans.status: paid,
due, overdue, not_due, nothing_due). Money is a string of yuan with two decimals, never a float.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlmodel import Session, select

from core.kernel.identity import is_mobile, mask_id_number, mask_phone
from core.kernel.money import fen_to_yuan
from core.loans.schedule import METHOD_LABELS, SUBSIDY_LABELS
from core.loans.status import STATUS_LABELS, installment_status
from core.persistence.models import LoanRow
from core.staff.queries import loan_detail


class LoanNotFound(LookupError):
    """No loan with that number; the message is Chinese."""


def _yuan(fen: int) -> str:
    return str(fen_to_yuan(fen))


def _phone(phone: str | None, full: bool) -> dict[str, Any]:
    return {
        "phone": phone if full else (mask_phone(phone) or None),
        # a landline (0931-…) is kept for staff to call; it never receives SMS
        "sms_reachable": bool(phone) and is_mobile(phone or ""),
    }


def loan_view(session: Session, loan_no: str, today: date, *, full: bool = False) -> dict[str, Any]:
    """The `loans show --json` object of `loan_no` on the local day `today`."""
    loan = session.exec(select(LoanRow).where(LoanRow.loan_no == loan_no.strip())).first()
    if loan is None or loan.id is None:
        raise LoanNotFound(f"贷款编号 {loan_no} 不存在，请检查后重试（可在控制台“贷款”页搜索）。")
    d = loan_detail(session, loan.id)
    b = d.borrower
    return {
        "loan_no": loan.loan_no,
        "status": loan.status,
        "amount_yuan": _yuan(loan.amount_fen),
        "annual_rate": str(loan.annual_rate.normalize()),
        "base_rate": None if loan.base_rate is None else str(loan.base_rate.normalize()),
        "disbursed_on": loan.disbursed_on.isoformat(),
        "term_months": loan.term_months,
        "maturity_on": loan.maturity_on.isoformat(),
        "repayment_method": loan.repayment_method,
        "repayment_method_label": METHOD_LABELS.get(loan.repayment_method, loan.repayment_method),
        "subsidy_kind": loan.subsidy_kind,
        "subsidy_label": SUBSIDY_LABELS.get(loan.subsidy_kind, loan.subsidy_kind),
        "bank": loan.bank,
        "district": loan.district,
        "borrower": {
            "name": b.name if b else None,
            "id_number": (b.id_number if full else mask_id_number(b.id_number)) if b else None,
            **_phone(b.phone if b else None, full),
        },
        "counter_guarantors": [
            {
                "name": p.name,
                **_phone(p.phone, full),
                "employer": g.employer,
                "employer_contact_name": g.employer_contact_name,
                "employer_contact_phone": g.employer_contact_phone
                if full
                else (mask_phone(g.employer_contact_phone) or None),
            }
            for g, p in d.guarantors
        ],
        "paid_yuan": _yuan(d.paid_fen),
        "outstanding_principal_yuan": _yuan(d.outstanding_principal_fen),
        "installments": [
            {
                "seq": i.seq,
                "due_on": i.due_on.isoformat(),
                "principal_yuan": _yuan(i.principal_fen),
                "interest_yuan": _yuan(i.interest_fen),
                "borrower_interest_yuan": _yuan(i.borrower_interest_fen),
                "paid_yuan": _yuan(i.paid_fen),
                "status": installment_status(i, today),
            }
            for i in d.installments
        ],
    }


def status_label(status: str) -> str:
    return STATUS_LABELS.get(status, status)
