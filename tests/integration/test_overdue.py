"""One definition of "overdue" (issue 11): the borrower's amount due is greater than what was paid,
after the due date. A fully subsidised interest-only instalment (borrower's share 0.00) is never
overdue — in the console, the staff API, the dashboard, the broadcast audience, the bot's status
answer and the sweep alike."""

from __future__ import annotations

from datetime import date

from sqlalchemy.engine import Engine
from sqlmodel import Session

from core.broadcasts import audience as bc_audience
from core.kernel.quiet_hours import QuietHours
from core.kernel.workdays import WorkCalendar
from core.loans.status import installment_status, is_overdue
from core.persistence.db import session_scope
from core.persistence.models import InstallmentRow, LoanRow, PersonRow
from core.reminders.ladder import load_reminder_policy
from core.reminders.sweep import run_sweep
from core.staff import overview as dashboard
from core.staff import queries as bo
from tests.db_kit import add_loan, add_person

TODAY = date(2026, 9, 20)


def _loan(engine: Engine, loan_no: str, borrower_interest_fen: int, principal_fen: int = 0) -> int:
    """A quarterly interest-only loan whose first instalment fell due on 2026-09-05."""
    with session_scope(engine) as s:
        loan_id, _ = add_loan(
            s,
            loan_no,
            add_person(s, f"借款人{loan_no}", "+8613893100001"),
            [(date(2026, 9, 5), principal_fen), (date(2026, 12, 5), principal_fen)],
            interest_fen=54_375,
            borrower_interest_fen=borrower_interest_fen,
            amount_fen=5_000_000,
            disbursed_on=date(2026, 6, 5),
            term_months=24,
            maturity_on=date(2028, 6, 5),
            repayment_method="interest_quarterly_principal_at_maturity",
            subsidy_kind="individual_full" if borrower_interest_fen == 0 else "none",
            district="城关区",
        )
        return loan_id


def test_nothing_due_is_not_overdue_anywhere(engine: Engine) -> None:
    subsidised = _loan(engine, "LZ-ZERO", 0)
    owing = _loan(engine, "LZ-OWES", 54_375)
    with Session(engine) as s:
        zero = bo.loan_detail(s, subsidised)
        real = bo.loan_detail(s, owing)
    # loan_detail uses local_today(); the statuses follow the same function for TODAY.
    first_zero, first_real = zero.installments[0], real.installments[0]
    assert installment_status(first_zero, TODAY) == "nothing_due"
    assert not is_overdue(first_zero, TODAY)
    assert installment_status(first_real, TODAY) == "overdue"
    assert installment_status(first_real, date(2026, 9, 5)) == "due"
    assert installment_status(first_real, date(2026, 9, 4)) == "not_due"
    assert zero.overdue == [] and zero.statuses[1] == "nothing_due"

    with Session(engine) as s:
        d = dashboard.build(
            s, step_days={}, calendar=WorkCalendar(), today=TODAY, fund_yuan=10_000_000
        )
        page = bo.list_loans(s, overdue_only=True)
        audience = bc_audience.resolve(
            s, bc_audience.Audience(group="overdue", channels=("sms",)), today=TODAY
        )
    assert d.overdue_loans == 1
    assert sum(b.overdue_fen for b in d.buckets) == 54_375
    assert [i.loan.loan_no for i in page.items] == ["LZ-OWES"]
    assert len(audience.recipients) == 1

    planned = run_sweep(
        engine,
        load_reminder_policy(),
        WorkCalendar(),
        date(2026, 9, 7),
        quiet=QuietHours(),
        dry_run=True,
    ).notices
    assert {n.loan_no for n in planned} == {"LZ-OWES"}


def test_paid_instalment_status(engine: Engine) -> None:
    loan_id = _loan(engine, "LZ-PAID", 54_375)
    with session_scope(engine) as s:
        inst = s.get(InstallmentRow, bo.loan_detail(s, loan_id).installments[0].id)
        assert inst is not None
        inst.paid_fen = 54_375
        inst.paid = True
    with Session(engine) as s:
        first = bo.loan_detail(s, loan_id).installments[0]
    assert installment_status(first, TODAY) == "paid"


def test_landline_is_not_a_broadcast_sms_recipient(engine: Engine) -> None:
    loan_id = _loan(engine, "LZ-LAND", 54_375)
    with session_scope(engine) as s:
        loan = s.get(LoanRow, loan_id)
        assert loan is not None
        person = s.get(PersonRow, loan.borrower_id)
        assert person is not None
        person.phone = "+869318812345"  # 0931-8812345
    with Session(engine) as s:
        res = bc_audience.resolve(
            s, bc_audience.Audience(group="overdue", channels=("sms",)), today=TODAY
        )
    assert res.recipients == [] and res.no_address == 1
