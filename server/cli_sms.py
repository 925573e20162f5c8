"""`chuangdai sms templates --provider aliyun|twilio`: the SMS template texts to register."""

from __future__ import annotations

from pathlib import Path

import typer

from core.kernel.labels import labels

TYPE_LABELS = labels("sms_template_type")


def aliyun_markdown(templates_dir: Path | None = None) -> str:
    """The Aliyun templates as Markdown: type, code, exact text, variables with their 变量属性."""
    from core.outbox.templates import DEFAULT_DIR
    from sms.aliyun_templates import load_catalog

    cat = load_catalog(templates_dir or DEFAULT_DIR)
    lines: list[str] = []
    for name, tpl in cat.templates.items():
        lines.append(
            f"#### `{name}` — {TYPE_LABELS.get(tpl.type, tpl.type)}, 模板CODE `{tpl.code}`"
        )
        lines.append("")
        lines.append("```text")
        lines.append(tpl.content)
        lines.append("```")
        lines.append("")
        lines.append("| 变量 | 变量属性 | 长度上限 |")
        lines.append("|---|---|---|")
        for var in tpl.variables:
            rule = cat.rules[var.rule]
            note = "（需申请解除变量长度限制）" if var.extended else ""
            lines.append(f"| `${{{var.name}}}` | {rule.label} | {cat.limit(var)} 字{note} |")
        lines.append("")
    return "\n".join(lines)


def twilio_text() -> str:
    from core.outbox.templates import load_templates

    return "\n".join(f"{name}\t{t.kind}\t{t.sms}" for name, t in load_templates().items())


def register(app: typer.Typer) -> None:
    sms_app = typer.Typer(
        name="sms", help="短信：模板报备。", no_args_is_help=True, add_completion=False
    )

    @sms_app.command("templates")
    def templates(
        provider: str = typer.Option("aliyun", "--provider", help="aliyun 或 twilio"),
        folder: Path | None = typer.Option(
            None, "--folder", help="模板目录（默认内置 knowledge/templates）"
        ),
    ) -> None:
        """Print the exact template texts to register with the provider (Markdown for aliyun)."""
        from sms.aliyun_templates import CatalogError

        if provider == "twilio":
            typer.echo(twilio_text())
            return
        if provider != "aliyun":
            raise typer.BadParameter("只能是 aliyun 或 twilio", param_hint="--provider")
        try:
            typer.echo(aliyun_markdown(folder))
        except CatalogError as exc:
            typer.echo(str(exc), err=True)
            raise typer.Exit(1) from exc

    app.add_typer(sms_app, name="sms")
