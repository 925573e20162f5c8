"""Rows the database tests build and read again: people, loans with their instalments and
counter-guarantors, counts. One place, so that a change of the schema is one change here."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from core.persistence import models

#: A loan's fields unless a test says otherwise (maturity: the last instalment's due date).
LOAN_DEFAULTS: dict[str, Any] = {
    "annual_rate": Decimal("0.0435"),
    "disbursed_on": date(2026, 1, 1),
    "term_months": 12,
    "repayment_method": "equal_principal",
    "subsidy_kind": "individual_full",
}


def add_person(s: Session, name: str, phone: str | None = None, **fields: Any) -> int:
    person = models.PersonRow(name=name, phone=phone, **fields)
    s.add(person)
    s.flush()
    assert person.id is not None
    return person.id


def add_loan(
    s: Session,
    loan_no: str,
    borrower_id: int,
    installments: Sequence[tuple[date, int]],
    *,
    interest_fen: int = 0,
    borrower_interest_fen: int = 0,
    **fields: Any,
) -> tuple[int, list[int]]:
    """A loan with one instalment per (due date, principal in fen), numbered in date order; its
    amount is the principals' sum unless given. Returns the loan id and the instalment ids."""
    values = {
        **LOAN_DEFAULTS,
        "amount_fen": sum(principal for _, principal in installments),
        "maturity_on": max(due for due, _ in installments),
        **fields,
    }
    loan = models.LoanRow(loan_no=loan_no, borrower_id=borrower_id, **values)
    s.add(loan)
    s.flush()
    assert loan.id is not None
    ids = []
    for seq, (due, principal) in enumerate(sorted(installments), start=1):
        row = models.InstallmentRow(loan_id=loan.id, seq=seq, due_on=due, principal_fen=principal)
        row.interest_fen, row.borrower_interest_fen = interest_fen, borrower_interest_fen
        s.add(row)
        s.flush()
        assert row.id is not None
        ids.append(row.id)
    return loan.id, ids


def add_guarantor(
    s: Session, loan_id: int, name: str = "李明", phone: str = "+8613893100101", **fields: Any
) -> int:
    """A counter-guarantor (a person of their own) of the loan; returns the person id."""
    person_id = add_person(s, name, phone)
    s.add(models.CounterGuarantorRow(loan_id=loan_id, person_id=person_id, **fields))
    return person_id


def link(engine: Engine, channel: str, address: str, **fields: Any) -> int:
    """A channel identity (an address on a channel, maybe a person's); returns its id."""
    with Session(engine) as s:
        row = models.ChannelIdentityRow(channel=channel, address=address, **fields)
        s.add(row)
        s.commit()
        assert row.id is not None
        return row.id


def count(engine: Engine, table: Any, *where: Any) -> int:
    """Rows of `table` (a model or a Table) matching every condition in `where`."""
    with Session(engine) as s:
        stmt = sa.select(sa.func.count()).select_from(table).where(*where)
        return int(s.execute(stmt).scalar_one())


def notice(engine: Engine, notice_id: int) -> models.NoticeRow:
    with Session(engine) as s:
        row = s.get(models.NoticeRow, notice_id)
        assert row is not None
        return row


def sms_identity(engine: Engine, address: str) -> models.ChannelIdentityRow | None:
    """The SMS channel identity of a phone number, if one was recorded."""
    with Session(engine) as s:
        return s.exec(
            select(models.ChannelIdentityRow).where(
                models.ChannelIdentityRow.channel == "sms",
                models.ChannelIdentityRow.address == address,
            )
        ).first()


def run_together(target: Callable[..., object], calls: Iterable[tuple[Any, ...]]) -> None:
    """Call `target` with each argument tuple, each call in a thread of its own, all started
    before any is waited for (concurrent callers of the same rows); returns once all finished."""
    threads = [threading.Thread(target=target, args=args) for args in calls]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
