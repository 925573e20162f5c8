"""`chuangdai loans template|import` and `chuangdai payments import`: the spreadsheet importers."""

from __future__ import annotations

import getpass
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from sqlmodel import Session

from core.loans.importing import ImportReport, import_loans, import_payments, write_template
from core.persistence.db import session_scope
from core.reminders.sweep import cancel_notices_for_installments
from server.bootstrap import Container, get_container
from server.staff_services import import_limits

console = Console()
err_console = Console(stderr=True)

PROGRESS_MIN_ROWS = 2000
MAX_LISTED_ERRORS = 200

loans_app = typer.Typer(help="贷款台账：导入模板与批量导入。", no_args_is_help=True)
payments_app = typer.Typer(help="还款记录：批量导入。", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add the `loans` and `payments` command groups to the main CLI."""
    app.add_typer(loans_app, name="loans")
    app.add_typer(payments_app, name="payments")


def _actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"[:64]
    except (KeyError, OSError):  # no passwd entry (containers)
        return "cli"


@contextmanager
def _progress(enabled: bool, label: str) -> Iterator[Callable[[int, int], None] | None]:
    """A progress callback drawing a rich bar once the file turns out to be large."""
    if not enabled:
        yield None
        return
    bar = Progress(
        TextColumn(label),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("行"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err_console,
        transient=True,
    )
    task: list[TaskID] = []

    def update(done: int, total: int) -> None:
        if total < PROGRESS_MIN_ROWS:
            return
        if not task:
            bar.start()
            task.append(bar.add_task(label, total=total))
        bar.update(task[0], completed=done, total=total)

    try:
        yield update
    finally:
        if task:
            bar.stop()


def _print_report(report: ImportReport, as_json: bool) -> None:
    if as_json:
        sys.stdout.write(json.dumps(report.to_dict(), ensure_ascii=False) + "\n")
    else:
        style = "green" if report.imported and not report.errors else "yellow"
        if not report.imported:
            style = "red"
        console.print(f"[bold {style}]{report.summary()}[/]")
        if report.errors:
            heading = "跳过的错误行：" if report.imported else "错误："
            console.print(heading)
            for err in report.errors[:MAX_LISTED_ERRORS]:
                console.print(f"  · {err}", markup=False, highlight=False, soft_wrap=True)
            if len(report.errors) > MAX_LISTED_ERRORS:
                rest = len(report.errors) - MAX_LISTED_ERRORS
                console.print(f"  …另有{rest}处错误（加 --json 可输出全部）")
            if not report.imported:
                console.print("请改正后重新导入；或加 --skip-bad-rows 只导入正确的行。")
        for warning in report.warnings[:MAX_LISTED_ERRORS]:
            console.print(f"  ! {warning}", markup=False, highlight=False, soft_wrap=True)
    if not report.imported:
        raise typer.Exit(1)


@loans_app.command("template")
def loans_template(
    path: Path = typer.Argument(Path("贷款导入模板.xlsx"), help="输出文件（.xlsx）"),
) -> None:
    """生成导入模板（贷款、还款计划、还款记录三张表，附示例行与说明）。"""
    out = write_template(path)
    console.print(f"已生成导入模板：{out}")


@loans_app.command("import")
def loans_import(
    file: Path = typer.Argument(..., help="贷款文件（CSV 或 XLSX）"),
    installments: Path | None = typer.Option(
        None, "--installments", help="银行提供的还款计划文件（可选；不提供时自动生成）"
    ),
    skip_bad_rows: bool = typer.Option(
        False, "--skip-bad-rows", help="跳过有错误的行，导入其余各行"
    ),
    as_json: bool = typer.Option(False, "--json", help="以 JSON 输出导入结果"),
) -> None:
    """导入贷款台账（按贷款编号新增或更新；同一文件重复导入不会产生重复数据）。"""

    def run(session: Session, progress: ProgressFn, container: Container) -> ImportReport:
        return import_loans(
            session,
            file,
            installments_path=installments,
            skip_bad_rows=skip_bad_rows,
            progress=progress,
            actor=_actor(),
            default_base_rate=_default_base_rate(container),
            limits=import_limits(container),
        )

    _import("导入贷款", as_json, run)


def _default_base_rate(container: Any) -> Any:
    base = container.policy.default_base_rate
    return None if base is None else base.rate


ProgressFn = Callable[[int, int], None] | None


def _import(
    label: str, as_json: bool, run: Callable[[Session, ProgressFn, Container], ImportReport]
) -> None:
    """One import in one transaction, with a progress bar (unless --json), then its report."""
    container = get_container()
    container.migrate()
    with (
        _progress(not as_json, label) as progress,
        session_scope(container.engine) as session,
    ):
        report = run(session, progress, container)
        # paid instalments' queued reminders go, as in the console/API import (core.staff.imports)
        cancel_notices_for_installments(session, report.paid_installment_ids)
    report.cap_errors()
    _print_report(report, as_json)


@payments_app.command("import")
def payments_import(
    file: Path = typer.Argument(..., help="还款记录文件（CSV 或 XLSX）"),
    skip_bad_rows: bool = typer.Option(
        False, "--skip-bad-rows", help="跳过有错误的行，导入其余各行"
    ),
    as_json: bool = typer.Option(False, "--json", help="以 JSON 输出导入结果"),
) -> None:
    """导入还款记录（按流水号去重，自动冲抵最早未还的分期）。"""

    def run(session: Session, progress: ProgressFn, container: Container) -> ImportReport:
        return import_payments(
            session,
            file,
            skip_bad_rows=skip_bad_rows,
            progress=progress,
            actor=_actor(),
            limits=import_limits(container),
        )

    _import("导入还款", as_json, run)


@loans_app.command("show")
def loans_show(
    loan_no: str = typer.Argument(..., help="贷款编号"),
    as_json: bool = typer.Option(False, "--json", help="以 JSON 输出"),
    full: bool = typer.Option(False, "--full", help="显示完整手机号和身份证号（默认脱敏）"),
    today: str | None = typer.Option(None, "--today", help="按哪一天判断逾期（YYYY-MM-DD）"),
) -> None:
    """查看一笔贷款：借款人、反担保人和每期还款状态（已还/今日应还/逾期/未到期/无需还款）。"""
    from datetime import date

    from core.kernel.timeutil import local_today
    from core.staff.loan_view import LoanNotFound, loan_view, status_label

    try:
        day = date.fromisoformat(today) if today else local_today()
    except ValueError:
        err_console.print(f"日期格式不正确：{today}（应为 YYYY-MM-DD）", markup=False)
        raise typer.Exit(2) from None
    container = get_container()
    container.migrate()
    with session_scope(container.engine) as session:
        try:
            view = loan_view(session, loan_no, day, full=full)
        except LoanNotFound as exc:
            err_console.print(str(exc), markup=False)
            raise typer.Exit(2) from None
    if as_json:
        sys.stdout.write(json.dumps(view, ensure_ascii=False) + "\n")
        return
    _print_loan(view, status_label)


def _print_loan(view: dict[str, Any], status_label: Callable[[str], str]) -> None:
    from rich.table import Table

    b = view["borrower"]
    console.print(
        f"[bold]贷款 {view['loan_no']}[/]（{view['status']}） {view['amount_yuan']}元，"
        f"年利率 {view['annual_rate']}，{view['term_months']}个月，"
        f"{view['repayment_method_label']}，{view['subsidy_label']}",
        highlight=False,
    )
    if view["base_rate"]:
        console.print(f"基准利率 {view['base_rate']}", highlight=False)
    console.print(
        f"放款 {view['disbursed_on']}，到期 {view['maturity_on']}，经办银行 {view['bank'] or '-'}，"
        f"区县 {view['district'] or '-'}",
        highlight=False,
    )
    console.print(
        f"借款人 {b['name']} {b['phone'] or '-'} {b['id_number'] or ''}"
        + ("" if b["sms_reachable"] else "（无可接收短信的手机号）"),
        markup=False,
        highlight=False,
    )
    for g in view["counter_guarantors"]:
        landline = "" if g["sms_reachable"] else "（固定电话，不发短信）"
        console.print(
            f"反担保人 {g['name']} {g['phone'] or '-'}{landline} 工作单位 {g['employer'] or '-'}",
            markup=False,
            highlight=False,
        )
    table = Table("期", "应还日", "本金", "利息", "借款人应付利息", "已还", "状态")
    for i in view["installments"]:
        table.add_row(
            str(i["seq"]),
            i["due_on"],
            i["principal_yuan"],
            i["interest_yuan"],
            i["borrower_interest_yuan"],
            i["paid_yuan"],
            status_label(i["status"]),
        )
    console.print(table)
