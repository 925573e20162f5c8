"""`chuangdai db …`, `chuangdai serve`, `chuangdai demo load`."""

from __future__ import annotations

import json

import typer
from rich.console import Console

from core.persistence.db import current_revision, head_revision
from server.bootstrap import get_container
from server.cli import app

console = Console()
db_app = typer.Typer(help="Database schema (Alembic migrations).", no_args_is_help=True)
demo_app = typer.Typer(help="Demo data for trying the system.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(demo_app, name="demo")


@db_app.command("upgrade")
def db_upgrade(revision: str = typer.Argument("head", help="Target revision")) -> None:
    """Migrate the database to the newest schema (or REVISION)."""
    container = get_container()
    container.migrate() if revision == "head" else _upgrade_to(revision)
    console.print(
        f"数据库已迁移到 {current_revision(container.engine)}（{container.engine.dialect.name}）"
    )


def _upgrade_to(revision: str) -> None:
    from core.persistence.db import upgrade

    upgrade(get_container().settings.database_url, revision)


@db_app.command("current")
def db_current(as_json: bool = typer.Option(False, "--json")) -> None:
    """Show the schema version of the database and the newest one."""
    engine = get_container().engine
    info = {"current": current_revision(engine), "head": head_revision()}
    console.print_json(json.dumps(info)) if as_json else console.print(info)


@app.command("serve")
def serve(
    host: str = typer.Option("127.0.0.1", help="Interface to bind"),
    port: int = typer.Option(8000, help="Port"),
) -> None:
    """Start the server (webhooks, API, staff console). Migrates the database first."""
    import uvicorn

    from server.app import create_app

    container = get_container()
    s = container.settings
    console.print(f"[bold]创贷前台[/bold] 正在启动：http://{host}:{port}")
    console.print(f"  员工控制台   http://{host}:{port}/console")
    console.print(f"  接口文档     http://{host}:{port}/docs")
    console.print(f"  健康检查     http://{host}:{port}/healthz")
    console.print(f"  数据库       {container.engine.dialect.name}")
    if not s.telegram_bot_token:
        console.print(
            "  Telegram     未配置 TELEGRAM_BOT_TOKEN：不启用机器人（可用 chuangdai chat 试用）"
        )
    if not (s.twilio_account_sid and s.twilio_auth_token):
        console.print("  短信         未配置 Twilio：使用控制台发送器（消息写入日志，不真正发送）")
    # log_config=None: the app configures logging itself (masked, one handler for all)
    # timeout_graceful_shutdown: requests still running 10 s after Ctrl-C/SIGTERM are cancelled
    # (an import in progress is then told to stop and writes nothing), so shutdown is prompt.
    uvicorn.run(
        create_app(container), host=host, port=port, log_config=None, timeout_graceful_shutdown=10
    )


@demo_app.command("load")
def demo_load() -> None:
    """Load a small demo data set (idempotent: running it twice changes nothing)."""
    from server.demo import load_demo

    container = get_container()
    container.migrate()
    summary = load_demo(container)
    for line in summary:
        console.print(line)
