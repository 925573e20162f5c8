"""Payment import (还款记录): applied to the earliest unpaid instalments, idempotent by reference."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import bindparam, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from core.kernel.money import fen_to_yuan
from core.kernel.timeutil import utcnow
from core.loans.importing.bulk import (
    INST_T,
    LOAN_T,
    PAY_T,
    Bulk,
    ProgressFn,
    as_date,
    chunks,
    select_in,
)
from core.loans.importing.columns import PAYMENT_COLUMNS, PAYMENTS_SHEET
from core.loans.importing.files import Sheet, read_sheet
from core.loans.importing.limits import ImportLimits
from core.loans.importing.report import ImportReport, RowError, audit_event, notify
from core.loans.importing.rows import PaymentIn, parse_payment_row

Loans = dict[str, tuple[int, date, str]]  # loan_no -> (id, disbursed_on, status)


def import_payments(
    session: Session,
    path: str | Path,
    skip_bad_rows: bool = False,
    progress: ProgressFn | None = None,
    *,
    actor: str = "system",
    limits: ImportLimits | None = None,
) -> ImportReport:
    """Record payments and apply them to the earliest unpaid instalments (idempotent by reference)."""
    path = Path(path)
    report = ImportReport(kind="payments")
    sheet = read_sheet(path, PAYMENT_COLUMNS, PAYMENTS_SHEET, report.errors, limits)
    if sheet is None:
        return report
    report.rows = len(sheet.rows)
    notify(progress, 0, report.rows)
    row_errors: dict[int, list[RowError]] = defaultdict(list)
    payments = _parse_payments(sheet, row_errors)
    conn = session.connection()
    loans = _stored_loans(conn, payments)
    fresh, duplicates = _new_payments(conn, sheet, payments, loans, row_errors)
    report.errors.extend(e for n in sorted(row_errors) for e in row_errors[n])
    if report.errors and not skip_bad_rows:
        return report
    report.skipped = len(row_errors)
    report.unchanged = duplicates
    _record(conn, report, sheet.file, fresh, loans, progress)
    report.payments_applied = len(fresh)
    report.created = len(fresh)
    report.imported = True
    session.add(audit_event(actor, "payments.import", "payment_import", path, report))
    notify(progress, report.rows, report.rows)
    return report


def _parse_payments(sheet: Sheet, row_errors: dict[int, list[RowError]]) -> list[PaymentIn]:
    payments: list[PaymentIn] = []
    for number, values in sheet.rows:
        payment, errs = parse_payment_row(sheet, number, values)
        if payment is None:
            row_errors[number].extend(errs)
        else:
            payments.append(payment)
    return payments


def _stored_loans(conn: Connection, payments: list[PaymentIn]) -> Loans:
    return {
        r[0]: (r[1], as_date(r[2]), r[3])
        for r in select_in(
            conn,
            "SELECT loan_no, id, disbursed_on, status FROM loan WHERE loan_no {IN}",
            [p.loan_no for p in payments],
        )
    }


def _new_payments(
    conn: Connection,
    sheet: Sheet,
    payments: list[PaymentIn],
    loans: Loans,
    row_errors: dict[int, list[RowError]],
) -> tuple[list[PaymentIn], int]:
    """The payments not yet recorded, and how many were (same reference, date and amount);
    unknown loans, payments before disbursement and changed references are row errors."""
    recorded: dict[tuple[int, str], tuple[date, int]] = {
        (r[0], r[1]): (as_date(r[2]), r[3])
        for r in select_in(
            conn,
            "SELECT loan_id, reference, paid_on, amount_fen FROM payment WHERE loan_id {IN}",
            [v[0] for v in loans.values()],
        )
    }
    in_file: dict[tuple[str, str], PaymentIn] = {}
    fresh: list[PaymentIn] = []
    duplicates = 0
    col_loan, col_ref = sheet.headers["loan_no"], sheet.headers["reference"]
    for p in payments:
        loan = loans.get(p.loan_no)
        if loan is None:
            row_errors[p.row].append(
                RowError(sheet.file, p.row, col_loan, f"贷款编号不存在：{p.loan_no}")
            )
            continue
        if p.paid_on < loan[1]:
            row_errors[p.row].append(
                RowError(sheet.file, p.row, sheet.headers["paid_on"], "还款日期早于放款日期")
            )
            continue
        prior = recorded.get((loan[0], p.reference))
        earlier = in_file.get((p.loan_no, p.reference))
        if prior is None and earlier is not None:
            prior = (earlier.paid_on, earlier.amount_fen)
        if prior is not None:
            if prior == (p.paid_on, p.amount_fen):
                duplicates += 1
            else:
                where = f"已在第{earlier.row}行出现" if earlier is not None else "已登记"
                row_errors[p.row].append(
                    RowError(
                        sheet.file, p.row, col_ref, f"流水号{p.reference}{where}，但日期或金额不同"
                    )
                )
            continue
        in_file[(p.loan_no, p.reference)] = p
        fresh.append(p)
    return fresh, duplicates


@dataclass
class Applied:
    """What storing payments did: instalments settled, warnings (amounts beyond what was owed),
    loans fully paid (closed), the ids of the instalments that became fully paid (their queued
    notices can be cancelled) and, per (loan id, reference), the fen each payment put on each
    instalment (a manual payment keeps it, so that a reversal can take it back)."""

    settled: int = 0
    warnings: list[RowError] = field(default_factory=list)
    closed: list[int] = field(default_factory=list)
    paid_ids: list[int] = field(default_factory=list)
    takes: dict[tuple[int, str], list[tuple[int, int]]] = field(default_factory=dict)


def _record(
    conn: Connection,
    report: ImportReport,
    file: str,
    fresh: list[PaymentIn],
    loans: Loans,
    progress: ProgressFn | None,
) -> None:
    """Apply and store the new payments a chunk of loans at a time; close loans fully paid."""
    by_loan: dict[int, list[PaymentIn]] = defaultdict(list)
    for p in fresh:
        by_loan[loans[p.loan_no][0]].append(p)
    done = 0
    for part in chunks(list(by_loan)):
        applied = store_payments(conn, {lid: by_loan[lid] for lid in part}, file)
        report.installments_settled += applied.settled
        report.warnings.extend(applied.warnings)
        report.paid_installment_ids.extend(applied.paid_ids)
        done += sum(len(by_loan[lid]) for lid in part)
        notify(progress, done, report.rows)


def store_payments(
    conn: Connection, payments: dict[int, list[PaymentIn]], file: str, *, source: str = "import"
) -> Applied:
    """Store payments (by loan id), allocate them to the earliest unpaid instalments and close
    the loans they pay off: the one way a payment is applied, imported or recorded by hand."""
    now = utcnow()
    applied = _apply_payments(conn, payments, file)
    if applied.closed:
        conn.execute(
            update(LOAN_T)
            .where(LOAN_T.c.id.in_(applied.closed), LOAN_T.c.status == "active")
            .values(status="closed", updated_at=now)
        )
    Bulk(conn).insert(
        PAY_T,
        ("loan_id", "paid_on", "amount_fen", "reference", "created_at", "source"),
        [
            (lid, p.paid_on, p.amount_fen, p.reference, now, source)
            for lid in payments
            for p in payments[lid]
        ],
    )
    return applied


def _apply_payments(conn: Connection, payments: dict[int, list[PaymentIn]], file: str) -> Applied:
    """Allocate payments to the earliest unpaid instalments of their loans."""
    it = INST_T
    unpaid: dict[int, list[list[Any]]] = defaultdict(list)
    for r in conn.execute(
        select(it.c.loan_id, it.c.id, it.c.principal_fen, it.c.borrower_interest_fen, it.c.paid_fen)
        .where(it.c.loan_id.in_(list(payments)), it.c.paid == sa.false())
        .order_by(it.c.loan_id, it.c.seq)
    ):
        unpaid[r[0]].append([r[1], r[2] + r[3], r[4], None])  # id, owed, paid_fen, paid_on
    changes: list[dict[str, Any]] = []
    out = Applied()
    for loan_id, items in payments.items():
        queue = unpaid.get(loan_id, [])
        touched: set[int] = set()
        pos = 0
        for p in sorted(items, key=lambda x: (x.paid_on, x.row)):
            left = p.amount_fen
            takes = out.takes.setdefault((loan_id, p.reference), [])
            while left > 0 and pos < len(queue):
                inst = queue[pos]
                take = min(inst[1] - inst[2], left)
                inst[2] += take
                left -= take
                touched.add(pos)
                takes.append((inst[0], take))
                if inst[2] >= inst[1]:
                    inst[3] = p.paid_on
                    pos += 1
            if left > 0:
                out.warnings.append(
                    RowError(
                        file,
                        p.row,
                        None,
                        f"还款金额超出未还金额{fen_to_yuan(left)}元（已全部记为还款，多出部分未分配到分期）",
                    )
                )
        for idx in sorted(touched):
            inst = queue[idx]
            paid = inst[3] is not None
            out.settled += paid
            if paid:
                out.paid_ids.append(inst[0])
            changes.append({"_iid": inst[0], "paid_fen": inst[2], "paid": paid, "paid_on": inst[3]})
        if queue and pos >= len(queue):
            out.closed.append(loan_id)
    if changes:
        conn.execute(
            update(it)
            .where(it.c.id == bindparam("_iid"))
            .values(
                paid_fen=bindparam("paid_fen"), paid=bindparam("paid"), paid_on=bindparam("paid_on")
            ),
            changes,
        )
    return out


# --- template --------------------------------------------------------------------------------
