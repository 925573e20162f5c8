"""Staff queries on loans: the list (filters, overdue only or by days overdue, the search box)
and one loan with its schedule, payments, counter-guarantors and notices (statuses from
core.loans.status). The queries are core.staff.queries's; a search by phone or ID number is
audited here."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from core.staff import queries as bo
from core.staff import search as find


def loans(
    session: Session, *, actor: str | None = None, q: str | None = None, **filters: Any
) -> bo.Page:
    """Loans (filters as core.staff.queries.list_loans); `q` is the search box."""
    search = find.parse(q)
    page = bo.list_loans(session, search=search, **filters)
    find.audit_lookup(session, actor, "loans", search)
    return page


loan = bo.loan_detail
