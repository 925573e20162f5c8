"""FAQ additions from the knowledge page are stored in the database (never a file in the
checkout), get a generated id, and are part of the index, `chuangdai ask`, `kb check` and
`kb eval`; a former faq/staff_additions.yaml is moved into the database at first load."""

from __future__ import annotations

import json
from pathlib import Path

import typer
import yaml
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from core.persistence.db import session_scope
from core.persistence.models_loan_actions import FaqAdditionRow
from server import cli_kb
from server.bootstrap import Container
from tests.cli_kit import ContainerRunner
from tests.integration.test_staff_api import served
from tests.staff_seed import World, bearer, make_container
from tests.staff_seed import console_login as login

__all__ = ["served"]
ENTRY = {
    "question": "担保中心周六上班吗",
    "paraphrases": [
        "周末能去办理吗",
        "星期六办公吗",
        "礼拜天上班不",
        "周末有人吗",
        "双休日能办贷款吗",
    ],
    "answer": "担保中心周六不办公，工作日可前往{office}办理。",
    "short": "周六不办公，请工作日前往。",
}


def _cli() -> typer.Typer:
    app = typer.Typer()
    app.command("ask")(cli_kb.ask)
    app.add_typer(cli_kb.kb_app)
    return app


def test_added_entry_is_answered_checked_and_evaluated(
    served: tuple[TestClient, Container, World], tmp_path: Path
) -> None:
    client, container, w = served
    h = bearer(w, "alice")
    before = {e["id"] for e in client.get("/api/staff/knowledge/entries", headers=h).json()}
    assert "staff_0001" not in before  # the base is in service before the addition
    r = client.post("/api/staff/knowledge/entries", headers=h, json=ENTRY)
    assert r.status_code == 200, r.text
    assert r.json()["entry_id"] == "staff_0001"
    r = client.post(
        "/api/staff/knowledge/entries",
        headers=h,
        json={
            **ENTRY,
            "question": "中心地址在哪",
            "paraphrases": [
                "担保中心在哪里",
                "办公地点在哪",
                "中心怎么走",
                "去哪里办理",
                "在哪个楼",
            ],
        },
    )
    assert r.json()["entry_id"] == "staff_0002"  # ids are generated, one after another
    assert not list((container.knowledge_path / "faq").glob("staff_additions*"))
    with Session(container.engine) as s:
        rows = s.exec(select(FaqAdditionRow)).all()
    assert [x.entry_id for x in rows] == ["staff_0001", "staff_0002"]
    assert client.post("/api/staff/knowledge/reload", headers=h).json()["reloaded"] is True

    runner = ContainerRunner(container)
    r = runner.invoke(_cli(), ["ask", "担保中心周六上班吗", "--json"])
    assert r.exit_code == 0, r.output
    answer = json.loads(r.output)
    assert answer["entry_id"] == "staff_0001" and "周六不办公" in answer["answer"]

    r = runner.invoke(_cli(), ["kb", "check"])
    assert r.exit_code == 0, r.output
    assert "员工补充 2 条" in r.output and "提醒" not in r.output

    # an addition with fewer paraphrases than the base's files must have is a reminder, not a
    # failure: kb check still passes (the checkout's own files are held to every rule)
    few = {**ENTRY, "question": "周末可以办吗", "paraphrases": ["礼拜天能办不"]}
    r = client.post("/api/staff/knowledge/entries", headers=h, json=few)
    assert r.status_code == 200, r.text
    r = runner.invoke(_cli(), ["kb", "check"])
    assert r.exit_code == 0, r.output
    assert "相似问只有 1 条" in r.output and "员工补充 3 条" in r.output

    eval_set = tmp_path / "staff.yaml"
    eval_set.write_text(
        yaml.safe_dump(
            {"questions": [{"q": "星期六你们办公吗", "label": "staff_0001"}]}, allow_unicode=True
        ),
        encoding="utf-8",
    )
    r = runner.invoke(_cli(), ["kb", "eval", str(eval_set), "--json", "--no-loo"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["report"]["answered_right"] == 1

    # a broken row in the database makes kb check fail, naming where it is
    with session_scope(container.engine) as s:
        s.add(
            FaqAdditionRow(
                entry_id="staff_0099",
                data={**ENTRY, "id": "staff_0099", "source": "x", "answer": "{nope}"},
                actor="t",
            )
        )
    r = runner.invoke(_cli(), ["kb", "check"])
    assert r.exit_code == 1
    assert "员工补充（数据库）" in r.output and "staff_0099" in r.output


def test_bad_additions_are_refused_in_chinese(served: tuple[TestClient, Container, World]) -> None:
    client, container, w = served
    h = bearer(w, "alice")
    for body, words in (
        ({**ENTRY, "answer": "  "}, "答案不能为空"),
        ({**ENTRY, "question": ""}, "问题不能为空"),
        ({**ENTRY, "answer": "请咨询{no_such_office}"}, "答案使用了未知占位符：{no_such_office}"),
        ({**ENTRY, "short": "很长" * 100}, "超过"),
    ):
        r = client.post("/api/staff/knowledge/entries", headers=h, json=body)
        assert r.status_code == 422 and words in r.json()["detail"], (body, r.text)
    assert (
        client.post(
            "/api/staff/knowledge/entries", headers=bearer(w, "vera"), json=ENTRY
        ).status_code
        == 403
    )
    with Session(container.engine) as s:
        assert s.exec(select(FaqAdditionRow)).all() == []

    # the console form says the same
    csrf = login(client, "alice")
    r = client.post(
        "/console/knowledge/entry",
        data={"question": "周末上班吗", "answer": "", "csrf_token": csrf},
    )
    assert "答案不能为空" in r.text


def test_a_former_file_moves_into_the_database(db_url: str, tmp_path: Path) -> None:
    container = make_container(db_url, tmp_path)
    path = container.knowledge_path / "faq" / "staff_additions.yaml"
    entry = {**ENTRY, "id": "office_hours", "source": "员工补充"}
    path.write_text(yaml.safe_dump({"entries": [entry]}, allow_unicode=True), encoding="utf-8")
    try:
        assert container.kb.answer("担保中心周六上班吗").entry_id == "office_hours"
        assert (
            not path.exists() and path.with_name("staff_additions.yaml.moved-to-database").exists()
        )
        with Session(container.engine) as s:
            (row,) = s.exec(select(FaqAdditionRow)).all()
        assert row.entry_id == "office_hours" and row.actor == "migration"
        assert container.kb.reload() is False  # nothing changed since
    finally:
        container.engine.dispose()
