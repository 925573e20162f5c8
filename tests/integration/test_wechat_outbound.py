"""WeChat outbound: the shared access_token, the sender's error codes, 模板消息, SMS link codes,
the wechat channel in reviews and broadcasts, and `chuangdai wechat menu push` — the real wechatpy
client against the local fake WeChat API, real databases."""

from __future__ import annotations

import asyncio
import threading
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

import knowledge
from core.applications.review import applicant_address
from core.broadcasts import commands as bc_commands
from core.broadcasts import fanout as bc_fanout
from core.broadcasts.audience import Audience, resolve
from core.dialogue.engine import DialogueEngine
from core.dialogue.events import InboundEvent
from core.kernel.filestore import LocalFileStore
from core.kernel.quiet_hours import QuietHours
from core.kernel.settings import Settings
from core.kernel.timeutil import utcnow
from core.kernel.workdays import WorkCalendar
from core.outbox.dispatch import Dispatcher
from core.outbox.enqueue import enqueue
from core.outbox.senders import OutgoingMessage
from core.persistence.db import make_engine, session_scope
from core.persistence.models import (
    ApplicationRow,
    ChannelIdentityRow,
    InboundMessageRow,
    NoticeRow,
    PersonRow,
)
from core.persistence.models_otp import OneTimeCodeRow
from core.persistence.models_wechat import WechatTokenRow
from knowledge.policy import load_policy
from server import cli
from server.bootstrap import Container
from tests.cli_kit import ContainerRunner
from tests.db_kit import run_together
from tests.fakes.wechat_api import APP_ID, APP_SECRET, FakeWechatApi
from wechat.client import DbTokenStore, WechatApiClient
from wechat.sender import WechatSender
from wechat.texts import WechatData, load_wechat_data

KNOWLEDGE = Path(knowledge.__file__).resolve().parent
OPENID = "oOutbound0000000000000000001"
REMINDER = {
    "name": "张建国",
    "loan_no": "****0001",
    "seq": 3,
    "amount": "3,333.33元",
    "due_date": "2026年12月8日",
    "bank": "兰州银行",
}


def client_for(engine: Engine, wechat_api: FakeWechatApi) -> WechatApiClient:
    """One worker's client (its own store object over the shared database)."""
    return WechatApiClient(
        APP_ID, APP_SECRET, DbTokenStore(engine, APP_ID), api_base_url=wechat_api.base_url
    )


@pytest.fixture
def mapped(tmp_path: Path) -> WechatData:
    """The shipped mapping with the template ids a deployment fills in."""
    text = (KNOWLEDGE / "templates" / "wechat.yaml").read_text(encoding="utf-8")
    raw = yaml.safe_load(text)
    for name, spec in raw["template_messages"].items():
        spec["template_id"] = f"TPL-{name}"
    path = tmp_path / "wechat.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return load_wechat_data(path)


def sender_for(
    engine: Engine, wechat_api: FakeWechatApi, data: WechatData | None = None
) -> WechatSender:
    data = data or load_wechat_data(KNOWLEDGE / "templates" / "wechat.yaml")
    return WechatSender(client_for(engine, wechat_api), engine, data)


def message(text: str = "您好", kind: str = "reply", **kw: Any) -> OutgoingMessage:
    return OutgoingMessage(
        notice_id=None, channel="wechat", address=OPENID, text=text, kind=kind, **kw
    )


def wrote_in(engine: Engine, openid: str = OPENID, ago: timedelta = timedelta(hours=1)) -> None:
    with session_scope(engine) as s:
        s.add(
            InboundMessageRow(
                channel="wechat",
                message_id=uuid.uuid4().hex,
                address=openid,
                created_at=utcnow() - ago,
            )
        )


# --- the access_token ---------------------------------------------------------------------------


def test_token_fetched_once_for_all_workers_and_refreshed_once_when_expired(
    db_url: str, wechat_api: FakeWechatApi
) -> None:
    engines = [make_engine(db_url), make_engine(db_url)]  # two "processes"
    clients = [client_for(e, wechat_api) for e in engines for _ in range(3)]
    wechat_api.token_delay = 0.3  # a slow token call widens the race
    tokens: list[str] = []
    lock = threading.Lock()

    def read(client: WechatApiClient) -> None:
        token = client.access_token
        with lock:
            tokens.append(token)

    run_together(read, [(c,) for c in clients])
    assert len(wechat_api.of("token")) == 1 and len(set(tokens)) == 1
    wechat_api.token_delay = 0.0

    wechat_api.expire_tokens()  # every worker's next call is refused with 42001
    senders = [
        WechatSender(c, c.tokens.db, load_wechat_data(KNOWLEDGE / "templates" / "wechat.yaml"))
        for c in clients[:4]
    ]

    async def send_all() -> list[Any]:
        return list(
            await asyncio.gather(*(s.send(message(f"第{i}条")) for i, s in enumerate(senders)))
        )

    results = asyncio.run(send_all())
    assert all(r.ok for r in results), results
    assert len(wechat_api.of("token")) == 2  # one refresh for everybody
    assert len(wechat_api.of("message/custom/send", ok=False)) >= 1
    assert sorted(wechat_api.texts(OPENID)) == sorted(f"第{i}条" for i in range(4))
    with Session(engines[0]) as s:
        row = s.get(WechatTokenRow, APP_ID)
        assert row is not None and row.fetched == 2 and row.access_token not in wechat_api.expired
    for e in engines:
        e.dispose()


def test_a_refused_secret_is_a_temporary_error_and_never_leaks(
    engine: Engine, wechat_api: FakeWechatApi
) -> None:
    client = WechatApiClient(
        APP_ID,
        "wrong-secret-123456",
        DbTokenStore(engine, APP_ID),
        api_base_url=wechat_api.base_url,
    )
    sender = WechatSender(client, engine, load_wechat_data(KNOWLEDGE / "templates" / "wechat.yaml"))
    result = asyncio.run(sender.send(message()))
    assert not result.ok and result.temporary
    assert "wrong-secret" not in (result.error or "")


# --- error codes --------------------------------------------------------------------------------


def test_quota_errors_back_off_and_unsubscribed_is_unreachable(
    engine: Engine, wechat_api: FakeWechatApi
) -> None:
    sender = sender_for(engine, wechat_api)
    wechat_api.fail("message/custom/send", 45047)
    busy = asyncio.run(sender.send(message()))
    assert busy.temporary and busy.retry_after == 600
    wechat_api.fail("message/custom/send", 45009)
    quota = asyncio.run(sender.send(message()))
    assert quota.temporary and quota.retry_after is not None and quota.retry_after >= 60
    assert quota.retry_after <= 24 * 3600  # until the quota resets at midnight Beijing time
    wechat_api.unsubscribed.add(OPENID)
    gone = asyncio.run(sender.send(message()))
    assert gone.unreachable and "43004" in (gone.error or "")
    with Session(engine) as s:
        ident = s.exec(select(ChannelIdentityRow)).one()
        assert (ident.channel, ident.unreachable) == ("wechat", True)


def test_dispatcher_retries_with_backoff_then_sends_once(
    engine: Engine, wechat_api: FakeWechatApi
) -> None:
    with session_scope(engine) as s:
        enqueue(
            s,
            key="wechat:reply:t1",
            kind="reply",
            channel="wechat",
            address=OPENID,
            text="晚到的回复",
        )
    dispatcher = Dispatcher(engine, {"wechat": sender_for(engine, wechat_api)})
    wechat_api.fail("message/custom/send", 45009)
    first = asyncio.run(dispatcher.drain())
    assert first.retried == 1 and first.sent == 0
    with Session(engine) as s:
        notice = s.exec(select(NoticeRow)).one()
        assert notice.status == "pending" and notice.send_after > utcnow() + timedelta(seconds=59)
        notice.send_after = utcnow()
        s.add(notice)
        s.commit()
    second = asyncio.run(dispatcher.drain())
    assert second.sent == 1 and wechat_api.texts(OPENID) == ["晚到的回复"]
    assert asyncio.run(dispatcher.drain()).claimed == 0


# --- 模板消息 -------------------------------------------------------------------------------------


def test_reminders_go_as_template_messages(
    engine: Engine, wechat_api: FakeWechatApi, mapped: WechatData
) -> None:
    sender = sender_for(engine, wechat_api, mapped)
    result = asyncio.run(
        sender.send(
            message("提醒", kind="notification", template="repay_reminder", params=REMINDER)
        )
    )
    assert result.ok and result.provider_id
    [call] = wechat_api.of("message/template/send", ok=True)
    assert call.body["template_id"] == "TPL-repay_reminder" and call.body["touser"] == OPENID
    assert call.body["data"]["keyword2"] == {"value": "3,333.33元"}
    assert "兰州银行" in call.body["data"]["remark"]["value"]


def test_without_a_template_id_only_within_48_hours(
    engine: Engine, wechat_api: FakeWechatApi
) -> None:
    sender = sender_for(engine, wechat_api)  # the shipped file: no template ids yet
    notice = message(
        "还款提醒全文", kind="notification", template="repay_reminder", params=REMINDER
    )
    refused = asyncio.run(sender.send(notice))
    assert not refused.ok and not refused.temporary and "48" in (refused.error or "")
    wrote_in(engine, ago=timedelta(hours=47))
    assert asyncio.run(sender.send(notice)).ok
    assert wechat_api.texts(OPENID) == ["还款提醒全文"]


def test_reply_outside_the_window_falls_back_to_a_template(
    engine: Engine, wechat_api: FakeWechatApi, mapped: WechatData
) -> None:
    wechat_api.out_of_window.add(OPENID)
    sender = sender_for(engine, wechat_api, mapped)
    review = message(
        "您的申请已进入「社区审核」阶段。",
        kind="reply",
        template="stage_changed",
        params={"app_id": 7, "stage": "社区审核"},
    )
    assert asyncio.run(sender.send(review)).ok
    assert (
        wechat_api.of("message/template/send", ok=True)[0].body["template_id"]
        == "TPL-stage_changed"
    )
    plain = asyncio.run(sender.send(message("工作人员回复：您好")))
    assert not plain.ok and "45015" in (plain.error or "")


# --- linking with an SMS one-time code -----------------------------------------------------------


@pytest.fixture
def dialogue(engine: Engine, tmp_path: Path) -> DialogueEngine:
    policy = load_policy("lanzhou-2013")
    return DialogueEngine(
        engine,
        faq=knowledge.KnowledgeBase.load(KNOWLEDGE, policy),
        policy=policy,
        calendar=WorkCalendar(KNOWLEDGE / "calendar"),
        files=LocalFileStore(tmp_path / "docs"),
    )


def say(dialogue: DialogueEngine, text: str, address: str = OPENID) -> str:
    event = InboundEvent("wechat", address, uuid.uuid4().hex, text=text)
    return "\n".join(r.text for r in dialogue.handle(event).replies)


def sms_codes(engine: Engine) -> list[NoticeRow]:
    with Session(engine) as s:
        return list(
            s.exec(select(NoticeRow).where(NoticeRow.kind == "otp").order_by(col(NoticeRow.id)))
        )


def test_linking_needs_the_code_sent_to_the_number_on_file(
    engine: Engine, dialogue: DialogueEngine
) -> None:
    with session_scope(engine) as s:
        s.add(PersonRow(name="李四", phone="+8613812348000"))
    assert "手机号" in say(dialogue, "绑定")
    assert "格式不正确" in say(dialogue, "12345")
    sent = say(dialogue, "138 1234 8000")
    assert "138****8000" in sent and "8000" not in sent.replace("138****8000", "")
    [notice] = sms_codes(engine)
    assert (notice.channel, notice.address, notice.template) == (
        "sms",
        "+8613812348000",
        "link_code",
    )
    code = str(notice.params["code"])
    assert len(code) == 6 and code in notice.text and notice.expires_at is not None
    with Session(engine) as s:
        row = s.exec(select(OneTimeCodeRow)).one()
        assert row.purpose == "link" and code not in row.code_hash
    wrong = "000000" if code != "000000" else "111111"
    assert "还可以再试4次" in say(dialogue, wrong)
    assert "李四" in say(dialogue, code)
    with Session(engine) as s:
        ident = s.exec(
            select(ChannelIdentityRow).where(ChannelIdentityRow.channel == "wechat")
        ).one()
        assert ident.verified and ident.person_id is not None
    assert "已关联" in say(dialogue, "绑定")


def test_unknown_numbers_get_the_same_answer_and_codes_are_limited(
    engine: Engine, dialogue: DialogueEngine
) -> None:
    say(dialogue, "绑定", "oOther")
    unknown = say(dialogue, "13900001111", "oOther")
    assert "如该号码已在我们这里登记" in unknown and sms_codes(engine) == []
    with session_scope(engine) as s:
        s.add(PersonRow(name="王五", phone="+8613812348001"))
    say(dialogue, "绑定")
    say(dialogue, "13812348001")
    say(dialogue, "绑定")
    assert "秒后再试" in say(dialogue, "13812348001")  # one code per minute
    assert len(sms_codes(engine)) == 1
    code = str(sms_codes(engine)[0].params["code"])
    wrong = [c for c in ("111111", "222222", "333333", "444444", "555555", "666666") if c != code]
    for attempt in wrong[:4]:
        assert "还可以再试" in say(dialogue, attempt)
    assert "错误次数过多" in say(dialogue, wrong[4])
    say(dialogue, "绑定")
    assert "格式不正确" in say(dialogue, code)  # back at the number: the spent code links nothing
    with Session(engine) as s:
        assert (
            s.exec(select(ChannelIdentityRow).where(col(ChannelIdentityRow.verified))).all() == []
        )


# --- the wechat channel in reviews and broadcasts -------------------------------------------------


def test_reviews_and_broadcasts_reach_linked_wechat_chats(engine: Engine) -> None:
    with session_scope(engine) as s:
        person = PersonRow(name="赵六", phone="+8613812348002")
        s.add(person)
        s.flush()
        ident = ChannelIdentityRow(
            channel="wechat", address=OPENID, person_id=person.id, verified=True
        )
        s.add(ident)
        s.flush()
        app = ApplicationRow(person_id=person.id, applicant_type="individual")
        s.add(app)
        s.flush()
        where = applicant_address(s, app)
        assert where is not None and (where.channel, where.address) == ("wechat", OPENID)
        res = resolve(s, Audience.from_json({"group": "all"}))
        assert [(r.channel, r.address) for r in res.recipients] == [("wechat", OPENID)]
        sms_only = resolve(s, Audience.from_json({"group": "all", "channels": ["sms"]}))
        assert [r.channel for r in sms_only.recipients] == ["sms"]


# --- the menu ---------------------------------------------------------------------------------------


def test_cli_menu_push(db_url: str, tmp_path: Path, wechat_api: FakeWechatApi) -> None:
    container = Container(
        Settings(  # type: ignore[call-arg]
            _env_file=None,
            database_url=db_url,
            data_dir=tmp_path,
            wechat_app_id=APP_ID,
            wechat_app_secret=APP_SECRET,
            wechat_token="t",
            wechat_api_base_url=wechat_api.base_url,
        )
    )
    cli._register()
    runner = ContainerRunner(container)
    result = runner.invoke(cli.app, ["wechat", "menu", "push"])
    assert result.exit_code == 0, result.output
    expected = yaml.safe_load((KNOWLEDGE / "wechat_menu.yaml").read_text(encoding="utf-8"))
    assert wechat_api.menus == [expected]
    bad = tmp_path / "menu.yaml"
    bad.write_text("button:\n  - {type: click, name: 乱按, key: nope}\n", encoding="utf-8")
    refused = runner.invoke(cli.app, ["wechat", "menu", "push", "--file", str(bad)])
    assert refused.exit_code == 2 and "nope" in refused.output
    assert len(wechat_api.menus) == 1
    listed = runner.invoke(cli.app, ["wechat", "templates"])
    assert listed.exit_code == 0 and "repay_reminder" in listed.output


def test_concurrent_code_requests_for_one_number_send_one_sms(
    engine: Engine, dialogue: DialogueEngine
) -> None:
    with session_scope(engine) as s:
        s.add(PersonRow(name="钱七", phone="+8613812348003"))
    chats = [f"oRace{i:023d}" for i in range(4)]
    for chat in chats:
        say(dialogue, "绑定", chat)
    answers: list[str] = []
    lock = threading.Lock()

    def request(chat: str) -> None:
        text = say(dialogue, "13812348003", chat)
        with lock:
            answers.append(text)

    run_together(request, [(c,) for c in chats])
    assert len(sms_codes(engine)) == 1
    assert sum("秒后再试" in a for a in answers) == 3


def test_broadcast_fan_out_to_wechat_goes_as_template_message(
    engine: Engine, wechat_api: FakeWechatApi, mapped: WechatData
) -> None:
    with session_scope(engine) as s:
        person = PersonRow(name="孙八", phone="+8613812348004")
        s.add(person)
        s.flush()
        s.add(
            ChannelIdentityRow(channel="wechat", address=OPENID, person_id=person.id, verified=True)
        )
        row = bc_commands.create_draft(
            s,
            bc_commands.Draft(
                "政策调整",
                "自下月起个人贷款额度上调，详情请咨询社区。",
                None,
                Audience.from_json({"group": "all"}),
            ),
            "alice",
        )
        assert row.id is not None
        bid = row.id
        assert bc_commands.request_send(s, bid, "alice", threshold=10).status == "fanout"
    assert bc_fanout.fan_out(engine, bid).queued == 1
    with Session(engine) as s:
        notice = s.exec(select(NoticeRow).where(NoticeRow.broadcast_id == bid)).one()
        assert (notice.channel, notice.kind, notice.template) == (
            "wechat",
            "broadcast",
            "staff_broadcast",
        )
        assert notice.params["text"].startswith("自下月起")  # the full text, not the SMS one
    no_quiet = QuietHours.parse("00:00", "00:00")
    dispatcher = Dispatcher(
        engine, {"wechat": sender_for(engine, wechat_api, mapped)}, quiet=no_quiet
    )
    stats = asyncio.run(dispatcher.drain())
    assert stats.sent == 1
    [call] = wechat_api.of("message/template/send", ok=True)
    assert call.body["template_id"] == "TPL-staff_broadcast"
    assert call.body["data"]["keyword1"]["value"] == "政策调整"


def test_a_hanging_token_request_times_out_and_releases_the_lease(
    engine: Engine, wechat_api: FakeWechatApi
) -> None:
    wechat_api.token_delay = 1.5
    client = WechatApiClient(
        APP_ID,
        APP_SECRET,
        DbTokenStore(engine, APP_ID),
        api_base_url=wechat_api.base_url,
        timeout=0.3,
    )
    sender = WechatSender(client, engine, load_wechat_data(KNOWLEDGE / "templates" / "wechat.yaml"))
    result = asyncio.run(sender.send(message()))
    assert not result.ok and result.temporary and "access_token" in (result.error or "")
    with Session(engine) as s:
        row = s.get(WechatTokenRow, APP_ID)
        assert row is not None and row.refreshing_until is None  # the next worker may try at once
    wechat_api.token_delay = 0.0
    assert asyncio.run(sender.send(message("再试一次"))).ok
