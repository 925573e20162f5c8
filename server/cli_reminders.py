"""`chuangdai reminders run` (the daily sweep by hand) and `chuangdai notices list|dispatch|retry`."""

from __future__ import annotations

import asyncio
import contextlib
import json
from datetime import date

import sqlalchemy as sa
import typer
from rich.console import Console
from rich.table import Table
from sqlmodel import Session

from core.kernel.identity import mask_phone
from core.kernel.labels import label, labels
from core.kernel.timeutil import format_datetime_cn
from core.outbox.dispatch import (
    DispatchConfig,
    Dispatcher,
    list_notices,
    notice_counts,
    requeue_notices,
)
from core.reminders.sweep import run_sweep
from server.bootstrap import get_container
from server.scheduler import room_for_batches

console = Console()
err = Console(stderr=True)

STATUS_LABELS = labels("notice_status")

DB_HINT = "数据库尚未初始化：请先运行 chuangdai db upgrade"


def _parse_day(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise typer.BadParameter("日期格式应为 YYYY-MM-DD") from exc


def reminders_run(
    today: str | None = typer.Option(
        None, "--today", help="The day to sweep, YYYY-MM-DD (Asia/Shanghai; default today)"
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="Compute only; write nothing"),
    as_json: bool = typer.Option(
        False, "--json", help="JSON: one notice per line (dry run) or a summary object"
    ),
) -> None:
    """Compute the reminders and overdue notices due on a day and queue them in the outbox."""
    day = _parse_day(today)
    container = get_container()
    try:
        result = run_sweep(
            container.engine,
            container.reminder_policy,
            container.calendar,
            day,
            quiet=container.quiet_hours,
            dry_run=dry_run,
        )
    except (sa.exc.OperationalError, sa.exc.ProgrammingError) as exc:
        err.print(f"{DB_HINT}（{type(exc).__name__}）")
        raise typer.Exit(1) from exc
    if as_json:
        if dry_run:
            for n in result.notices:
                typer.echo(json.dumps(n.to_json(), ensure_ascii=False))
        else:
            typer.echo(json.dumps(result.summary(), ensure_ascii=False))
        return
    if dry_run:
        table = Table(title=f"{result.day} 应发通知（试算，未写入）")
        for column in ("贷款编号", "期次", "规则", "收件人", "渠道", "号码/会话", "发送时间"):
            table.add_column(column)
        for n in result.notices:
            table.add_row(
                n.loan_no,
                str(n.installment_seq),
                label("reminder_rule", n.rule),
                label("recipient", n.recipient_role),
                label("channel", n.channel),
                mask_phone(n.address) if n.channel == "sms" else n.address,
                format_datetime_cn(n.send_after),
            )
        console.print(table)
    if result.skipped:
        console.print("另一个进程正在执行提醒扫描，本次跳过。")
        return
    console.print(
        f"{result.day}：读取未还期次 {result.candidates} 条，应发通知 {result.planned} 条，"
        + ("" if dry_run else f"新写入发件箱 {result.created} 条，")
        + f"无可用联系方式 {result.no_address} 条，用时 {result.duration_ms} ms"
    )


def notices_list(
    status: str | None = typer.Option(None, "--status", help="Only this status, e.g. failed"),
    kind: str | None = typer.Option(None, "--kind", help="reminder|overdue|relay|broadcast|review"),
    limit: int = typer.Option(50, "--limit", min=1, max=10_000),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Counts of outbox notices by status, and the newest notices (e.g. the failed ones)."""
    container = get_container()
    try:
        with Session(container.engine) as s:
            counts = notice_counts(s, kind)
            rows = list_notices(s, status, kind, limit)
    except (sa.exc.OperationalError, sa.exc.ProgrammingError) as exc:
        err.print(DB_HINT)
        raise typer.Exit(1) from exc
    if as_json:
        body = {
            "counts": counts,
            "notices": [
                {
                    "id": r.id,
                    "kind": r.kind,
                    "rule": r.rule,
                    "recipient_role": r.recipient_role,
                    "channel": r.channel,
                    "to": r.address,
                    "status": r.status,
                    "attempts": r.attempts,
                    "last_error": r.last_error,
                    "send_after": r.send_after.isoformat(),
                    "sent_at": r.sent_at.isoformat() if r.sent_at else None,
                }
                for r in rows
            ],
        }
        typer.echo(json.dumps(body, ensure_ascii=False))
        return
    summary = Table(title="发件箱通知数量（按状态）")
    summary.add_column("状态")
    summary.add_column("数量", justify="right")
    for key in sorted(counts, key=lambda k: -counts[k]):
        summary.add_row(f"{STATUS_LABELS.get(key, key)}（{key}）", str(counts[key]))
    summary.add_row("合计", str(sum(counts.values())))
    console.print(summary)
    table = Table(title=f"最近的通知{f'（{status}）' if status else ''}")
    for column in ("编号", "类型", "规则", "渠道", "收件人", "状态", "次数", "计划时间", "错误"):
        table.add_column(column)
    for r in rows:
        table.add_row(
            str(r.id),
            label("notice_kind", r.kind),
            label("reminder_rule", r.rule),
            label("channel", r.channel),
            mask_phone(r.address) if r.channel == "sms" else r.address,
            label("notice_status", r.status),
            str(r.attempts),
            format_datetime_cn(r.send_after),
            (r.last_error or "")[:60],
        )
    console.print(table)


def notices_dispatch(
    once: bool = typer.Option(False, "--once", help="Send what is due now, then exit"),
) -> None:
    """Run the outbox dispatcher in the foreground (a worker process; the server runs one too)."""
    container = get_container()
    senders = dict(container.senders)
    dispatcher = Dispatcher(
        container.engine,
        senders,
        quiet=container.quiet_hours,
        config=room_for_batches(DispatchConfig(), senders),
    )

    async def main() -> None:
        if once:
            stats = await dispatcher.drain()
            typer.echo(json.dumps(stats.as_dict(), ensure_ascii=False))
            return
        stop = asyncio.Event()
        console.print("发件箱发送进程已启动（Ctrl-C 退出）")
        try:
            await dispatcher.run_forever(stop)
        finally:
            typer.echo(json.dumps(dispatcher.totals.as_dict(), ensure_ascii=False))

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())


def notices_retry(ids: list[int] = typer.Argument(..., help="Ids of failed notices")) -> None:
    """Give failed notices another round of attempts."""
    container = get_container()
    with Session(container.engine) as s:
        n = requeue_notices(s, ids)
        s.commit()
    console.print(f"已重新排队 {n} 条通知")


def register(app: typer.Typer) -> None:
    """Add the `reminders` and `notices` command groups to the CLI."""
    reminders = typer.Typer(
        help="还款提醒与逾期通知: the daily sweep (runs in the server; by hand here).",
        no_args_is_help=True,
    )
    notices = typer.Typer(
        help="发件箱: outbox notices for staff (counts, failures, dispatch).", no_args_is_help=True
    )
    reminders.command("run")(reminders_run)
    notices.command("list")(notices_list)
    notices.command("dispatch")(notices_dispatch)
    notices.command("retry")(notices_retry)
    app.add_typer(reminders, name="reminders")
    app.add_typer(notices, name="notices")
