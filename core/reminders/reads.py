"""What the reminder sweep reads: the candidate instalments of the due dates in play, the last
instalment of each loan, counter-guarantors, linked chats (Telegram, WeChat) and SMS identities."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from core.loans.status import left_to_pay_fen
from core.outbox.senders import CHAT_CHANNELS
from core.persistence.models import (
    ChannelIdentityRow,
    CounterGuarantorRow,
    InstallmentRow,
    LoanRow,
    PersonRow,
)
from core.persistence.sql import chunks as _chunks
from core.persistence.sql import in_ as _in
from core.persistence.sql import table as _table


@dataclass(frozen=True)
class Candidate:
    installment_id: int
    loan_id: int
    seq: int
    due_on: date
    due_fen: int
    loan_no: str
    bank: str | None
    borrower_id: int
    borrower_name: str
    borrower_phone: str | None


def load_candidates(
    session: Session, dates: Sequence[date], last_only_dates: Sequence[date] = ()
) -> list[Candidate]:
    """Unpaid instalments of active loans due on `dates`, plus the last instalments (due on the
    loan's maturity date) due on `last_only_dates`; both through the index (paid, due_on)."""
    out = query_candidates(session, dates, last_only=False) if dates else []
    if last_only_dates:
        out.extend(query_candidates(session, last_only_dates, last_only=True))
    return out


def query_candidates(
    session: Session, dates: Sequence[date], last_only: bool, ids: Sequence[int] = ()
) -> list[Candidate]:
    """Unpaid instalments of active loans due on `dates` (or with the given `ids`)."""
    i, ln, p = _table(InstallmentRow), _table(LoanRow), _table(PersonRow)
    stmt = (
        sa.select(
            i.c.id,
            i.c.loan_id,
            i.c.seq,
            i.c.due_on,
            i.c.principal_fen,
            i.c.borrower_interest_fen,
            i.c.paid_fen,
            ln.c.loan_no,
            ln.c.bank,
            ln.c.borrower_id,
            p.c.name,
            p.c.phone,
        )
        .select_from(i.join(ln, ln.c.id == i.c.loan_id).join(p, p.c.id == ln.c.borrower_id))
        .where(i.c.paid == sa.false(), ln.c.status == "active")
    )
    stmt = stmt.where(_in(session, i.c.id, ids) if ids else i.c.due_on.in_(list(dates)))
    if last_only:
        stmt = stmt.where(ln.c.maturity_on == i.c.due_on)
    out = []
    for r in session.execute(stmt):
        due = left_to_pay_fen(r.principal_fen, r.borrower_interest_fen, r.paid_fen)
        if due <= 0:  # nothing owed: never reminded, never overdue (core.loans.status)
            continue
        out.append(
            Candidate(
                installment_id=r.id,
                loan_id=r.loan_id,
                seq=r.seq,
                due_on=r.due_on,
                due_fen=due,
                loan_no=r.loan_no,
                bank=r.bank,
                borrower_id=r.borrower_id,
                borrower_name=r.name,
                borrower_phone=r.phone,
            )
        )
    return out


def last_seq(session: Session, loan_ids: Iterable[int]) -> dict[int, int]:
    i = _table(InstallmentRow)
    ids = sorted(set(loan_ids))
    out: dict[int, int] = {}
    for chunk in _chunks(ids):
        stmt = (
            sa.select(i.c.loan_id, sa.func.max(i.c.seq))
            .where(_in(session, i.c.loan_id, chunk))
            .group_by(i.c.loan_id)
        )
        out.update({int(a): int(b) for a, b in session.execute(stmt)})
    return out


def counter_guarantors(session: Session, loan_ids: Iterable[int]) -> dict[int, list[Any]]:
    cg, p = _table(CounterGuarantorRow), _table(PersonRow)
    ids = sorted(set(loan_ids))
    out: dict[int, list[Any]] = {}
    for chunk in _chunks(ids):
        stmt = (
            sa.select(
                cg.c.id,
                cg.c.loan_id,
                cg.c.person_id,
                cg.c.employer,
                cg.c.employer_contact_name,
                cg.c.employer_contact_phone,
                p.c.name,
                p.c.phone,
            )
            .select_from(cg.join(p, p.c.id == cg.c.person_id))
            .where(_in(session, cg.c.loan_id, chunk))
            .order_by(cg.c.id)
        )
        for r in session.execute(stmt):
            out.setdefault(int(r.loan_id), []).append(r)
    return out


def linked_chats(session: Session, person_ids: Iterable[int]) -> dict[int, tuple[int, str, str]]:
    """person id -> (identity id, chat id, channel) of the newest verified, reachable chat link
    (Telegram or WeChat)."""
    ci = _table(ChannelIdentityRow)
    ids = sorted(set(person_ids))
    out: dict[int, tuple[int, str, str]] = {}
    for chunk in _chunks(ids):
        stmt = (
            sa.select(ci.c.id, ci.c.person_id, ci.c.address, ci.c.channel)
            .where(
                ci.c.channel.in_(CHAT_CHANNELS),
                ci.c.verified == sa.true(),
                ci.c.unreachable == sa.false(),
                _in(session, ci.c.person_id, chunk),
            )
            .order_by(ci.c.id)
        )
        for r in session.execute(stmt):
            out[int(r.person_id)] = (int(r.id), str(r.address), str(r.channel))
    return out


def sms_identities(session: Session, phones: Iterable[str]) -> dict[str, tuple[int, bool]]:
    """E.164 number -> (identity id, unreachable) for numbers that have an SMS identity."""
    ci = _table(ChannelIdentityRow)
    addresses = sorted(set(phones))
    out: dict[str, tuple[int, bool]] = {}
    for chunk in _chunks(addresses):
        stmt = sa.select(ci.c.id, ci.c.address, ci.c.unreachable).where(
            ci.c.channel == "sms", _in(session, ci.c.address, chunk)
        )
        for r in session.execute(stmt):
            out[str(r.address)] = (int(r.id), bool(r.unreachable))
    return out
