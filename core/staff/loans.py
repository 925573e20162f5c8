"""Staff queries on loans: the list (filters, overdue only) and one loan with its schedule,
payments, counter-guarantors and notices (statuses from core.loans.status). The queries are
core.staff.queries's, named here for the doors."""

from __future__ import annotations

from core.staff import queries as bo

loans = bo.list_loans
loan = bo.loan_detail
