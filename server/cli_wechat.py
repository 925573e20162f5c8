"""`chuangdai wechat menu push` (the custom menu from knowledge/wechat_menu.yaml) and
`chuangdai wechat templates` (which outbox templates have no 模板消息 id yet)."""

from __future__ import annotations

from pathlib import Path

import requests
import typer
from wechatpy.exceptions import WeChatClientException

from server.bootstrap import get_container, wechat_missing
from wechat.client import TokenUnavailable
from wechat.menu import MenuError, load_menu


def register(app: typer.Typer) -> None:
    wechat_app = typer.Typer(help="微信公众号：自定义菜单、模板消息配置。", no_args_is_help=True)
    menu_app = typer.Typer(help="自定义菜单。", no_args_is_help=True)

    @menu_app.command("push")
    def push(
        file: Path | None = typer.Option(
            None, "--file", help="Menu YAML (default: knowledge/wechat_menu.yaml)"
        ),
    ) -> None:
        """Check the menu file and create it on the 公众号 (replaces the current menu)."""
        container = get_container()
        path = file or container.knowledge_path / "wechat_menu.yaml"
        try:
            menu = load_menu(path)
        except MenuError as exc:
            typer.echo(f"菜单文件有误：{exc}", err=True)
            raise typer.Exit(2) from exc
        missing = wechat_missing(container.settings)
        if missing:
            typer.echo(f"未配置微信公众号：{', '.join(missing)}", err=True)
            raise typer.Exit(1)
        container.migrate()
        client = container.wechat_client
        assert client is not None
        try:
            client.menu.create(menu)
        except (WeChatClientException, TokenUnavailable, requests.RequestException) as exc:
            typer.echo(client.scrub(f"菜单创建失败：{exc}"), err=True)
            raise typer.Exit(1) from exc
        typer.echo(f"已创建自定义菜单（{len(menu['button'])} 个一级菜单）：{path}")

    @wechat_app.command("templates")
    def templates() -> None:
        """List the outbox templates without a 模板消息 template_id (knowledge/templates/wechat.yaml)."""
        missing = get_container().wechat_data.missing_ids()
        if not missing:
            typer.echo("所有模板消息均已配置 template_id。")
            return
        typer.echo("以下通知尚未配置微信模板消息 template_id（将仅在48小时内以客服消息发送）：")
        for name in missing:
            typer.echo(f"  {name}")

    wechat_app.add_typer(menu_app, name="menu")
    app.add_typer(wechat_app, name="wechat")
