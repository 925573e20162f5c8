"""Held messages explain themselves (core/outbox/held.py): a notice or broadcast waiting for quiet
hours says "21:00–08:00 静默时段，08:00 后发送" (from the configured window); a notice for a door
that cannot receive (the terminal) says so — in the staff API and on the console pages."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from core.handoff.tickets import open_ticket
from core.kernel.quiet_hours import QuietHours
from core.kernel.timeutil import SHANGHAI, utcnow
from core.outbox.held import held_reason, quiet_label, quiet_now
from core.persistence.db import session_scope
from core.persistence.models import BroadcastRow, NoticeRow
from server.app import create_app
from server.bootstrap import Container
from tests.staff_seed import World, bearer, make_container, seed
from tests.staff_seed import console_login as login

QUIET = QuietHours(time(21, 0), time(8, 0))
NOW = datetime(2026, 12, 7, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai
NIGHT = datetime(2026, 12, 7, 14, 30, tzinfo=UTC)  # 22:30 in Shanghai
NEXT_8 = datetime(2026, 12, 8, 0, 0, tzinfo=UTC)  # 08:00 in Shanghai


def _notice(**kw: object) -> NoticeRow:
    values: dict[str, object] = {
        "key": f"k{len(kw)}",
        "kind": "reminder",
        "channel": "sms",
        "address": "+8613893100002",
        "text": "还款提醒",
        "status": "pending",
        "send_after": NOW,
    }
    values.update(kw)
    return NoticeRow(**values)  # type: ignore[arg-type]


def test_held_reasons() -> None:
    assert quiet_label(QUIET) == "21:00–08:00 静默时段，08:00 后发送"
    deferred = _notice(send_after=NEXT_8)
    held = held_reason(deferred, NOW, QUIET)
    assert held and held.to_json() == {
        "held_reason": "quiet_hours",
        "held_reason_label": "21:00–08:00 静默时段，08:00 后发送",
    }
    assert held_reason(_notice(), NIGHT, QUIET) == held  # due now, inside the window
    assert held_reason(_notice(), NOW, QUIET) is None  # due now, outside: nothing holds it
    assert held_reason(_notice(kind="relay"), NIGHT, QUIET) is None  # replies ignore quiet hours
    assert held_reason(_notice(status="sent"), NIGHT, QUIET) is None
    assert held_reason(_notice(), NIGHT, QuietHours(time(0), time(0))) is None  # no window
    assert held_reason(_notice(send_after=NOW + timedelta(hours=3)), NOW, QUIET) is None
    terminal = held_reason(_notice(kind="relay", channel="terminal", status="failed"), NOW, QUIET)
    assert terminal and terminal.code == "channel_cannot_receive"
    assert terminal.label == "终端对话无法接收消息，不会发送到该渠道"
    assert quiet_now(QUIET, NIGHT) == held and quiet_now(QUIET, NOW) is None


def _around_now() -> tuple[str, str]:
    local = utcnow().astimezone(SHANGHAI)
    return (
        (local - timedelta(hours=1)).strftime("%H:%M"),
        (local + timedelta(hours=1)).strftime("%H:%M"),
    )


@pytest.fixture
def quiet_served(db_url: str, tmp_path: Path) -> Iterator[tuple[TestClient, Container, World]]:
    start, end = _around_now()
    container = make_container(db_url, tmp_path, quiet_hours_start=start, quiet_hours_end=end)
    world = seed(container.engine, container.settings.documents_path)
    with TestClient(create_app(container, migrate=False)) as client:
        yield client, container, world
    container.engine.dispose()


def test_api_and_console_say_why(quiet_served: tuple[TestClient, Container, World]) -> None:
    client, container, w = quiet_served
    start, end = _around_now()
    label = f"{start}–{end} 静默时段，{end} 后发送"
    with session_scope(container.engine) as s:
        b = BroadcastRow(title="政策调整", body="内容", status="queued", created_by="alice")
        s.add(b)
        s.flush()
        s.add_all(
            [
                _notice(key="r1", loan_id=w.overdue_loan, send_after=utcnow()),
                _notice(key="t1", kind="relay", channel="terminal", address="term-1"),
                _notice(key="b1", kind="broadcast", broadcast_id=b.id, send_after=utcnow()),
            ]
        )
        bid = int(b.id or 0)
    r = client.get("/api/staff/notices", headers=bearer(w, "vera"))
    by_key = {n["key"]: n for n in r.json()["items"]}
    assert by_key["r1"]["held_reason"] == "quiet_hours"
    assert by_key["r1"]["held_reason_label"] == label
    assert by_key["t1"]["held_reason"] == "channel_cannot_receive"
    assert "终端对话无法接收消息" in by_key["t1"]["held_reason_label"]
    r = client.get(f"/api/staff/broadcasts/{bid}", headers=bearer(w, "vera"))
    assert r.json()["held_reason_label"] == label
    loan = client.get(f"/api/staff/loans/{w.overdue_loan}", headers=bearer(w, "vera")).json()
    assert loan["notices"][0]["held_reason_label"] == label

    # a staff reply to a chat on the terminal: the ticket page says it cannot be delivered there
    with session_scope(container.engine) as s:
        ticket, _ = open_ticket(
            s, channel="terminal", address="term-9", identity_id=None, text="人工", reason="user"
        )
        tid = int(ticket.id or 0)
    r = client.post(
        f"/api/staff/handoff/{tid}/reply", json={"text": "您好"}, headers=bearer(w, "alice")
    )
    assert r.status_code == 200, r.text

    login(client, "vera")
    assert "终端对话无法接收消息，不会发送到该渠道" in client.get(f"/console/handoff/{tid}").text
    page = client.get("/console/notices").text
    assert label in page and "终端对话无法接收消息，不会发送到该渠道" in page
    assert label in client.get(f"/console/broadcasts/{bid}").text
    assert label in client.get(f"/console/loans/{w.overdue_loan}").text
