"""The staff side written once: both doors run the same command, so the audit payload is the
same; the HTTP status comes from the error's type; a console refusal writes nothing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import Session, col, select

from core.outbox.enqueue import enqueue
from core.persistence.db import session_scope
from core.persistence.models import AuditEventRow, HandoffMessageRow, NoticeRow
from server.bootstrap import Container
from tests.staff_seed import Served, bearer, console_login, serve_world


@pytest.fixture
def served(db_url: str, tmp_path: Path) -> Iterator[Served]:
    with serve_world(db_url, tmp_path) as served:
        yield served


def failed_notice(container: Container, key: str) -> int:
    with session_scope(container.engine) as s:
        assert enqueue(s, key=key, kind="relay", channel="telegram", address="1", text="x")
        row = s.exec(select(NoticeRow).where(NoticeRow.key == key)).one()
        row.status = "failed"
        s.add(row)
        assert row.id is not None
        return row.id


def requeue_audits(container: Container) -> list[AuditEventRow]:
    with Session(container.engine) as s:
        stmt = select(AuditEventRow).where(AuditEventRow.action == "notice.requeue")
        return list(s.exec(stmt.order_by(col(AuditEventRow.id))))


def test_requeue_audits_one_payload_from_both_doors(served: Served) -> None:
    client, container, w = served
    first, second = failed_notice(container, "t:1"), failed_notice(container, "t:2")
    r = client.post("/api/staff/notices/requeue", headers=bearer(w, "bob"), json={"ids": [first]})
    assert r.json() == {"requeued": 1}
    csrf = console_login(client, "alice")
    r = client.post(
        f"/console/notices/{second}/requeue", data={"csrf_token": csrf}, follow_redirects=False
    )
    assert r.status_code == 303
    api, console = requeue_audits(container)
    assert (api.actor, console.actor) == ("bob", "alice")
    assert api.after == {"ids": [first], "requeued": 1}
    assert console.after == {"ids": [second], "requeued": 1}
    assert (api.object_id, console.object_id) == (str(first), str(second))


def test_status_comes_from_the_error_type(served: Served) -> None:
    client, _container, w = served
    h = bearer(w, "bob")
    missing = client.get("/api/staff/broadcasts/99999", headers=h)
    assert missing.status_code == 404 and missing.json() == {"detail": "公告 99999 不存在"}
    draft = client.post("/api/staff/broadcasts", headers=h, json={"title": "t", "body": "b"})
    assert draft.status_code == 201
    bad = client.put(
        f"/api/staff/broadcasts/{draft.json()['id']}", headers=h, json={"title": " ", "body": "b"}
    )
    assert bad.status_code == 422 and bad.json()["detail"] == "请填写公告标题"
    console_login(client, "alice")
    page = client.get("/console/broadcasts/99999")
    assert page.status_code == 404 and "公告 99999 不存在" in page.text
    poll = client.get("/console/broadcasts/99999/progress")
    assert poll.status_code == 404 and poll.json() == {"detail": "公告 99999 不存在"}


def test_a_console_refusal_writes_nothing(served: Served) -> None:
    client, container, w = served
    csrf = console_login(client, "alice")
    url = f"/console/handoff/{w.ticket_id}"
    client.post(f"{url}/close", data={"csrf_token": csrf}, follow_redirects=False)
    r = client.post(
        f"{url}/reply", data={"csrf_token": csrf, "text": "在吗"}, follow_redirects=False
    )
    assert r.status_code == 303 and r.headers["location"] == url
    assert "已关闭" in client.get(url).text
    with Session(container.engine) as s:
        staff_messages = s.exec(
            select(HandoffMessageRow).where(HandoffMessageRow.sender == "staff")
        ).all()
        relays = s.exec(select(NoticeRow).where(NoticeRow.kind == "relay")).all()
    assert staff_messages == [] and relays == []
