"""XLSX exports of the staff lists as filtered (loans, overdue loans, applications, notices, the
audit log): `GET /api/staff/<list>/export.xlsx?<the list's filters>` and the console's 导出Excel.

One openpyxl write-only workbook per export, written row by row to a file object (the doors
stream it): Chinese headers, money as numbers (Decimal yuan from integer fen, format '0.00'),
dates as dates, times in Asia/Shanghai, every code as its label (core/kernel/labels.py), ID
numbers masked and phones masked unless the caller may see them. A text cell that a spreadsheet
would read as a formula (= + - @, tab, CR) is written with a leading apostrophe. At most
`MAX_ROWS` rows (a last row says so). Each export is audited: who, which list, the filters, how
many rows."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import IO, Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from core.kernel.errors import Invalid
from core.kernel.identity import format_phone, mask_id_number
from core.kernel.labels import label, labels
from core.kernel.money import fen_to_yuan
from core.kernel.timeutil import local_today, to_local
from core.loans.status import days_overdue, overdue_clause
from core.persistence.audit import audit
from core.persistence.models import (
    CounterGuarantorRow,
    InstallmentRow,
    LoanRow,
    NoticeRow,
    PersonRow,
)
from core.persistence.sql import table
from core.staff import queries as bo
from core.staff import search as find

MAX_ROWS = 50_000
CHUNK = 500
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

#: list → the query parameters it takes (those of its list route; others are ignored)
FILTERS: dict[str, tuple[str, ...]] = {
    "loans": ("q", "status", "district", "overdue", "overdue_days"),
    "overdue": ("q", "district", "overdue_days"),
    "applications": ("q", "stage", "district", "applicant_type"),
    "notices": ("q", "status", "kind", "channel"),
    "audit": ("actor", "action"),
}
ADMIN_ONLY = frozenset({"audit"})


@dataclass(frozen=True)
class Col:
    header: str
    kind: str = "text"  # text | money | date | datetime | int | number


@dataclass(frozen=True)
class Table:
    title: str
    columns: tuple[Col, ...]
    rows: Iterator[list[Any]]


def safe_text(value: str) -> str:
    """A text cell no spreadsheet reads as a formula (OWASP CSV injection)."""
    return "'" + value if value.startswith(_FORMULA_START) else value


def _cell(ws: Any, value: Any, kind: str) -> Any:
    from openpyxl.cell import WriteOnlyCell

    if value is None or value == "":
        return None
    if kind == "money":
        cell = WriteOnlyCell(ws, value=fen_to_yuan(int(value)))
        cell.number_format = "0.00"
    elif kind == "date":
        cell = WriteOnlyCell(ws, value=value)
        cell.number_format = "yyyy-mm-dd"
    elif kind == "datetime":
        local = to_local(value).replace(tzinfo=None)
        cell = WriteOnlyCell(ws, value=local)
        cell.number_format = "yyyy-mm-dd hh:mm"
    elif kind in ("int", "number"):
        cell = WriteOnlyCell(ws, value=value)
    else:
        cell = WriteOnlyCell(ws, value=safe_text(str(value)))
    return cell


def write_xlsx(table: Table, out: IO[bytes], max_rows: int = MAX_ROWS) -> int:
    """Write `table` as a one-sheet workbook to `out`; returns the rows written."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(table.title)
    for idx, c in enumerate(table.columns):
        ws.column_dimensions[_letter(idx)].width = max(10, len(c.header) * 2 + 2)
    ws.freeze_panes = "A2"
    bold = Font(bold=True)
    header = []
    for c in table.columns:
        cell = WriteOnlyCell(ws, value=c.header)
        cell.font = bold
        header.append(cell)
    ws.append(header)
    n = 0
    for row in table.rows:
        if n >= max_rows:
            ws.append([f"仅导出前 {max_rows} 条，请缩小筛选范围后分批导出"])
            break
        ws.append([_cell(ws, v, c.kind) for v, c in zip(row, table.columns, strict=True)])
        n += 1
    wb.save(out)
    return n


def _letter(idx: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(idx + 1)


# --- the lists ------------------------------------------------------------------------------------


def _pages(fetch: Callable[[int, int], bo.Page]) -> Iterator[Any]:
    offset = 0
    while True:
        page = fetch(CHUNK, offset)
        yield from page.items
        if not page.has_next:
            return
        offset += CHUNK


def _people(session: Session, ids: set[int]) -> dict[int, PersonRow]:
    if not ids:
        return {}
    rows = session.exec(select(PersonRow).where(col(PersonRow.id).in_(ids)))
    return {int(p.id or 0): p for p in rows}


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


@dataclass(frozen=True)
class _Ctx:
    session: Session
    filters: Mapping[str, str]
    full_phones: bool

    def get(self, name: str) -> str | None:
        return (self.filters.get(name) or "").strip() or None

    def phone(self, value: str | None) -> str:
        return format_phone(value, masked=not self.full_phones)


_LOAN_COLS = (
    Col("贷款编号"),
    Col("借款人"),
    Col("手机号"),
    Col("身份证号"),
    Col("贷款金额（元）", "money"),
    Col("年利率"),
    Col("放款日", "date"),
    Col("期限（月）", "int"),
    Col("到期日", "date"),
    Col("还款方式"),
    Col("贴息类型"),
    Col("状态"),
    Col("经办银行"),
    Col("区县"),
    Col("最早逾期应还日", "date"),
    Col("逾期天数", "int"),
)


def _loan_items(c: _Ctx, overdue_only: bool) -> Iterator[list[bo.LoanListItem]]:
    search = find.parse(c.get("q"))

    def fetch(limit: int, offset: int) -> bo.Page:
        return bo.list_loans(
            c.session, status=None if overdue_only else c.get("status"),
            district=c.get("district"), search=search,
            overdue_only=overdue_only or _flag(c.get("overdue")),
            overdue_days=c.get("overdue_days"), limit=limit, offset=offset,
        )  # fmt: skip

    batch: list[bo.LoanListItem] = []
    for item in _pages(fetch):
        batch.append(item)
        if len(batch) == CHUNK:
            yield batch
            batch = []
    if batch:
        yield batch


def _loan_rows(c: _Ctx) -> Iterator[list[Any]]:
    today = local_today()
    for batch in _loan_items(c, overdue_only=False):
        people = _people(c.session, {i.loan.borrower_id for i in batch})
        for i in batch:
            ln, p = i.loan, people.get(i.loan.borrower_id)
            since = i.overdue_since
            yield [
                ln.loan_no, i.borrower_name, c.phone(p.phone if p else None),
                mask_id_number(p.id_number if p else None), ln.amount_fen,
                f"{Decimal(ln.annual_rate) * 100:.2f}%", ln.disbursed_on, ln.term_months,
                ln.maturity_on, label("repayment_method", ln.repayment_method),
                label("subsidy_kind", ln.subsidy_kind), label("loan_status", ln.status),
                ln.bank, ln.district, since, days_overdue(since, today) if since else None,
            ]  # fmt: skip


_OVERDUE_COLS = (
    Col("贷款编号"),
    Col("借款人"),
    Col("手机号"),
    Col("区县"),
    Col("经办银行"),
    Col("最早逾期应还日", "date"),
    Col("逾期天数", "int"),
    Col("逾期金额（元）", "money"),
    Col("逾期期数", "int"),
    Col("反担保人"),
    Col("反担保人电话"),
)


def _overdue_amounts(session: Session, loan_ids: list[int]) -> dict[int, tuple[int, int]]:
    """loan id → (amount overdue in fen, overdue instalments), by core.loans.status's definition."""
    i = table(InstallmentRow)
    due_left = i.c.principal_fen + i.c.borrower_interest_fen - i.c.paid_fen
    rows = session.execute(
        sa.select(i.c.loan_id, sa.func.sum(due_left), sa.func.count())
        .where(i.c.loan_id.in_(loan_ids), overdue_clause(i, local_today()))
        .group_by(i.c.loan_id)
    )
    return {int(lid): (int(amount or 0), int(n)) for lid, amount, n in rows}


def _guarantors(session: Session, loan_ids: list[int]) -> dict[int, list[PersonRow]]:
    out: dict[int, list[PersonRow]] = {}
    for g, p in session.exec(
        select(CounterGuarantorRow, PersonRow)
        .join(PersonRow, col(PersonRow.id) == col(CounterGuarantorRow.person_id))
        .where(col(CounterGuarantorRow.loan_id).in_(loan_ids))
        .order_by(col(CounterGuarantorRow.id))
    ).all():
        out.setdefault(g.loan_id, []).append(p)
    return out


def _overdue_rows(c: _Ctx) -> Iterator[list[Any]]:
    today = local_today()
    for batch in _loan_items(c, overdue_only=True):
        ids = [int(i.loan.id or 0) for i in batch]
        people = _people(c.session, {i.loan.borrower_id for i in batch})
        amounts, guarantors = _overdue_amounts(c.session, ids), _guarantors(c.session, ids)
        for i in batch:
            ln, p = i.loan, people.get(i.loan.borrower_id)
            amount, count = amounts.get(int(ln.id or 0), (0, 0))
            gs = guarantors.get(int(ln.id or 0), [])
            yield [
                ln.loan_no, i.borrower_name, c.phone(p.phone if p else None), ln.district,
                ln.bank, i.overdue_since,
                days_overdue(i.overdue_since, today) if i.overdue_since else None, amount, count,
                "、".join(g.name for g in gs), "、".join(c.phone(g.phone) for g in gs if g.phone),
            ]  # fmt: skip


_APPLICATION_COLS = (
    Col("申请编号", "int"),
    Col("申请人"),
    Col("手机号"),
    Col("身份证号"),
    Col("申请类型"),
    Col("人员类别"),
    Col("区县"),
    Col("申请金额（元）", "money"),
    Col("期限（月）", "int"),
    Col("经营项目"),
    Col("经营地址"),
    Col("开业时间"),
    Col("企业名称"),
    Col("合伙人"),
    Col("阶段"),
    Col("进入阶段时间", "datetime"),
    Col("创建时间", "datetime"),
    Col("政策"),
)


def _application_rows(c: _Ctx) -> Iterator[list[Any]]:
    search = find.parse(c.get("q"))

    def fetch(limit: int, offset: int) -> bo.Page:
        return bo.list_applications(
            c.session, stage=c.get("stage"), district=c.get("district"),
            applicant_type=c.get("applicant_type"), search=search, limit=limit, offset=offset,
        )  # fmt: skip

    for item in _pages(fetch):
        a = item.app
        p = c.session.get(PersonRow, a.person_id) if a.person_id else None
        profile = a.profile or {}
        yield [
            a.id, item.person_name or profile.get("applicant_name"),
            c.phone(p.phone if p else None), mask_id_number(p.id_number if p else None),
            label("applicant_type", a.applicant_type),
            label("category", a.category) if a.category else None, a.district,
            a.requested_amount_fen, a.requested_term_months, a.business_type,
            a.business_address, a.planned_start, a.company_name,
            "、".join(profile.get("member_names") or []), label("stage", a.stage),
            a.stage_changed_at, a.created_at, label("policy", a.policy),
        ]  # fmt: skip


_NOTICE_COLS = (
    Col("编号", "int"),
    Col("类型"),
    Col("渠道"),
    Col("收件人"),
    Col("对象"),
    Col("贷款编号"),
    Col("内容"),
    Col("状态"),
    Col("尝试次数", "int"),
    Col("失败原因"),
    Col("计划发送", "datetime"),
    Col("发出时间", "datetime"),
    Col("送达时间", "datetime"),
)


def _notice_rows(c: _Ctx) -> Iterator[list[Any]]:
    search = find.parse(c.get("q"))

    def fetch(limit: int, offset: int) -> bo.Page:
        return bo.list_notices(
            c.session, status=c.get("status"), kind=c.get("kind"), channel=c.get("channel"),
            search=search, limit=limit, offset=offset,
        )  # fmt: skip

    loan_nos: dict[int, str] = {}
    for n in _pages(fetch):
        assert isinstance(n, NoticeRow)
        if n.loan_id is not None and n.loan_id not in loan_nos:
            loan = c.session.get(LoanRow, n.loan_id)
            loan_nos[n.loan_id] = loan.loan_no if loan else ""
        address = c.phone(n.address) if n.channel == "sms" else n.address
        yield [
            n.id, label("notice_kind", n.kind), label("channel", n.channel), address,
            label("recipient", n.recipient_role) if n.recipient_role else None,
            loan_nos.get(n.loan_id) if n.loan_id is not None else None, n.text,
            label("notice_status", n.status), n.attempts, n.last_error, n.send_after,
            n.sent_at, n.delivered_at,
        ]  # fmt: skip


_AUDIT_COLS = (
    Col("编号", "int"),
    Col("时间", "datetime"),
    Col("操作人"),
    Col("操作"),
    Col("对象"),
    Col("对象编号"),
    Col("变更前"),
    Col("变更后"),
)


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False, default=str)


def _audit_rows(c: _Ctx) -> Iterator[list[Any]]:
    def fetch(limit: int, offset: int) -> bo.Page:
        return bo.list_audit(
            c.session, actor=c.get("actor"), action=c.get("action"), limit=limit, offset=offset
        )

    for e in _pages(fetch):
        yield [
            e.id, e.at, e.actor, label("audit_action", e.action),
            label("object_type", e.object_type), e.object_id, _json(e.before), _json(e.after),
        ]  # fmt: skip


_TABLES: dict[str, tuple[tuple[Col, ...], Callable[[_Ctx], Iterator[list[Any]]]]] = {
    "loans": (_LOAN_COLS, _loan_rows),
    "overdue": (_OVERDUE_COLS, _overdue_rows),
    "applications": (_APPLICATION_COLS, _application_rows),
    "notices": (_NOTICE_COLS, _notice_rows),
    "audit": (_AUDIT_COLS, _audit_rows),
}


def filename(which: str, today: date | None = None) -> str:
    """'贷款-20261206.xlsx'."""
    return f"{label('export_list', which)}-{(today or local_today()):%Y%m%d}.xlsx"


def export_xlsx(
    session: Session,
    actor: str,
    which: str,
    params: Mapping[str, str],
    out: IO[bytes],
    *,
    full_phones: bool,
    max_rows: int = MAX_ROWS,
) -> int:
    """Write list `which` filtered by `params` (its list route's query parameters; others are
    ignored) as XLSX to `out`, audit the export, and return the rows written. Invalid for an
    unknown list or a bad filter (nothing written then)."""
    if which not in _TABLES:
        raise Invalid(f"没有名为 {which} 的列表可以导出")
    filters = {k: str(params[k]) for k in FILTERS[which] if params.get(k) not in (None, "")}
    find.parse(filters.get("q"))  # bad filters are refused before anything is written
    if filters.get("overdue_days", "1-30") not in labels("overdue_bucket"):
        raise Invalid("逾期天数只能是 1-30、31-90 或 90+")
    columns, rows = _TABLES[which]
    ctx = _Ctx(session, filters, full_phones)
    n = write_xlsx(Table(label("export_list", which), columns, rows(ctx)), out, max_rows)
    audit(
        session, actor, "export.xlsx", "export", which,
        after={"list": which, "filters": _masked(filters), "rows": n},
    )  # fmt: skip
    return n


def _masked(filters: Mapping[str, str]) -> dict[str, str]:
    search = find.parse(filters.get("q"))
    out = dict(filters)
    if search is not None:
        out["q"] = search.masked()
    return out
