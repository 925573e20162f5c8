"""Staff queries on loans: the list (filters, overdue only) and one loan with its schedule,
payments, counter-guarantors and notices (statuses from core.loan_status). The queries are
core.backoffice's, named here for the doors."""

from __future__ import annotations

from core import backoffice as bo

loans = bo.list_loans
loan = bo.loan_detail
