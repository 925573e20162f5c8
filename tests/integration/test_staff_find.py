"""Find anyone (the `q=` search of the staff lists, audited when it is a phone or ID lookup), the
overdue buckets of the dashboard as a loan filter, and the `*_label` fields of the staff API.
Runs on SQLite and, marked `db`, on PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from core.kernel.identity import id_check_digit
from core.persistence.models import CounterGuarantorRow, PersonRow
from server.bootstrap import Container
from tests.integration import test_staff_api as staff_api
from tests.staff_seed import World

Served = tuple[TestClient, Container, World]
served = staff_api.served  # the staff API's fixture (the seeded world behind a TestClient)
audits, bearer = staff_api.audits, staff_api.bearer
GUARANTOR_ID = "62010219900101001" + id_check_digit("62010219900101001")


def _add_guarantor(container: Container, world: World) -> None:
    """A counter-guarantor (with an ID number) on the overdue loan."""
    with Session(container.engine) as s:
        g = PersonRow(name="赵担保", phone="+8613993109876", id_number=GUARANTOR_ID)
        s.add(g)
        s.flush()
        assert g.id is not None
        s.add(CounterGuarantorRow(loan_id=world.overdue_loan, person_id=g.id))
        s.commit()


def _loan_nos(client: TestClient, world: World, q: str, **params: Any) -> list[str]:
    r = client.get("/api/staff/loans", params={"q": q, **params}, headers=bearer(world, "vera"))
    assert r.status_code == 200, r.text
    return [i["loan_no"] for i in r.json()["items"]]


@pytest.mark.parametrize(
    "q",
    [
        "王秀兰",
        "秀兰",
        "13893100002",
        "138 9310 0002",
        "138-9310-0002",
        "+86 138 9310 0002",
        "86-13893100002",
        "+8613893100002",
        "9876",
        "00002",
        "LZ-S-0001",
        "s-0001",
        "赵担保",
        "139 9310 9876",
        GUARANTOR_ID,
        GUARANTOR_ID[-6:].lower(),
        GUARANTOR_ID[-4:],
    ],
)
def test_loans_are_found_by_name_phone_id_number_and_guarantor(served: Served, q: str) -> None:
    client, container, w = served
    _add_guarantor(container, w)
    assert _loan_nos(client, w, q) == ["LZ-S-0001"]


def test_search_misses_and_bad_queries(served: Served) -> None:
    client, _, w = served
    assert _loan_nos(client, w, "13800000000") == []
    assert _loan_nos(client, w, "100%") == []  # wildcards are text, not patterns
    assert _loan_nos(client, w, "_") == []
    assert _loan_nos(client, w, "  ") == ["LZ-S-0002", "LZ-S-0001"]  # blank: no filter
    for bad in ("x" * 51, "王\x00秀兰", "abc\x1b[0m"):
        r = client.get("/api/staff/loans", params={"q": bad}, headers=bearer(w, "vera"))
        assert r.status_code == 422, r.text
        assert "搜索内容" in r.json()["detail"]


def test_phone_and_id_lookups_are_audited_masked(served: Served) -> None:
    client, container, w = served
    assert _loan_nos(client, w, "138 9310 0002") == ["LZ-S-0001"]
    assert _loan_nos(client, w, "王秀兰") == ["LZ-S-0001"]  # a name: not a personal lookup
    rows = audits(container, "search.person")
    assert len(rows) == 1
    row = rows[0]
    assert row.actor == "vera" and row.object_id == str(w.phone_person)
    assert row.after == {"list": "loans", "q": "+86138****0002", "people": [w.phone_person]}
    r = client.get(
        "/api/staff/applications", params={"q": "620102198503150116"}, headers=bearer(w, "vera")
    )
    assert [i["id"] for i in r.json()["items"]] == [w.app_id]
    last = audits(container, "search.person")[-1]
    assert last.after is not None and last.after["q"] == "620102********0116"
    assert last.after["list"] == "applications"


def test_applications_tickets_and_notices_search(served: Served) -> None:
    client, _, w = served
    h = bearer(w, "alice")
    for q in ("张建国", "0001", "0116", "150116", "138 9310 0001"):
        r = client.get("/api/staff/applications", params={"q": q}, headers=h)
        assert [i["id"] for i in r.json()["items"]] == [w.app_id], q
    r = client.get("/api/staff/applications", params={"q": "王秀兰"}, headers=h)
    assert r.json()["items"] == []
    r = client.get("/api/staff/handoff", params={"q": "张建国", "status": ""}, headers=h)
    assert [i["id"] for i in r.json()["items"]] == [w.ticket_id]
    assert r.json()["items"][0]["number"] == f"工单号 {w.ticket_id}"
    r = client.get("/api/staff/handoff", params={"q": "王秀兰", "status": ""}, headers=h)
    assert r.json()["items"] == []
    # a notice of the overdue loan is found by the borrower's phone and by the loan number
    client.post(f"/api/staff/handoff/{w.ticket_id}/reply", json={"text": "您好"}, headers=h)
    r = client.get("/api/staff/notices", params={"q": "张建国"}, headers=h)
    assert r.status_code == 200
    r = client.get("/api/staff/notices", params={"q": "\x07"}, headers=h)
    assert r.status_code == 422


@pytest.mark.parametrize(
    ("bucket", "expected"), [("1-30", []), ("31-90", ["LZ-S-0001"]), ("90+", [])]
)
def test_overdue_days_filter_uses_the_dashboard_buckets(
    served: Served, bucket: str, expected: list[str]
) -> None:
    client, _, w = served
    h = bearer(w, "vera")
    r = client.get("/api/staff/loans", params={"overdue_days": bucket}, headers=h)
    assert r.status_code == 200
    items = r.json()["items"]
    assert [i["loan_no"] for i in items] == expected
    assert all(i["overdue_days"] == 40 for i in items)
    board = client.get("/api/staff/dashboard", headers=h).json()
    row = next(b for b in board["loans"]["overdue"] if b["bucket"] == bucket)
    assert row["loans"] == len(expected)
    listed = client.get(row["loans_url"], headers=h).json()
    assert listed["total"] == len(expected)
    bad = client.get("/api/staff/loans", params={"overdue_days": "7"}, headers=h)
    assert bad.status_code == 422


def test_api_answers_labels_beside_codes(served: Served) -> None:
    client, _, w = served
    h = bearer(w, "admin1")
    loan = client.get("/api/staff/loans", headers=h).json()["items"][0]
    assert loan["repayment_method"] == "equal_principal"
    assert loan["repayment_method_label"] == "等额本金"
    assert loan["subsidy_kind_label"] == "个人全额贴息" and loan["status_label"] == "在贷"
    detail = client.get(f"/api/staff/loans/{w.overdue_loan}", headers=h).json()
    assert detail["installments"][0]["status_label"] == "逾期"
    app = client.get(f"/api/staff/applications/{w.app_id}", headers=h).json()
    assert app["stage_label"] == "社区调查推荐" and app["applicant_type_label"] == "个人"
    assert app["category_label"] == "失业人员"
    assert app["policy_label"] == "《兰州市失业人员小额担保贷款实施办法》"
    assert app["documents"][0]["status_label"] == "待审核"
    assert app["answers"] == [
        {"field": "applicant_type", "field_label": "申请类型", "answer": "个人"},
        {"field": "amount", "field_label": "申请金额（元）", "answer": "50000"},
    ]
    t = client.get(f"/api/staff/handoff/{w.ticket_id}", headers=h).json()
    assert t["status_label"] == "待处理" and t["channel_label"] == "Telegram"
    assert t["reason_label"] == "用户要求人工" and t["messages"][0]["sender_label"] == "用户"
    users = client.get("/api/staff/users", headers=h).json()
    assert {u["role"]: u["role_label"] for u in users}["viewer"] == "只读"
    client.get("/api/staff/loans", params={"q": "0002"}, headers=h)
    event = client.get("/api/staff/audit", headers=h).json()["items"][0]
    assert event["action_label"] == "按证件号或手机号查询"
    assert event["object_type_label"] == "个人"


def test_viewers_read_phones_masked_in_the_api_as_on_the_console(served: Served) -> None:
    """A viewer's loan and application detail show 138 **** 0002; an officer's the whole number."""
    client, container, w = served
    _add_guarantor(container, w)
    for who, masked in (("vera", True), ("alice", False)):
        loan = client.get(f"/api/staff/loans/{w.overdue_loan}", headers=bearer(w, who)).json()
        phones = [loan["borrower"]["phone"]] + [g["phone"] for g in loan["counter_guarantors"]]
        app = client.get(f"/api/staff/applications/{w.app_id}", headers=bearer(w, who)).json()
        if app["person"] and app["person"]["phone"]:
            phones.append(app["person"]["phone"])
        assert len(phones) >= 2, phones
        assert all(("****" in p) == masked for p in phones if p), (who, phones)
