"""The staff API and the console's security: each role may do what it should and nothing more;
CSRF missing/wrong → 403; absent or bad tokens → 401; every action is audited."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from core.persistence.models import (
    ApplicationRow,
    AuditEventRow,
    DocumentItemRow,
    NoticeRow,
    StaffUserRow,
    UnansweredQuestionRow,
)
from core.persistence.models_loan_actions import FaqAdditionRow
from server.app import create_app
from server.bootstrap import Container
from tests.cli_kit import ContainerRunner
from tests.staff_seed import (
    PASSWORD,
    PNG,
    Served,
    bearer,
    console_login,
    make_container,
    post_login,
    serve_world,
)

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "import"


@pytest.fixture
def served(db_url: str, tmp_path: Path) -> Iterator[Served]:
    with serve_world(db_url, tmp_path) as served:
        yield served


def audits(container: Container, action: str) -> list[AuditEventRow]:
    with Session(container.engine) as s:
        return list(
            s.exec(
                select(AuditEventRow)
                .where(AuditEventRow.action == action)
                .order_by(col(AuditEventRow.id))
            )
        )


def notices(container: Container, **where: Any) -> list[NoticeRow]:
    with Session(container.engine) as s:
        stmt = select(NoticeRow).order_by(col(NoticeRow.id))
        for k, v in where.items():
            stmt = stmt.where(getattr(NoticeRow, k) == v)
        return list(s.exec(stmt))


# --- tokens ---------------------------------------------------------------------------------------


def test_absent_or_bad_tokens_are_401(served: Served) -> None:
    client, _, world = served
    r = client.get("/api/staff/me")
    assert r.status_code == 401 and r.headers["www-authenticate"].startswith("Bearer")
    assert client.get("/api/staff/me", headers={"Authorization": "Bearer nope"}).status_code == 401
    assert client.get("/api/staff/me", headers={"Authorization": "Basic eDp5"}).status_code == 401
    # the console cookie is no API credential
    assert client.post("/api/staff/broadcasts", json={"title": "t", "body": "b"}).status_code == 401
    r = client.get("/api/staff/me", headers=bearer(world, "vera"))
    assert r.status_code == 200 and r.json()["role"] == "viewer"


def test_openapi_documents_the_staff_api(served: Served) -> None:
    client, _, _ = served
    spec = client.get("/openapi.json").json()
    paths = spec["paths"]
    assert "/api/staff/broadcasts/{bid}/confirm" in paths
    assert paths["/api/staff/me"]["get"]["summary"] or paths["/api/staff/me"]["get"]["description"]
    assert "StaffToken" in spec["components"]["securitySchemes"]
    assert not any(p.startswith("/console") for p in paths)


# --- viewer -------------------------------------------------------------------------------------


def test_viewer_reads_everything_and_changes_nothing(served: Served) -> None:
    client, container, w = served
    h = bearer(w, "vera")
    for path in (
        "/api/staff/dashboard",
        "/api/staff/applications",
        f"/api/staff/applications/{w.app_id}",
        f"/api/staff/applications/{w.app_id}/documents/{w.doc_png}/file",
        "/api/staff/loans",
        f"/api/staff/loans/{w.overdue_loan}",
        "/api/staff/notices",
        "/api/staff/handoff",
        f"/api/staff/handoff/{w.ticket_id}",
        "/api/staff/knowledge/unanswered",
        "/api/staff/knowledge/entries",
        "/api/staff/broadcasts",
    ):
        assert client.get(path, headers=h).status_code == 200, path
    forbidden = [
        (
            "post",
            f"/api/staff/applications/{w.app_id}/documents/{w.doc_png}/review",
            {"decision": "accept"},
        ),
        ("post", f"/api/staff/applications/{w.app_id}/advance", {}),
        ("post", "/api/staff/broadcasts", {"title": "t", "body": "b"}),
        ("post", f"/api/staff/handoff/{w.ticket_id}/reply", {"text": "您好"}),
        ("post", f"/api/staff/handoff/{w.ticket_id}/close", None),
        ("post", "/api/staff/knowledge/reload", None),
        ("post", "/api/staff/notices/requeue", {"ids": [1]}),
        ("get", "/api/staff/users", None),
        ("get", "/api/staff/audit", None),
        ("post", "/api/staff/users", {"username": "x1x", "password": "p" * 12, "role": "admin"}),
    ]
    for method, path, body in forbidden:
        r = client.request(method, path, headers=h, json=body)
        assert r.status_code == 403, (path, r.status_code)
        assert "权限" in r.json()["detail"]
    with Session(container.engine) as s:
        assert all(d.status != "accepted" for d in s.exec(select(DocumentItemRow)))
    assert notices(container) == []


# --- officer ------------------------------------------------------------------------------------


def test_officer_reviews_documents_and_moves_the_stage(served: Served) -> None:
    client, container, w = served
    h = bearer(w, "alice")
    base = f"/api/staff/applications/{w.app_id}"
    detail = client.get(base, headers=h).json()
    assert detail["precheck"]["eligible"] is True and detail["next_stage"] == "street_review"
    assert detail["person"]["id_number"] == "620102********0116"
    r = client.get(f"{base}/documents/{w.doc_png}/file", headers=h)
    assert r.status_code == 200 and r.content == PNG and r.headers["content-type"] == "image/png"
    assert audits(container, "document.view")[-1].actor == "alice"

    r = client.post(f"{base}/documents/{w.doc_pdf}/review", headers=h, json={"decision": "reject"})
    assert r.status_code == 409 and "原因" in r.json()["detail"]
    r = client.post(
        f"{base}/documents/{w.doc_pdf}/review",
        headers=h,
        json={"decision": "reject", "reason": "证件照片模糊"},
    )
    assert r.status_code == 200 and r.json()["status"] == "rejected"
    assert r.json()["applicant_notified"] is True
    r = client.post(f"{base}/documents/{w.doc_png}/review", headers=h, json={"decision": "accept"})
    assert r.json()["status"] == "accepted"
    r = client.post(
        f"{base}/documents/{w.doc_missing}/review", headers=h, json={"decision": "accept"}
    )
    assert r.status_code == 409 and "尚未提交" in r.json()["detail"]

    sent = notices(container, kind="review")
    assert [n.template for n in sent] == ["document_rejected", "document_accepted"]
    assert all(n.channel == "telegram" and n.address == "700001" for n in sent)
    assert "证件照片模糊" in sent[0].text and "第2项" in sent[0].text

    r = client.post(f"{base}/advance", headers=h, json={"note": "社区已推荐"})
    assert r.status_code == 200 and r.json()["stage"] == "street_review"
    stage_notice = notices(container, template="stage_changed")
    assert len(stage_notice) == 1 and "乡镇（街道）复核" in stage_notice[0].text
    r = client.post(f"{base}/advance", headers=h, json={"to_stage": "disbursed"})
    assert r.status_code == 409
    reject = audits(container, "document.reject")[-1]
    assert reject.before == {"status": "received", "reject_reason": None}
    assert reject.after == {"status": "rejected", "reject_reason": "证件照片模糊"}
    stage = audits(container, "application.stage")[-1]
    assert stage.actor == "alice" and stage.before == {"stage": "community_review"}


def test_officer_handoff_reply_is_relayed_then_closed(served: Served) -> None:
    client, container, w = served
    h = bearer(w, "bob")
    r = client.post(f"/api/staff/handoff/{w.ticket_id}/reply", headers=h, json={"text": "已受理"})
    assert r.status_code == 200
    relay = notices(container, kind="relay")
    assert len(relay) == 1 and relay[0].address == "700001" and "已受理" in relay[0].text
    detail = client.get(f"/api/staff/handoff/{w.ticket_id}", headers=h).json()
    assert detail["messages"][-1]["delivery"] == "pending"
    assert client.post(f"/api/staff/handoff/{w.ticket_id}/close", headers=h).json()["status"] == (
        "closed"
    )
    r = client.post(f"/api/staff/handoff/{w.ticket_id}/reply", headers=h, json={"text": "再见"})
    assert r.status_code == 409
    assert client.get("/api/staff/handoff", headers=h).json()["total"] == 0


def test_broadcast_needs_a_second_officer_above_the_threshold(served: Served) -> None:
    client, container, w = served
    alice, bob = bearer(w, "alice"), bearer(w, "bob")
    body = {
        "title": "政策调整通知",
        "body": "创业担保贷款个人额度调整，详情请咨询社区。",
        "audience": {"group": "all", "channels": ["telegram", "sms"]},
    }
    created = client.post("/api/staff/broadcasts", headers=alice, json=body)
    assert created.status_code == 201
    bid = created.json()["id"]
    pv = client.get(f"/api/staff/broadcasts/{bid}/preview", headers=bearer(w, "vera")).json()
    assert pv["audience"] == {"total": 2, "telegram": 2, "wechat": 0, "sms": 0}
    assert pv["excluded"]["opted_out"] == 1
    assert pv["sms_text"].startswith(container.settings.sms_signature)
    assert pv["sms_text"].endswith(container.settings.sms_unsubscribe_hint)
    assert pv["sms_segments"] >= 1 and pv["needs_second_person"] is True

    sent = client.post(f"/api/staff/broadcasts/{bid}/send", headers=alice)
    assert sent.json()["status"] == "pending_confirm"
    assert notices(container, kind="broadcast") == []
    r = client.post(f"/api/staff/broadcasts/{bid}/confirm", headers=alice)
    assert r.status_code == 409 and "另一位" in r.json()["detail"]
    r = client.post(f"/api/staff/broadcasts/{bid}/confirm", headers=bearer(w, "vera"))
    assert r.status_code == 403
    r = client.post(f"/api/staff/broadcasts/{bid}/confirm", headers=bob)
    assert r.status_code == 200 and r.json()["confirmed_by"] == "bob"
    queued = notices(container, kind="broadcast")  # the background fan-out ran
    assert sorted(n.key for n in queued) == sorted(
        [f"broadcast:{bid}:{w.chat_identity}", f"broadcast:{bid}:{w.loose_identity}"]
    )
    got = client.get(f"/api/staff/broadcasts/{bid}", headers=alice).json()
    assert got["status"] == "queued" and got["progress"]["queued"] == 2
    cancelled = client.post(f"/api/staff/broadcasts/{bid}/cancel", headers=bob).json()
    assert cancelled["cancelled_notices"] == 2 and cancelled["status"] == "cancelled"
    actions = [a.action for a in audits(container, "broadcast.confirm")]
    assert actions == ["broadcast.confirm"]


def test_imports_by_upload_show_row_errors(served: Served) -> None:
    client, _, w = served
    h = bearer(w, "alice")
    bad = (FIXTURES / "loans_bad.csv").read_bytes()
    r = client.post(
        "/api/staff/imports/loans", headers=h, files={"file": ("loans_bad.csv", bad, "text/csv")}
    )
    assert r.status_code == 422
    report = r.json()
    assert report["imported"] is False and report["errors"]
    first = report["errors"][0]
    assert first["file"] == "loans_bad.csv" and "第" in first["text"]
    ok = (FIXTURES / "loans_ok.csv").read_bytes()
    r = client.post(
        "/api/staff/imports/loans", headers=h, files={"file": ("loans_ok.csv", ok, "text/csv")}
    )
    assert r.status_code == 200 and r.json()["created"] >= 1
    pays = (FIXTURES / "payments.csv").read_bytes()
    r = client.post(
        "/api/staff/imports/payments",
        headers=h,
        files={"file": ("payments.csv", pays, "text/csv")},
    )
    assert r.status_code in (200, 422) and "summary" in r.json()
    r = client.post(
        "/api/staff/imports/loans", headers=h, files={"file": ("x.exe", b"MZ", "application/x")}
    )
    assert r.status_code == 422 and "CSV" in r.json()["detail"]


def test_knowledge_paraphrase_validated_then_reloaded(served: Served) -> None:
    client, container, w = served
    h = bearer(w, "alice")
    before_ids = {e["id"] for e in client.get("/api/staff/knowledge/entries", headers=h).json()}
    assert "amount_individual" in before_ids and "office_hours" not in before_ids
    groups = client.get("/api/staff/knowledge/unanswered", headers=h).json()["items"]
    assert groups[0]["count"] == 2 and groups[0]["normalized"] == w.unanswered
    r = client.post(
        "/api/staff/knowledge/paraphrase",
        headers=h,
        json={
            "entry_id": "amount_individual",
            "text": "额度到底能批多少",
            "normalized": w.unanswered,
        },
    )
    assert r.status_code == 200 and r.json()["entry_id"] == "amount_individual_staff"
    assert not (container.knowledge_path / "faq" / "staff_additions.yaml").exists()
    with Session(container.engine) as s:
        stored = s.exec(select(FaqAdditionRow)).one()
    assert stored.entry_id == "amount_individual_staff" and stored.actor == "alice"
    assert stored.data["question"] == "额度到底能批多少"
    with Session(container.engine) as s:
        statuses = {
            q.status for q in s.exec(select(UnansweredQuestionRow)) if q.normalized == w.unanswered
        }
        assert statuses == {"resolved"}
    # a broken entry is refused by the loader's checks and nothing is written
    r = client.post(
        "/api/staff/knowledge/entries",
        headers=h,
        json={
            "question": "上班时间",
            "answer": "见{no_such_placeholder}",
            "short": "见官网",
            "source": "员工补充",
        },
    )
    assert r.status_code == 422 and "答案使用了未知占位符" in r.json()["detail"]
    with Session(container.engine) as s:
        assert len(s.exec(select(FaqAdditionRow)).all()) == 1
    r = client.post(
        "/api/staff/knowledge/entries",
        headers=h,
        json={
            "question": "你们几点下班",
            "paraphrases": ["办公时间是几点", "周末上班吗"],
            "answer": "工作日办公，具体时间请咨询{office}。",
            "short": "工作日办公。",
            "source": "{policy_doc}",
            "normalized": "几点 下班",
        },
    )
    assert r.status_code == 200, r.text
    assert r.json()["entry_id"] == "staff_0001"
    r = client.post("/api/staff/knowledge/reload", headers=h)
    assert r.status_code == 200 and r.json()["reloaded"] is True
    ids = {e["id"] for e in client.get("/api/staff/knowledge/entries", headers=h).json()}
    assert {"staff_0001", "amount_individual_staff"} <= ids


# --- admin --------------------------------------------------------------------------------------


def test_only_admins_manage_staff(served: Served) -> None:
    client, container, w = served
    officer, admin = bearer(w, "alice"), bearer(w, "admin1")
    assert client.get("/api/staff/users", headers=officer).status_code == 403
    new = {"username": "carol", "password": "a-long-password", "role": "viewer"}
    assert client.post("/api/staff/users", headers=officer, json=new).status_code == 403
    r = client.post("/api/staff/users", headers=admin, json=new)
    assert r.status_code == 201 and r.json()["role"] == "viewer"
    carol = r.json()["id"]
    token = client.post(f"/api/staff/users/{carol}/token", headers=admin).json()["token"]
    ch = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/staff/me", headers=ch).json()["username"] == "carol"
    r = client.patch(f"/api/staff/users/{carol}", headers=admin, json={"role": "officer"})
    assert r.json()["role"] == "officer"
    r = client.patch(f"/api/staff/users/{carol}", headers=admin, json={"active": False})
    assert r.json()["active"] is False
    assert client.get("/api/staff/me", headers=ch).status_code == 401
    # the last active admin cannot be demoted
    r = client.patch(
        f"/api/staff/users/{w.user_ids['admin1']}", headers=admin, json={"role": "viewer"}
    )
    assert r.status_code == 409 and "管理员" in r.json()["detail"]
    log = client.get("/api/staff/audit?action=staff.", headers=admin).json()["items"]
    updates = [e for e in log if e["action"] == "staff.update"]
    assert [(e["before"]["role"], e["after"]["role"], e["after"]["active"]) for e in updates] == [
        ("officer", "officer", False),
        ("viewer", "officer", True),
    ]
    assert {e["actor"] for e in updates} == {"admin1"} and updates[0]["at"]
    with Session(container.engine) as s:
        assert (
            s.exec(select(StaffUserRow).where(StaffUserRow.username == "carol")).one().active
            is False
        )


# --- console: sessions, CSRF, roles -------------------------------------------------------------


def test_console_login_requires_csrf_and_right_password(served: Served) -> None:
    client, container, _ = served
    r = client.get("/console/dashboard", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/console/login")
    client.get("/console/login")
    r = client.post("/console/login", data={"username": "alice", "password": PASSWORD})
    assert r.status_code == 403
    r = client.post(
        "/console/login",
        data={"username": "alice", "password": PASSWORD, "csrf_token": "forged"},
    )
    assert r.status_code == 403
    r = post_login(client, "alice", "wrong-password")
    assert r.status_code == 401 and "用户名或密码不正确" in r.text
    assert audits(container, "staff.login_failed")[-1].object_id == "alice"
    console_login(client, "alice")
    assert client.get("/console/dashboard").status_code == 200


def test_console_post_without_or_with_wrong_csrf_is_403(served: Served) -> None:
    client, container, w = served
    csrf = console_login(client, "alice")
    url = f"/console/applications/{w.app_id}/documents/{w.doc_png}/review"
    assert client.post(url, data={"decision": "accept"}).status_code == 403
    r = client.post(url, data={"decision": "accept", "csrf_token": "0" * 64})
    assert r.status_code == 403 and "CSRF" in r.text
    with Session(container.engine) as s:
        assert s.get(DocumentItemRow, w.doc_png).status == "received"  # type: ignore[union-attr]
    r = client.post(url, data={"decision": "accept", "csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 303
    with Session(container.engine) as s:
        assert s.get(DocumentItemRow, w.doc_png).status == "accepted"  # type: ignore[union-attr]
    # logging out ends the session on the server: the old cookie no longer works
    cookie = client.cookies.get("cd_session")
    assert (
        client.post(
            "/console/logout", data={"csrf_token": csrf}, follow_redirects=False
        ).status_code
        == 303
    )
    client.cookies.set("cd_session", cookie or "", path="/console")
    assert client.get("/console/dashboard", follow_redirects=False).status_code == 303


def test_console_viewer_cannot_change_and_officer_cannot_manage_staff(served: Served) -> None:
    client, container, w = served
    csrf = console_login(client, "vera")
    page = client.get(f"/console/applications/{w.app_id}")
    assert page.status_code == 200 and "通过</button>" not in page.text
    r = client.post(f"/console/applications/{w.app_id}/advance", data={"csrf_token": csrf})
    assert r.status_code == 403 and "只读" in r.text
    with Session(container.engine) as s:
        assert s.get(ApplicationRow, w.app_id).stage == "community_review"  # type: ignore[union-attr]
    client.cookies.clear()
    csrf = console_login(client, "alice")
    assert client.get("/console/staff").status_code == 403
    r = client.post(
        "/console/staff",
        data={"csrf_token": csrf, "username": "mallory", "role": "admin", "password": "x" * 12},
    )
    assert r.status_code == 403
    client.cookies.clear()
    csrf = console_login(client, "admin1")
    r = client.post(
        "/console/staff",
        data={"csrf_token": csrf, "username": "mallory", "role": "viewer", "password": "x" * 12},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert "mallory" in client.get("/console/staff").text


def test_console_pages_render(served: Served) -> None:
    client, _, w = served
    console_login(client, "admin1")
    for path in (
        "/console/dashboard",
        "/console/applications?stage=community_review",
        f"/console/applications/{w.app_id}",
        "/console/loans?overdue=true",
        f"/console/loans/{w.overdue_loan}",
        "/console/imports",
        "/console/notices?status=pending",
        "/console/handoff",
        f"/console/handoff/{w.ticket_id}",
        "/console/knowledge",
        "/console/broadcasts",
        "/console/broadcasts/new",
        "/console/staff",
        "/console/audit",
    ):
        r = client.get(path)
        assert r.status_code == 200, path
        assert "script-src 'nonce-" in r.headers["content-security-policy"]
    dash = client.get("/console/dashboard").text
    assert "<svg" in dash and "31–90天" in dash and "第十二条" in dash


# --- CLI ------------------------------------------------------------------------------------------


def test_cli_creates_the_first_admin_and_issues_tokens(db_url: str, tmp_path: Path) -> None:
    import typer

    from server import cli_staff

    container = make_container(db_url, tmp_path)
    app = typer.Typer()
    cli_staff.register(app)
    app.command("noop")(lambda: None)  # a second command keeps `staff` a sub-command group
    runner = ContainerRunner(container)
    try:
        r = runner.invoke(
            app,
            ["staff", "create", "--username", "root.admin", "--role", "admin"],
            input="a-long-password\na-long-password\n",
        )
        assert r.exit_code == 0, r.output
        assert "已创建员工账号 root.admin（管理员）" in r.output
        r = runner.invoke(
            app,
            [
                "staff",
                "create",
                "--username",
                "x",
                "--role",
                "boss",
                "--password",
                "a-long-password",
            ],
        )
        assert r.exit_code == 2
        r = runner.invoke(
            app,
            [
                "staff",
                "create",
                "--username",
                "shorty",
                "--role",
                "viewer",
                "--password",
                "short",
            ],
        )
        assert r.exit_code == 1 and "密码至少10位" in r.output
        r = runner.invoke(app, ["staff", "token", "root.admin"])
        assert r.exit_code == 0
        token = r.stdout.strip().splitlines()[-1]
        assert token.startswith("cd_")
        client = TestClient(create_app(container, migrate=False))
        me = client.get("/api/staff/me", headers={"Authorization": f"Bearer {token}"})
        assert me.json() == {
            "username": "root.admin",
            "display_name": "root.admin",
            "role": "admin",
            "role_label": "管理员",
        }
        assert runner.invoke(app, ["staff", "token", "nobody"]).exit_code == 1
    finally:
        container.engine.dispose()


def test_console_actions_change_data_and_are_audited(served: Served) -> None:
    client, container, w = served
    csrf = console_login(client, "alice")

    def post(url: str, **data: Any) -> Any:
        return client.post(url, data={"csrf_token": csrf, **data}, follow_redirects=False)

    assert post(f"/console/handoff/{w.ticket_id}/reply", text="您好，已为您查询").status_code == 303
    assert "回复已排队" in client.get(f"/console/handoff/{w.ticket_id}").text
    assert len(notices(container, kind="relay")) == 1

    r = post(
        "/console/knowledge/paraphrase",
        normalized=w.unanswered,
        entry_id="amount_individual",
        text="额度最高批多少",
    )
    assert r.status_code == 303
    assert "amount_individual_staff" in client.get("/console/knowledge").text  # flash message
    assert post("/console/knowledge/reload").status_code == 303
    assert audits(container, "knowledge.reload")[-1].actor == "alice"

    bad = (FIXTURES / "loans_bad.csv").read_bytes()
    r = client.post(
        "/console/imports",
        data={"csrf_token": csrf, "kind": "loans"},
        files={"file": ("贷款.csv", bad, "text/csv")},
    )
    assert r.status_code == 422 and "未导入任何数据" in r.text and "贷款.csv" in r.text

    r = post(
        "/console/broadcasts",
        title="通知",
        body="政策调整",
        group="all",
        channels=["telegram", "sms"],
        min_overdue_days="1",
    )
    assert r.status_code == 303
    url = r.headers["location"]
    assert "2 人" in client.get(url).text
    assert post(url + "/send", mode="now").status_code == 303
    assert "待第二人确认" in client.get(url).text
    assert post(url + "/cancel").status_code == 303
    assert "已取消" in client.get(url).text
    missing = client.get("/console/broadcasts/999/edit")
    assert missing.status_code == 404 and "不存在" in missing.text
    assert [a.action for a in audits(container, "broadcast.cancel")] == ["broadcast.cancel"]


def test_dashboard_figures(served: Served) -> None:
    client, _, w = served
    d = client.get("/api/staff/dashboard", headers=bearer(w, "vera")).json()
    community = next(s for s in d["applications"]["by_stage"] if s["stage"] == "community_review")
    assert community == {
        "stage": "community_review",
        "label": "社区调查推荐",
        "count": 1,
        "late": 1,
        "limit_workdays": 4,  # 兰州 第十三条(二)
    }
    late = d["applications"]["late"][0]
    assert late["id"] == w.app_id and late["workdays_in_stage"] > 4
    buckets = {b["bucket"]: b for b in d["loans"]["overdue"]}
    assert buckets["31-90"]["loans"] == 1 and buckets["31-90"]["overdue_fen"] == 2_000_000
    assert buckets["1-30"]["loans"] == 0 and buckets["90+"]["loans"] == 0
    assert d["loans"]["active"] == 2 and d["loans"]["outstanding_fen"] == 10_000_000
    g = d["guarantee"]
    assert g["limit_fen"] == 5 * g["fund_fen"] == 50_000_000
    assert g["usage_percent"] == 20.0 and g["over_limit"] is False
