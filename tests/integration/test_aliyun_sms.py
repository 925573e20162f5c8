"""The Aliyun SMS adapter against a real database and the local fake gateway (tests/fakes).

The official SDK talks plain HTTP to the fake, which verifies every request's ACS3-HMAC-SHA256
signature; receipts and replies come in through the real FastAPI routes with the fake's push
bodies; the whole reminder path (sweep → dispatch → receipt) runs with SMS_PROVIDER=aliyun.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from core.dialogue.events import InboundEvent
from core.dialogue.replycap import allow_reply
from core.kernel.quiet_hours import QuietHours
from core.kernel.settings import Settings
from core.kernel.timeutil import SHANGHAI, utcnow
from core.kernel.workdays import WorkCalendar
from core.outbox.dispatch import DispatchConfig, Dispatcher
from core.outbox.enqueue import enqueue, enqueue_many
from core.outbox.senders import ConsoleSender, OutgoingMessage
from core.persistence.db import session_scope
from core.persistence.models import (
    ChannelIdentityRow,
    InboundMessageRow,
    NoticeRow,
)
from core.persistence.models_sms import SmsStatusEventRow
from core.reminders.ladder import load_reminder_policy
from core.reminders.sweep import run_sweep
from server import routes_aliyun_sms, workers
from server.bootstrap import Container, MaskingFilter
from server.scheduler import room_for_batches
from sms.aliyun_receipts import poll_receipts
from sms.aliyun_sender import AliyunSmsPort
from sms.aliyun_templates import load_catalog
from sms.gateway import build_sms_sender
from sms.port import SmsSender
from tests.cli_kit import door_client
from tests.contracts import REPAY_REMINDER_PARAMS
from tests.db_kit import add_guarantor, add_loan, add_person, count, notice, sms_identity
from tests.fakes.aliyun_sms import FakeAliyunSms, RegisteredTemplate, SignatureError, verify_acs3

AK = "LTAI5tTestKeyId000001"
SECRET = "test-secret-NEVER-in-logs-4f2a"
SIGN = "创业担保贷款"
TOKEN = "push-token-5b1d9e"
PHONE = "+8613812348000"


def registered() -> dict[str, RegisteredTemplate]:
    cat = load_catalog()
    return {
        t.code: RegisteredTemplate(
            t.code, t.content, t.type, max(cat.limit(v) for v in t.variables)
        )
        for t in cat.templates.values()
    }


@pytest.fixture
def fake() -> Iterator[FakeAliyunSms]:
    server = FakeAliyunSms({AK: SECRET}, {SIGN}, registered()).start()
    yield server
    server.stop()


def port_for(fake: FakeAliyunSms, secret: str = SECRET) -> AliyunSmsPort:
    return AliyunSmsPort(
        access_key_id=AK, access_key_secret=secret, sign_name=SIGN, endpoint=fake.endpoint
    )


def settings_for(db_url: str, fake: FakeAliyunSms, tmp_path: Path, **extra: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": db_url,
        "data_dir": tmp_path,
        "sms_provider": "aliyun",
        "aliyun_access_key_id": AK,
        "aliyun_access_key_secret": SECRET,
        "aliyun_sms_sign_name": SIGN,
        "aliyun_sms_endpoint": fake.endpoint,
        "aliyun_sms_push_token": TOKEN,
        "sms_rate_per_second": 200,
        **extra,
    }
    return Settings(_env_file=None, **values)


def outgoing(
    template: str = "repay_reminder",
    params: dict[str, Any] | None = None,
    *,
    kind: str = "notification",
    notice_id: int | None = None,
    address: str = PHONE,
) -> OutgoingMessage:
    return OutgoingMessage(
        notice_id=notice_id,
        channel="sms",
        address=address,
        text="",
        kind=kind,
        template=template,
        params=params if params is not None else dict(REPAY_REMINDER_PARAMS),
    )


def make_notice(
    engine: Engine, *, status: str = "pending", address: str = PHONE, **extra: Any
) -> int:
    with session_scope(engine) as s:
        enqueue(
            s,
            key=f"test:{uuid.uuid4().hex}",
            kind=extra.pop("kind", "reminder"),
            channel="sms",
            address=address,
            text="还款提醒",
            template=extra.pop("template", "repay_reminder"),
            params=extra.pop("params", dict(REPAY_REMINDER_PARAMS)),
            send_after=extra.pop("send_after", local(2026, 11, 30)),
            **extra,
        )
        row = s.exec(select(NoticeRow).order_by(col(NoticeRow.id).desc())).first()
        assert row is not None and row.id is not None
        row.status = status
        s.add(row)
        return row.id


def local(y: int, m: int, d: int, hh: int = 10) -> datetime:
    return datetime(y, m, d, hh, tzinfo=SHANGHAI).astimezone(UTC)


def dispatcher(engine: Engine, sender: Any, now: datetime, **config: Any) -> Dispatcher:
    cfg = DispatchConfig(**{"lease_seconds": 120, **config})
    return Dispatcher(engine, {"sms": sender}, quiet=QuietHours(), config=cfg, clock=lambda: now)


# --- sending ------------------------------------------------------------------------------------


def test_send_sms_is_signed_sent_over_plain_http_and_linked(
    fake: FakeAliyunSms, engine: Engine
) -> None:
    sender = SmsSender(port_for(fake), engine, rate_per_second=100)
    nid = make_notice(engine, status="sending")
    result = asyncio.run(sender.send(outgoing(notice_id=nid)))
    assert result.ok and result.provider_id, result
    assert fake.endpoint.startswith("http://127.0.0.1:") and fake.rejected == []
    (call,) = fake.calls("SendSms")
    assert call["headers"]["authorization"].startswith("ACS3-HMAC-SHA256 Credential=" + AK)
    q = call["query"]
    assert (q["PhoneNumbers"], q["SignName"], q["TemplateCode"]) == (
        "13812348000",
        SIGN,
        "SMS_490120001",
    )
    assert json.loads(q["TemplateParam"]) == {k: str(v) for k, v in REPAY_REMINDER_PARAMS.items()}
    biz = fake.sent[0].biz_id
    assert result.provider_id == f"aliyun:{biz}:13812348000"
    assert notice(engine, nid).provider_id == result.provider_id
    assert fake.sent[0].content == (
        "【创业担保贷款】张建国您好，您的创业担保贷款****0001第3期应还3,333.33元，还款日2026年12月1日，"
        "请按时存入兰州银行还款账户。疑问请回复本短信。"
    )
    assert "拒收" not in fake.sent[0].content


def test_the_fake_really_verifies_signatures(fake: FakeAliyunSms, engine: Engine) -> None:
    bad = SmsSender(port_for(fake, secret="not-the-secret"), engine, rate_per_second=100)
    result = asyncio.run(bad.send(outgoing()))
    assert not result.ok and not result.temporary and not result.unreachable
    assert "AccessKey 无效" in (result.error or "")
    assert [r["code"] for r in fake.rejected] == ["SignatureDoesNotMatch"] and fake.sent == []
    # A genuine request replayed, or altered in one parameter, fails verification.
    good = SmsSender(port_for(fake), engine, rate_per_second=100)
    assert asyncio.run(good.send(outgoing())).ok
    call = fake.calls("SendSms")[-1]
    query = list(call["query"].items())
    with pytest.raises(SignatureError, match="nonce"):
        verify_acs3("POST", "/", query, call["headers"], b"", {AK: SECRET}, set(fake._nonces))
    altered = [(k, "13900000000" if k == "PhoneNumbers" else v) for k, v in query]
    with pytest.raises(SignatureError, match="not matched"):
        verify_acs3("POST", "/", altered, call["headers"], b"", {AK: SECRET}, set())
    assert verify_acs3("POST", "/", query, call["headers"], b"", {AK: SECRET}, set()) == AK


@pytest.mark.parametrize(
    ("status", "code", "check"),
    [
        (
            200,
            "isv.BUSINESS_LIMIT_CONTROL",
            lambda r: r.deferred and r.temporary and r.retry_after == 60,
        ),
        (200, "isv.MOBILE_NUMBER_ILLEGAL", lambda r: r.unreachable and not r.temporary),
        (200, "isv.BLACK_KEY_CONTROL_LIMIT", lambda r: r.unreachable and not r.temporary),
        (200, "isv.SMS_SIGNATURE_ILLEGAL", lambda r: not r.temporary and "签名不可用" in r.error),
        (200, "isv.SMS_TEMPLATE_ILLEGAL", lambda r: not r.temporary and "模板不可用" in r.error),
        (200, "isv.SOMETHING_NEW", lambda r: not r.temporary and "阿里云拒绝发送" in r.error),
    ],
)
def test_error_codes_are_mapped(
    fake: FakeAliyunSms, engine: Engine, status: int, code: str, check: Any
) -> None:
    sender = SmsSender(port_for(fake), engine, rate_per_second=100, backoff=0.01)
    fake.answer(status, code, "说明")
    result = asyncio.run(sender.send(outgoing()))
    assert not result.ok and check(result), result
    assert len(fake.calls("SendSms")) == 1 and code in (result.error or "")
    found = sms_identity(engine, PHONE)
    assert bool(found and found.unreachable) == result.unreachable


def test_throttling_and_5xx_back_off_and_retry(fake: FakeAliyunSms, engine: Engine) -> None:
    sender = SmsSender(port_for(fake), engine, rate_per_second=100, attempts=3, backoff=0.01)
    fake.answer(400, "Throttling.User", "Request was denied due to user flow control.")
    assert asyncio.run(sender.send(outgoing())).ok
    assert len(fake.calls("SendSms")) == 2
    for _ in range(3):
        fake.answer(503, "ServiceUnavailable")
    result = asyncio.run(sender.send(outgoing()))
    assert not result.ok and result.temporary and not result.deferred
    assert len(fake.calls("SendSms")) == 5
    closed = AliyunSmsPort(
        access_key_id=AK, access_key_secret=SECRET, sign_name=SIGN, endpoint="http://127.0.0.1:9"
    )
    down = asyncio.run(SmsSender(closed, engine, attempts=1).send(outgoing()))
    assert down.temporary and "network" in (down.error or "")


def test_values_that_break_aliyun_rules_fail_before_sending(
    fake: FakeAliyunSms, engine: Engine
) -> None:
    sender = SmsSender(port_for(fake), engine, rate_per_second=100)
    too_long = asyncio.run(
        sender.send(outgoing(params={**REPAY_REMINDER_PARAMS, "bank": "银" * 40}))
    )
    assert not too_long.ok and not too_long.temporary and "超过上限 35 字" in (too_long.error or "")
    url = asyncio.run(
        sender.send(outgoing("staff_reply", {"text": "见 www.example.com"}, kind="reply"))
    )
    assert not url.ok and "含网址" in (url.error or "")
    foreign = asyncio.run(sender.send(outgoing(address="+14155550100")))
    assert foreign.unreachable and "中国大陆" in (foreign.error or "")
    free = asyncio.run(sender.send(OutgoingMessage(None, "sms", PHONE, "随便说点什么")))
    assert not free.ok and "没有登记阿里云模板CODE" in (free.error or "")
    assert fake.requests == []


def test_per_number_limit_defers_in_the_dispatcher_without_using_attempts(
    fake: FakeAliyunSms, engine: Engine
) -> None:
    fake.per_number_per_minute = 1
    first, second = make_notice(engine), make_notice(engine)
    now = local(2026, 12, 1, 10)
    d = dispatcher(engine, SmsSender(port_for(fake), engine, rate_per_second=100), now)
    stats = asyncio.run(d.drain(max_batches=1))
    assert stats.sent == 1 and stats.deferred == 1, stats
    rows = sorted((notice(engine, first), notice(engine, second)), key=lambda r: r.status)
    assert [r.status for r in rows] == ["pending", "sent"]  # the two raced; one was first
    row = rows[0]
    assert row.status == "pending" and row.attempts == 0
    assert row.send_after == now + timedelta(seconds=60)
    assert "isv.BUSINESS_LIMIT_CONTROL" in (row.last_error or "")


def test_dispatch_failure_reason_is_visible_to_staff(fake: FakeAliyunSms, engine: Engine) -> None:
    nid = make_notice(engine)
    fake.answer(200, "isv.SMS_SIGNATURE_ILLEGAL", "该账号下找不到对应签名")
    d = dispatcher(
        engine, SmsSender(port_for(fake), engine, rate_per_second=100), local(2026, 12, 1)
    )
    assert asyncio.run(d.drain()).failed == 1
    row = notice(engine, nid)
    assert row.status == "failed" and "ALIYUN_SMS_SIGN_NAME" in (row.last_error or "")


# --- broadcasts ---------------------------------------------------------------------------------


def test_broadcasts_go_out_in_send_batch_sms_of_the_provider_limit(
    fake: FakeAliyunSms, engine: Engine
) -> None:
    phones = [f"+861380000{i:04d}" for i in range(250)]
    with session_scope(engine) as s:
        s.add(ChannelIdentityRow(channel="sms", address=phones[7], opted_out=True))
        enqueue_many(
            s,
            [
                {
                    "key": f"broadcast:1:{i}",
                    "kind": "broadcast",
                    "channel": "sms",
                    "address": p,
                    "text": "公告",
                    "template": "staff_broadcast",
                    "params": {
                        "title": "受理时间调整",
                        "text": "受理时间调整：本周六照常受理贷款申请。",
                    },
                    "send_after": local(2026, 11, 30),
                }
                for i, p in enumerate(phones)
            ],
        )
    sender = SmsSender(port_for(fake), engine, rate_per_second=100)
    d = dispatcher(engine, sender, local(2026, 12, 1), batch_size=300, concurrency=300)
    stats = asyncio.run(d.drain())
    assert stats.sent == 249 and stats.cancelled == 1, stats
    batches = fake.calls("SendBatchSms")
    sizes = sorted(len(json.loads(b["query"]["PhoneNumberJson"])) for b in batches)
    # Usually 49+100+100. A group also closes when nothing joined it for the batcher's 50 ms
    # linger, which a loaded machine can exceed between two sends: then there are more, smaller
    # batches — never one above the provider's limit, and still far fewer calls than messages.
    assert sum(sizes) == 249 and max(sizes) <= 100 and len(sizes) <= 25, sizes
    assert fake.calls("SendSms") == [] and fake.rejected == []
    assert all(b["query"]["TemplateCode"] == "SMS_490120015" for b in batches)
    assert all(s.content.endswith("拒收请回复R") for s in fake.sent)
    with Session(engine) as s:
        sent = s.exec(select(NoticeRow).where(NoticeRow.status == "sent")).all()
    by_phone = {x.phone: x.biz_id for x in fake.sent}
    for row in sent:
        phone = row.address[3:]
        assert row.provider_id == f"aliyun:{by_phone[phone]}:{phone}"
    assert len({x.biz_id for x in fake.sent}) == len(batches)
    assert phones[7][3:] not in by_phone


def test_a_broadcast_needs_a_promotion_template(fake: FakeAliyunSms, engine: Engine) -> None:
    sender = SmsSender(port_for(fake), engine, rate_per_second=100)
    result = asyncio.run(
        sender.send(outgoing("document_accepted", {"label": "营业执照"}, kind="broadcast"))
    )
    assert not result.ok and "推广短信模板" in (result.error or "")
    assert fake.requests == []


# --- receipts -------------------------------------------------------------------------------------


@pytest.fixture
def container(db_url: str, fake: FakeAliyunSms, tmp_path: Path) -> Container:
    return Container(settings_for(db_url, fake, tmp_path, sms_replies_per_hour=3))


@pytest.fixture
def client(container: Container) -> Iterator[TestClient]:
    yield from door_client(routes_aliyun_sms.mount, container)


def push(client: TestClient, kind: str, body: Any, token: str = TOKEN) -> httpx.Response:
    return client.post(f"/sms/aliyun/{token}/{kind}", content=json.dumps(body, ensure_ascii=False))


def send_one(engine: Engine, sender: Any, address: str = PHONE) -> int:
    nid = make_notice(engine, address=address)
    d = dispatcher(engine, sender, local(2026, 12, 1))
    assert asyncio.run(d.drain()).sent == 1
    return nid


def test_sms_report_push_moves_notices_forward_only(
    fake: FakeAliyunSms, engine: Engine, client: TestClient, container: Container
) -> None:
    fake.undeliverable["13812348001"] = "MK:0001"
    ok = send_one(engine, container.sms_sender)
    lost = send_one(engine, container.sms_sender, "+8613812348001")
    report = fake.report_body()
    r = push(client, "report", report)
    assert r.status_code == 200 and r.json() == {"code": 0, "msg": "成功"}
    assert notice(engine, ok).status == "delivered" and notice(engine, ok).delivered_at
    row = notice(engine, lost)
    assert row.status == "undelivered" and row.last_error == "aliyun MK:0001: delivery undelivered"
    assert push(client, "report", report).status_code == 200  # a re-push changes nothing
    assert count(engine, SmsStatusEventRow) == 2
    late = [{**report[0], "success": False, "err_code": "MK:0005"}]
    assert push(client, "report", late).status_code == 200
    assert notice(engine, ok).status == "delivered"


@pytest.mark.parametrize(
    ("token", "body", "status"),
    [
        ("wrong-token", None, 403),
        (TOKEN, "not json", 400),
        (TOKEN, [], 400),
        (TOKEN, [{"phone_number": "13812348000", "success": True}], 400),  # no biz_id
        (TOKEN, [{"phone_number": "12345", "biz_id": "1^0", "success": True}], 400),
        (TOKEN, [{"phone_number": "13812348000", "biz_id": "1^0", "success": "yes"}], 400),
    ],
)
def test_bad_report_pushes_store_nothing(
    fake: FakeAliyunSms, engine: Engine, client: TestClient, token: str, body: Any, status: int
) -> None:
    if body is None:
        send_one(engine, SmsSender(port_for(fake), engine, rate_per_second=100))
        body = fake.report_body()
    payload = body if isinstance(body, str) else json.dumps(body)
    r = client.post(f"/sms/aliyun/{token}/report", content=payload)
    assert r.status_code == status
    assert count(engine, SmsStatusEventRow) == 0


def test_query_send_details_polling_applies_final_receipts(
    fake: FakeAliyunSms, engine: Engine
) -> None:
    port = port_for(fake)
    sender = SmsSender(port, engine, rate_per_second=100)
    fake.pending_receipts.add("13812348002")
    done = send_one(engine, sender)
    waiting = send_one(engine, sender, "+8613812348002")
    with session_scope(engine) as s:  # sent a minute ago (the dispatcher used a fixed clock)
        s.execute(sa.update(NoticeRow).values(sent_at=utcnow() - timedelta(minutes=1)))
    stats = poll_receipts(engine, port.query_details)
    assert (stats.asked, stats.applied, stats.waiting) == (2, 1, 1)
    assert notice(engine, done).status == "delivered"
    assert notice(engine, waiting).status == "sent"
    details = fake.calls("QuerySendDetails")
    assert {c["query"]["PhoneNumber"] for c in details} == {"13812348000", "13812348002"}
    assert all(c["query"]["SendDate"] == datetime.now(SHANGHAI).strftime("%Y%m%d") for c in details)
    assert poll_receipts(engine, port.query_details).asked == 1  # only the one still waiting


# --- replies (SmsUp) ----------------------------------------------------------------------------


def queued_replies(engine: Engine) -> list[NoticeRow]:
    with Session(engine) as s:
        return list(
            s.exec(
                select(NoticeRow)
                .where(NoticeRow.template == "sms_auto_reply")
                .order_by(col(NoticeRow.id))
            )
        )


def test_sms_up_replies_reach_the_dialogue_engine_and_opt_out(
    fake: FakeAliyunSms, engine: Engine, client: TestClient, container: Container
) -> None:
    up = fake.up_body("13812348000", "我要退订", sequence_id=101)
    r = push(client, "up", up)
    assert r.status_code == 200 and r.json()["code"] == 0
    found = sms_identity(engine, PHONE)
    assert found is not None and found.opted_out
    (reply,) = queued_replies(engine)
    assert reply.kind == "relay" and reply.address == PHONE and "已退订" in reply.params["text"]
    assert push(client, "up", up).status_code == 200  # the same sequence_id again
    assert len(queued_replies(engine)) == 1 and count(engine, InboundMessageRow) == 1
    push(client, "up", fake.up_body("13812348000", "订阅", sequence_id=102))
    assert not sms_identity(engine, PHONE).opted_out  # type: ignore[union-attr]
    for seq, word in enumerate(("R", "TD", "拒收"), start=103):
        push(client, "up", fake.up_body("13812348000", word, sequence_id=seq))
        assert sms_identity(engine, PHONE).opted_out, word  # type: ignore[union-attr]
        push(client, "up", fake.up_body("13812348000", "订阅", sequence_id=seq + 100))
    # The queued answers go out through Aliyun with the registered reply template.
    d = dispatcher(
        engine, container.sms_sender, utcnow() + timedelta(seconds=1)
    )  # replies ignore quiet hours
    stats = asyncio.run(d.drain())
    assert stats.sent == len(queued_replies(engine)) >= 2
    sent = fake.calls("SendSms")
    assert {c["query"]["TemplateCode"] for c in sent} == {"SMS_490120014"}
    assert any("已退订" in json.loads(c["query"]["TemplateParam"])["text"] for c in sent)


def test_a_re_push_after_a_crash_still_queues_the_answer(
    fake: FakeAliyunSms, engine: Engine, client: TestClient, container: Container
) -> None:
    # The engine handled the message and the reply was allowed, then the process died before
    # the outbox insert: Alibaba pushes again (no code 0 came back) and the answer is queued once.
    event = InboundEvent(channel="sms", address=PHONE, message_id="aliyun-up:77", text="帮助")
    assert container.dialogue.handle(event).replies
    assert allow_reply(engine, PHONE, "aliyun-up:77", 20)
    up = fake.up_body("13812348000", "帮助", sequence_id=77)
    assert push(client, "up", up).status_code == 200
    assert push(client, "up", up).status_code == 200
    keys = [n.key for n in queued_replies(engine)]
    assert keys and len(keys) == len(set(keys))
    assert all(k.startswith("sms-reply:aliyun-up:77:") for k in keys)
    assert count(engine, InboundMessageRow) == 1


def test_receipt_polling_runs_in_the_background(
    fake: FakeAliyunSms, engine: Engine, container: Container
) -> None:
    sender = container.sms_sender
    assert isinstance(sender, SmsSender) and isinstance(sender.port, AliyunSmsPort)
    port = sender.port
    nid = send_one(engine, sender)
    with session_scope(engine) as s:
        s.execute(sa.update(NoticeRow).values(sent_at=utcnow() - timedelta(minutes=1)))

    async def one_round() -> None:
        stop = asyncio.Event()
        asyncio.get_running_loop().call_later(0.5, stop.set)
        query = port.query_details
        await workers.periodic(stop, 60, lambda: poll_receipts(engine, query), "receipts")

    asyncio.run(one_round())
    assert notice(engine, nid).status == "delivered"


def test_bad_or_unauthenticated_up_pushes_store_nothing(engine: Engine, client: TestClient) -> None:
    good = [{"phone_number": "13812348000", "content": "帮助", "sequence_id": 7}]
    assert push(client, "up", good, token="nope").status_code == 403
    assert (
        push(client, "up", [{"phone_number": "13812348000", "content": "帮助"}]).status_code == 400
    )
    assert push(client, "up", [{**good[0], "content": "x" * 2000}]).status_code == 400
    assert client.post(f"/sms/aliyun/{TOKEN}/up", content=b"\xff\xfe").status_code == 400
    assert count(engine, InboundMessageRow) == 0 and count(engine, ChannelIdentityRow) == 0


def test_reply_cap_applies_to_aliyun_replies(
    fake: FakeAliyunSms, engine: Engine, client: TestClient
) -> None:
    for seq in range(5):
        push(client, "up", fake.up_body("13812348000", "帮助", sequence_id=200 + seq))
    assert count(engine, InboundMessageRow) == 5
    assert len({n.key.rsplit(":", 1)[0] for n in queued_replies(engine)}) == 3  # cap: 3 per hour


# --- the whole path with SMS_PROVIDER=aliyun ----------------------------------------------------


def make_loan(engine: Engine, due: date) -> None:
    with session_scope(engine) as s:
        person = add_person(s, "张建国", "+8613893100001")
        loan_id, _ = add_loan(s, "LZ2026-0001", person, [(due, 1_000_000)], bank="兰州银行")
        add_guarantor(s, loan_id)


def test_sweep_dispatch_and_receipt_with_sms_provider_aliyun(
    fake: FakeAliyunSms, engine: Engine, container: Container, client: TestClient
) -> None:
    sender = container.sms_sender
    assert isinstance(sender, SmsSender) and isinstance(sender.port, AliyunSmsPort)
    make_loan(engine, date(2026, 11, 30))
    now = local(2026, 12, 1, 9)
    policy = load_reminder_policy()
    created = run_sweep(
        engine, policy, WorkCalendar(), date(2026, 12, 1), now=now, quiet=QuietHours()
    )
    assert created.created == 2  # overdue notice to the borrower and the counter-guarantor
    d = Dispatcher(
        engine,
        {"sms": sender, "telegram": ConsoleSender("telegram")},
        quiet=QuietHours(),
        clock=lambda: now,
    )
    assert asyncio.run(d.drain()).sent == 2
    codes = sorted(c["query"]["TemplateCode"] for c in fake.calls("SendSms"))
    # no payroll employer on file: the 反担保合同 wording (overdue_notice_*_contract), no wage threat
    assert codes == ["SMS_490120018", "SMS_490120019"] and fake.rejected == []
    assert all(s.content.startswith("【创业担保贷款】逾期贷款催收通知书：") for s in fake.sent)
    assert push(client, "report", fake.report_body()).status_code == 200
    with Session(engine) as s:
        statuses = [n.status for n in s.exec(select(NoticeRow))]
    assert statuses == ["delivered", "delivered"]


def test_the_provider_setting_only_changes_the_gateway(
    db_url: str, engine: Engine, fake: FakeAliyunSms, tmp_path: Path
) -> None:
    aliyun = build_sms_sender(settings_for(db_url, fake, tmp_path), engine)
    assert isinstance(aliyun, SmsSender) and isinstance(aliyun.port, AliyunSmsPort)
    # the server's dispatcher keeps 100 sends in flight so that batches can fill
    roomy = room_for_batches(DispatchConfig(), {"sms": aliyun})
    assert (roomy.concurrency, roomy.batch_size) == (100, 100)
    assert room_for_batches(DispatchConfig(), {"sms": ConsoleSender("sms")}) == DispatchConfig()
    half = settings_for(db_url, fake, tmp_path, aliyun_sms_sign_name=None)
    assert isinstance(build_sms_sender(half, engine), ConsoleSender)
    twilio = Settings(_env_file=None, database_url=db_url)  # the default provider, no credentials
    assert twilio.sms_provider == "twilio" and isinstance(
        build_sms_sender(twilio, engine), ConsoleSender
    )
    with pytest.raises(ValueError, match="ALIYUN_SMS_ENDPOINT"):
        build_sms_sender(
            settings_for(db_url, fake, tmp_path, aliyun_sms_endpoint="ftp://x"), engine
        )
    assert SECRET not in repr(settings_for(db_url, fake, tmp_path))


def test_secrets_and_numbers_stay_out_of_the_logs(
    fake: FakeAliyunSms, engine: Engine, client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    sender = SmsSender(port_for(fake), engine, rate_per_second=100)
    asyncio.run(sender.send(outgoing()))
    asyncio.run(SmsSender(port_for(fake, "another-secret-xyz"), engine).send(outgoing()))
    fake.answer(200, "isv.MOBILE_NUMBER_ILLEGAL")
    asyncio.run(sender.send(outgoing(address="+8613812348009")))
    push(client, "report", fake.report_body())
    push(
        client,
        "up",
        [{"phone_number": "13812348000", "content": "帮助", "sequence_id": 9}],
        token="bad",
    )
    masking = MaskingFilter()  # on the server's log handler, as configure_logging installs it
    lines = []
    for rec in caplog.records:
        if rec.name != "httpx":  # the test client's own request log
            masking.filter(rec)
            lines.append(rec.getMessage())
    text = "\n".join(lines)
    assert SECRET not in text and "another-secret-xyz" not in text and TOKEN not in text
    assert "13812348000" not in text and "13812348009" not in text
    assert "138****8000" in text  # the number is there, masked
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        "",
        0,
        '%s - "%s %s"',
        ("1.2.3.4", "POST", f"/sms/aliyun/{TOKEN}/up"),
        None,
    )
    assert all(f.filter(record) for f in logging.getLogger("uvicorn.access").filters)
    assert TOKEN not in record.getMessage()
