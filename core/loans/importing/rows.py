"""Row parsers: one loan row, the instalment rows of bank schedules, one payment row."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from core.kernel.money import fen_to_yuan
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
from core.loans.importing.files import Sheet
from core.loans.importing.report import RowError
from core.loans.schedule import SUBSIDY_ENTERPRISE_HALF, ScheduleError


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


LOAN_FIELDS = (
    "loan_no", "borrower_name", "borrower_phone", "id_number", "amount_yuan", "annual_rate",
    "disbursed_on", "term_months", "repayment_method", "subsidy_kind", "district", "bank",
    "counter_guarantor_name", "counter_guarantor_phone", "counter_guarantor_id_number",
    "counter_guarantor_employer", "counter_guarantor_employer_contact",
    "counter_guarantor_employer_phone", "base_rate",
)  # fmt: skip
(
    _NO, _NAME, _PHONE, _ID, _AMOUNT, _RATE, _DISBURSED, _TERM, _METHOD, _SUBSIDY, _DISTRICT,
    _BANK, _G_NAME, _G_PHONE, _G_ID, _G_EMPLOYER, _G_CONTACT, _G_CONTACT_PHONE, _BASE,
) = range(len(LOAN_FIELDS))  # fmt: skip
_Problems = list[tuple[int, str]]  # (position in LOAN_FIELDS, message)
_Guarantor = tuple[str | None, str | None, str | None, str | None, str | None, str | None]
ENTERPRISE_BASE_RATE_ERROR = (
    "贴息类型为企业50%贴息时必须填写基准利率（第二十条按基准利率计息的50%贴息），"
    "政策文件也未规定默认基准利率"
)


def _text_cell(
    cells: list[Any], pos: int, max_len: int, bad: _Problems, required: bool = True
) -> str | None:
    value = cells[pos]
    if value is not None and value.__class__ is not str:
        value = cell_text(value) or None
    if value is None:
        if required:
            bad.append((pos, "不能为空"))
        return None
    if len(value) > max_len:
        bad.append((pos, f"过长（最多{max_len}个字）"))
        return None
    return str(value)


def _typed_cell(
    cells: list[Any], pos: int, parse: Callable[[Any], Any], bad: _Problems, required: bool = True
) -> Any:
    value = cells[pos]
    if value is None:
        if required:
            bad.append((pos, "不能为空"))
        return None
    try:
        return parse(value)
    except CellError as exc:
        bad.append((pos, exc.message))
    except ScheduleError as exc:
        bad.append((pos, str(exc)))
    return None


class LoanRowParser:
    """The loan row parser: one row of the loans sheet into a LoanIn, or every error of the row.

    Built once per sheet (column positions and headers resolved up front); a row's cells are
    read by position and errors are only turned into RowErrors when there are any, which keeps
    a 100,000-row import's parsing to about a second."""

    __slots__ = ("default_base_rate", "file", "headers", "index", "width")

    def __init__(self, sheet: Sheet, default_base_rate: Decimal | None = None) -> None:
        self.file = sheet.file
        # Positions in the row padded by `cells`; a column the file lacks reads the pad (None).
        self.width = max(sheet.index.values()) + 1
        self.index = [sheet.index.get(f, self.width) for f in LOAN_FIELDS]
        self.headers = [sheet.headers[f] for f in LOAN_FIELDS]
        self.default_base_rate = default_base_rate

    def cells(self, values: list[Any]) -> list[Any]:
        """The row's cells in LOAN_FIELDS order: strings stripped, blank cells None."""
        width = self.width
        row = values[:width] if len(values) >= width else [*values, *[None] * (width - len(values))]
        row.append(None)
        return [
            (v.strip() or None) if v.__class__ is str else v for v in [row[i] for i in self.index]
        ]

    def errors(self, number: int, bad: _Problems) -> list[RowError]:
        return [RowError(self.file, number, self.headers[pos], msg) for pos, msg in bad]

    def parse(self, number: int, values: list[Any]) -> tuple[LoanIn | None, list[RowError]]:
        c = self.cells(values)
        bad: _Problems = []
        loan_no = _text_cell(c, _NO, 64, bad)
        name = _text_cell(c, _NAME, 64, bad)
        if is_template_example(loan_no, name):
            bad.append((_NO, EXAMPLE_ROW_ERROR))
            return None, self.errors(number, bad)
        phone = _typed_cell(c, _PHONE, parse_phone, bad)
        id_number = _typed_cell(c, _ID, parse_id, bad)
        amount = _typed_cell(c, _AMOUNT, parse_fen_c, bad)
        rate = _typed_cell(c, _RATE, parse_rate_c, bad)
        disbursed = _typed_cell(c, _DISBURSED, parse_date_c, bad)
        term = _typed_cell(c, _TERM, parse_term_c, bad)
        method = _typed_cell(c, _METHOD, parse_method_c, bad)
        subsidy = _typed_cell(c, _SUBSIDY, parse_subsidy_c, bad)
        base_rate = _typed_cell(c, _BASE, parse_rate_c, bad, required=False)
        from_policy = False
        if subsidy == SUBSIDY_ENTERPRISE_HALF and base_rate is None and not bad:
            if self.default_base_rate is None:
                bad.append((_BASE, ENTERPRISE_BASE_RATE_ERROR))
            else:
                base_rate, from_policy = self.default_base_rate, True
        district = _text_cell(c, _DISTRICT, 64, bad, required=False)
        bank = _text_cell(c, _BANK, 100, bad, required=False)
        g = self._guarantor(c, bad, phone, id_number, name)
        if bad:
            return None, self.errors(number, bad)
        assert loan_no and name and phone and id_number and rate is not None and disbursed
        return LoanIn(
            number, loan_no, name, phone, id_number, amount, rate, disbursed, term, method,
            subsidy, district, bank, *g, base_rate, from_policy,
        ), []  # fmt: skip

    def _guarantor(
        self, c: list[Any], bad: _Problems, phone: str | None, id_number: str | None, name: Any
    ) -> _Guarantor:
        """(name, phone, id, employer, contact, contact phone) of the counter-guarantor, all
        None without one; the guarantor's cells are checked either way."""
        g_name = _text_cell(c, _G_NAME, 64, bad, required=False)
        g_phone = _typed_cell(c, _G_PHONE, parse_phone, bad, required=False)
        g_id = _typed_cell(c, _G_ID, parse_id, bad, required=False)
        g_employer = _text_cell(c, _G_EMPLOYER, 200, bad, required=False)
        g_contact = _text_cell(c, _G_CONTACT, 64, bad, required=False)
        g_contact_phone = _typed_cell(c, _G_CONTACT_PHONE, parse_phone, bad, required=False)
        if g_name is None:
            if c[_G_PHONE] is not None or c[_G_ID] is not None or c[_G_EMPLOYER] is not None:
                bad.append((_G_NAME, "填写了反担保人信息但缺少反担保人姓名"))
            return (None, None, None, None, None, None)
        if g_phone is None and c[_G_PHONE] is None:
            bad.append((_G_PHONE, "填写了反担保人姓名时电话不能为空"))
        if not bad:
            if g_id is not None and g_id == id_number:
                bad.append((_G_ID, "反担保人不能是借款人本人"))
            elif g_id is None and g_phone == phone and g_name == name:
                bad.append((_G_NAME, "反担保人不能是借款人本人"))
        return g_name, g_phone, g_id, g_employer, g_contact, g_contact_phone


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


@dataclass(slots=True)
class PaymentIn:
    row: int
    loan_no: str
    paid_on: date
    amount_fen: int
    reference: str


def parse_payment_row(
    sheet: Sheet, number: int, values: list[Any]
) -> tuple[PaymentIn | None, list[RowError]]:
    r = RowReader(sheet, number, values)
    loan_no = r.text("loan_no", 64)
    if is_template_example(loan_no):
        r.error("loan_no", EXAMPLE_ROW_ERROR)
    paid_on = r.get("paid_on", parse_date)
    amount = r.get("amount_yuan", parse_fen)
    reference = r.text("reference", 64)
    if r.errors:
        return None, r.errors
    assert loan_no and paid_on and reference
    return PaymentIn(number, loan_no, paid_on, amount, reference), []
