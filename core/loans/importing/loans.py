"""Loan import (贷款台账 with optional 还款计划): the orchestration, one named step at a time."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from core.kernel.identity import is_mobile
from core.kernel.timeutil import utcnow
from core.loans.importing.bulk import Bulk, ProgressFn, chunks
from core.loans.importing.cells import cell_text
from core.loans.importing.columns import (
    INSTALLMENT_COLUMNS,
    INSTALLMENTS_SHEET,
    LOAN_COLUMNS,
    LOANS_SHEET,
)
from core.loans.importing.files import Sheet, read_sheet
from core.loans.importing.limits import ImportLimits
from core.loans.importing.people import check_people_consistency, resolve_persons, write_persons
from core.loans.importing.report import ImportReport, RowError, audit_event, notify
from core.loans.importing.rows import LoanIn, LoanRowParser, PlanIn, check_plan, parse_installments
from core.loans.importing.store import (
    ExistingLoan,
    existing_terms,
    loan_terms,
    loans_with_installments,
    loans_with_payments,
    planned_schedule,
    preload_loans,
    stored_schedules,
    write_guarantors,
    write_loans,
)
from core.loans.schedule import ScheduleColumns

Errors = dict[int, list[RowError]]  # row number -> the row's errors

PAID_LOAN_ERROR = (
    "贷款{loan_no}已有还款记录，不能通过导入修改金额、利率、放款日期、期限、"
    "还款方式、贴息类型或还款计划（已还款状态不会被覆盖），请联系管理员处理"
)


@dataclass(slots=True)
class _Batch:
    """What an import writes: the rows without errors, the loans already on file (by loan
    number) and the schedule each loan gets written (loans absent from it keep theirs)."""

    good: list[LoanIn]
    existing: dict[str, ExistingLoan]
    schedules: dict[str, ScheduleColumns]


def import_loans(
    session: Session,
    path: str | Path,
    installments_path: str | Path | None = None,
    skip_bad_rows: bool = False,
    progress: ProgressFn | None = None,
    *,
    actor: str = "system",
    default_base_rate: Decimal | None = None,
    limits: ImportLimits | None = None,
) -> ImportReport:
    """Import (upsert) loans from a CSV/XLSX file, with an optional file of bank schedules.

    Writes happen in the session's transaction; the caller commits. With any error and
    ``skip_bad_rows=False`` nothing is written and ``report.imported`` is False.
    `default_base_rate` is the active policy's benchmark rate (``Policy.default_base_rate``), used
    for enterprise loans whose row has none; the report says how many rows used it.
    """
    path = Path(path)
    report = ImportReport(kind="loans")
    sheets = _read_files(path, installments_path, report.errors, limits)
    if sheets is None:
        return report  # file-level errors: nothing can be imported
    sheet, inst_sheet = sheets
    report.rows = len(sheet.rows)
    notify(progress, 0, report.rows)
    row_errors: Errors = defaultdict(list)
    loans = _parse_loans(sheet, default_base_rate, row_errors)
    plans = _parse_plans(sheet, inst_sheet, loans, row_errors, report.errors)
    conn = session.connection()
    good = [x for x in loans if x.row not in row_errors]
    existing = preload_loans(conn, [x.loan_no for x in good])
    batch = _Batch(good, existing, _schedules_to_write(conn, good, existing, plans))
    _refuse_paid_reschedules(conn, sheet, batch, row_errors)
    if not _settle_errors(report, sheet, row_errors, skip_bad_rows):
        return report
    batch.good = [x for x in good if x.row not in row_errors]
    _count_notes(report, batch.good, default_base_rate)
    _write(conn, report, batch, progress)
    report.imported = True
    session.add(audit_event(actor, "loans.import", "loan_import", path, report))
    notify(progress, report.rows, report.rows)
    return report


def _read_files(
    path: Path,
    installments_path: str | Path | None,
    errors: list[RowError],
    limits: ImportLimits | None,
) -> tuple[Sheet, Sheet | None] | None:
    """The loans sheet and the optional schedules sheet; None when either cannot be read."""
    sheet = read_sheet(path, LOAN_COLUMNS, LOANS_SHEET, errors, limits)
    if installments_path is None:
        return None if sheet is None else (sheet, None)
    inst_sheet = read_sheet(
        Path(installments_path), INSTALLMENT_COLUMNS, INSTALLMENTS_SHEET, errors, limits
    )
    if sheet is None or inst_sheet is None:
        return None
    return sheet, inst_sheet


def _parse_loans(
    sheet: Sheet, default_base_rate: Decimal | None, row_errors: Errors
) -> list[LoanIn]:
    """Every row parsed (pure Python); duplicate loan numbers and inconsistent people are errors."""
    parse = LoanRowParser(sheet, default_base_rate).parse
    loans: list[LoanIn] = []
    for number, values in sheet.rows:
        loan, errs = parse(number, values)
        if loan is None:
            row_errors[number].extend(errs)
        else:
            loans.append(loan)
    by_no: dict[str, list[LoanIn]] = defaultdict(list)
    for loan in loans:
        by_no[loan.loan_no].append(loan)
    for loan_no, same in by_no.items():
        if len(same) > 1:
            rows_text = "、".join(str(x.row) for x in same)
            for x in same:
                row_errors[x.row].append(
                    RowError(
                        sheet.file,
                        x.row,
                        sheet.headers["loan_no"],
                        f"贷款编号{loan_no}重复（第{rows_text}行）",
                    )
                )
    check_people_consistency(loans, sheet, row_errors)
    return loans


def _parse_plans(
    sheet: Sheet,
    inst_sheet: Sheet | None,
    loans: list[LoanIn],
    row_errors: Errors,
    errors: list[RowError],
) -> dict[str, PlanIn]:
    """The valid bank schedules by loan number; a bad schedule is an error of its loan's row."""
    if inst_sheet is None:
        return {}
    plans, plan_bad = parse_installments(inst_sheet, errors)
    known = {x.loan_no: x for x in loans}
    loan_col = sheet.index["loan_no"]
    all_loan_nos = {cell_text(v[loan_col]) for _n, v in sheet.rows if loan_col < len(v)}
    for loan_no, errs in plan_bad.items():
        plans.pop(loan_no, None)
        if loan_no in known:
            row_errors[known[loan_no].row].extend(errs)
        else:
            errors.extend(errs)
    for loan_no, plan in list(plans.items()):
        if loan_no not in all_loan_nos:
            errors.append(
                RowError(
                    inst_sheet.file,
                    plan.rows[0],
                    inst_sheet.headers["loan_no"],
                    f"贷款编号{loan_no}不在贷款文件中",
                )
            )
            del plans[loan_no]
        elif loan_no in known:
            errs = check_plan(plan, known[loan_no], inst_sheet)
            if errs:
                row_errors[known[loan_no].row].extend(errs)
                del plans[loan_no]
    return plans


def _schedules_to_write(
    conn: Connection,
    good: list[LoanIn],
    existing: dict[str, ExistingLoan],
    plans: dict[str, PlanIn],
) -> dict[str, ScheduleColumns]:
    """The schedule each loan gets written; loans absent from the result keep theirs."""
    scheduled = loans_with_installments(conn, [e.id for e in existing.values()])
    stored_plans: dict[int, list[tuple[int, date, int, int, int]]] = {}
    if plans:
        stored_plans = stored_schedules(
            conn,
            [existing[x.loan_no].id for x in good if x.loan_no in existing and x.loan_no in plans],
        )
    new_schedule: dict[str, ScheduleColumns] = {}
    for loan in good:
        ex = existing.get(loan.loan_no)
        given = plans.get(loan.loan_no)
        if ex is None:
            new_schedule[loan.loan_no] = planned_schedule(loan, given)
        elif given is not None:
            planned = planned_schedule(loan, given)
            if planned.rows() != stored_plans.get(ex.id, []):
                new_schedule[loan.loan_no] = planned
        elif loan_terms(loan) != existing_terms(ex) or ex.id not in scheduled:
            new_schedule[loan.loan_no] = planned_schedule(loan, None)
    return new_schedule


def _refuse_paid_reschedules(
    conn: Connection, sheet: Sheet, batch: _Batch, row_errors: Errors
) -> None:
    """Paid state is never destroyed: a loan being repaid keeps its terms and schedule."""
    existing, new_schedule = batch.existing, batch.schedules
    rescheduled = {existing[no].id: no for no in new_schedule if no in existing}
    by_loan_no = {x.loan_no: x for x in batch.good}
    for loan_id in loans_with_payments(conn, list(rescheduled)):
        loan = by_loan_no[rescheduled[loan_id]]
        del new_schedule[loan.loan_no]
        row_errors[loan.row].append(
            RowError(sheet.file, loan.row, None, PAID_LOAN_ERROR.format(loan_no=loan.loan_no))
        )


def _settle_errors(
    report: ImportReport, sheet: Sheet, row_errors: Errors, skip_bad_rows: bool
) -> bool:
    """Row errors into the report (by file, then row); whether the import goes on."""
    errors = report.errors
    errors.extend(e for n in sorted(row_errors) for e in row_errors[n])
    errors.sort(key=lambda e: (e.file != sheet.file, e.row or 0))
    if errors and not skip_bad_rows:
        return False
    report.skipped = len(row_errors)
    return True


def _count_notes(
    report: ImportReport, good: list[LoanIn], default_base_rate: Decimal | None
) -> None:
    report.default_base_rate = default_base_rate
    report.default_base_rate_rows = sum(1 for x in good if x.base_from_policy)
    report.landline_phones = sum(
        1
        for x in good
        for phone in (x.phone, x.g_phone, x.g_contact_phone)
        if phone is not None and not is_mobile(phone)
    )


def _write(
    conn: Connection, report: ImportReport, batch: _Batch, progress: ProgressFn | None
) -> None:
    """Persons, then loans with their schedules and guarantors, a chunk at a time."""
    good, existing, new_schedule = batch.good, batch.existing, batch.schedules
    now = utcnow()
    old_cache = sqlite_big_cache(conn) if conn.dialect.name == "sqlite" else None
    try:
        bulk = Bulk(conn)
        persons = resolve_persons(conn, good)
        write_persons(conn, bulk, persons, now)
        changed_rows = {p.first_row for p in persons.values() if p.changes}
        done = 0
        for part in chunks(good):
            created, updated = write_loans(conn, bulk, part, existing, persons, new_schedule, now)
            guar_changed = write_guarantors(conn, bulk, part, existing, created, persons)
            report.created += len(created)
            for loan in part:
                if loan.loan_no in created:
                    continue
                if loan.loan_no in updated or loan.row in changed_rows or loan.row in guar_changed:
                    report.updated += 1
                else:
                    report.unchanged += 1
            done += len(part)
            notify(progress, done, report.rows)
        report.installments_created = bulk.installments
    finally:
        if old_cache is not None:
            conn.exec_driver_sql(f"PRAGMA cache_size={int(old_cache)}")


def sqlite_big_cache(conn: Connection) -> int:
    """Give this connection a 128 MB page cache while importing (index inserts are random)."""
    old = conn.exec_driver_sql("PRAGMA cache_size").scalar_one()
    conn.exec_driver_sql("PRAGMA cache_size=-131072")
    return int(old)
