"""The `chuangdai` command line. Sub-command groups live in server/cli_*.py and are added here."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="chuangdai",
    help="创贷前台: front office for 创业担保贷款 (start-up guaranteed loans).",
    no_args_is_help=True,
    add_completion=False,
)


def main() -> None:
    _register()
    app()


def _register() -> None:
    """Import the command modules; each one adds its commands to `app`."""
    from server import (
        cli_chat,  # noqa: F401
        cli_db,  # noqa: F401
        cli_dialogue,  # noqa: F401
        cli_kb,
        cli_loans,
        cli_reminders,
        cli_sms,
        cli_staff,
        cli_telegram,
        cli_wechat,
    )

    for module in (cli_kb, cli_loans, cli_reminders, cli_telegram, cli_staff, cli_sms, cli_wechat):
        module.register(app)
