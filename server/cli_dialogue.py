"""`chuangdai check` (the pre-check JSON contract); `chuangdai chat` is in server/cli_chat.py."""

from __future__ import annotations

import json
import sys

import typer
from rich.console import Console

from core.applications.eligibility import precheck
from core.applications.precheck_input import PrecheckInputError, parse_precheck_input
from core.kernel.timeutil import local_today
from server.bootstrap import get_container
from server.cli import app

console = Console()


@app.command("check")
def check(
    as_json: bool = typer.Option(False, "--json", help="Print the decision as JSON"),
) -> None:
    """资格预审: read a profile as JSON on stdin, print the decision (exit 2 on bad input)."""
    raw = sys.stdin.read()
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        _fail("输入不是合法的 JSON：" + exc.msg, "input", as_json)
    try:
        inp = parse_precheck_input(data)
    except PrecheckInputError as exc:
        _fail(exc.message, exc.field, as_json)
    container = get_container()
    decision = precheck(inp, container.policy, local_today(), container.calendar)
    body = decision.to_json_dict()
    if as_json:
        sys.stdout.write(json.dumps(body, ensure_ascii=False) + "\n")
        return
    console.print("[bold]符合条件[/bold]" if body["eligible"] else "[bold]暂不符合[/bold]")
    for r in body["reasons"]:
        console.print(f"· {r['message']}（{r['article']}）")
    console.print(f"最高额度：{body['max_amount']}  最长期限：{body['max_term_months']}个月")
    console.print(f"贴息：{body['subsidy']}")
    console.print(f"下一步：{body['next_steps']}")
    if body["expected_by"]:
        console.print(
            f"放款时限：原则上{body.get('expected_workdays')}个工作日内，按工作日推算约为"
            f"{body['expected_by']}" + ("（估算）" if body.get("expected_is_estimate") else "")
        )


def _fail(message: str, field: str, as_json: bool) -> None:
    if as_json:
        sys.stdout.write(json.dumps({"error": message, "field": field}, ensure_ascii=False) + "\n")
    sys.stderr.write(message + "\n")
    raise typer.Exit(2)
