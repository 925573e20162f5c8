"""The console's loan page (issue 11): statuses from core.loans.status, landlines marked for staff,
the dashboard's per-bank leverage table."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from core.loans.importing import import_loans
from core.persistence.db import session_scope
from core.persistence.models import LoanRow
from server.app import create_app
from server.bootstrap import Container
from tests.staff_seed import console_login, make_container, seed

HEADER = (
    "贷款编号,借款人姓名,借款人手机,身份证号,贷款金额(元),年利率,放款日期,期限(月),还款方式,"
    "贴息类型,反担保人姓名,反担保人电话,反担保人工作单位,所属区县,经办银行"
)
ROW = (
    "LAND-0001,张建国,13893100001,620102198503150116,50000,4.35%,2026-01-05,24,按季付息、到期还本,"
    "个人全额贴息,李明,0931-8812345,,城关区,兰州银行"
)


@pytest.fixture
def client(db_url: str, tmp_path: Path) -> Iterator[tuple[TestClient, Container]]:
    container = make_container(db_url, tmp_path)
    seed(container.engine, container.settings.documents_path)
    app = create_app(container, migrate=False)
    with TestClient(app) as c:
        yield c, container
    container.engine.dispose()


def test_loan_page_marks_landlines_and_uses_one_status(
    client: tuple[TestClient, Container], tmp_path: Path
) -> None:
    c, container = client
    path = tmp_path / "land.csv"
    path.write_text(f"{HEADER}\n{ROW}\n", encoding="utf-8")
    with session_scope(container.engine) as s:
        report = import_loans(s, path)
    assert report.imported and report.landline_phones == 1
    with Session(container.engine) as s:
        loan = s.exec(select(LoanRow).where(LoanRow.loan_no == "LAND-0001")).one()
    console_login(c, "admin1")
    page = c.get(f"/console/loans/{loan.id}").text
    assert "09318812345（固定电话，不发短信）" in page  # shown as staff dial it
    # fully subsidised interest-only instalments owe nothing: never shown as 逾期
    assert "无需还款（贴息后应还为0）" in page and '<strong class="warn">逾期</strong>' not in page
    dash = c.get("/console/dashboard").text
    assert "担保基金放大倍数（按经办银行）" in dash and "兰州银行" in dash
