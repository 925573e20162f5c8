"""Staff queries on loans: the list (filters, overdue only) and one loan with its schedule,
payments, counter-guarantors and notices (statuses from core.loan_status)."""

from __future__ import annotations

from sqlmodel import Session

from core import backoffice as bo


def loans(
    session: Session,
    *,
    status: str | None = None,
    district: str | None = None,
    q: str | None = None,
    overdue_only: bool = False,
    limit: int = 50,
    offset: int = 0,
) -> bo.Page:
    """Loans, newest first; `overdue_only` keeps active loans with an overdue instalment."""
    return bo.list_loans(
        session, status=status, district=district, q=q, overdue_only=overdue_only, limit=limit,
        offset=offset,
    )  # fmt: skip


def loan(session: Session, loan_id: int) -> bo.LoanDetail:
    return bo.loan_detail(session, loan_id)
