"""Imports stay bounded: the declared XLSX size is ignored, rows and columns are capped with a
Chinese error, at most 200 errors are listed, uploads are measured while read, and a stopping
server abandons an import without writing anything."""

from __future__ import annotations

import csv
import io
import re
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from core.loans.importing import ImportLimitError, ImportLimits, import_loans
from core.loans.importing.limits import limited_rows
from core.persistence.db import session_scope
from tests.staff_seed import Served, serve_world

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "import"
HEADER = (FIXTURES / "loans_ok.csv").read_text(encoding="utf-8").splitlines()[0]


def declared_huge(path: Path) -> Path:
    """The fixture workbook with its dimension rewritten to the whole sheet (A1:XFD1048576)."""
    out = path.with_name("huge-dimension.xlsx")
    with zipfile.ZipFile(FIXTURES / "loans.xlsx") as src, zipfile.ZipFile(out, "w") as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename.startswith("xl/worksheets/sheet"):
                data = re.sub(rb'<dimension ref="[^"]*"', b'<dimension ref="A1:XFD1048576"', data)
            dst.writestr(item, data)
    return out


@pytest.mark.timeout(60)  # before the fix this took about 15 minutes of one core
def test_a_declared_dimension_of_the_whole_sheet_is_ignored(engine, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    with session_scope(engine) as s:
        report = import_loans(s, declared_huge(tmp_path))
    assert report.imported and report.rows == 2, report.errors


def _csv(tmp_path: Path, rows: list[str], name: str = "loans.csv") -> Path:
    path = tmp_path / name
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    return path


def test_rows_and_columns_beyond_the_caps_are_a_clear_chinese_error(engine, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    good = (FIXTURES / "loans_ok.csv").read_text(encoding="utf-8").splitlines()[1]
    many = _csv(tmp_path, [good] * 60)
    with session_scope(engine) as s:
        report = import_loans(s, many, limits=ImportLimits(max_rows=40))
    assert not report.imported
    assert "数据行超过上限 40 行" in str(report.errors[0])
    wide = _csv(tmp_path, [good + ",x" * 80], "wide.csv")
    with session_scope(engine) as s:
        report = import_loans(s, wide)  # default: 64 columns
    assert not report.imported and "列数超过上限 64 列" in str(report.errors[0])
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM loan")).scalar_one() == 0


def test_a_stopping_server_abandons_the_read() -> None:
    stop = threading.Event()
    stop.set()
    rows = ((n, ["x"]) for n in range(1, 5000))
    with pytest.raises(ImportLimitError, match="服务器正在停止"):
        list(limited_rows(rows, ImportLimits(stop=stop)))


@pytest.fixture
def served(db_url: str, tmp_path: Path) -> Iterator[Served]:
    with serve_world(db_url, tmp_path, max_import_mb=1) as served:
        yield served


def test_api_lists_200_errors_and_counts_the_rest(served: Served) -> None:
    client, _, world = served
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(HEADER.split(","))
    for i in range(300):  # every row has a bad ID number
        writer.writerow([f"BAD-{i}", "张三", "13893100001", "62010219850315011X", "50000",
                         "4.35%", "2026-01-05", "24", "等额本金", "个人全额贴息", "", "", "",
                         "城关区", ""])  # fmt: skip
    headers = {"Authorization": f"Bearer {world.tokens['admin1']}"}
    files = {"file": ("loans.csv", buffer.getvalue().encode(), "text/csv")}
    response = client.post("/api/staff/imports/loans", files=files, headers=headers)
    assert response.status_code == 422
    body = response.json()
    detail = body.get("detail", body)
    errors = detail["errors"] if isinstance(detail, dict) else body["errors"]
    assert len(errors) == 201
    assert errors[-1]["text"].endswith("…及另外 100 处错误")


def test_an_upload_over_the_import_size_is_refused_while_read(served: Served) -> None:
    client, _, world = served
    headers = {"Authorization": f"Bearer {world.tokens['admin1']}"}
    big = HEADER.encode() + b"\n" + b"x" * (1024 * 1024 + 10)  # 1 MB + a little: under 413
    response = client.post(
        "/api/staff/imports/loans", files={"file": ("loans.csv", big, "text/csv")}, headers=headers
    )
    assert response.status_code == 422
    assert "超过 1MB" in response.text
