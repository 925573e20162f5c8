"""`chuangdai loans show LOAN_NO [--json] [--full]` (issue 11): the loan, its borrower (masked
unless --full), counter-guarantors and each instalment's status; exit 2 for an unknown loan."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from core.kernel.settings import Settings
from server import cli_loans
from server.bootstrap import Container
from tests.cli_kit import ContainerRunner

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "import"
FIELDS = [
    "seq",
    "due_on",
    "principal_yuan",
    "interest_yuan",
    "borrower_interest_yuan",
    "paid_yuan",
    "status",
]


@pytest.fixture
def cli(db_url: str, tmp_path: Path) -> Iterator[tuple[typer.Typer, CliRunner]]:
    app = typer.Typer()
    cli_loans.register(app)
    runner = ContainerRunner(Container(Settings(database_url=db_url, data_dir=tmp_path)))
    imported = runner.invoke(app, ["loans", "import", str(FIXTURES / "loans_ok.csv")])
    assert imported.exit_code == 0, imported.output
    paid = runner.invoke(app, ["payments", "import", str(FIXTURES / "payments.csv")])
    assert paid.exit_code == 0, paid.output
    yield app, runner


def _show(cli: tuple[typer.Typer, CliRunner], *args: str) -> dict[str, Any]:
    app, runner = cli
    out = runner.invoke(app, ["loans", "show", *args, "--json"])
    assert out.exit_code == 0, out.output
    view: dict[str, Any] = json.loads(out.stdout)
    return view


def test_show_json_contract_and_statuses(cli: tuple[typer.Typer, CliRunner]) -> None:
    view = _show(cli, "LZ-T-0001", "--today", "2026-03-05")
    assert view["loan_no"] == "LZ-T-0001" and view["amount_yuan"] == "50000.00"
    assert view["borrower"]["name"] == "张建国"
    assert view["borrower"]["phone"] == "+86138****0001"
    assert "*" in view["borrower"]["id_number"]
    assert [g["name"] for g in view["counter_guarantors"]] == ["李明"]
    assert view["counter_guarantors"][0]["employer"] == "兰州市第一小学"
    first = view["installments"][0]
    assert list(first) == FIELDS
    assert first["seq"] == 1 and first["due_on"] == "2026-02-05"
    assert first["principal_yuan"] == "2083.33" and first["borrower_interest_yuan"] == "0.00"
    statuses = [i["status"] for i in view["installments"]]
    assert set(statuses) <= {"paid", "due", "overdue", "not_due", "nothing_due"}
    assert statuses[:3] == ["paid", "paid", "not_due"]  # 3,000.00 paid covers the 2nd one
    assert view["installments"][2]["paid_yuan"] == "916.67"
    on_due_day = _show(cli, "LZ-T-0001", "--today", "2026-04-05")
    assert on_due_day["installments"][2]["status"] == "due"
    later = _show(cli, "LZ-T-0001", "--today", "2026-04-06")
    assert later["installments"][2]["status"] == "overdue"
    assert later["installments"][3]["status"] == "not_due"


def test_full_unmasks(cli: tuple[typer.Typer, CliRunner]) -> None:
    view = _show(cli, "LZ-T-0001", "--full", "--today", "2026-03-05")
    assert view["borrower"]["phone"] == "+8613893100001"
    assert view["borrower"]["id_number"] == "620102198503150116"
    assert view["counter_guarantors"][0]["phone"] == "+8613893100101"
    ent = _show(cli, "LZ-T-0003", "--today", "2026-03-02")
    assert (ent["subsidy_kind"], ent["base_rate"]) == ("enterprise_half", "0.0475")
    assert ent["installments"][0]["interest_yuan"] == "17812.50"
    assert ent["installments"][0]["borrower_interest_yuan"] == "8906.25"


def test_unknown_loan_exits_2_in_chinese(cli: tuple[typer.Typer, CliRunner]) -> None:
    app, runner = cli
    out = runner.invoke(app, ["loans", "show", "NO-SUCH", "--json"])
    assert out.exit_code == 2
    assert "贷款编号 NO-SUCH 不存在" in out.output
    bad_day = runner.invoke(app, ["loans", "show", "LZ-T-0001", "--today", "明天"])
    assert bad_day.exit_code == 2 and "日期格式不正确" in bad_day.output


def test_text_output(cli: tuple[typer.Typer, CliRunner]) -> None:
    app, runner = cli
    out = runner.invoke(app, ["loans", "show", "LZ-T-0003", "--today", "2026-03-02"])
    assert out.exit_code == 0, out.output
    assert "LZ-T-0003" in out.stdout and "基准利率 0.0475" in out.stdout
    assert "已还" in out.stdout or "逾期" in out.stdout
