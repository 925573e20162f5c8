"""Tables of staff actions on loans and of staff FAQ additions (migration 0010).

`loan_action` is one row per thing an officer did to a loan by hand: a payment recorded
(`payment`), a collection note 联系记录 (`note`), a change of the loan's state (`status`:
settled 结清, compensated 代偿, written off 核销). A reversal by an admin keeps the row and stamps
it (`reversed_at`, `reversed_by`, `reversal_reason`); the audit log has both.

`faq_addition` holds the FAQ entries and paraphrases staff add from the knowledge page (they used
to be written to knowledge/faq/staff_additions.yaml inside the checkout; core/staff/faq_edits.py
moves such a file's entries here on first use).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from core.persistence.models import _json, _ts


class LoanActionRow(SQLModel, table=True):
    """One manual action on a loan (payment | note | status), reversible by an admin."""

    __tablename__ = "loan_action"

    id: int | None = Field(default=None, primary_key=True)
    loan_id: int = Field(foreign_key="loan.id", index=True)
    kind: str = Field(max_length=16)  # payment | note | status
    happened_on: date  # the payment date, the contact date, the date of the new state
    amount_fen: int | None = Field(default=None, sa_type=sa.BigInteger)  # payment, 代偿
    status_from: str | None = Field(default=None, max_length=16)
    status_to: str | None = Field(default=None, max_length=16, index=True)
    details: dict[str, Any] = _json(dict)
    actor: str = Field(max_length=64)
    created_at: datetime = _ts()
    reversed_at: datetime | None = _ts(nullable=True)
    reversed_by: str | None = Field(default=None, max_length=64)
    reversal_reason: str | None = Field(default=None, max_length=500)


class FaqAdditionRow(SQLModel, table=True):
    """One FAQ entry added by staff, as the entry's YAML mapping (knowledge/README.md schema):
    a new entry, or a companion `<id>_staff` carrying paraphrases of another file's entry."""

    __tablename__ = "faq_addition"

    id: int | None = Field(default=None, primary_key=True)
    entry_id: str = Field(max_length=64, unique=True)
    data: dict[str, Any] = _json(dict)
    actor: str = Field(max_length=64)
    created_at: datetime = _ts()
    updated_at: datetime = _ts()
