"""XLSX exports of the staff lists as filtered, opened with openpyxl: Chinese headers, money as
numbers with two decimals, dates as dates, formula-looking text escaped, filters applied, a row
cap, audited; and the import template offered for download."""

from __future__ import annotations

import io
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlmodel import Session

from core.kernel.timeutil import local_today
from core.persistence.models import CounterGuarantorRow, LoanRow, PersonRow
from core.staff import exports
from server.bootstrap import Container
from tests.integration import test_staff_api as staff_api
from tests.staff_seed import World

Served = tuple[TestClient, Container, World]
served = staff_api.served  # the staff API's fixture (the seeded world behind a TestClient)
audits, bearer = staff_api.audits, staff_api.bearer


def _sheet(data: bytes) -> tuple[list[str], list[tuple[Any, ...]], Any]:
    ws = load_workbook(io.BytesIO(data)).active
    assert ws is not None
    rows = list(ws.iter_rows(values_only=True))
    return [str(h) for h in rows[0]], rows[1:], ws


def _get(client: TestClient, world: World, who: str, path: str, **params: Any) -> bytes:
    r = client.get(path, params=params, headers=bearer(world, who))
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert "attachment" in r.headers["content-disposition"]
    return r.content


def _evil_names(container: Container, world: World) -> None:
    with Session(container.engine) as s:
        p = s.get(PersonRow, world.phone_person)
        assert p is not None
        p.name = '=HYPERLINK("http://x")'
        g = PersonRow(name="@SUM(1)", phone="+8613993109876")
        s.add(g)
        s.flush()
        assert g.id is not None
        s.add(CounterGuarantorRow(loan_id=world.overdue_loan, person_id=g.id))
        loan = s.get(LoanRow, world.current_loan)
        assert loan is not None
        loan.bank = "-1+2"
        s.commit()


def test_loans_export_has_chinese_headers_numbers_dates_and_escapes(served: Served) -> None:
    client, container, w = served
    _evil_names(container, w)
    headers, rows, ws = _sheet(_get(client, w, "alice", "/api/staff/loans/export.xlsx"))
    assert headers[:5] == ["贷款编号", "借款人", "手机号", "身份证号", "贷款金额（元）"]
    assert "逾期天数" in headers and "还款方式" in headers
    by_no = {r[0]: dict(zip(headers, r, strict=True)) for r in rows}
    assert set(by_no) == {"LZ-S-0001", "LZ-S-0002"}
    overdue = by_no["LZ-S-0001"]
    assert overdue["借款人"] == '\'=HYPERLINK("http://x")'  # text, never a formula
    assert by_no["LZ-S-0002"]["经办银行"] == "'-1+2"
    assert overdue["贷款金额（元）"] == 50000 and isinstance(
        overdue["贷款金额（元）"], (int, float)
    )
    assert overdue["手机号"] == "138 9310 0002"  # officers see whole phones
    assert overdue["还款方式"] == "等额本金" and overdue["状态"] == "在贷"
    assert isinstance(overdue["放款日"], datetime)  # a real date cell
    assert overdue["放款日"].date() == local_today() - timedelta(days=200)
    assert overdue["逾期天数"] == 40
    money = ws.cell(row=2, column=headers.index("贷款金额（元）") + 1)
    assert money.number_format == "0.00" and money.data_type == "n"
    day = ws.cell(row=2, column=headers.index("放款日") + 1)
    assert day.is_date and day.number_format == "yyyy-mm-dd"
    for row in ws.iter_rows(min_row=2):
        assert all(c.data_type != "f" for c in row)  # no formula anywhere


def test_export_follows_the_list_filters_and_masks_for_viewers(served: Served) -> None:
    client, _, w = served
    _, rows, _ = _sheet(_get(client, w, "vera", "/api/staff/loans/export.xlsx", q="王秀兰"))
    assert [r[0] for r in rows] == ["LZ-S-0001"]
    assert rows[0][2] == "138 **** 0002"  # viewers see phones masked
    _, rows, _ = _sheet(
        _get(client, w, "vera", "/api/staff/loans/export.xlsx", overdue_days="1-30")
    )
    assert rows == []
    _, rows, _ = _sheet(
        _get(client, w, "vera", "/api/staff/loans/export.xlsx", district="城关区", limit="1")
    )
    assert [r[0] for r in rows] == ["LZ-S-0002"]
    bad = client.get(
        "/api/staff/loans/export.xlsx", params={"q": "\x00"}, headers=bearer(w, "vera")
    )
    assert bad.status_code == 422 and "搜索内容" in bad.json()["detail"]
    bad = client.get(
        "/api/staff/loans/export.xlsx", params={"overdue_days": "5"}, headers=bearer(w, "vera")
    )
    assert bad.status_code == 422
    assert (
        client.get("/api/staff/nothing/export.xlsx", headers=bearer(w, "vera")).status_code == 422
    )
    assert client.get("/api/staff/loans/export.xlsx").status_code == 401


def test_overdue_export_has_days_amounts_and_guarantors(served: Served) -> None:
    client, container, w = served
    _evil_names(container, w)
    headers, rows, _ = _sheet(_get(client, w, "alice", "/api/staff/overdue/export.xlsx"))
    assert headers == [c.header for c in exports._OVERDUE_COLS]
    assert len(rows) == 1
    row = dict(zip(headers, rows[0], strict=True))
    assert row["贷款编号"] == "LZ-S-0001" and row["逾期天数"] == 40 and row["逾期期数"] == 1
    assert Decimal(str(row["逾期金额（元）"])) == Decimal("20000.00")
    assert row["反担保人"] == "'@SUM(1)" and row["反担保人电话"] == "139 9310 9876"
    assert isinstance(row["最早逾期应还日"], datetime)


def test_applications_export_has_the_intake_fields(served: Served) -> None:
    client, _, w = served
    headers, rows, _ = _sheet(_get(client, w, "alice", "/api/staff/applications/export.xlsx"))
    for h in (
        "申请人",
        "经营项目",
        "经营地址",
        "开业时间",
        "合伙人",
        "阶段",
        "政策",
        "申请金额（元）",
    ):
        assert h in headers
    row = dict(zip(headers, rows[0], strict=True))
    assert row["申请编号"] == w.app_id and row["申请人"] == "张建国"
    assert row["身份证号"] == "620102********0116" and row["阶段"] == "社区调查推荐"
    assert row["申请类型"] == "个人" and row["人员类别"] == "失业人员"
    assert row["申请金额（元）"] == 50000 and isinstance(row["创建时间"], datetime)
    _, none, _ = _sheet(
        _get(client, w, "alice", "/api/staff/applications/export.xlsx", stage="approved")
    )
    assert none == []


def test_notice_and_audit_exports_and_their_audit(served: Served) -> None:
    client, container, w = served
    client.post(
        f"/api/staff/handoff/{w.ticket_id}/reply",
        json={"text": "请回电"},
        headers=bearer(w, "alice"),
    )
    headers, rows, _ = _sheet(_get(client, w, "alice", "/api/staff/notices/export.xlsx"))
    row = dict(zip(headers, rows[0], strict=True))
    assert (
        row["类型"] == "人工回复"
        and row["渠道"] == "Telegram"
        and row["内容"] == "【工作人员回复】请回电"
    )
    assert row["状态"] == "待发送"
    assert client.get("/api/staff/audit/export.xlsx", headers=bearer(w, "alice")).status_code == 403
    headers, rows, _ = _sheet(_get(client, w, "admin1", "/api/staff/audit/export.xlsx"))
    assert headers[:4] == ["编号", "时间", "操作人", "操作"]
    assert any(r[3] == "导出Excel" for r in rows)
    done = audits(container, "export.xlsx")
    assert [(e.actor, e.object_id) for e in done] == [
        ("alice", "notices"),
        ("admin1", "audit"),
    ]
    assert done[0].after == {"list": "notices", "filters": {}, "rows": 1}


def test_export_audit_masks_the_query_and_caps_rows(served: Served) -> None:
    client, container, w = served
    _get(client, w, "vera", "/api/staff/loans/export.xlsx", q="13893100002", status="active")
    (event,) = audits(container, "export.xlsx")
    assert event.after == {
        "list": "loans",
        "filters": {"q": "+86138****0002", "status": "active"},
        "rows": 1,
    }
    out = io.BytesIO()
    with Session(container.engine) as s:
        n = exports.export_xlsx(s, "vera", "loans", {}, out, full_phones=False, max_rows=1)
        s.commit()
    assert n == 1
    _, rows, _ = _sheet(out.getvalue())
    assert len(rows) == 2 and "仅导出前 1 条" in str(rows[1][0])


def test_import_template_download(served: Served) -> None:
    client, _, w = served
    r = client.get("/api/staff/imports/template.xlsx", headers=bearer(w, "vera"))
    assert r.status_code == 200
    book = load_workbook(io.BytesIO(r.content))
    assert book.sheetnames[0] == "贷款" and "还款记录" in book.sheetnames
    assert exports.safe_text("\tx") == "'\tx" and exports.safe_text("a=b") == "a=b"
    assert exports.filename("overdue", date(2026, 12, 6)) == "逾期贷款-20261206.xlsx"
