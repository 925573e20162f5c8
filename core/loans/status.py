"""The one definition of an instalment's status, and so of "overdue" (逾期).

An instalment is **overdue** when, after its due date, the borrower's amount due (principal + the
borrower's share of the interest after subsidy) is greater than what was paid on it. A fully
subsidised interest-only instalment (borrower's share 0.00, no principal) owes the borrower
nothing and is never overdue. The console, the staff API, the dashboard, the broadcast audience,
the bot's status answer, the reminder sweep and `chuangdai loans show` all use this module (the
Python predicate or its SQL twin `overdue_clause`), so they cannot disagree.

Statuses (`installment_status`, the `loans show --json` contract):
``paid`` (settled), ``due`` (due today, not yet paid), ``overdue``, ``not_due`` (due date ahead),
``nothing_due`` (the borrower owes nothing on it).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any, Protocol

import sqlalchemy as sa

from core.kernel.labels import labels

PAID = "paid"
DUE = "due"
OVERDUE = "overdue"
NOT_DUE = "not_due"
NOTHING_DUE = "nothing_due"
STATUSES = (PAID, DUE, OVERDUE, NOT_DUE, NOTHING_DUE)
STATUS_LABELS = labels("installment_status")


class InstallmentLike(Protocol):
    due_on: date
    principal_fen: int
    borrower_interest_fen: int
    paid_fen: int
    paid: bool


def borrower_owed_fen(principal_fen: int, borrower_interest_fen: int) -> int:
    """What the borrower must pay for an instalment: principal + their interest share."""
    return int(principal_fen) + int(borrower_interest_fen)


def left_to_pay_fen(principal_fen: int, borrower_interest_fen: int, paid_fen: int | None) -> int:
    """What the borrower still owes on an instalment (never negative)."""
    return max(borrower_owed_fen(principal_fen, borrower_interest_fen) - int(paid_fen or 0), 0)


def installment_status(inst: InstallmentLike, today: date) -> str:
    """One of STATUSES for an instalment on the local day `today`."""
    if borrower_owed_fen(inst.principal_fen, inst.borrower_interest_fen) == 0:
        return NOTHING_DUE
    if (
        inst.paid
        or left_to_pay_fen(inst.principal_fen, inst.borrower_interest_fen, inst.paid_fen) == 0
    ):
        return PAID
    if inst.due_on < today:
        return OVERDUE
    if inst.due_on == today:
        return DUE
    return NOT_DUE


def is_overdue(inst: InstallmentLike, today: date) -> bool:
    return installment_status(inst, today) == OVERDUE


# Days overdue (today minus the oldest overdue due date) in the buckets the dashboard counts and
# the loan list filters by (`overdue_days=1-30`).
BUCKETS: tuple[tuple[str, int, int | None], ...] = (
    ("1-30", 1, 30),
    ("31-90", 31, 90),
    ("90+", 91, None),
)


def days_overdue(oldest_due: date, today: date) -> int:
    return (today - oldest_due).days


def bucket_of(days: int) -> str | None:
    for key, low, high in BUCKETS:
        if days >= low and (high is None or days <= high):
            return key
    return None


def bucket_due_range(key: str, today: date) -> tuple[date | None, date]:
    """The oldest overdue due dates of a bucket: (earliest or None, latest), inclusive.
    KeyError for a key that is not a bucket."""
    low, high = {k: (lo, hi) for k, lo, hi in BUCKETS}[key]
    earliest = today - timedelta(days=high) if high is not None else None
    return earliest, today - timedelta(days=low)


def overdue_clause(i: Any, today: date | Any) -> Any:
    """The SQL twin of `is_overdue` over the installment table `i` (a Table or its alias):
    unpaid, due before `today`, and the borrower's amount due greater than what was paid."""
    return sa.and_(
        i.c.paid == sa.false(),
        i.c.due_on < today,
        i.c.principal_fen + i.c.borrower_interest_fen > i.c.paid_fen,
    )
