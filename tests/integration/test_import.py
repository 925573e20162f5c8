"""The spreadsheet importers against a real database (SQLite per test, or PostgreSQL in CI)."""

from __future__ import annotations

import csv
import json
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from sqlalchemy.engine import Engine

from core.kernel.identity import IdentityError, normalize_phone
from core.loans.importing import (
    ImportReport,
    import_loans,
    import_payments,
    parse_phone,
    write_template,
)
from core.loans.schedule import generate_schedule
from core.persistence.db import session_scope

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "import"
TABLES = ("person", "loan", "installment", "counter_guarantor", "payment")


def _loans(engine: Engine, path: Path | str, **kwargs: Any) -> ImportReport:
    with session_scope(engine) as session:
        return import_loans(session, FIXTURES / path if isinstance(path, str) else path, **kwargs)


def _payments(engine: Engine, path: Path | str, **kwargs: Any) -> ImportReport:
    with session_scope(engine) as session:
        return import_payments(
            session, FIXTURES / path if isinstance(path, str) else path, **kwargs
        )


def _counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() for t in TABLES}


def _rows(engine: Engine, sql: str, **params: Any) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(text(sql), params).all())


def _installments(engine: Engine, loan_no: str) -> list[tuple[Any, ...]]:
    return [
        (r[0], r[1], r[2], r[3], r[4], r[5], r[6], bool(r[7]), r[8])
        for r in _rows(
            engine,
            "SELECT i.id, i.seq, i.due_on, i.principal_fen, i.interest_fen,"
            " i.borrower_interest_fen, i.paid_fen, i.paid, i.paid_on FROM installment i"
            " JOIN loan l ON l.id = i.loan_id WHERE l.loan_no = :no ORDER BY i.seq",
            no=loan_no,
        )
    ]


def _as_date(value: Any) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


def _edit_csv(src: str, dest: Path, changes: dict[tuple[str, str], str]) -> Path:
    """Copy a fixture CSV, changing {(loan_no, header): value}."""
    with (FIXTURES / src).open(encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    header = rows[0]
    for row in rows[1:]:
        for (loan_no, column), value in changes.items():
            if row[0] == loan_no:
                row[header.index(column)] = value
    with dest.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(rows)
    return dest


# --- loans -------------------------------------------------------------------------------------


def test_import_creates_loans_persons_schedules_and_guarantors(engine: Engine) -> None:
    report = _loans(engine, "loans_ok.csv", actor="officer1")
    assert report.errors == []
    assert report.imported
    assert (report.created, report.updated, report.unchanged, report.skipped) == (4, 0, 0, 0)
    assert report.installments_created == 24 + 12 + 8 + 12
    # 张建国 borrows twice and 李明 guarantees both: 3 borrowers + 3 guarantors.
    assert _counts(engine) == {
        "person": 6,
        "loan": 4,
        "installment": 56,
        "counter_guarantor": 4,
        "payment": 0,
    }
    loans = {
        r[0]: r
        for r in _rows(
            engine,
            "SELECT loan_no, amount_fen, annual_rate, disbursed_on, term_months, maturity_on,"
            " repayment_method, subsidy_kind, bank, district, status FROM loan",
        )
    }
    t2 = loans["LZ-T-0002"]
    assert t2[1] == 8_000_000  # "80,000.00"
    assert Decimal(str(t2[2])) == Decimal("0.0435")
    assert _as_date(t2[3]) == date(2026, 1, 31)  # 2026/1/31
    assert t2[6:8] == ("equal_installment", "individual_full")
    assert t2[8] is None  # empty optional column
    t3 = loans["LZ-T-0003"]
    assert Decimal(str(t3[2])) == Decimal("0.0475")  # "4.75" means percent
    assert _as_date(t3[3]) == date(2025, 12, 1)  # 2025年12月1日
    assert _as_date(t3[5]) == date(2027, 12, 1)
    assert t3[6:10] == (
        "interest_quarterly_principal_at_maturity",
        "enterprise_half",
        "甘肃银行",
        "城关区",
    )
    assert loans["LZ-T-0004"][7] == "none"
    assert {r[10] for r in loans.values()} == {"active"}

    people = {r[0]: r for r in _rows(engine, "SELECT name, phone, id_number, district FROM person")}
    assert people["王秀兰"][1:] == ("+8613893100002", "620103199007220120", "七里河区")
    assert people["赵强"][1:3] == ("+8613893100102", None)  # 138-9310-0102, no ID number
    assert people["张建国"][1:] == ("+8613893100001", "620102198503150116", "城关区")

    guarantors = _rows(
        engine,
        "SELECT l.loan_no, p.name, g.employer FROM counter_guarantor g"
        " JOIN loan l ON l.id = g.loan_id JOIN person p ON p.id = g.person_id ORDER BY l.loan_no",
    )
    assert [tuple(g) for g in guarantors] == [
        ("LZ-T-0001", "李明", "兰州市第一小学"),
        ("LZ-T-0002", "赵强", "七里河区税务局"),
        ("LZ-T-0003", "周涛", "兰州市人民医院"),
        ("LZ-T-0004", "李明", "兰州市第一小学"),
    ]

    expected = generate_schedule(
        5_000_000, Decimal("0.0435"), date(2026, 1, 5), 24, "等额本金", "个人全额贴息"
    )
    stored = _installments(engine, "LZ-T-0001")
    assert [(s[1], _as_date(s[2]), s[3], s[4], s[5]) for s in stored] == [
        (p.seq, p.due_on, p.principal_fen, p.interest_fen, p.borrower_interest_fen)
        for p in expected
    ]
    assert all(s[6:] == (0, False, None) for s in stored)

    audit = _rows(engine, "SELECT actor, action, object_type, after FROM audit_event")
    assert len(audit) == 1
    assert tuple(audit[0][:3]) == ("officer1", "loans.import", "loan_import")
    after = audit[0][3] if isinstance(audit[0][3], dict) else json.loads(audit[0][3])
    assert after["created"] == 4 and after["installments_created"] == 56


def test_reimporting_the_same_file_changes_nothing(engine: Engine) -> None:
    _loans(engine, "loans_ok.csv")
    before = _counts(engine)
    schedule = _installments(engine, "LZ-T-0003")
    again = _loans(engine, "loans_ok.csv")
    assert (again.created, again.updated, again.unchanged) == (0, 0, 4)
    assert again.installments_created == 0
    assert _counts(engine) == before
    assert _installments(engine, "LZ-T-0003") == schedule


def test_update_rewrites_an_unpaid_schedule_in_place(engine: Engine, tmp_path: Path) -> None:
    _loans(engine, "loans_ok.csv")
    old = _installments(engine, "LZ-T-0001")
    edited = _edit_csv(
        "loans_ok.csv",
        tmp_path / "loans.csv",
        {
            ("LZ-T-0001", "贷款金额(元)"): "60000",
            ("LZ-T-0001", "期限(月)"): "12",
            ("LZ-T-0002", "经办银行"): "七里河农商银行",
        },
    )
    report = _loans(engine, edited)
    assert (report.created, report.updated, report.unchanged) == (0, 2, 2)
    new = _installments(engine, "LZ-T-0001")
    assert len(new) == 12
    assert [r[0] for r in new] == [r[0] for r in old[:12]]  # same rows, updated by seq
    assert sum(r[3] for r in new) == 6_000_000
    assert _counts(engine)["installment"] == 56 - 12
    assert _rows(engine, "SELECT bank FROM loan WHERE loan_no = 'LZ-T-0002'")[0][0] == (
        "七里河农商银行"
    )


def test_gbk_encoded_csv(engine: Engine) -> None:
    report = _loans(engine, "loans_gbk.csv")
    assert report.errors == []
    assert report.created == 2
    names = {r[0] for r in _rows(engine, "SELECT name FROM person")}
    assert names == {"张建国", "王秀兰", "李明", "赵强"}


def test_utf8_bom_with_english_headers(engine: Engine) -> None:
    report = _loans(engine, "loans_bom_english.csv")
    assert report.errors == []
    assert report.created == 1
    ids = {r[0] for r in _rows(engine, "SELECT id_number FROM person")}
    # a lower-case x check character is accepted and stored upper-case
    assert ids == {"62010219920808013X", "620105198701010025"}


def test_xlsx_with_a_title_row_and_excel_cells(engine: Engine) -> None:
    report = _loans(engine, "loans.xlsx")
    assert report.errors == []
    assert report.created == 2
    row = _rows(
        engine,
        "SELECT amount_fen, annual_rate, disbursed_on, term_months FROM loan"
        " WHERE loan_no = 'LZ-X-0002'",
    )[0]
    assert row[0] == 8_000_050
    assert Decimal(str(row[1])) == Decimal("0.0435")
    assert _as_date(row[2]) == date(2026, 1, 31)
    assert row[3] == 12
    assert _counts(engine)["counter_guarantor"] == 1  # LZ-X-0002 has none
    phones = {r[0] for r in _rows(engine, "SELECT phone FROM person")}
    assert "+8613893100001" in phones  # a numeric phone cell


def test_xlsx_errors_name_the_spreadsheet_row(engine: Engine) -> None:
    report = _loans(engine, "loans_bad.xlsx")
    assert not report.imported
    assert [str(e) for e in report.errors] == [
        "loans_bad.xlsx 第2行 身份证号：被 Excel 存成了数字，后几位可能已丢失，"
        "请把该列设为文本格式后重新填写"
    ]
    assert _counts(engine)["loan"] == 0


def test_a_bad_file_imports_nothing(engine: Engine) -> None:
    report = _loans(engine, "loans_bad.csv")
    assert not report.imported
    assert report.created == 0
    assert _counts(engine) == dict.fromkeys(TABLES, 0)
    assert _rows(engine, "SELECT count(*) FROM audit_event")[0][0] == 0
    messages = [str(e) for e in report.errors]
    assert "loans_bad.csv 第3行 身份证号：校验位不正确" in messages
    assert "loans_bad.csv 第4行 放款日期：日期不存在：2026-13-01" in messages
    assert "loans_bad.csv 第5行 贷款金额(元)：金额不能为负数：-5000" in messages
    assert any(
        m.startswith("loans_bad.csv 第6行 借款人手机：号码无效：1389310001") for m in messages
    )
    assert "loans_bad.csv 第2行 贷款编号：贷款编号LZ-B-0001重复（第2、7行）" in messages
    assert "loans_bad.csv 第7行 贷款编号：贷款编号LZ-B-0001重复（第2、7行）" in messages
    assert any(
        m.startswith("loans_bad.csv 第8行 还款方式：还款方式不正确：气球贷") for m in messages
    )
    assert {e.row for e in report.errors} == {2, 3, 4, 5, 6, 7, 8}
    assert all(e.file == "loans_bad.csv" and e.column for e in report.errors)


def test_skip_bad_rows_imports_the_rest_and_lists_every_skipped_row(engine: Engine) -> None:
    report = _loans(engine, "loans_bad.csv", skip_bad_rows=True)
    assert report.imported
    assert (report.created, report.skipped) == (1, 7)
    assert {e.row for e in report.errors} == {2, 3, 4, 5, 6, 7, 8}
    assert [r[0] for r in _rows(engine, "SELECT loan_no FROM loan")] == ["LZ-B-0008"]
    assert _counts(engine)["installment"] == 12


def test_wrong_and_missing_headers(engine: Engine) -> None:
    report = _loans(engine, "loans_wrong_headers.csv")
    assert not report.imported
    messages = [str(e) for e in report.errors]
    assert "loans_wrong_headers.csv 第1行 贷款号：无法识别的列名，请使用模板中的列名" in messages
    assert "loans_wrong_headers.csv 第1行：缺少必填列：贷款编号、所属区县" in messages
    assert _counts(engine)["loan"] == 0


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("loans_empty.csv", "loans_empty.csv：文件为空"),
        ("loans_header_only.csv", "loans_header_only.csv：文件中没有数据行（只有表头）"),
        ("no_such_file.csv", "no_such_file.csv：文件不存在"),
    ],
)
def test_empty_or_missing_files(engine: Engine, name: str, message: str) -> None:
    report = _loans(engine, name)
    assert not report.imported
    assert [str(e) for e in report.errors] == [message]


def test_same_id_number_with_two_names_is_an_error(engine: Engine, tmp_path: Path) -> None:
    edited = _edit_csv(
        "loans_ok.csv", tmp_path / "loans.csv", {("LZ-T-0004", "借款人姓名"): "张建民"}
    )
    report = _loans(engine, edited)
    assert [str(e) for e in report.errors] == [
        "loans.csv 第5行 身份证号：与第2行身份证号相同但姓名不同（张建国／张建民）"
    ]


# --- bank schedules ----------------------------------------------------------------------------


def test_installments_file_is_used_instead_of_a_generated_schedule(engine: Engine) -> None:
    report = _loans(engine, "loans_ok.csv", installments_path=FIXTURES / "installments_t0003.csv")
    assert report.errors == []
    stored = _installments(engine, "LZ-T-0003")
    assert [(r[1], _as_date(r[2]), r[3], r[4], r[5]) for r in stored] == [
        (1, date(2026, 3, 1), 0, 1_781_250, 890_625),
        (2, date(2026, 6, 1), 0, 1_801_042, 900_521),
        (3, date(2026, 9, 1), 0, 1_820_833, 910_416),
        (4, date(2026, 12, 1), 0, 1_781_251, 890_625),
        (5, date(2027, 3, 1), 0, 1_741_667, 870_833),
        (6, date(2027, 6, 1), 0, 1_801_042, 900_521),
        (7, date(2027, 9, 1), 0, 1_820_833, 910_416),
        (8, date(2027, 12, 1), 150_000_000, 1_781_250, 890_625),
    ]
    # the other loans got generated schedules; importing the pair again changes nothing
    assert _counts(engine)["installment"] == 56
    again = _loans(engine, "loans_ok.csv", installments_path=FIXTURES / "installments_t0003.csv")
    assert (again.unchanged, again.installments_created) == (4, 0)
    assert _installments(engine, "LZ-T-0003") == stored


def test_installments_file_must_add_up_to_the_amount(engine: Engine) -> None:
    report = _loans(engine, "loans_ok.csv", installments_path=FIXTURES / "installments_bad_sum.csv")
    assert not report.imported
    assert [str(e) for e in report.errors] == [
        "installments_bad_sum.csv 第2行 应还本金(元)：贷款LZ-T-0003各期本金合计1000000.00元，"
        "与贷款金额1500000.00元不一致"
    ]


# --- payments ----------------------------------------------------------------------------------


def test_payments_apply_to_the_earliest_instalments_and_are_idempotent(engine: Engine) -> None:
    _loans(engine, "loans_ok.csv")
    report = _payments(engine, "payments.csv", actor="officer1")
    assert report.errors == []
    # the third row repeats BANK-0002 exactly: recorded once
    assert (report.payments_applied, report.unchanged, report.installments_settled) == (2, 1, 2)
    stored = _installments(engine, "LZ-T-0001")
    # 等额本金 with full subsidy: the borrower owes 2,083.33 a month (principal only)
    assert [(r[6], r[7], _as_date(r[8])) for r in stored[:4]] == [
        (208_333, True, date(2026, 2, 5)),
        (208_333, True, date(2026, 3, 5)),
        (300_000 - 208_333, False, None),
        (0, False, None),
    ]
    assert _counts(engine)["payment"] == 2

    again = _payments(engine, "payments.csv")
    assert (again.payments_applied, again.unchanged) == (0, 3)
    assert _installments(engine, "LZ-T-0001") == stored
    assert _counts(engine)["payment"] == 2
    actions = [r[0] for r in _rows(engine, "SELECT action FROM audit_event ORDER BY id")]
    assert actions == ["loans.import", "payments.import", "payments.import"]


def test_a_payment_that_settles_everything_closes_the_loan(engine: Engine, tmp_path: Path) -> None:
    _loans(engine, "loans_ok.csv")
    path = tmp_path / "pay.csv"
    path.write_text(
        "贷款编号,还款日期,还款金额(元),流水号\nLZ-T-0002,2027-01-31,80000,ALL-1\n",
        encoding="utf-8",
    )
    report = _payments(engine, path)
    assert (report.payments_applied, report.installments_settled) == (1, 12)
    assert report.warnings == []
    status = _rows(engine, "SELECT status FROM loan WHERE loan_no = 'LZ-T-0002'")[0][0]
    assert status == "closed"


def test_bad_payments_import_nothing_unless_skipped(engine: Engine) -> None:
    _loans(engine, "loans_ok.csv")
    report = _payments(engine, "payments_bad.csv")
    assert not report.imported
    assert [str(e) for e in report.errors] == [
        "payments_bad.csv 第3行 贷款编号：贷款编号不存在：LZ-NOPE-9",
        "payments_bad.csv 第4行 还款日期：日期不存在：2026-02-30",
        "payments_bad.csv 第5行 还款金额(元)：金额必须大于0",
    ]
    assert _counts(engine)["payment"] == 0
    skipped = _payments(engine, "payments_bad.csv", skip_bad_rows=True)
    assert (skipped.payments_applied, skipped.skipped) == (1, 3)
    assert _counts(engine)["payment"] == 1


def test_paid_state_survives_reimport_and_terms_are_frozen(engine: Engine, tmp_path: Path) -> None:
    _loans(engine, "loans_ok.csv")
    _payments(engine, "payments.csv")
    paid = _installments(engine, "LZ-T-0001")
    changed_terms = _edit_csv(
        "loans_ok.csv", tmp_path / "terms.csv", {("LZ-T-0001", "贷款金额(元)"): "60000"}
    )
    report = _loans(engine, changed_terms)
    assert not report.imported
    assert len(report.errors) == 1
    assert report.errors[0].row == 2
    assert "已有还款记录" in report.errors[0].message
    # Fields that do not touch the schedule may still change, and paid state is kept.
    changed_bank = _edit_csv(
        "loans_ok.csv", tmp_path / "bank.csv", {("LZ-T-0001", "经办银行"): "兰州银行东岗支行"}
    )
    report = _loans(engine, changed_bank)
    assert (report.updated, report.unchanged) == (1, 3)
    assert _installments(engine, "LZ-T-0001") == paid


# --- phones ------------------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(st.from_regex(r"(\+86|86)?1[0-9]{10}", fullmatch=True))
def test_fast_phone_path_agrees_with_core_identity(raw: str) -> None:
    try:
        expected: str | None = normalize_phone(raw)
    except IdentityError:
        expected = None
    try:
        got: str | None = parse_phone(raw)
    except ValueError:
        got = None
    assert got == expected


# --- template and CLI --------------------------------------------------------------------------


def test_template_example_rows_are_never_imported(engine: Engine, tmp_path: Path) -> None:
    """Importing `loans template` output unchanged creates nothing and queues nothing: the
    example rows (示例-…) are refused with a row error, also with --skip-bad-rows."""
    path = write_template(tmp_path / "模板.xlsx")
    with session_scope(engine) as session:
        report = import_loans(session, path, installments_path=path)
    assert not report.imported and report.created == 0
    texts = [str(e) for e in report.errors]
    assert (
        texts
        == [
            "模板.xlsx 第2行 贷款编号：这是导入模板的示例行（贷款编号以“示例”开头或姓名标有“示例”），"
            "不会导入；请删除示例行后再导入",
        ]
        * 2
    )  # once in the 贷款 sheet, once (not 24 times) in the 还款计划 sheet
    with session_scope(engine) as session:
        skipped = import_loans(session, path, skip_bad_rows=True)
    assert skipped.imported and (skipped.created, skipped.skipped) == (0, 1)
    pay = _payments(engine, path)
    assert not pay.imported and "示例行" in str(pay.errors[0])
    assert _counts(engine)["loan"] == 0


def test_example_row_refused_among_real_rows(engine: Engine, tmp_path: Path) -> None:
    rows = (FIXTURES / "loans_ok.csv").read_text(encoding="utf-8").splitlines()
    example = rows[1].replace("LZ-T-0001", "示例-2026-0009")
    path = tmp_path / "mixed.csv"
    path.write_text("\n".join([*rows, example]) + "\n", encoding="utf-8")
    report = _loans(engine, path)
    assert not report.imported
    assert [(e.row, e.column) for e in report.errors] == [(len(rows) + 1, "贷款编号")]


def test_cli_import_json_and_exit_codes(db_url: str, tmp_path: Path) -> None:
    import typer

    from core.kernel.settings import Settings
    from server import cli_loans
    from server.bootstrap import Container
    from tests.cli_kit import ContainerRunner

    app = typer.Typer()
    cli_loans.register(app)
    container = Container(Settings(database_url=db_url, data_dir=tmp_path))
    runner = ContainerRunner(container)
    ok = runner.invoke(app, ["loans", "import", str(FIXTURES / "loans_ok.csv"), "--json"])
    assert ok.exit_code == 0, ok.output
    body = json.loads(ok.stdout)
    assert (body["imported"], body["created"], body["error_count"]) == (True, 4, 0)
    bad = runner.invoke(app, ["loans", "import", str(FIXTURES / "loans_bad.csv")])
    assert bad.exit_code == 1
    assert "导入失败" in bad.stdout and "第3行 身份证号：校验位不正确" in bad.stdout
    pay = runner.invoke(app, ["payments", "import", str(FIXTURES / "payments.csv")])
    assert pay.exit_code == 0 and "新增还款2笔" in pay.stdout
    out = tmp_path / "t.xlsx"
    tpl = runner.invoke(app, ["loans", "template", str(out)])
    assert tpl.exit_code == 0 and out.exists()


# --- the one loan row parser ---------------------------------------------------------------------

_TRICKY = (
    "", "  ", "x" * 65, "x" * 101, "x" * 201, "13800138000", "+8613800138000", "12345",
    "110101199003074477", "110101199003074478", "11010119900307447x", "110101199002304471",
    "1.10101E+17", "100000", "0", "-5", "1.234", "4.35%", "0.0435", "4.75", "120%", "2025-02-30",
    "2025/3/1", "20250301", "12", "0", "361", "等额本金", "等额本息", "按季付息、到期还本", "月供",
    "个人全额贴息", "企业50%贴息", "无贴息", "张三", "李四", "城关区", "某银行",
)  # fmt: skip


def _row_parser_holds_its_contract(path: Path) -> int:
    """Every row gives either a loan and no error, or no loan and errors at this row naming
    a column of the file; an accepted loan's cells are normalised. Returns the rows accepted."""
    from core.loans.importing.columns import LOAN_COLUMNS, LOANS_SHEET
    from core.loans.importing.files import read_sheet
    from core.loans.importing.report import RowError
    from core.loans.importing.rows import LoanRowParser

    errors: list[RowError] = []
    sheet = read_sheet(path, LOAN_COLUMNS, LOANS_SHEET, errors)
    if sheet is None:
        return 0
    accepted = 0
    parse = LoanRowParser(sheet).parse
    for number, values in sheet.rows:
        loan, errs = parse(number, values)
        if loan is None:
            assert errs, (number, values)
            assert all(e.row == number and e.file == sheet.file for e in errs)
            assert all(e.column is None or e.column in sheet.headers.values() for e in errs)
            continue
        accepted += 1
        assert errs == [], (number, values)
        assert loan.row == number and loan.amount_fen > 0 and 0 <= loan.rate < 1
        assert normalize_phone(loan.phone) == loan.phone and len(loan.id_number) == 18
        assert (loan.g_phone is None) == (loan.g_name is None)
    return accepted


def test_row_parser_on_the_fixtures() -> None:
    assert sum(_row_parser_holds_its_contract(p) for p in sorted(FIXTURES.glob("*.csv"))) > 0


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_row_parser_on_tricky_cells(data: st.DataObject) -> None:
    import tempfile

    good = [
        "LZ-F-0001", "王建国", "13800138000", "110101199003074477", "50000", "4.35%",
        "2025-03-01", "24", "等额本金", "个人全额贴息", "李四", "13900139000", "兰州市第一小学",
        "城关区", "某银行", "王五", "0931-8888888", "", "",
    ]  # fmt: skip
    headers = [
        "贷款编号", "借款人姓名", "借款人手机", "身份证号", "贷款金额(元)", "年利率", "放款日期",
        "期限(月)", "还款方式", "贴息类型", "反担保人姓名", "反担保人电话", "反担保人工作单位",
        "所属区县", "经办银行", "反担保人单位联系人", "反担保人单位电话", "反担保人身份证号",
        "备注",
    ]  # fmt: skip
    rows = []
    for _ in range(3):
        row = list(good)
        for col in data.draw(st.lists(st.integers(0, len(row) - 1), max_size=3)):
            row[col] = data.draw(st.sampled_from(_TRICKY))
        rows.append(row)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "loans.csv"
        with path.open("w", encoding="utf-8", newline="") as fh:
            csv.writer(fh).writerows([headers, *rows])
        _row_parser_holds_its_contract(path)


# --- 基准利率 (issue 11: 第二十条 subsidises 50% of the interest at the benchmark rate) -----------

_ENT_HEADER = (
    "贷款编号,借款人姓名,借款人手机,身份证号,贷款金额(元),年利率,放款日期,期限(月),还款方式,"
    "贴息类型,反担保人姓名,反担保人电话,反担保人工作单位,所属区县"
)
_ENT_ROW = (
    "QY-0001,兰州惠民餐饮有限公司,13893100003,620104197804110140,2000000,6.175%,2026-01-20,24,"
    "按季付息、到期还本,企业50%贴息,周涛,13893100104,兰州市人民医院,城关区"
)


def _enterprise_file(tmp_path: Path, header_extra: str = "", row_extra: str = "") -> Path:
    path = tmp_path / "ent.csv"
    path.write_text(f"{_ENT_HEADER}{header_extra}\n{_ENT_ROW}{row_extra}\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("header", ["基准利率", "基准年利率", "基准利率(%)"])
def test_enterprise_loan_uses_its_benchmark_rate(
    engine: Engine, tmp_path: Path, header: str
) -> None:
    report = _loans(engine, _enterprise_file(tmp_path, f",{header}", ",4.75"))
    assert report.imported, report.errors
    rows = _installments(engine, "QY-0001")
    assert sum(r[4] for r in rows) == 24_700_000  # 247,000.00 元 interest
    assert sum(r[5] for r in rows) == 15_200_000  # the borrower pays 152,000.00 元
    (stored,) = _rows(engine, "SELECT base_rate FROM loan WHERE loan_no = 'QY-0001'")
    assert Decimal(str(stored[0])) == Decimal("0.0475")


def test_enterprise_loan_without_benchmark_rate_is_a_row_error(
    engine: Engine, tmp_path: Path
) -> None:
    for path in (_enterprise_file(tmp_path), _enterprise_file(tmp_path, ",基准利率", ",")):
        report = _loans(engine, path)
        assert not report.imported
        (err,) = report.errors
        assert (err.row, err.column) == (2, "基准利率")
        assert "企业50%贴息时必须填写基准利率" in err.message
    assert _counts(engine)["loan"] == 0


def test_policy_default_benchmark_rate_is_used_and_reported(engine: Engine, tmp_path: Path) -> None:
    report = _loans(engine, _enterprise_file(tmp_path), default_base_rate=Decimal("0.0475"))
    assert report.imported and report.default_base_rate_rows == 1
    assert "1笔企业贷款未填基准利率，已按政策文件默认基准利率4.7500%计算贴息" in report.summary()
    assert report.to_dict()["default_base_rate_rows"] == 1
    assert report.to_dict()["default_base_rate"] == "0.0475"
    assert sum(r[5] for r in _installments(engine, "QY-0001")) == 15_200_000


def test_landline_numbers_are_stored_and_counted(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "landline.csv"
    row = _ENT_ROW.replace(",企业50%贴息,", ",无贴息,").replace("13893100104", "0931-8812345")
    path.write_text(f"{_ENT_HEADER}\n{row}\n", encoding="utf-8")
    report = _loans(engine, path)
    assert report.imported and report.landline_phones == 1
    assert "其中固定电话1个（不能接收短信，请工作人员电话联系）" in report.summary()
    assert _rows(engine, "SELECT phone FROM person WHERE name = '周涛'") == [("+869318812345",)]
