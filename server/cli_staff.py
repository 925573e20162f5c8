"""`chuangdai staff create|token|list`: staff accounts from the command line (the first admin)."""

from __future__ import annotations

import getpass

import typer
from rich.console import Console
from rich.table import Table
from sqlmodel import select

from core.persistence.db import session_scope
from core.persistence.models import StaffUserRow
from core.staff import ROLE_LABELS, ROLES, StaffError, create_staff, issue_api_token
from core.staff.accounts import DEFAULT_ROLE, list_staff
from server.bootstrap import get_container

console = Console()
err_console = Console(stderr=True)
staff_app = typer.Typer(help="员工账号：创建账号、生成 API 令牌。", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add the `staff` command group to the main CLI."""
    app.add_typer(staff_app, name="staff")


def _actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"[:64]
    except (KeyError, OSError):  # no passwd entry (containers)
        return "cli"


@staff_app.command("create")
def create(
    username: str = typer.Option(
        ..., "--username", "-u", help="用户名（3–64 位字母、数字、_ 或 .）"
    ),
    role: str = typer.Option(
        DEFAULT_ROLE, "--role", "-r", help="角色：admin / officer / viewer（默认 viewer 只读）"
    ),
    password: str | None = typer.Option(
        None, "--password", help="密码（至少10位；省略则交互输入，不回显）"
    ),
    display_name: str | None = typer.Option(None, "--name", help="显示的姓名"),
) -> None:
    """创建员工账号，默认只读（首个管理员：chuangdai staff create --username admin --role admin）。"""
    if role not in ROLES:
        err_console.print(f"[red]角色必须是 {'/'.join(ROLES)} 之一[/]")
        raise typer.Exit(2)
    if password is None:
        password = typer.prompt(
            "密码（至少10位）", hide_input=True, confirmation_prompt="再输入一次"
        )
    container = get_container()
    container.migrate()
    try:
        with session_scope(container.engine) as s:
            user = create_staff(
                s,
                username,
                password,
                role,
                display_name,
                actor=_actor(),
                hasher=container.hasher,
            )
            name, label = user.username, ROLE_LABELS[user.role]
    except StaffError as exc:
        err_console.print(f"[red]{exc}[/]")
        raise typer.Exit(1) from exc
    console.print(f"已创建员工账号 {name}（{label}）。登录：/console/login")


@staff_app.command("token")
def token(username: str = typer.Argument(..., help="用户名")) -> None:
    """为员工生成新的 API 令牌（只显示一次；旧令牌随即失效）。"""
    container = get_container()
    container.migrate()
    with session_scope(container.engine) as s:
        user = s.exec(select(StaffUserRow).where(StaffUserRow.username == username)).first()
        if user is None or not user.active:
            err_console.print(f"[red]用户 {username} 不存在或已停用[/]")
            raise typer.Exit(1)
        value = issue_api_token(s, user, actor=_actor())
    err_console.print(f"{username} 的 API 令牌（请妥善保存，只显示这一次）：")
    typer.echo(value)


@staff_app.command("list")
def list_users() -> None:
    """列出员工账号。"""
    container = get_container()
    container.migrate()
    with session_scope(container.engine) as s:
        users = list_staff(s)
    table = Table("用户名", "姓名", "角色", "状态", "API 令牌")
    for u in users:
        table.add_row(
            u.username,
            u.display_name,
            ROLE_LABELS.get(u.role, u.role),
            "启用" if u.active else "停用",
            "有" if u.api_token_hash else "无",
        )
    console.print(table)
