"""Spreadsheet importers: loans (贷款台账), repayment schedules (还款计划) and payments (还款记录).

Files are CSV (UTF-8, UTF-8 with BOM, or GBK/GB18030 — tried in that order) or XLSX. Headers may
be the English field names or the Chinese names banks use (贷款编号, 借款人姓名 …); the header row
is row 1 as the spreadsheet shows it, unless a title row comes first.

Rules
-----
- Validation happens in Python before anything is written. A file with any error imports
  nothing (the writes are all in the caller's transaction) unless ``skip_bad_rows=True``; then the
  bad rows are skipped and every skipped row is listed in the report.
- Loans are upserted by loan number: importing the same file twice changes nothing.
- Persons are deduplicated by ID number; a person without an ID number (a counter-guarantor) is
  matched by phone number *and* name, so two people who share a phone are not merged. A person
  already on file without an ID number is given the ID number when phone and name match.
- Counter-guarantors are only added or updated, never removed by an import (a loan may have more
  guarantors than the one column set in the sheet; removing one is a staff decision).
- Schedules: a new loan gets the schedule of the installments file when given, else a generated
  one (core.schedule). An existing loan keeps its schedule unless its terms (amount, rate,
  disbursement date, term, method, subsidy kind) change or the installments file gives a
  different schedule; the schedule is then rewritten in place (same instalment ids by seq).
- Paid state is never destroyed: once a loan has any payment (a payment row or a paid amount on
  an instalment), changing its terms or its schedule by import is refused with a row error —
  restructuring a loan that is being repaid is a staff decision. Other fields (bank, district,
  borrower's phone, guarantor) may still be updated.
- Payments apply to the earliest unpaid instalments, each owing principal + the borrower's
  interest share; the same reference twice changes nothing. A loan whose instalments are all
  paid is marked ``closed``.

Everything is bulk: rows are parsed once, existing loans and persons are preloaded with one query
per chunk, and inserts are executemany (COPY for installments on PostgreSQL).
"""

from __future__ import annotations

import csv
import io
import operator
import re
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from itertools import repeat
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from core.identity import IdentityError, is_mobile, normalize_id_number, normalize_phone
from core.import_limits import ImportLimitError, ImportLimits, cap_errors, limited_rows
from core.models import (
    AuditEventRow,
    CounterGuarantorRow,
    InstallmentRow,
    LoanRow,
    NoticeRow,
    PaymentRow,
    PersonRow,
)
from core.money import fen_to_yuan
from core.schedule import (
    METHOD_LABELS,
    SUBSIDY_ENTERPRISE_HALF,
    SUBSIDY_LABELS,
    ScheduleColumns,
    ScheduleError,
    borrower_interest,
    maturity_date,
    normalize_method,
    normalize_subsidy_kind,
    schedule_columns,
    schedule_rows,
)
from core.timeutil import utcnow

CHUNK = 5000
ProgressFn = Callable[[int, int], None]

LOANS_SHEET = "贷款"
INSTALLMENTS_SHEET = "还款计划"
PAYMENTS_SHEET = "还款记录"

_LOAN_T = LoanRow.__table__  # type: ignore[attr-defined]
_PERSON_T = PersonRow.__table__  # type: ignore[attr-defined]
_INST_T = InstallmentRow.__table__  # type: ignore[attr-defined]
_PAY_T = PaymentRow.__table__  # type: ignore[attr-defined]
_GUAR_T = CounterGuarantorRow.__table__  # type: ignore[attr-defined]
_NOTICE_T = NoticeRow.__table__  # type: ignore[attr-defined]


# --- report ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RowError:
    """A problem in one file, row (as the spreadsheet shows it, header = 1) and column."""

    file: str
    row: int | None
    column: str | None
    message: str

    def __str__(self) -> str:
        where = self.file
        if self.row is not None:
            where += f" 第{self.row}行"
        if self.column:
            where += f" {self.column}"
        return f"{where}：{self.message}"

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "text": str(self)}


@dataclass
class ImportReport:
    """What an import did. `imported` is False when errors stopped it (nothing was written)."""

    kind: str
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    errors: list[RowError] = field(default_factory=list)
    warnings: list[RowError] = field(default_factory=list)
    installments_created: int = 0
    payments_applied: int = 0
    installments_settled: int = 0
    landline_phones: int = 0  # fixed-line numbers stored: shown to staff, never sent SMS
    default_base_rate: Decimal | None = None  # the policy's benchmark rate, when one was used
    default_base_rate_rows: int = 0
    imported: bool = False
    more_errors: int = 0  # errors beyond the ones listed (see cap_errors)

    @property
    def ok(self) -> bool:
        return not self.errors

    def counts(self) -> dict[str, int]:
        return {
            "rows": self.rows,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "skipped": self.skipped,
            "errors": len(self.errors) - (1 if self.more_errors else 0) + self.more_errors,
            "installments_created": self.installments_created,
            "payments_applied": self.payments_applied,
            "installments_settled": self.installments_settled,
            "landline_phones": self.landline_phones,
            "default_base_rate_rows": self.default_base_rate_rows,
        }

    def to_dict(self) -> dict[str, Any]:
        counts = self.counts()
        counts["error_count"] = counts.pop("errors")
        return {
            "kind": self.kind,
            "imported": self.imported,
            **counts,
            "errors": [e.to_dict() for e in self.errors],
            "warnings": [w.to_dict() for w in self.warnings],
            "default_base_rate": (
                str(self.default_base_rate)
                if self.default_base_rate is not None and self.default_base_rate_rows
                else None
            ),
        }

    def cap_errors(self) -> None:
        """List the first 200 errors and a last line "…及另外 N 处错误" (a file full of errors
        must not make a response of tens of MB)."""
        if not self.more_errors:
            file = self.errors[0].file if self.errors else ""
            self.more_errors = cap_errors(
                self.errors, lambda text: RowError(file, None, None, text)
            )

    def summary(self) -> str:
        """One line in Chinese."""
        if not self.imported:
            return f"导入失败：发现{self.counts()['errors']}处错误，未导入任何数据"
        if self.kind == "payments":
            text = (
                f"导入完成：新增还款{self.payments_applied}笔，已登记未变{self.unchanged}笔，"
                f"结清分期{self.installments_settled}期"
            )
        else:
            text = (
                f"导入完成：新增{self.created}笔，更新{self.updated}笔，未变{self.unchanged}笔，"
                f"生成还款计划{self.installments_created}期"
            )
        if self.skipped:
            text += f"，跳过错误行{self.skipped}行"
        if self.landline_phones:
            text += f"；其中固定电话{self.landline_phones}个（不能接收短信，请工作人员电话联系）"
        if self.default_base_rate_rows and self.default_base_rate is not None:
            text += (
                f"；{self.default_base_rate_rows}笔企业贷款未填基准利率，已按政策文件默认基准利率"
                f"{self.default_base_rate * 100:.4f}%计算贴息"
            )
        return text


# --- columns ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    field: str
    label: str
    aliases: tuple[str, ...] = ()
    required: bool = True


LOAN_COLUMNS: tuple[Column, ...] = (
    Column(
        "loan_no", "贷款编号", ("借款合同号", "合同编号", "贷款合同号", "借款合同编号", "借据号")
    ),
    Column("borrower_name", "借款人姓名", ("借款人", "借款人名称", "姓名")),
    Column(
        "borrower_phone",
        "借款人手机",
        ("联系电话", "借款人电话", "借款人手机号", "借款人联系电话", "手机号", "手机号码"),
    ),
    Column(
        "id_number", "身份证号", ("身份证号码", "借款人身份证号", "借款人身份证号码", "证件号码")
    ),
    Column("amount_yuan", "贷款金额(元)", ("贷款金额", "放款金额(元)", "放款金额", "金额(元)")),
    Column("annual_rate", "年利率", ("利率", "贷款利率", "执行利率", "年利率(%)")),
    Column("base_rate", "基准利率", ("基准年利率", "基准利率(%)"), required=False),
    Column("disbursed_on", "放款日期", ("发放日期", "贷款发放日期", "放款日")),
    Column("term_months", "期限(月)", ("贷款期限(月)", "期限", "贷款期限", "期限(个月)")),
    Column("repayment_method", "还款方式", ()),
    Column("subsidy_kind", "贴息类型", ("贴息方式", "贴息")),
    Column("counter_guarantor_name", "反担保人姓名", ("反担保人",)),
    Column("counter_guarantor_phone", "反担保人电话", ("反担保人手机", "反担保人联系电话")),
    Column("counter_guarantor_employer", "反担保人工作单位", ("反担保人单位", "工作单位")),
    Column("district", "所属区县", ("区县", "所属县区", "县区")),
    Column("bank", "经办银行", ("贷款银行", "经办行", "放款银行"), required=False),
    Column(
        "counter_guarantor_employer_contact",
        "反担保人单位联系人",
        ("单位联系人",),
        required=False,
    ),
    Column(
        "counter_guarantor_employer_phone",
        "反担保人单位电话",
        ("单位电话", "单位联系电话", "反担保人单位联系电话"),
        required=False,
    ),
    Column(
        "counter_guarantor_id_number",
        "反担保人身份证号",
        ("反担保人身份证号码",),
        required=False,
    ),
    Column("note", "备注", ("说明",), required=False),
)

INSTALLMENT_COLUMNS: tuple[Column, ...] = (
    Column("loan_no", "贷款编号", ("借款合同号", "合同编号", "贷款合同号", "借据号")),
    Column("seq", "期次", ("期数", "期号", "第几期")),
    Column("due_on", "应还日期", ("还款日期", "到期日期", "计划还款日期")),
    Column("principal_yuan", "应还本金(元)", ("应还本金", "本金(元)", "本金")),
    Column("interest_yuan", "应还利息(元)", ("应还利息", "利息(元)", "利息")),
    Column("note", "备注", ("说明",), required=False),
)

PAYMENT_COLUMNS: tuple[Column, ...] = (
    Column("loan_no", "贷款编号", ("借款合同号", "合同编号", "贷款合同号", "借据号")),
    Column("paid_on", "还款日期", ("实还日期", "交易日期", "入账日期")),
    Column("amount_yuan", "还款金额(元)", ("还款金额", "实还金额(元)", "实还金额", "金额(元)")),
    Column("reference", "流水号", ("交易流水号", "还款流水号", "凭证号", "业务流水号")),
    Column("note", "备注", ("说明",), required=False),
)

_IGNORED_FIELDS = {"note"}


def _norm_header(text: str) -> str:
    value = unicodedata.normalize("NFKC", text).strip().lower()
    return re.sub(r"[\s*＊:：]", "", value)


def _alias_map(columns: Sequence[Column]) -> dict[str, Column]:
    out: dict[str, Column] = {}
    for col in columns:
        for name in (col.field, col.label, *col.aliases):
            out[_norm_header(name)] = col
    return out


# --- reading files ---------------------------------------------------------------------------


class _FileError(Exception):
    def __init__(self, message: str, row: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.row = row


@dataclass
class _Sheet:
    file: str
    headers: dict[str, str]  # field -> header text as written
    index: dict[str, int]  # field -> column index
    rows: list[tuple[int, list[Any]]]  # (row number, cell values)


def _cell_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _csv_rows(path: Path) -> Iterator[tuple[int, list[Any]]]:
    data = path.read_bytes()
    if not data.strip():
        raise _FileError("文件为空")
    text: str | None = None
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    if text is None:  # pragma: no cover - gb18030 decodes almost anything
        raise _FileError("无法识别文件编码，请保存为 UTF-8 或 GBK 编码的 CSV")
    first_line = text.split("\n", 1)[0]
    delimiter = "\t" if first_line.count("\t") > first_line.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    for number, record in enumerate(reader, start=1):
        yield number, list(record)


def _xlsx_rows(path: Path, sheet: str) -> Iterator[tuple[int, list[Any]]]:
    import zipfile

    from openpyxl import load_workbook

    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise _FileError("无法读取 Excel 文件（文件已损坏或不是 .xlsx 格式）") from exc
    try:
        ws = wb[sheet] if sheet in wb.sheetnames else wb.worksheets[0]
        if hasattr(ws, "reset_dimensions"):
            ws.reset_dimensions()  # the declared size (e.g. A1:XFD1048576) is not trusted
        for number, values in enumerate(ws.iter_rows(min_row=1, values_only=True), start=1):
            yield number, list(values)
    finally:
        wb.close()


def _raw_rows(path: Path, sheet: str) -> Iterator[tuple[int, list[Any]]]:
    if not path.exists():
        raise _FileError("文件不存在")
    suffix = path.suffix.lower()
    if suffix == ".xls":
        raise _FileError("不支持旧版 .xls 文件，请在 Excel 中另存为 .xlsx 或 CSV")
    with path.open("rb") as fh:
        magic = fh.read(4)
    if suffix in (".xlsx", ".xlsm") or magic == b"PK\x03\x04":
        return _xlsx_rows(path, sheet)
    return _csv_rows(path)


def _read_sheet(
    path: Path,
    columns: Sequence[Column],
    sheet: str,
    errors: list[RowError],
    limits: ImportLimits | None = None,
) -> _Sheet | None:
    """Read a file into rows keyed by field; header problems are file errors (None returned)."""
    name = path.name
    aliases = _alias_map(columns)
    try:
        rows = [
            (n, vals)
            for n, vals in limited_rows(_raw_rows(path, sheet), limits or ImportLimits())
            if any(not _cell_blank(v) for v in vals)
        ]
    except (_FileError, ImportLimitError) as exc:
        errors.append(RowError(name, exc.row, None, exc.message))
        return None
    if not rows:
        errors.append(RowError(name, None, None, "文件为空（没有表头和数据）"))
        return None
    header_at = 0
    for i, (_n, vals) in enumerate(rows[:10]):
        known = sum(1 for v in vals if not _cell_blank(v) and _norm_header(str(v)) in aliases)
        if known >= 2:
            header_at = i
            break
    header_row, header_vals = rows[header_at]
    data_rows = rows[header_at + 1 :]
    headers: dict[str, str] = {}
    index: dict[str, int] = {}
    bad = False
    for col_idx, raw in enumerate(header_vals):
        if _cell_blank(raw):
            if any(col_idx < len(v) and not _cell_blank(v[col_idx]) for _n, v in data_rows):
                errors.append(
                    RowError(name, header_row, f"第{col_idx + 1}列", "有数据但没有表头（列名）")
                )
                bad = True
            continue
        text = str(raw).strip()
        col = aliases.get(_norm_header(text))
        if col is None:
            errors.append(RowError(name, header_row, text, "无法识别的列名，请使用模板中的列名"))
            bad = True
            continue
        if col.field in index:
            errors.append(
                RowError(name, header_row, text, f"与“{headers[col.field]}”重复（同一列出现两次）")
            )
            bad = True
            continue
        headers[col.field] = text
        index[col.field] = col_idx
    missing = [c.label for c in columns if c.required and c.field not in index]
    if missing:
        errors.append(RowError(name, header_row, None, "缺少必填列：" + "、".join(missing)))
        bad = True
    if bad:
        return None
    if not data_rows:
        errors.append(RowError(name, None, None, "文件中没有数据行（只有表头）"))
        return None
    for col in columns:
        headers.setdefault(col.field, col.label)
    return _Sheet(name, headers, index, data_rows)


# --- cell parsing ----------------------------------------------------------------------------


class _CellError(ValueError):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else str(value)
    return str(value)


_DATE_RE = re.compile(
    r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$"
)
_DATE_COMPACT_RE = re.compile(r"^(\d{4})(\d{2})(\d{2})$")


def _parse_date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = _text(value)
    if not text:
        raise _CellError("不能为空")
    m = _DATE_RE.match(text) or _DATE_COMPACT_RE.match(text)
    if not m:
        raise _CellError(f"日期格式不正确：{text}（应为 2026-01-05、2026/1/5 或 2026年1月5日）")
    try:
        parsed = date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError as exc:
        raise _CellError(f"日期不存在：{text}") from exc
    if parsed.year < 1990 or parsed.year > 2100:
        raise _CellError(f"日期超出合理范围：{text}")
    return parsed


def _decimal(value: Any, what: str) -> Decimal:
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return Decimal(value)
    text = _text(value).replace(",", "").replace("，", "").replace("元", "").replace(" ", "")
    if not text:
        raise _CellError("不能为空")
    try:
        number = Decimal(text)
    except InvalidOperation as exc:
        raise _CellError(f"{what}格式不正确：{_text(value)}") from exc
    if not number.is_finite():
        raise _CellError(f"{what}格式不正确：{_text(value)}")
    return number


def _parse_fen(value: Any, allow_zero: bool = False) -> int:
    amount = _decimal(value, "金额")
    if amount < 0:
        raise _CellError(f"金额不能为负数：{_text(value)}")
    if amount == 0 and not allow_zero:
        raise _CellError("金额必须大于0")
    fen = amount * 100
    if fen != fen.to_integral_value():
        raise _CellError(f"金额最多保留两位小数（到分）：{_text(value)}")
    return int(fen)


_RATE_PLACES = Decimal("0.000001")


def _parse_rate(value: Any) -> Decimal:
    text = _text(value)
    percent = False
    if isinstance(value, str):
        text = unicodedata.normalize("NFKC", text)
        if text.endswith("%"):
            percent = True
            text = text[:-1].strip()
    rate = _decimal(text if isinstance(value, str) else value, "年利率")
    if percent or rate > 1:
        rate = rate / 100
    if rate < 0:
        raise _CellError(f"年利率不能为负数：{_text(value)}")
    if rate >= 1:
        raise _CellError(f"年利率过高：{_text(value)}")
    if rate != rate.quantize(_RATE_PLACES):
        raise _CellError(f"年利率最多精确到0.0001%：{_text(value)}")
    return rate.normalize() if rate else Decimal(0)


_TERM_RE = re.compile(r"^(\d+)(?:\.0+)?\s*(?:个月|月)?$")


def _parse_term(value: Any) -> int:
    text = _text(value)
    if not text:
        raise _CellError("不能为空")
    m = _TERM_RE.match(text)
    if not m:
        raise _CellError(f"期限应为整数月数：{text}")
    months = int(m.group(1))
    if months < 1 or months > 360:
        raise _CellError(f"期限应在1到360个月之间：{text}")
    return months


def _parse_seq(value: Any) -> int:
    text = _text(value)
    m = _TERM_RE.match(text) if text else None
    if not m or not 1 <= int(m.group(1)) <= 360:
        raise _CellError(f"期次应为1到360之间的整数：{text}")
    return int(m.group(1))


_MOBILE_RE = re.compile(r"^(?:\+?86)?(1\d{10})$")
_PHONE_STRIP = str.maketrans("", "", " -()（）\u3000")


@lru_cache(maxsize=4096)
def _mobile_prefix_valid(prefix5: str) -> bool:
    # Mainland mobile validity (libphonenumber metadata) depends only on the first 5 digits.
    try:
        normalize_phone(prefix5 + "000000")
    except IdentityError:
        return False
    return True


def parse_phone(value: Any) -> str:
    """A phone cell into E.164 (same result as core.identity.normalize_phone, much faster for
    mainland mobile numbers). Raises ValueError with a Chinese message."""
    text = _text(value)
    if not text:
        raise _CellError("不能为空")
    compact = text.translate(_PHONE_STRIP)
    m = _MOBILE_RE.match(compact)
    if m and _mobile_prefix_valid(m.group(1)[:5]):
        return "+86" + m.group(1)
    if re.fullmatch(r"\d(\.\d+)?[eE]\+?\d+", compact):
        raise _CellError("号码被 Excel 存成了科学计数法，请把该列设为文本格式后重新填写")
    try:
        return normalize_phone(text)
    except IdentityError as exc:
        raise _CellError(f"号码无效：{text}（应为11位手机号或带区号的固定电话）") from exc


def _parse_id(value: Any) -> str:
    if isinstance(value, float):
        raise _CellError("被 Excel 存成了数字，后几位可能已丢失，请把该列设为文本格式后重新填写")
    text = _text(value)
    if not text:
        raise _CellError("不能为空")
    try:
        return normalize_id_number(text)
    except IdentityError as exc:
        compact = text.replace(" ", "").upper()
        if re.fullmatch(r"\d(\.\d+)?E\+?\d+", compact):
            msg = "被 Excel 存成了科学计数法，请把该列设为文本格式后重新填写"
        elif len(compact) != 18:
            msg = f"应为18位，实际为{len(compact)}位"
        elif not re.fullmatch(r"\d{17}[\dX]", compact):
            msg = "格式不正确（前17位应为数字，最后一位为数字或X）"
        elif "出生日期" in str(exc):
            msg = "出生日期不正确"
        elif "校验位" in str(exc):
            msg = "校验位不正确"
        else:  # pragma: no cover - covered by the branches above
            msg = str(exc)
        raise _CellError(msg) from exc


# --- loans: parsing --------------------------------------------------------------------------


@dataclass(slots=True)
class _LoanIn:
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


class _RowReader:
    """Gets typed cells of one row, collecting every cell error of the row."""

    __slots__ = ("cells", "errors", "number", "sheet")

    def __init__(self, sheet: _Sheet, number: int, values: list[Any]) -> None:
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
        except _CellError as exc:
            self.error(fld, exc.message)
        except ScheduleError as exc:
            self.error(fld, str(exc))
        return None

    def text(self, fld: str, max_len: int, required: bool = True) -> str | None:
        value = self.cells.get(fld)
        if value is not None and not isinstance(value, str):
            value = _text(value) or None
        if value is None:
            if required:
                self.error(fld, "不能为空")
            return None
        if len(value) > max_len:
            self.error(fld, f"过长（最多{max_len}个字）")
            return None
        return str(value)


def _parse_method(value: Any) -> str:
    return normalize_method(_text(value))


def _parse_subsidy(value: Any) -> str:
    return normalize_subsidy_kind(_text(value))


# Columns whose values repeat across a portfolio (rates, dates, terms, amounts, methods) are parsed
# once per distinct cell value. Errors are not cached (lru_cache does not cache exceptions).
_parse_fen_c = lru_cache(maxsize=65536)(_parse_fen)
_parse_rate_c = lru_cache(maxsize=1024)(_parse_rate)
_parse_date_c = lru_cache(maxsize=65536)(_parse_date)
_parse_term_c = lru_cache(maxsize=1024)(_parse_term)
_parse_method_c = lru_cache(maxsize=256)(_parse_method)
_parse_subsidy_c = lru_cache(maxsize=256)(_parse_subsidy)


_FAST_FIELDS = (
    "loan_no", "borrower_name", "borrower_phone", "id_number", "amount_yuan", "annual_rate",
    "disbursed_on", "term_months", "repayment_method", "subsidy_kind", "district", "bank",
    "counter_guarantor_name", "counter_guarantor_phone", "counter_guarantor_id_number",
    "counter_guarantor_employer", "counter_guarantor_employer_contact",
    "counter_guarantor_employer_phone", "base_rate",
)  # fmt: skip
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def _fast_id(text: str) -> str | None:
    """A valid 18-character ID number written plainly (digits, upper-case X), else None (then
    `_parse_id` decides, with its messages). Same result as `_parse_id` when not None."""
    if len(text) != 18 or not text.isascii() or not text[:17].isdigit():
        return None
    try:
        date(int(text[6:10]), int(text[10:12]), int(text[12:14]))
    except ValueError:
        return None
    check = _ID_CHECK[sum(map(operator.mul, map(int, text[:17]), _ID_WEIGHTS)) % 11]
    return text if check == text[17] else None


def _fast_loan_row(index: Sequence[int | None], number: int, values: list[Any]) -> _LoanIn | None:
    """The common case of `_parse_loan_row` without its bookkeeping: a row of text cells that
    parses without any error. None means "not sure" — the row then goes through
    `_parse_loan_row`, which produces the errors; for the rows it accepts, both give the same
    `_LoanIn` (tests/integration/test_import.py compares them)."""
    n = len(values)
    cells: list[str | None] = []
    for i in index:
        if i is None or i >= n:
            cells.append(None)
            continue
        v = values[i]
        if v is None:
            cells.append(None)
        elif isinstance(v, str):
            cells.append(v.strip() or None)
        else:
            return None
    (
        loan_no, name, phone_c, id_c, amount_c, rate_c, disbursed_c, term_c, method_c,
        subsidy_c, district, bank, g_name, g_phone_c, g_id_c, g_employer, g_contact,
        g_contact_phone_c, base_c,
    ) = cells  # fmt: skip
    if (
        loan_no is None
        or is_template_example(loan_no, name)
        or name is None
        or phone_c is None
        or id_c is None
        or amount_c is None
        or rate_c is None
        or disbursed_c is None
        or term_c is None
        or method_c is None
        or subsidy_c is None
        or len(loan_no) > 64
        or len(name) > 64
        or (district is not None and len(district) > 64)
        or (bank is not None and len(bank) > 100)
    ):
        return None
    id_number = _fast_id(id_c)
    if id_number is None:
        return None
    try:
        phone = parse_phone(phone_c)
        amount = _parse_fen_c(amount_c)
        rate = _parse_rate_c(rate_c)
        disbursed = _parse_date_c(disbursed_c)
        term = _parse_term_c(term_c)
        method = _parse_method_c(method_c)
        subsidy = _parse_subsidy_c(subsidy_c)
        base_rate = _parse_rate_c(base_c) if base_c is not None else None
        if subsidy == SUBSIDY_ENTERPRISE_HALF and base_rate is None:
            return None  # the slow path reports the missing rate or applies the default
        g_phone = g_id = g_contact_phone = None
        if g_name is not None:
            if (
                len(g_name) > 64
                or g_phone_c is None
                or (g_employer is not None and len(g_employer) > 200)
                or (g_contact is not None and len(g_contact) > 64)
            ):
                return None
            g_phone = parse_phone(g_phone_c)
            if g_id_c is not None:
                g_id = _fast_id(g_id_c)
                if g_id is None or g_id == id_number:
                    return None
            elif g_phone == phone and g_name == name:
                return None
            if g_contact_phone_c is not None:
                g_contact_phone = parse_phone(g_contact_phone_c)
        elif g_phone_c is not None or g_id_c is not None or g_employer is not None:
            return None
        else:
            # Not stored without a guarantor, but the slow path reports invalid cells anyway.
            if g_contact is not None and len(g_contact) > 64:
                return None
            if g_contact_phone_c is not None:
                parse_phone(g_contact_phone_c)
    except (_CellError, ScheduleError):
        return None
    return _LoanIn(
        number, loan_no, name, phone, id_number, amount, rate, disbursed, term, method, subsidy,
        district, bank, g_name, g_phone, g_id, g_employer if g_name else None,
        g_contact if g_name else None, g_contact_phone, base_rate,
    )  # fmt: skip


EXAMPLE_PREFIX = "示例"
EXAMPLE_ROW_ERROR = (
    "这是导入模板的示例行（贷款编号以“示例”开头或姓名标有“示例”），不会导入；请删除示例行后再导入"
)


def is_template_example(loan_no: str | None, name: str | None = None) -> bool:
    """A row of the `loans template` example (示例-2026-0001, 张三（示例）): never a real loan."""
    if loan_no and unicodedata.normalize("NFKC", loan_no).strip().startswith(EXAMPLE_PREFIX):
        return True
    return bool(name and "示例" in name)


def _parse_loan_row(
    sheet: _Sheet, number: int, values: list[Any], default_base_rate: Decimal | None = None
) -> tuple[_LoanIn | None, list[RowError]]:
    r = _RowReader(sheet, number, values)
    loan_no = r.text("loan_no", 64)
    name = r.text("borrower_name", 64)
    if is_template_example(loan_no, name):
        r.error("loan_no", EXAMPLE_ROW_ERROR)
        return None, r.errors
    phone = r.get("borrower_phone", parse_phone)
    id_number = r.get("id_number", _parse_id)
    amount = r.get("amount_yuan", _parse_fen_c)
    rate = r.get("annual_rate", _parse_rate_c)
    disbursed = r.get("disbursed_on", _parse_date_c)
    term = r.get("term_months", _parse_term_c)
    method = r.get("repayment_method", _parse_method_c)
    subsidy = r.get("subsidy_kind", _parse_subsidy_c)
    base_rate = r.get("base_rate", _parse_rate_c, required=False)
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
    g_id = r.get("counter_guarantor_id_number", _parse_id, required=False)
    g_employer = r.text("counter_guarantor_employer", 200, required=False)
    g_contact = r.text("counter_guarantor_employer_contact", 64, required=False)
    g_contact_phone = r.get("counter_guarantor_employer_phone", parse_phone, required=False)
    if g_name is None and any(
        not _cell_blank(r.raw(f))
        for f in (
            "counter_guarantor_phone",
            "counter_guarantor_id_number",
            "counter_guarantor_employer",
        )
    ):
        r.error("counter_guarantor_name", "填写了反担保人信息但缺少反担保人姓名")
    if g_name is not None and g_phone is None and _cell_blank(r.raw("counter_guarantor_phone")):
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
        _LoanIn(
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
class _PlanIn:
    rows: list[int]
    items: list[tuple[int, date, int, int]]  # (seq, due_on, principal, interest)


def _parse_installments(
    sheet: _Sheet, errors: list[RowError]
) -> tuple[dict[str, _PlanIn], dict[str, list[RowError]]]:
    """Explicit schedules by loan_no, and the errors of each loan_no's rows."""
    plans: dict[str, _PlanIn] = {}
    bad: dict[str, list[RowError]] = defaultdict(list)
    examples: set[str | None] = set()
    for number, values in sheet.rows:
        r = _RowReader(sheet, number, values)
        loan_no = r.text("loan_no", 64)
        if is_template_example(loan_no):
            if loan_no not in examples:  # one error per example loan, not one per instalment
                examples.add(loan_no)
                errors.append(
                    RowError(sheet.file, number, sheet.headers["loan_no"], EXAMPLE_ROW_ERROR)
                )
            continue
        seq = r.get("seq", _parse_seq)
        due = r.get("due_on", _parse_date)
        principal = r.get("principal_yuan", lambda v: _parse_fen(v, allow_zero=True))
        interest = r.get("interest_yuan", lambda v: _parse_fen(v, allow_zero=True))
        if r.errors:
            if loan_no:
                bad[loan_no].extend(r.errors)
            else:
                errors.extend(r.errors)
            continue
        assert loan_no is not None
        plan = plans.setdefault(loan_no, _PlanIn([], []))
        plan.rows.append(number)
        plan.items.append((seq, due, principal, interest))
    return plans, bad


def _check_plan(plan: _PlanIn, loan: _LoanIn, sheet: _Sheet) -> list[RowError]:
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


# --- loans: database -------------------------------------------------------------------------


@dataclass(slots=True)
class _ExistingLoan:
    id: int
    borrower_id: int
    amount_fen: int
    rate: Decimal
    disbursed_on: date
    term: int
    method: str
    subsidy: str
    bank: str | None
    district: str | None
    base_rate: Decimal | None = None


@dataclass(slots=True)
class _Person:
    key: tuple[str, ...]
    name: str
    phone: str | None
    id_number: str | None
    district: str | None
    first_row: int
    db_id: int | None = None
    changes: dict[str, Any] = field(default_factory=dict)


def _chunks(items: Sequence[Any], size: int = CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _select_in(conn: Connection, sql: str, keys: Iterable[Any]) -> list[tuple[Any, ...]]:
    """Run `sql` for chunks of distinct keys; ``{IN}`` in it stands for the key match (an
    ``IN (?, …)`` list, or ``= ANY(%s)`` with one array parameter on PostgreSQL, which plans
    far faster than thousands of parameters). Returns raw driver rows.

    Plain driver SQL: SQLAlchemy's expanding IN costs more than the query itself at these sizes.
    Raw rows carry the driver's types (on SQLite dates are ISO strings, see `_as_date`).
    """
    unique = list(dict.fromkeys(keys))
    out: list[tuple[Any, ...]] = []
    if not unique:
        return out
    if conn.dialect.name == "postgresql" and conn.dialect.paramstyle in ("format", "pyformat"):
        stmt = sql.replace("{IN}", "= ANY(%s)")
        for part in _chunks(unique, 4 * CHUNK):
            out.extend(conn.exec_driver_sql(stmt, (list(part),)).all())
        return out
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    for part in _chunks(unique):
        stmt = sql.replace("{IN}", "IN (" + ", ".join([mark] * len(part)) + ")")
        out.extend(conn.exec_driver_sql(stmt, tuple(part)).all())
    return out


def _as_date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def _as_decimal(value: Any) -> Decimal:
    if value is None:
        return Decimal(0)
    if isinstance(value, float):
        return Decimal(repr(value))
    return Decimal(value)


def _terms(loan: _LoanIn) -> tuple[Any, ...]:
    base = loan.base_rate if loan.subsidy == SUBSIDY_ENTERPRISE_HALF else None
    return (
        loan.amount_fen, loan.rate, loan.disbursed_on, loan.term, loan.method, loan.subsidy, base
    )  # fmt: skip


def _existing_terms(ex: _ExistingLoan) -> tuple[Any, ...]:
    base = ex.base_rate if ex.subsidy == SUBSIDY_ENTERPRISE_HALF else None
    return (ex.amount_fen, ex.rate, ex.disbursed_on, ex.term, ex.method, ex.subsidy, base)


class _Bulk:
    """Bulk inserts of plain tuples: COPY on PostgreSQL (psycopg), executemany elsewhere.

    Values go through the column types' bind processors (the same conversions SQLAlchemy applies
    to ORM writes), without building a dict per row or compiling a statement per batch.
    """

    INST_COLS = (
        "loan_id", "seq", "due_on", "principal_fen", "interest_fen", "borrower_interest_fen",
        "paid_fen", "paid",
    )  # fmt: skip

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.dialect = conn.dialect
        driver: Any = conn.connection.driver_connection
        self.copy = self.dialect.name == "postgresql" and _is_psycopg(driver)
        self.driver = driver
        self.installments = 0

    def insert(self, table: sa.Table, columns: Sequence[str], rows: list[tuple[Any, ...]]) -> None:
        if not rows:
            return
        procs = [
            (i, proc)
            for i, name in enumerate(columns)
            if (proc := table.c[name].type.dialect_impl(self.dialect).bind_processor(self.dialect))
        ]
        if procs:
            converted: list[tuple[Any, ...]] = []
            memo: dict[tuple[int, Any], Any] = {}  # timestamps etc. repeat: convert once
            for row in rows:
                values = list(row)
                for i, proc in procs:
                    value = values[i]
                    if value is not None:
                        key = (i, value)
                        out = memo.get(key, memo)
                        if out is memo:
                            out = memo[key] = proc(value)
                        values[i] = out
                converted.append(tuple(values))
            rows = converted
        cols = ", ".join(columns)
        if self.copy:
            with (
                self.driver.cursor() as cur,
                cur.copy(f"COPY {table.name} ({cols}) FROM STDIN") as copy,
            ):
                for row in rows:
                    copy.write_row(row)
            return
        style = self.dialect.paramstyle
        if style in ("qmark", "format", "pyformat"):
            mark = "?" if style == "qmark" else "%s"
            marks = ", ".join([mark] * len(columns))
            self.conn.exec_driver_sql(f"INSERT INTO {table.name} ({cols}) VALUES ({marks})", rows)
            return
        self.conn.execute(  # pragma: no cover - other drivers
            insert(table), [dict(zip(columns, row, strict=True)) for row in rows]
        )

    def insert_installments(self, schedules: Iterable[tuple[int, int, ScheduleColumns]]) -> None:
        """New unpaid instalments: (loan_id, seq of the first one, schedule)."""
        # The hot path of an import: rows are zipped in C from the (cached) schedule columns,
        # dates as ISO text on SQLite (what SQLAlchemy's Date stores there), and inserted in
        # due-date order, which keeps the due_on indexes' page accesses local (≈15% faster on
        # SQLite; the loan_id indexes stay local because a batch covers consecutive loans).
        if self.copy:
            self._copy_installments(schedules)
            return
        sqlite = self.dialect.name == "sqlite"
        iso: dict[tuple[date, ...], tuple[str, ...]] = {}
        rows: list[tuple[Any, ...]] = []
        for loan_id, first, plan in schedules:
            n = len(plan.due_on)
            if sqlite:
                days = iso.get(plan.due_on)
                if days is None:
                    days = iso[plan.due_on] = tuple(d.isoformat() for d in plan.due_on)
                rows.extend(
                    zip(
                        repeat(loan_id, n),
                        range(first, first + n),
                        days,
                        plan.principal_fen,
                        plan.interest_fen,
                        plan.borrower_interest_fen,
                        strict=True,
                    )
                )
            else:
                rows.extend(
                    zip(
                        repeat(loan_id, n),
                        range(first, first + n),
                        plan.due_on,
                        plan.principal_fen,
                        plan.interest_fen,
                        plan.borrower_interest_fen,
                        repeat(0, n),
                        repeat(False, n),
                        strict=True,
                    )
                )
        if not rows:
            return
        self.installments += len(rows)
        rows.sort(key=_due_key)
        if sqlite:
            self.conn.exec_driver_sql(
                f"INSERT INTO installment ({', '.join(self.INST_COLS)})"
                " VALUES (?, ?, ?, ?, ?, ?, 0, 0)",
                rows,
            )
            return
        self.insert(_INST_T, self.INST_COLS, rows)

    def _copy_installments(self, schedules: Iterable[tuple[int, int, ScheduleColumns]]) -> None:
        """COPY new instalments as preformatted text (PostgreSQL + psycopg).

        Every value is an integer, a date or a boolean, so the text format needs no escaping.
        The lines of a schedule without the loan id are built once per distinct schedule (the
        cached columns of core.schedule are shared between loans with the same terms); a loan's
        rows are then one str.join. Far cheaper than `Copy.write_row` per instalment, and the
        server parses COPY text faster than it plans anything else.
        """
        # Text of "seq<TAB>due" per (due dates, first seq) and of the amounts per amount columns,
        # keyed by the ids of the (cached, shared) column tuples; the values keep the tuples
        # alive, so the ids stay unique while the memo lives.
        dues: dict[tuple[int, int], tuple[tuple[date, ...], list[str]]] = {}
        amounts: dict[tuple[int, int, int], tuple[ScheduleColumns, list[str]]] = {}
        parts: list[str] = []
        count = 0
        for loan_id, first, plan in schedules:
            dkey = (id(plan.due_on), first)
            dhit = dues.get(dkey)
            if dhit is None:
                dhit = dues[dkey] = (
                    plan.due_on,
                    [f"{seq}\t{due.isoformat()}" for seq, due in enumerate(plan.due_on, first)],
                )
            akey = (id(plan.principal_fen), id(plan.interest_fen), id(plan.borrower_interest_fen))
            ahit = amounts.get(akey)
            if ahit is None:
                ahit = amounts[akey] = (
                    plan,
                    [
                        f"{p}\t{i}\t{b}\t0\tf\n"
                        for p, i, b in zip(
                            plan.principal_fen,
                            plan.interest_fen,
                            plan.borrower_interest_fen,
                            strict=True,
                        )
                    ],
                )
            parts.extend(
                [f"{loan_id}\t{sd}\t{am}" for sd, am in zip(dhit[1], ahit[1], strict=True)]
            )
            count += len(plan.due_on)
        if not count:
            return
        self.installments += count
        cols = ", ".join(self.INST_COLS)
        with (
            self.driver.cursor() as cur,
            cur.copy(f"COPY installment ({cols}) FROM STDIN") as copy,
        ):
            for start in range(0, len(parts), 20000):
                copy.write("".join(parts[start : start + 20000]))


def _due_key(row: tuple[Any, ...]) -> Any:
    return row[2]


def _is_psycopg(driver: Any) -> bool:
    return type(driver).__module__.startswith("psycopg")


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
    errors = report.errors
    sheet = _read_sheet(path, LOAN_COLUMNS, LOANS_SHEET, errors, limits)
    inst_sheet = None
    if installments_path is not None:
        inst_sheet = _read_sheet(
            Path(installments_path), INSTALLMENT_COLUMNS, INSTALLMENTS_SHEET, errors, limits
        )
    if sheet is None or (installments_path is not None and inst_sheet is None):
        return report  # file-level errors: nothing can be imported
    report.rows = len(sheet.rows)
    if progress:
        progress(0, report.rows)

    # 1. parse and validate every row (pure Python)
    row_errors: dict[int, list[RowError]] = defaultdict(list)
    loans: list[_LoanIn] = []
    fast_index = [sheet.index.get(f) for f in _FAST_FIELDS]
    for number, values in sheet.rows:
        fast = _fast_loan_row(fast_index, number, values)
        if fast is not None:
            loans.append(fast)
            continue
        loan, errs = _parse_loan_row(sheet, number, values, default_base_rate)
        if loan is None:
            row_errors[number].extend(errs)
        else:
            loans.append(loan)
    by_no: dict[str, list[_LoanIn]] = defaultdict(list)
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
    _check_people_consistency(loans, sheet, row_errors)

    plans: dict[str, _PlanIn] = {}
    if inst_sheet is not None:
        plans, plan_bad = _parse_installments(inst_sheet, errors)
        known = {x.loan_no: x for x in loans}
        all_loan_nos = {
            _text(v[sheet.index["loan_no"]])
            for _n, v in sheet.rows
            if sheet.index["loan_no"] < len(v)
        }
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
                errs = _check_plan(plan, known[loan_no], inst_sheet)
                if errs:
                    row_errors[known[loan_no].row].extend(errs)
                    del plans[loan_no]

    # 2. preload what the database knows and check what depends on it
    conn = session.connection()
    good = [x for x in loans if x.row not in row_errors]
    existing = _preload_loans(conn, [x.loan_no for x in good])
    scheduled = _loans_with_installments(conn, [e.id for e in existing.values()])
    stored_plans: dict[int, list[tuple[int, date, int, int, int]]] = {}
    if plans:
        stored_plans = _stored_schedules(
            conn,
            [existing[x.loan_no].id for x in good if x.loan_no in existing and x.loan_no in plans],
        )
    # The schedule each loan gets written; loans absent from new_schedule keep theirs.
    new_schedule: dict[str, ScheduleColumns] = {}
    for loan in good:
        ex = existing.get(loan.loan_no)
        given = plans.get(loan.loan_no)
        if ex is None:
            new_schedule[loan.loan_no] = _planned(loan, given)
        elif given is not None:
            planned = _planned(loan, given)
            if planned.rows() != stored_plans.get(ex.id, []):
                new_schedule[loan.loan_no] = planned
        elif _terms(loan) != _existing_terms(ex) or ex.id not in scheduled:
            new_schedule[loan.loan_no] = _planned(loan, None)
    rescheduled = {existing[no].id: no for no in new_schedule if no in existing}
    by_loan_no = {x.loan_no: x for x in good}
    for loan_id in _loans_with_payments(conn, list(rescheduled)):
        loan = by_loan_no[rescheduled[loan_id]]
        del new_schedule[loan.loan_no]
        row_errors[loan.row].append(
            RowError(
                sheet.file,
                loan.row,
                None,
                f"贷款{loan.loan_no}已有还款记录，不能通过导入修改金额、利率、放款日期、期限、"
                "还款方式、贴息类型或还款计划（已还款状态不会被覆盖），请联系管理员处理",
            )
        )

    errors.extend(e for n in sorted(row_errors) for e in row_errors[n])
    errors.sort(key=lambda e: (e.file != sheet.file, e.row or 0))
    if errors and not skip_bad_rows:
        return report
    report.skipped = len(row_errors)
    good = [x for x in good if x.row not in row_errors]
    report.default_base_rate = default_base_rate
    report.default_base_rate_rows = sum(1 for x in good if x.base_from_policy)
    report.landline_phones = sum(
        1
        for x in good
        for phone in (x.phone, x.g_phone, x.g_contact_phone)
        if phone is not None and not is_mobile(phone)
    )

    # 3. write
    now = utcnow()
    sqlite = conn.dialect.name == "sqlite"
    old_cache = _sqlite_big_cache(conn) if sqlite else None
    try:
        bulk = _Bulk(conn)
        persons = _resolve_persons(conn, good)
        _write_persons(conn, bulk, persons, now)
        changed_rows = {p.first_row for p in persons.values() if p.changes}
        done = 0
        for part in _chunks(good):
            created, updated = _write_loans(conn, bulk, part, existing, persons, new_schedule, now)
            guar_changed = _write_guarantors(conn, bulk, part, existing, created, persons)
            report.created += len(created)
            for loan in part:
                if loan.loan_no in created:
                    continue
                if loan.loan_no in updated or loan.row in changed_rows or loan.row in guar_changed:
                    report.updated += 1
                else:
                    report.unchanged += 1
            done += len(part)
            if progress:
                progress(done, report.rows)
        report.installments_created = bulk.installments
    finally:
        if old_cache is not None:
            conn.exec_driver_sql(f"PRAGMA cache_size={int(old_cache)}")
    report.imported = True
    session.add(
        AuditEventRow(
            actor=actor,
            action="loans.import",
            object_type="loan_import",
            object_id=path.name[:64],
            after={"file": path.name, **report.counts()},
        )
    )
    if progress:
        progress(report.rows, report.rows)
    return report


def _sqlite_big_cache(conn: Connection) -> int:
    """Give this connection a 128 MB page cache while importing (index inserts are random)."""
    old = conn.exec_driver_sql("PRAGMA cache_size").scalar_one()
    conn.exec_driver_sql("PRAGMA cache_size=-131072")
    return int(old)


def _check_people_consistency(
    loans: list[_LoanIn], sheet: _Sheet, row_errors: dict[int, list[RowError]]
) -> None:
    """The same ID number must carry the same name everywhere in the file."""
    names: dict[str, tuple[str, int]] = {}
    for loan in loans:
        for id_number, name, fld in (
            (loan.id_number, loan.name, "id_number"),
            (loan.g_id, loan.g_name, "counter_guarantor_id_number"),
        ):
            if id_number is None or name is None:
                continue
            seen = names.setdefault(id_number, (name, loan.row))
            if seen[0] != name:
                row_errors[loan.row].append(
                    RowError(
                        sheet.file,
                        loan.row,
                        sheet.headers[fld],
                        f"与第{seen[1]}行身份证号相同但姓名不同（{seen[0]}／{name}）",
                    )
                )


def _planned(loan: _LoanIn, plan: _PlanIn | None) -> ScheduleColumns:
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


def _preload_loans(conn: Connection, loan_nos: list[str]) -> dict[str, _ExistingLoan]:
    rows = _select_in(
        conn,
        "SELECT loan_no, id, borrower_id, amount_fen, annual_rate, disbursed_on, term_months,"
        " repayment_method, subsidy_kind, bank, district, base_rate FROM loan WHERE loan_no {IN}",
        loan_nos,
    )
    return {
        r[0]: _ExistingLoan(
            r[1],
            r[2],
            r[3],
            _as_decimal(r[4]),
            _as_date(r[5]),
            r[6],
            r[7],
            r[8],
            r[9],
            r[10],
            None if r[11] is None else _as_decimal(r[11]).normalize(),
        )
        for r in rows
    }


def _loans_with_installments(conn: Connection, loan_ids: list[int]) -> set[int]:
    """The loans that have a schedule (an index-only scan of ix_installment_loan_id)."""
    return {
        r[0]
        for r in _select_in(
            conn,
            "SELECT l.id FROM loan l WHERE l.id {IN}"
            " AND EXISTS (SELECT 1 FROM installment i WHERE i.loan_id = l.id)",
            loan_ids,
        )
    }


def _loans_with_payments(conn: Connection, loan_ids: list[int]) -> set[int]:
    """The loans with any payment recorded or any amount paid on an instalment."""
    paid = {
        r[0]
        for r in _select_in(
            conn,
            "SELECT l.id FROM loan l WHERE l.id {IN}"
            " AND EXISTS (SELECT 1 FROM payment p WHERE p.loan_id = l.id)",
            loan_ids,
        )
    }
    paid.update(
        r[0]
        for r in _select_in(
            conn,
            "SELECT l.id FROM loan l WHERE l.id {IN} AND EXISTS (SELECT 1 FROM installment i"
            " WHERE i.loan_id = l.id AND (i.paid OR i.paid_fen > 0 OR i.paid_on IS NOT NULL))",
            loan_ids,
        )
    )
    return paid


def _stored_schedules(
    conn: Connection, loan_ids: list[int]
) -> dict[int, list[tuple[int, date, int, int, int]]]:
    out: dict[int, list[tuple[int, date, int, int, int]]] = defaultdict(list)
    for r in _select_in(
        conn,
        "SELECT loan_id, seq, due_on, principal_fen, interest_fen, borrower_interest_fen"
        " FROM installment WHERE loan_id {IN} ORDER BY loan_id, seq",
        loan_ids,
    ):
        out[r[0]].append((r[1], _as_date(r[2]), r[3], r[4], r[5]))
    return out


def _resolve_persons(conn: Connection, loans: list[_LoanIn]) -> dict[tuple[str, ...], _Person]:
    """Every person of the file (borrowers and guarantors), matched to the database."""
    persons: dict[tuple[str, ...], _Person] = {}
    by_phone_name: dict[tuple[str, str], tuple[str, ...]] = {}
    key: tuple[str, ...]
    for loan in loans:  # borrowers and guarantors with ID numbers first
        for id_number, name, phone, district in (
            (loan.id_number, loan.name, loan.phone, loan.district),
            (loan.g_id, loan.g_name, loan.g_phone, None),
        ):
            if id_number is None or name is None:
                continue
            key = ("id", id_number)
            if key not in persons:
                persons[key] = _Person(key, name, phone, id_number, district, loan.row)
                if phone:
                    by_phone_name.setdefault((phone, name), key)
            elif persons[key].district is None and district:
                persons[key].district = district
    for loan in loans:  # guarantors without an ID number
        if loan.g_name is None or loan.g_id is not None:
            continue
        assert loan.g_phone is not None
        pn = (loan.g_phone, loan.g_name)
        if pn in by_phone_name:
            continue
        key = ("phone", loan.g_phone, loan.g_name)
        persons[key] = _Person(key, loan.g_name, loan.g_phone, None, None, loan.row)
        by_phone_name[pn] = key
    for pn, key in by_phone_name.items():
        if key[0] == "phone":
            continue
        persons.setdefault(("phone", *pn), persons[key])

    id_people = [p for k, p in persons.items() if k[0] == "id"]
    found: dict[str, tuple[int, str, str | None, str | None]] = {}
    for r in _select_in(
        conn,
        "SELECT id_number, id, name, phone, district FROM person WHERE id_number {IN}",
        [p.id_number for p in id_people],
    ):
        found[r[0]] = (r[1], r[2], r[3], r[4])
    need_phone = [
        p for p in persons.values() if p.phone and (p.id_number is None or p.id_number not in found)
    ]
    phone_rows: dict[tuple[str, str], list[tuple[int, str | None]]] = defaultdict(list)
    for r in _select_in(
        conn,
        "SELECT phone, name, id, id_number FROM person WHERE phone {IN} ORDER BY id",
        [p.phone for p in need_phone],
    ):
        phone_rows[(r[0], r[1])].append((r[2], r[3]))
    seen: set[int] = set()
    for person in persons.values():
        if id(person) in seen:
            continue
        seen.add(id(person))
        if person.id_number and person.id_number in found:
            pid, name, phone, district = found[person.id_number]
            person.db_id = pid
            if name != person.name:
                person.changes["name"] = person.name
            if person.phone and phone != person.phone:
                person.changes["phone"] = person.phone
            if person.district and district != person.district:
                person.changes["district"] = person.district
            continue
        assert person.phone is not None
        candidates = phone_rows.get((person.phone, person.name), [])
        if person.id_number:
            without_id = [pid for pid, idn in candidates if idn is None]
            if without_id:
                person.db_id = without_id[0]
                person.changes["id_number"] = person.id_number
                if person.district:
                    person.changes["district"] = person.district
        elif candidates:
            person.db_id = candidates[0][0]
    return persons


def _unique_people(persons: dict[tuple[str, ...], _Person]) -> list[_Person]:
    return list({id(p): p for p in persons.values()}.values())


_PERSON_COLS = ("name", "phone", "id_number", "district", "created_at")


def _write_persons(
    conn: Connection, bulk: _Bulk, persons: dict[tuple[str, ...], _Person], now: datetime
) -> None:
    people = _unique_people(persons)
    pt = _PERSON_T
    with_id = [p for p in people if p.db_id is None and p.id_number]
    without_id = [p for p in people if p.db_id is None and not p.id_number]
    for part in _chunks(with_id):
        bulk.insert(
            pt, _PERSON_COLS, [(p.name, p.phone, p.id_number, p.district, now) for p in part]
        )
        by_id = {p.id_number: p for p in part}
        for id_number, pid in _select_in(
            conn, "SELECT id_number, id FROM person WHERE id_number {IN}", list(by_id)
        ):
            by_id[id_number].db_id = pid
    # Persons without an ID number are new only when no person had their (phone, name) (see
    # _resolve_persons), so the newest such row per (phone, name) is the one just inserted.
    for part in _chunks(without_id):
        bulk.insert(pt, _PERSON_COLS, [(p.name, p.phone, None, p.district, now) for p in part])
        wanted = {(p.phone, p.name): p for p in part}
        for phone, name, pid in _select_in(
            conn,
            "SELECT phone, name, id FROM person WHERE phone {IN} AND id_number IS NULL ORDER BY id",
            list({p.phone for p in part}),
        ):
            if (phone, name) in wanted:
                wanted[(phone, name)].db_id = pid
    by_fields: dict[tuple[str, ...], list[dict[str, Any]]] = defaultdict(list)
    for p in people:
        if p.changes and p.db_id is not None:
            by_fields[tuple(sorted(p.changes))].append({"_pid": p.db_id, **p.changes})
    for fields, params in by_fields.items():
        stmt_u = (
            update(pt).where(pt.c.id == bindparam("_pid")).values({f: bindparam(f) for f in fields})
        )
        for upart in _chunks(params):
            conn.execute(stmt_u, list(upart))


_LOAN_COLS = (
    "loan_no", "borrower_id", "amount_fen", "annual_rate", "disbursed_on", "term_months",
    "maturity_on", "repayment_method", "subsidy_kind", "bank", "district", "status",
    "created_at", "updated_at", "base_rate",
)  # fmt: skip


def _loan_values(loan: _LoanIn, borrower_id: int) -> dict[str, Any]:
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


def _write_loans(
    conn: Connection,
    bulk: _Bulk,
    part: Sequence[_LoanIn],
    existing: dict[str, _ExistingLoan],
    persons: dict[tuple[str, ...], _Person],
    new_schedule: dict[str, ScheduleColumns],
    now: datetime,
) -> tuple[dict[str, int], set[str]]:
    """Insert new loans and update changed ones; returns created loan_no→id, updated loan_nos."""
    lt = _LOAN_T
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
            _select_in(
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
        current = {
            "borrower_id": ex.borrower_id,
            "amount_fen": ex.amount_fen,
            "annual_rate": ex.rate,
            "disbursed_on": ex.disbursed_on,
            "term_months": ex.term,
            "repayment_method": ex.method,
            "subsidy_kind": ex.subsidy,
            "base_rate": ex.base_rate,
            "bank": ex.bank,
            "district": ex.district,
        }
        if {k: v for k, v in values.items() if k != "maturity_on"} != current:
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


def _borrower_id(persons: dict[tuple[str, ...], _Person], loan: _LoanIn) -> int:
    pid = persons[("id", loan.id_number)].db_id
    assert pid is not None
    return pid


def _guarantor_person(persons: dict[tuple[str, ...], _Person], loan: _LoanIn) -> _Person | None:
    if loan.g_name is None:
        return None
    if loan.g_id is not None:
        return persons[("id", loan.g_id)]
    assert loan.g_phone is not None
    return persons[("phone", loan.g_phone, loan.g_name)]


def _replace_schedule(
    conn: Connection,
    bulk: _Bulk,
    loan_id: int,
    plan: ScheduleColumns,
) -> None:
    """Rewrite an unpaid loan's schedule in place: update by seq, insert more, delete extra."""
    it = _INST_T
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
            update(_NOTICE_T)
            .where(_NOTICE_T.c.installment_id.in_(doomed))
            .values(installment_id=None)
        )
        conn.execute(sa.delete(it).where(it.c.loan_id == loan_id, it.c.seq > len(rows)))


def _write_guarantors(
    conn: Connection,
    bulk: _Bulk,
    part: Sequence[_LoanIn],
    existing: dict[str, _ExistingLoan],
    created: dict[str, int],
    persons: dict[tuple[str, ...], _Person],
) -> set[int]:
    """Add or update the counter-guarantor of each row; returns the rows that changed."""
    gt = _GUAR_T
    wanted: dict[int, tuple[_LoanIn, int]] = {}
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
    for r in _select_in(
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


@dataclass(slots=True)
class _PaymentIn:
    row: int
    loan_no: str
    paid_on: date
    amount_fen: int
    reference: str


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
    errors = report.errors
    sheet = _read_sheet(path, PAYMENT_COLUMNS, PAYMENTS_SHEET, errors, limits)
    if sheet is None:
        return report
    report.rows = len(sheet.rows)
    if progress:
        progress(0, report.rows)
    row_errors: dict[int, list[RowError]] = defaultdict(list)
    payments: list[_PaymentIn] = []
    for number, values in sheet.rows:
        r = _RowReader(sheet, number, values)
        loan_no = r.text("loan_no", 64)
        if is_template_example(loan_no):
            r.error("loan_no", EXAMPLE_ROW_ERROR)
        paid_on = r.get("paid_on", _parse_date)
        amount = r.get("amount_yuan", _parse_fen)
        reference = r.text("reference", 64)
        if r.errors:
            row_errors[number].extend(r.errors)
            continue
        assert loan_no and paid_on and reference
        payments.append(_PaymentIn(number, loan_no, paid_on, amount, reference))

    conn = session.connection()
    lt, pt = _LOAN_T, _PAY_T
    loans: dict[str, tuple[int, date, str]] = {
        r[0]: (r[1], _as_date(r[2]), r[3])
        for r in _select_in(
            conn,
            "SELECT loan_no, id, disbursed_on, status FROM loan WHERE loan_no {IN}",
            [p.loan_no for p in payments],
        )
    }
    recorded: dict[tuple[int, str], tuple[date, int]] = {
        (r[0], r[1]): (_as_date(r[2]), r[3])
        for r in _select_in(
            conn,
            "SELECT loan_id, reference, paid_on, amount_fen FROM payment WHERE loan_id {IN}",
            [v[0] for v in loans.values()],
        )
    }
    in_file: dict[tuple[str, str], _PaymentIn] = {}
    fresh: list[_PaymentIn] = []
    duplicates = 0
    for p in payments:
        col_loan, col_ref = sheet.headers["loan_no"], sheet.headers["reference"]
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
    errors.extend(e for n in sorted(row_errors) for e in row_errors[n])
    if errors and not skip_bad_rows:
        return report
    report.skipped = len(row_errors)
    report.unchanged = duplicates

    now = utcnow()
    by_loan: dict[int, list[_PaymentIn]] = defaultdict(list)
    for p in fresh:
        by_loan[loans[p.loan_no][0]].append(p)
    loan_ids = list(by_loan)
    bulk = _Bulk(conn)
    done = 0
    for part in _chunks(loan_ids):
        settled, warnings, closed = _apply_payments(
            conn, {lid: by_loan[lid] for lid in part}, sheet.file
        )
        report.installments_settled += settled
        report.warnings.extend(warnings)
        if closed:
            conn.execute(
                update(lt)
                .where(lt.c.id.in_(closed), lt.c.status == "active")
                .values(status="closed", updated_at=now)
            )
        bulk.insert(
            pt,
            ("loan_id", "paid_on", "amount_fen", "reference", "created_at"),
            [
                (lid, p.paid_on, p.amount_fen, p.reference, now)
                for lid in part
                for p in by_loan[lid]
            ],
        )
        done += sum(len(by_loan[lid]) for lid in part)
        if progress:
            progress(done, report.rows)
    report.payments_applied = len(fresh)
    report.created = len(fresh)
    report.imported = True
    session.add(
        AuditEventRow(
            actor=actor,
            action="payments.import",
            object_type="payment_import",
            object_id=path.name[:64],
            after={"file": path.name, **report.counts()},
        )
    )
    if progress:
        progress(report.rows, report.rows)
    return report


def _apply_payments(
    conn: Connection, payments: dict[int, list[_PaymentIn]], file: str
) -> tuple[int, list[RowError], list[int]]:
    """Allocate payments to the earliest unpaid instalments of their loans."""
    it = _INST_T
    unpaid: dict[int, list[list[Any]]] = defaultdict(list)
    for r in conn.execute(
        select(it.c.loan_id, it.c.id, it.c.principal_fen, it.c.borrower_interest_fen, it.c.paid_fen)
        .where(it.c.loan_id.in_(list(payments)), it.c.paid == sa.false())
        .order_by(it.c.loan_id, it.c.seq)
    ):
        unpaid[r[0]].append([r[1], r[2] + r[3], r[4], None])  # id, owed, paid_fen, paid_on
    changes: list[dict[str, Any]] = []
    warnings: list[RowError] = []
    closed: list[int] = []
    settled = 0
    for loan_id, items in payments.items():
        queue = unpaid.get(loan_id, [])
        touched: set[int] = set()
        pos = 0
        for p in sorted(items, key=lambda x: (x.paid_on, x.row)):
            left = p.amount_fen
            while left > 0 and pos < len(queue):
                inst = queue[pos]
                take = min(inst[1] - inst[2], left)
                inst[2] += take
                left -= take
                touched.add(pos)
                if inst[2] >= inst[1]:
                    inst[3] = p.paid_on
                    pos += 1
            if left > 0:
                warnings.append(
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
            settled += paid
            changes.append({"_iid": inst[0], "paid_fen": inst[2], "paid": paid, "paid_on": inst[3]})
        if queue and pos >= len(queue):
            closed.append(loan_id)
    if changes:
        conn.execute(
            update(it)
            .where(it.c.id == bindparam("_iid"))
            .values(
                paid_fen=bindparam("paid_fen"), paid=bindparam("paid"), paid_on=bindparam("paid_on")
            ),
            changes,
        )
    return settled, warnings, closed


# --- template --------------------------------------------------------------------------------


_EXAMPLE_LOAN_NO = "示例-2026-0001"


def _example_id() -> str:
    first17 = "62010219900101123"
    from core.identity import id_check_digit

    return first17 + id_check_digit(first17)


def write_template(path: str | Path) -> Path:
    """Write the canonical import workbook: sheets 贷款, 还款计划 (optional), 还款记录, 说明."""
    from openpyxl import Workbook
    from openpyxl.comments import Comment
    from openpyxl.styles import Font, PatternFill

    path = Path(path)
    wb = Workbook()
    bold = Font(bold=True)
    required_fill = PatternFill("solid", fgColor="FFF2CC")
    optional_fill = PatternFill("solid", fgColor="E2EFDA")
    hints = {
        "loan_no": "借款合同号，全表唯一；再次导入同一编号会更新该笔贷款",
        "borrower_phone": "11位手机号，可带+86",
        "id_number": "18位身份证号（请设为文本格式，避免 Excel 改成科学计数法）",
        "amount_yuan": "单位：元，最多两位小数",
        "annual_rate": "如 4.35% 或 0.0435 或 4.35（大于1按百分数理解）",
        "disbursed_on": "如 2026-01-05、2026/1/5 或 2026年1月5日",
        "term_months": "整数月数，如 24",
        "repayment_method": "等额本金 / 按季付息、到期还本 / 等额本息",
        "subsidy_kind": "个人全额贴息（微利项目）/ 个人非微利项目不贴息 / 按实际利率50%贴息 / "
        "企业50%贴息 / 无贴息",
        "base_rate": "企业50%贴息必填：放款时的基准年利率，如 4.75%（第二十条按基准利率计息的50%贴息）",
        "counter_guarantor_name": "无反担保人时本行反担保人各列留空",
    }

    def header(ws: Any, columns: Sequence[Column]) -> None:
        for idx, col in enumerate(columns, start=1):
            cell = ws.cell(row=1, column=idx, value=col.label)
            cell.font = bold
            cell.fill = required_fill if col.required else optional_fill
            if col.field in hints and ws.title == LOANS_SHEET:
                cell.comment = Comment(hints[col.field], "chuangdai")
            ws.column_dimensions[cell.column_letter].width = max(12, len(col.label) * 2 + 4)

    loan_cols = [c for c in LOAN_COLUMNS if c.field != "note"]
    ws = wb.active
    ws.title = LOANS_SHEET
    header(ws, loan_cols)
    example = {
        "loan_no": _EXAMPLE_LOAN_NO,
        "borrower_name": "张三（示例）",
        "borrower_phone": "13800138000",
        "id_number": _example_id(),
        "amount_yuan": 50000,
        "annual_rate": "4.35%",
        "disbursed_on": date(2026, 1, 5),
        "term_months": 24,
        "repayment_method": METHOD_LABELS["equal_principal"],
        "subsidy_kind": SUBSIDY_LABELS["individual_full"],
        "counter_guarantor_name": "李四（示例）",
        "counter_guarantor_phone": "13900139000",
        "counter_guarantor_employer": "兰州市某某小学",
        "district": "城关区",
        "bank": "某某银行城关支行",
        "counter_guarantor_employer_contact": "王老师",
        "counter_guarantor_employer_phone": "0931-8888888",
        "counter_guarantor_id_number": "",
    }
    for idx, col in enumerate(loan_cols, start=1):
        cell = ws.cell(row=2, column=idx, value=example.get(col.field) or None)
        if col.field in (
            "id_number",
            "borrower_phone",
            "counter_guarantor_phone",
            "counter_guarantor_id_number",
            "counter_guarantor_employer_phone",
            "loan_no",
        ):
            cell.number_format = "@"
        if isinstance(cell.value, date):
            cell.number_format = "yyyy-mm-dd"
    ws.freeze_panes = "A2"

    plan = schedule_rows(
        5_000_000, Decimal("0.0435"), date(2026, 1, 5), 24, "equal_principal", "individual_full"
    )
    ws2 = wb.create_sheet(INSTALLMENTS_SHEET)
    header(ws2, [c for c in INSTALLMENT_COLUMNS if c.field != "note"])
    for seq, due, principal, interest, _b in plan:
        ws2.append([_EXAMPLE_LOAN_NO, seq, due, fen_to_yuan(principal), fen_to_yuan(interest)])
        ws2.cell(row=ws2.max_row, column=3).number_format = "yyyy-mm-dd"
    ws2.freeze_panes = "A2"

    ws3 = wb.create_sheet(PAYMENTS_SHEET)
    header(ws3, [c for c in PAYMENT_COLUMNS if c.field != "note"])
    first = plan[0]
    ws3.append([_EXAMPLE_LOAN_NO, first[1], fen_to_yuan(first[2] + first[4]), "示例流水号0001"])
    ws3.cell(row=2, column=2).number_format = "yyyy-mm-dd"
    ws3.freeze_panes = "A2"

    ws4 = wb.create_sheet("说明")
    lines = [
        "创业担保贷款导入模板说明",
        "1. “贷款”表：每行一笔贷款，黄色列为必填列（反担保人各列在无反担保人时可留空），绿色列可选。",
        "2. 示例行（贷款编号以“示例”开头的行）不会被导入，导入时会报错：请先删除示例行。",
        "3. 还款方式：等额本金、按季付息、到期还本、等额本息；贴息类型："
        + "、".join(SUBSIDY_LABELS.values())
        + "（个人全额贴息仅限担保机构认定的微利项目）。企业50%贴息须填写“基准利率”列。",
        "4. “还款计划”表可选：不提供时系统按还款方式自动生成；提供时各期本金合计须等于贷款金额。",
        "5. “还款记录”表用于登记还款：同一流水号重复导入不会重复记账。",
        "6. 任一行有错误时整个文件不导入（可在命令行加 --skip-bad-rows 跳过错误行）。",
        "7. 身份证号、手机号请设置为文本格式。支持 .xlsx 和 CSV（UTF-8 或 GBK 编码）。",
    ]
    for line in lines:
        ws4.append([line])
    ws4["A1"].font = bold
    ws4.column_dimensions["A"].width = 100
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path
