"""Loans in the database: what is stored (preload) and writing loans, schedules, guarantors."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import bindparam, select, update
from sqlalchemy.engine import Connection

from core.loans.importing.bulk import (
    GUAR_T,
    INST_T,
    LOAN_T,
    NOTICE_T,
    Bulk,
    as_date,
    as_decimal,
    select_in,
)
from core.loans.importing.people import Person
from core.loans.importing.rows import LoanIn, PlanIn
from core.loans.schedule import (
    SUBSIDY_ENTERPRISE_HALF,
    ScheduleColumns,
    borrower_interest,
    maturity_date,
    schedule_columns,
)

_STORED = (
    "borrower_id", "amount_fen", "annual_rate", "disbursed_on", "term_months",
    "repayment_method", "subsidy_kind", "bank", "district", "base_rate",
)  # fmt: skip


@dataclass(slots=True)
class ExistingLoan:
    """A loan already on file: its id and its stored columns (named as in `_loan_values`)."""

    id: int
    stored: dict[str, Any]


def loan_terms(loan: LoanIn) -> tuple[Any, ...]:
    base = loan.base_rate if loan.subsidy == SUBSIDY_ENTERPRISE_HALF else None
    return (
        loan.amount_fen, loan.rate, loan.disbursed_on, loan.term, loan.method, loan.subsidy, base
    )  # fmt: skip


def existing_terms(ex: ExistingLoan) -> tuple[Any, ...]:
    s = ex.stored
    base = s["base_rate"] if s["subsidy_kind"] == SUBSIDY_ENTERPRISE_HALF else None
    return (
        s["amount_fen"], s["annual_rate"], s["disbursed_on"], s["term_months"],
        s["repayment_method"], s["subsidy_kind"], base,
    )  # fmt: skip


def planned_schedule(loan: LoanIn, plan: PlanIn | None) -> ScheduleColumns:
    if plan is None:
        return schedule_columns(
            loan.amount_fen,
            loan.rate,
            loan.disbursed_on,
            loan.term,
            loan.method,
            loan.subsidy,
            loan.base_rate,
        )
    items = sorted(plan.items)
    return ScheduleColumns(
        tuple(due for _s, due, _p, _i in items),
        tuple(p for _s, _d, p, _i in items),
        tuple(i for _s, _d, _p, i in items),
        tuple(
            borrower_interest(i, loan.subsidy, annual_rate=loan.rate, base_rate=loan.base_rate)
            for _s, _d, _p, i in items
        ),
    )


def preload_loans(conn: Connection, loan_nos: list[str]) -> dict[str, ExistingLoan]:
    rows = select_in(
        conn,
        "SELECT loan_no, id, borrower_id, amount_fen, annual_rate, disbursed_on, term_months,"
        " repayment_method, subsidy_kind, bank, district, base_rate FROM loan WHERE loan_no {IN}",
        loan_nos,
    )
    return {
        r[0]: ExistingLoan(
            r[1],
            dict(
                zip(
                    _STORED,
                    (
                        r[2], r[3], as_decimal(r[4]), as_date(r[5]), r[6], r[7], r[8], r[9],
                        r[10], None if r[11] is None else as_decimal(r[11]).normalize(),
                    ),
                    strict=True,
                )
            ),
        )
        for r in rows
    }  # fmt: skip


def loans_with_installments(conn: Connection, loan_ids: list[int]) -> set[int]:
    """The loans that have a schedule (an index-only scan of ix_installment_loan_id)."""
    return {
        r[0]
        for r in select_in(
            conn,
            "SELECT l.id FROM loan l WHERE l.id {IN}"
            " AND EXISTS (SELECT 1 FROM installment i WHERE i.loan_id = l.id)",
            loan_ids,
        )
    }


def loans_with_payments(conn: Connection, loan_ids: list[int]) -> set[int]:
    """The loans with any payment recorded or any amount paid on an instalment."""
    paid = {
        r[0]
        for r in select_in(
            conn,
            "SELECT l.id FROM loan l WHERE l.id {IN}"
            " AND EXISTS (SELECT 1 FROM payment p WHERE p.loan_id = l.id)",
            loan_ids,
        )
    }
    paid.update(
        r[0]
        for r in select_in(
            conn,
            "SELECT l.id FROM loan l WHERE l.id {IN} AND EXISTS (SELECT 1 FROM installment i"
            " WHERE i.loan_id = l.id AND (i.paid OR i.paid_fen > 0 OR i.paid_on IS NOT NULL))",
            loan_ids,
        )
    )
    return paid


def stored_schedules(
    conn: Connection, loan_ids: list[int]
) -> dict[int, list[tuple[int, date, int, int, int]]]:
    out: dict[int, list[tuple[int, date, int, int, int]]] = defaultdict(list)
    for r in select_in(
        conn,
        "SELECT loan_id, seq, due_on, principal_fen, interest_fen, borrower_interest_fen"
        " FROM installment WHERE loan_id {IN} ORDER BY loan_id, seq",
        loan_ids,
    ):
        out[r[0]].append((r[1], as_date(r[2]), r[3], r[4], r[5]))
    return out


_LOAN_COLS = (
    "loan_no", "borrower_id", "amount_fen", "annual_rate", "disbursed_on", "term_months",
    "maturity_on", "repayment_method", "subsidy_kind", "bank", "district", "status",
    "created_at", "updated_at", "base_rate",
)  # fmt: skip


def _loan_values(loan: LoanIn, borrower_id: int) -> dict[str, Any]:
    return {
        "borrower_id": borrower_id,
        "amount_fen": loan.amount_fen,
        "annual_rate": loan.rate,
        "disbursed_on": loan.disbursed_on,
        "term_months": loan.term,
        "maturity_on": maturity_date(loan.disbursed_on, loan.term),
        "repayment_method": loan.method,
        "subsidy_kind": loan.subsidy,
        "base_rate": loan.base_rate,
        "bank": loan.bank,
        "district": loan.district,
    }


def write_loans(
    conn: Connection,
    bulk: Bulk,
    part: Sequence[LoanIn],
    existing: dict[str, ExistingLoan],
    persons: dict[tuple[str, ...], Person],
    new_schedule: dict[str, ScheduleColumns],
    now: datetime,
) -> tuple[dict[str, int], set[str]]:
    """Insert new loans and update changed ones; returns created loan_no→id, updated loan_nos."""
    lt = LOAN_T
    new = [x for x in part if x.loan_no not in existing]
    created: dict[str, int] = {}
    if new:
        bulk.insert(
            lt,
            _LOAN_COLS,
            [
                (
                    x.loan_no, _borrower_id(persons, x), x.amount_fen, x.rate, x.disbursed_on,
                    x.term, maturity_date(x.disbursed_on, x.term), x.method, x.subsidy, x.bank,
                    x.district, "active", now, now, x.base_rate,
                )
                for x in new
            ],
        )  # fmt: skip
        created = dict(
            select_in(
                conn,
                "SELECT loan_no, id FROM loan WHERE loan_no {IN}",
                [x.loan_no for x in new],
            )
        )
        bulk.insert_installments((created[x.loan_no], 1, new_schedule[x.loan_no]) for x in new)

    updated: set[str] = set()
    params: list[dict[str, Any]] = []
    for x in part:
        ex = existing.get(x.loan_no)
        if ex is None:
            continue
        values = _loan_values(x, _borrower_id(persons, x))
        if {k: v for k, v in values.items() if k != "maturity_on"} != ex.stored:
            params.append({"_lid": ex.id, **values, "updated_at": now})
            updated.add(x.loan_no)
        if x.loan_no in new_schedule:
            _replace_schedule(conn, bulk, ex.id, new_schedule[x.loan_no])
            updated.add(x.loan_no)
    if params:
        conn.execute(
            update(lt)
            .where(lt.c.id == bindparam("_lid"))
            .values({k: bindparam(k) for k in params[0] if k != "_lid"}),
            params,
        )
    return created, updated


def _borrower_id(persons: dict[tuple[str, ...], Person], loan: LoanIn) -> int:
    pid = persons[("id", loan.id_number)].db_id
    assert pid is not None
    return pid


def _guarantor_person(persons: dict[tuple[str, ...], Person], loan: LoanIn) -> Person | None:
    if loan.g_name is None:
        return None
    if loan.g_id is not None:
        return persons[("id", loan.g_id)]
    assert loan.g_phone is not None
    return persons[("phone", loan.g_phone, loan.g_name)]


def _replace_schedule(
    conn: Connection,
    bulk: Bulk,
    loan_id: int,
    plan: ScheduleColumns,
) -> None:
    """Rewrite an unpaid loan's schedule in place: update by seq, insert more, delete extra."""
    it = INST_T
    rows = plan.rows()
    old_n = conn.execute(
        select(sa.func.count()).select_from(it).where(it.c.loan_id == loan_id)
    ).scalar_one()
    keep = [r for r in rows if r[0] <= old_n]
    if keep:
        conn.execute(
            update(it)
            .where(it.c.loan_id == bindparam("_lid"), it.c.seq == bindparam("_seq"))
            .values(
                due_on=bindparam("due_on"),
                principal_fen=bindparam("principal_fen"),
                interest_fen=bindparam("interest_fen"),
                borrower_interest_fen=bindparam("borrower_interest_fen"),
                paid_fen=0,
                paid=False,
                paid_on=None,
            ),
            [
                {
                    "_lid": loan_id,
                    "_seq": s,
                    "due_on": d,
                    "principal_fen": p,
                    "interest_fen": i,
                    "borrower_interest_fen": b,
                }
                for s, d, p, i, b in keep
            ],
        )
    if len(rows) > old_n:
        tail = ScheduleColumns(
            plan.due_on[old_n:],
            plan.principal_fen[old_n:],
            plan.interest_fen[old_n:],
            plan.borrower_interest_fen[old_n:],
        )
        bulk.insert_installments([(loan_id, old_n + 1, tail)])
    if old_n > len(rows):
        doomed = select(it.c.id).where(it.c.loan_id == loan_id, it.c.seq > len(rows))
        # Reminders already sent about instalments that no longer exist keep their text but
        # lose the link (the foreign key would otherwise forbid the delete).
        conn.execute(
            update(NOTICE_T)
            .where(NOTICE_T.c.installment_id.in_(doomed))
            .values(installment_id=None)
        )
        conn.execute(sa.delete(it).where(it.c.loan_id == loan_id, it.c.seq > len(rows)))


def write_guarantors(
    conn: Connection,
    bulk: Bulk,
    part: Sequence[LoanIn],
    existing: dict[str, ExistingLoan],
    created: dict[str, int],
    persons: dict[tuple[str, ...], Person],
) -> set[int]:
    """Add or update the counter-guarantor of each row; returns the rows that changed."""
    gt = GUAR_T
    wanted: dict[int, tuple[LoanIn, int]] = {}
    for x in part:
        person = _guarantor_person(persons, x)
        if person is None:
            continue
        lid = created.get(x.loan_no) or existing[x.loan_no].id
        assert person.db_id is not None
        wanted[lid] = (x, person.db_id)
    if not wanted:
        return set()
    have: dict[tuple[int, int], tuple[int, str | None, str | None, str | None]] = {}
    new_ids = set(created.values())
    old_ids = [lid for lid in wanted if lid not in new_ids]
    for r in select_in(
        conn,
        "SELECT loan_id, person_id, id, employer, employer_contact_name, employer_contact_phone"
        " FROM counter_guarantor WHERE loan_id {IN}",
        old_ids,
    ):
        have[(r[0], r[1])] = (r[2], r[3], r[4], r[5])
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    changed: set[int] = set()
    for lid, (x, pid) in wanted.items():
        values = {
            "employer": x.g_employer,
            "employer_contact_name": x.g_contact,
            "employer_contact_phone": x.g_contact_phone,
        }
        current = have.get((lid, pid))
        if current is None:
            inserts.append({"loan_id": lid, "person_id": pid, **values})
            changed.add(x.row)
        elif current[1:] != (x.g_employer, x.g_contact, x.g_contact_phone):
            updates.append({"_gid": current[0], **values})
            changed.add(x.row)
    if inserts:
        cols = (
            "loan_id",
            "person_id",
            "employer",
            "employer_contact_name",
            "employer_contact_phone",
        )
        bulk.insert(gt, cols, [tuple(d[c] for c in cols) for d in inserts])
    if updates:
        conn.execute(
            update(gt)
            .where(gt.c.id == bindparam("_gid"))
            .values(
                {
                    k: bindparam(k)
                    for k in ("employer", "employer_contact_name", "employer_contact_phone")
                }
            ),
            updates,
        )
    return changed


# --- payments --------------------------------------------------------------------------------
