"""`chuangdai bot poll` (long polling, development) and `chuangdai bot set-webhook`."""

from __future__ import annotations

import asyncio
import re

import typer
from telegram import Bot

from bot.app import ALLOWED_UPDATES, BotConfig, file_base_url
from server.bootstrap import get_container
from server.routes_telegram import WEBHOOK_PATH

SECRET_RE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")  # what Telegram accepts as secret_token


def _config() -> BotConfig:
    config = BotConfig.from_settings(get_container().settings)
    if config is None:
        typer.echo("未配置 TELEGRAM_BOT_TOKEN，无法启动 Telegram 机器人。", err=True)
        raise typer.Exit(1)
    return config


def register(app: typer.Typer) -> None:
    bot_app = typer.Typer(help="Telegram 机器人：长轮询调试、注册 webhook。", no_args_is_help=True)

    @bot_app.command("poll")
    def poll() -> None:
        """Run the bot with long polling (development; removes a registered webhook)."""
        _config()
        container = get_container()
        container.migrate()
        bot = container.build_telegram(polling=True)
        assert bot is not None
        typer.echo("Telegram 机器人以长轮询方式运行（Ctrl-C 退出）")
        bot.run_polling()

    @bot_app.command("set-webhook")
    def set_webhook(
        drop_pending: bool = typer.Option(False, help="Drop updates waiting at Telegram"),
    ) -> None:
        """Register PUBLIC_BASE_URL + /telegram/webhook with Telegram, with the secret token."""
        config = _config()
        secret = config.webhook_secret or ""
        if not SECRET_RE.match(secret):
            typer.echo(
                "TELEGRAM_WEBHOOK_SECRET 未设置或格式不对（1-256 位字母、数字、_ 或 -）。", err=True
            )
            raise typer.Exit(1)
        url = get_container().settings.public_base_url.rstrip("/") + WEBHOOK_PATH

        async def run() -> None:
            async with Bot(
                config.token,
                base_url=config.api_base_url,
                base_file_url=file_base_url(config.api_base_url),
            ) as bot:
                await bot.set_webhook(
                    url=url,
                    secret_token=secret,
                    allowed_updates=ALLOWED_UPDATES,
                    drop_pending_updates=drop_pending,
                )

        asyncio.run(run())
        typer.echo(f"已注册 webhook：{url}")

    app.add_typer(bot_app, name="bot")
