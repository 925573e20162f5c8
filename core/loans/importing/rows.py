"""Row parsers: one loan row, the instalment rows of bank schedules, one payment row."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from core.loans.importing.cells import (
    EXAMPLE_ROW_ERROR,
    CellError,
    cell_text,
    is_template_example,
    parse_date,
    parse_date_c,
    parse_fen,
    parse_fen_c,
    parse_id,
    parse_method_c,
    parse_phone,
    parse_rate_c,
    parse_seq,
    parse_subsidy_c,
    parse_term_c,
)
from core.loans.importing.files import Sheet, cell_blank
from core.loans.importing.report import RowError
from core.money import fen_to_yuan
from core.schedule import SUBSIDY_ENTERPRISE_HALF, ScheduleError


@dataclass(slots=True)
class LoanIn:
    row: int
    loan_no: str
    name: str
    phone: str
    id_number: str
    amount_fen: int
    rate: Decimal
    disbursed_on: date
    term: int
    method: str
    subsidy: str
    district: str | None
    bank: str | None
    g_name: str | None
    g_phone: str | None
    g_id: str | None
    g_employer: str | None
    g_contact: str | None
    g_contact_phone: str | None
    base_rate: Decimal | None = None
    base_from_policy: bool = False  # no 基准利率 in the row: the policy's default was used


class RowReader:
    """Gets typed cells of one row, collecting every cell error of the row."""

    __slots__ = ("cells", "errors", "number", "sheet")

    def __init__(self, sheet: Sheet, number: int, values: list[Any]) -> None:
        self.sheet = sheet
        self.number = number
        self.errors: list[RowError] = []
        n = len(values)
        cells: dict[str, Any] = {}
        for fld, idx in sheet.index.items():
            value = values[idx] if idx < n else None
            if isinstance(value, str):
                value = value.strip() or None
            cells[fld] = value
        self.cells = cells

    def raw(self, fld: str) -> Any:
        """The cell value (strings stripped; blank cells are None)."""
        return self.cells.get(fld)

    def error(self, fld: str, message: str) -> None:
        self.errors.append(RowError(self.sheet.file, self.number, self.sheet.headers[fld], message))

    def get(self, fld: str, parse: Callable[[Any], Any], required: bool = True) -> Any:
        value = self.cells.get(fld)
        if value is None:
            if required:
                self.error(fld, "不能为空")
            return None
        try:
            return parse(value)
        except CellError as exc:
            self.error(fld, exc.message)
        except ScheduleError as exc:
            self.error(fld, str(exc))
        return None

    def text(self, fld: str, max_len: int, required: bool = True) -> str | None:
        value = self.cells.get(fld)
        if value is not None and not isinstance(value, str):
            value = cell_text(value) or None
        if value is None:
            if required:
                self.error(fld, "不能为空")
            return None
        if len(value) > max_len:
            self.error(fld, f"过长（最多{max_len}个字）")
            return None
        return str(value)


def parse_loan_row(
    sheet: Sheet, number: int, values: list[Any], default_base_rate: Decimal | None = None
) -> tuple[LoanIn | None, list[RowError]]:
    r = RowReader(sheet, number, values)
    loan_no = r.text("loan_no", 64)
    name = r.text("borrower_name", 64)
    if is_template_example(loan_no, name):
        r.error("loan_no", EXAMPLE_ROW_ERROR)
        return None, r.errors
    phone = r.get("borrower_phone", parse_phone)
    id_number = r.get("id_number", parse_id)
    amount = r.get("amount_yuan", parse_fen_c)
    rate = r.get("annual_rate", parse_rate_c)
    disbursed = r.get("disbursed_on", parse_date_c)
    term = r.get("term_months", parse_term_c)
    method = r.get("repayment_method", parse_method_c)
    subsidy = r.get("subsidy_kind", parse_subsidy_c)
    base_rate = r.get("base_rate", parse_rate_c, required=False)
    from_policy = False
    if subsidy == SUBSIDY_ENTERPRISE_HALF and base_rate is None and not r.errors:
        if default_base_rate is None:
            r.error(
                "base_rate",
                "贴息类型为企业50%贴息时必须填写基准利率（第二十条按基准利率计息的50%贴息），"
                "政策文件也未规定默认基准利率",
            )
        else:
            base_rate = default_base_rate
            from_policy = True
    district = r.text("district", 64, required=False)
    bank = r.text("bank", 100, required=False)
    g_name = r.text("counter_guarantor_name", 64, required=False)
    g_phone = r.get("counter_guarantor_phone", parse_phone, required=False)
    g_id = r.get("counter_guarantor_id_number", parse_id, required=False)
    g_employer = r.text("counter_guarantor_employer", 200, required=False)
    g_contact = r.text("counter_guarantor_employer_contact", 64, required=False)
    g_contact_phone = r.get("counter_guarantor_employer_phone", parse_phone, required=False)
    if g_name is None and any(
        not cell_blank(r.raw(f))
        for f in (
            "counter_guarantor_phone",
            "counter_guarantor_id_number",
            "counter_guarantor_employer",
        )
    ):
        r.error("counter_guarantor_name", "填写了反担保人信息但缺少反担保人姓名")
    if g_name is not None and g_phone is None and cell_blank(r.raw("counter_guarantor_phone")):
        r.error("counter_guarantor_phone", "填写了反担保人姓名时电话不能为空")
    if g_name is not None and not r.errors:
        if g_id is not None and g_id == id_number:
            r.error("counter_guarantor_id_number", "反担保人不能是借款人本人")
        elif g_id is None and g_phone == phone and g_name == name:
            r.error("counter_guarantor_name", "反担保人不能是借款人本人")
    if r.errors:
        return None, r.errors
    assert loan_no and name and phone and id_number and rate is not None and disbursed
    return (
        LoanIn(
            number,
            loan_no,
            name,
            phone,
            id_number,
            amount,
            rate,
            disbursed,
            term,
            method,
            subsidy,
            district,
            bank,
            g_name,
            g_phone if g_name else None,
            g_id if g_name else None,
            g_employer if g_name else None,
            g_contact if g_name else None,
            g_contact_phone if g_name else None,
            base_rate,
            from_policy,
        ),
        [],
    )


@dataclass(slots=True)
class PlanIn:
    rows: list[int]
    items: list[tuple[int, date, int, int]]  # (seq, due_on, principal, interest)


def parse_installments(
    sheet: Sheet, errors: list[RowError]
) -> tuple[dict[str, PlanIn], dict[str, list[RowError]]]:
    """Explicit schedules by loan_no, and the errors of each loan_no's rows."""
    plans: dict[str, PlanIn] = {}
    bad: dict[str, list[RowError]] = defaultdict(list)
    examples: set[str | None] = set()
    for number, values in sheet.rows:
        r = RowReader(sheet, number, values)
        loan_no = r.text("loan_no", 64)
        if is_template_example(loan_no):
            if loan_no not in examples:  # one error per example loan, not one per instalment
                examples.add(loan_no)
                errors.append(
                    RowError(sheet.file, number, sheet.headers["loan_no"], EXAMPLE_ROW_ERROR)
                )
            continue
        seq = r.get("seq", parse_seq)
        due = r.get("due_on", parse_date)
        principal = r.get("principal_yuan", lambda v: parse_fen(v, allow_zero=True))
        interest = r.get("interest_yuan", lambda v: parse_fen(v, allow_zero=True))
        if r.errors:
            if loan_no:
                bad[loan_no].extend(r.errors)
            else:
                errors.extend(r.errors)
            continue
        assert loan_no is not None
        plan = plans.setdefault(loan_no, PlanIn([], []))
        plan.rows.append(number)
        plan.items.append((seq, due, principal, interest))
    return plans, bad


def check_plan(plan: PlanIn, loan: LoanIn, sheet: Sheet) -> list[RowError]:
    file, headers = sheet.file, sheet.headers
    items = sorted(zip(plan.items, plan.rows, strict=True), key=lambda x: x[0][0])
    errs: list[RowError] = []
    seqs = [it[0] for it, _row in items]
    if seqs != list(range(1, len(seqs) + 1)):
        errs.append(
            RowError(
                file, plan.rows[0], headers["seq"], f"贷款{loan.loan_no}的期次应从1开始连续编号"
            )
        )
        return errs
    prev = loan.disbursed_on
    for (seq, due, _p, _i), row in items:
        if due <= prev:
            errs.append(
                RowError(
                    file, row, headers["due_on"], f"第{seq}期应还日期应晚于上一期（或放款日期）"
                )
            )
            break
        prev = due
    total = sum(it[2] for it, _row in items)
    if total != loan.amount_fen:
        errs.append(
            RowError(
                file,
                plan.rows[0],
                headers["principal_yuan"],
                f"贷款{loan.loan_no}各期本金合计{fen_to_yuan(total)}元，与贷款金额"
                f"{fen_to_yuan(loan.amount_fen)}元不一致",
            )
        )
    return errs
