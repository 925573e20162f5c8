"""Acting on a loan through the staff API (core/staff/loan_actions.py): a payment recorded by
hand is applied as an imported one and cancels the queued notices; collection notes; 结清 / 代偿 /
核销 stop the reminders and 代偿 shows on the dashboard; admins reverse with a reason, officers
act, viewers cannot."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from core.kernel.quiet_hours import QuietHours
from core.kernel.timeutil import local_today
from core.kernel.workdays import WorkCalendar
from core.persistence.models import InstallmentRow, LoanRow, NoticeRow, PaymentRow
from core.reminders.ladder import load_reminder_policy
from core.reminders.sweep import run_sweep
from server.bootstrap import Container
from tests.integration.test_staff_api import audits, served
from tests.staff_seed import World, bearer

__all__ = ["served"]
Served = tuple[TestClient, Container, World]


def _sweep(container: Container) -> int:
    """The sweep of a day just after the seeded overdue instalment fell due (40 days ago)."""
    day = local_today() - timedelta(days=37)
    result = run_sweep(
        container.engine, load_reminder_policy(), WorkCalendar(), day, quiet=QuietHours()
    )
    return result.created


def _loan_notices(container: Container, loan_id: int) -> list[NoticeRow]:
    with Session(container.engine) as s:
        stmt = select(NoticeRow).where(NoticeRow.loan_id == loan_id).order_by(col(NoticeRow.id))
        return list(s.exec(stmt))


def _post(client: TestClient, world: World, who: str, path: str, body: dict[str, Any]) -> Any:
    return client.post(f"/api/staff/loans/{path}", json=body, headers=bearer(world, who))


def test_manual_payment_applies_cancels_and_reverses(served: Served) -> None:
    client, container, w = served
    loan = w.overdue_loan
    assert _sweep(container) > 0
    queued = [n for n in _loan_notices(container, loan) if n.status == "pending"]
    assert queued, "the overdue instalment has queued notices"
    today = local_today()

    body = {"amount_yuan": "20000.00", "paid_on": today.isoformat(), "reference": "HAND-001"}
    assert _post(client, w, "vera", f"{loan}/payments", body).status_code == 403
    r = _post(client, w, "alice", f"{loan}/payments", body)
    assert r.status_code == 201, r.text
    out = r.json()
    assert out["action"]["kind"] == "payment" and out["action"]["kind_label"] == "手工还款"
    assert "20000.00" in out["message"] and "取消待发提醒" in out["message"]
    with Session(container.engine) as s:
        first = s.exec(
            select(InstallmentRow).where(InstallmentRow.loan_id == loan, InstallmentRow.seq == 1)
        ).one()
        assert first.paid and first.paid_fen == 2_000_000 and first.paid_on == today
        pay = s.exec(select(PaymentRow).where(PaymentRow.loan_id == loan)).one()
        assert (pay.source, pay.amount_fen, pay.reference) == ("manual", 2_000_000, "HAND-001")
    statuses = {n.id: n.status for n in _loan_notices(container, loan)}
    assert all(statuses[n.id] == "cancelled" for n in queued)
    (event,) = audits(container, "loan.payment")
    assert event.actor == "alice" and event.before == {"status": "active", "paid_fen": 0}
    assert event.after and event.after["paid_fen"] == 2_000_000
    detail = client.get(f"/api/staff/loans/{loan}", headers=bearer(w, "vera")).json()
    assert detail["payments"][0]["source_label"] == "手工"

    # the same reference again, bad amounts and dates: Chinese refusals, nothing written
    assert _post(client, w, "alice", f"{loan}/payments", body).status_code == 409
    for bad, words in (
        ({**body, "reference": "X2", "amount_yuan": "12.345"}, "最多两位小数"),
        ({**body, "reference": "X2", "amount_yuan": "abc"}, "格式不正确"),
        ({**body, "reference": "X2", "amount_yuan": "0"}, "必须大于0"),
        ({**body, "reference": "X2", "amount_yuan": ""}, "请填写还款金额"),
        (
            {**body, "reference": "X2", "paid_on": (today + timedelta(days=1)).isoformat()},
            "不能晚于今天",
        ),
        ({**body, "reference": "X2", "paid_on": "2020-01-01"}, "不能早于放款日"),
        ({**body, "reference": "X2", "paid_on": "15/03/2026"}, "格式不正确"),
        ({**body, "reference": " "}, "请填写流水号"),
    ):
        r = _post(client, w, "alice", f"{loan}/payments", bad)
        assert r.status_code == 422 and words in r.json()["detail"], (bad, r.text)
    assert _post(client, w, "alice", "999999/payments", body).status_code == 404

    # an admin reverses it with a reason: the instalment re-opens, no notice comes back by itself
    action_id = out["action"]["id"]
    rev = {"action_id": action_id, "reason": "流水号录错"}
    assert _post(client, w, "alice", f"{loan}/reversals", rev).status_code == 403
    r = _post(client, w, "admin1", f"{loan}/reversals", {**rev, "reason": " "})
    assert r.status_code == 422 and "撤销原因" in r.json()["detail"]
    r = _post(client, w, "admin1", f"{loan}/reversals", rev)
    assert r.status_code == 201, r.text
    assert _post(client, w, "admin1", f"{loan}/reversals", rev).status_code == 409
    with Session(container.engine) as s:
        first = s.exec(
            select(InstallmentRow).where(InstallmentRow.loan_id == loan, InstallmentRow.seq == 1)
        ).one()
        assert not first.paid and first.paid_fen == 0 and first.paid_on is None
        assert s.exec(select(PaymentRow).where(PaymentRow.loan_id == loan)).first() is None
    after = _loan_notices(container, loan)
    assert not [n for n in after if n.status == "pending"]  # nothing resurrected
    (undo,) = audits(container, "loan.reversal")
    assert undo.actor == "admin1" and undo.after and undo.after["reason"] == "流水号录错"
    # ... the next sweep plans what is due again
    assert _sweep(container) > 0
    assert [n for n in _loan_notices(container, loan) if n.status == "pending"]
    history = client.get(f"/api/staff/loans/{loan}/actions", headers=bearer(w, "vera")).json()
    assert history["items"][0]["reversed"] is True
    assert history["items"][0]["reversal_reason"] == "流水号录错"


def test_a_payment_that_pays_off_the_loan_closes_it_and_reversal_reopens(served: Served) -> None:
    client, container, w = served
    loan = w.current_loan
    body = {"amount_yuan": "50,000", "paid_on": local_today().isoformat(), "reference": "ALL"}
    r = _post(client, w, "bob", f"{loan}/payments", body)
    assert r.status_code == 201
    with Session(container.engine) as s:
        assert (s.get(LoanRow, loan) or LoanRow()).status == "closed"
    action_id = r.json()["action"]["id"]
    r = _post(client, w, "admin1", f"{loan}/reversals", {"action_id": action_id, "reason": "退回"})
    assert r.status_code == 201
    with Session(container.engine) as s:
        assert (s.get(LoanRow, loan) or LoanRow()).status == "active"
    # more than owed: recorded, with a warning
    body = {"amount_yuan": "60000", "paid_on": local_today().isoformat(), "reference": "MORE"}
    r = _post(client, w, "bob", f"{loan}/payments", body)
    assert r.status_code == 201 and "超出未还金额" in r.json()["warnings"][0]


def test_collection_notes(served: Served) -> None:
    client, container, w = served
    loan = w.overdue_loan
    note = {
        "contacted_on": local_today().isoformat(),
        "contact": "counter_guarantor",
        "channel": "phone",
        "outcome": "promised",
        "text": "反担保人答应督促借款人本周还款",
    }
    assert _post(client, w, "vera", f"{loan}/notes", note).status_code == 403
    r = _post(client, w, "alice", f"{loan}/notes", note)
    assert r.status_code == 201
    a = r.json()["action"]
    assert (a["contact_label"], a["channel_label"], a["outcome_label"]) == (
        "反担保人",
        "电话",
        "承诺还款",
    )
    for bad, words in (
        ({**note, "contact": "neighbour"}, "联系对象须为"),
        ({**note, "outcome": ""}, "联系结果须为"),
        ({**note, "contacted_on": ""}, "请填写联系日期"),
    ):
        r = _post(client, w, "alice", f"{loan}/notes", bad)
        assert r.status_code == 422 and words in r.json()["detail"]
    (event,) = audits(container, "loan.note")
    assert event.after and event.after["outcome"] == "promised"
    r = _post(
        client, w, "admin1", f"{loan}/reversals", {"action_id": a["id"], "reason": "记错贷款"}
    )
    assert r.status_code == 201
    # an action of another loan is not found on this one
    r = _post(
        client, w, "admin1", f"{w.current_loan}/reversals", {"action_id": a["id"], "reason": "x"}
    )
    assert r.status_code == 404


def test_compensated_stops_reminders_and_shows_on_the_dashboard(served: Served) -> None:
    client, container, w = served
    loan = w.overdue_loan
    today = local_today().isoformat()
    assert _sweep(container) > 0
    body = {"status": "compensated", "on": today, "amount_yuan": "20000.5", "note": "担保基金代偿"}
    assert _post(client, w, "vera", f"{loan}/status", body).status_code == 403
    r = _post(client, w, "alice", f"{loan}/status", {**body, "amount_yuan": ""})
    assert r.status_code == 422 and "代偿金额" in r.json()["detail"]
    r = _post(client, w, "alice", f"{loan}/status", {**body, "status": "closed"})
    assert r.status_code == 422 and "已结清、已代偿、已核销" in r.json()["detail"]
    r = _post(client, w, "alice", f"{loan}/status", body)
    assert r.status_code == 201, r.text
    assert r.json()["action"]["status_to_label"] == "已代偿"
    assert not [n for n in _loan_notices(container, loan) if n.status == "pending"]
    assert _sweep(container) == 0  # a compensated loan gets no more notices
    board = client.get("/api/staff/dashboard", headers=bearer(w, "vera")).json()
    assert board["loans"]["compensated"] == {"count": 1, "amount_fen": 2_000_050}
    # no second state, no payment on it
    r = _post(client, w, "alice", f"{loan}/status", {**body, "status": "written_off"})
    assert r.status_code == 409 and "已代偿" in r.json()["detail"]
    pay = {"amount_yuan": "1", "paid_on": today, "reference": "P"}
    assert _post(client, w, "alice", f"{loan}/payments", pay).status_code == 409
    (event,) = audits(container, "loan.status")
    assert event.before == {"status": "active"} and event.after
    assert event.after["status"] == "compensated" and event.after["amount_fen"] == 2_000_050

    history = client.get(f"/api/staff/loans/{loan}/actions", headers=bearer(w, "vera")).json()
    rev = {"action_id": history["items"][0]["id"], "reason": "误操作"}
    assert _post(client, w, "admin1", f"{loan}/reversals", rev).status_code == 201
    board = client.get("/api/staff/dashboard", headers=bearer(w, "vera")).json()
    assert board["loans"]["compensated"] == {"count": 0, "amount_fen": 0}
    with Session(container.engine) as s:
        assert (s.get(LoanRow, loan) or LoanRow()).status == "active"
    assert _sweep(container) > 0  # reminders planned again

    for state in ("settled", "written_off"):
        r = _post(client, w, "alice", f"{w.current_loan}/status", {"status": state, "on": today})
        assert r.status_code == 201
        undo = {"action_id": r.json()["action"]["id"], "reason": "演示"}
        assert _post(client, w, "admin1", f"{w.current_loan}/reversals", undo).status_code == 201


def test_an_imported_payment_cancels_queued_notices_too(served: Served) -> None:
    client, container, w = served
    assert _sweep(container) > 0
    today = local_today().isoformat()
    csv = f"贷款编号,还款日期,还款金额(元),流水号\nLZ-S-0001,{today},20000.00,BANK-9\n"
    r = client.post(
        "/api/staff/imports/payments",
        files={"file": ("payments.csv", csv.encode("utf-8"), "text/csv")},
        headers=bearer(w, "alice"),
    )
    assert r.status_code == 200, r.text
    assert "paid_installment_ids" not in r.json()
    notices = _loan_notices(container, w.overdue_loan)
    assert notices and all(n.status == "cancelled" for n in notices)
    detail = client.get(f"/api/staff/loans/{w.overdue_loan}", headers=bearer(w, "vera")).json()
    assert detail["payments"][0]["source"] == "import"
    assert detail["payments"][0]["source_label"] == "导入"
