"""The WeChat door over /wechat: real signed (and encrypted) requests, the real engine and database,
and the real wechatpy client talking HTTP to a local fake WeChat API (tests/fakes/wechat_api.py)."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from core.dialogue.events import EngineResult, InboundEvent, Reply
from core.kernel.settings import Settings
from core.outbox.dispatch import Dispatcher
from core.persistence.models import (
    ApplicationRow,
    ChannelIdentityRow,
    DocumentItemRow,
    HandoffTicketRow,
    InboundMessageRow,
    NoticeRow,
)
from server.app import create_app
from server.bootstrap import Container
from tests.db_kit import count, run_together
from tests.dialogue_kit import id_number, png
from tests.fakes.wechat_api import APP_ID, APP_SECRET, FakeWechatApi
from tests.waits import TIMEOUT
from tests.wechat_door import AES_KEY, OPENID, TOKEN, Door, event_xml, media_xml, text_xml


def make_container(
    db_url: str, tmp_path: Path, wechat_api: FakeWechatApi, **over: Any
) -> Container:
    values: dict[str, Any] = {
        "database_url": db_url,
        "data_dir": tmp_path,
        "wechat_app_id": APP_ID,
        "wechat_app_secret": APP_SECRET,
        "wechat_token": TOKEN,
        "wechat_api_base_url": wechat_api.base_url,
        "max_upload_mb": 1,
        "scheduler_enabled": False,
    }
    values.update(over)
    return Container(Settings(_env_file=None, **values))  # type: ignore[call-arg]


@pytest.fixture(params=["plain", "aes"])
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def served(
    db_url: str, tmp_path: Path, wechat_api: FakeWechatApi, mode: str
) -> Iterator[tuple[Door, Container]]:
    extra = {"wechat_encoding_aes_key": AES_KEY} if mode == "aes" else {}
    container = make_container(db_url, tmp_path, wechat_api, **extra)
    with TestClient(create_app(container)) as client:
        # Passive replies must not depend on the machine's load (the first message builds the
        # index): the 4 s budget is the subject of the late-reply test only, which sets its own.
        client.app.state.wechat.reply_budget = TIMEOUT  # type: ignore[attr-defined]
        yield Door(client, encrypted=mode == "aes"), container


def wechat_notices(db: Engine) -> list[NoticeRow]:
    with Session(db) as s:
        return list(
            s.exec(
                select(NoticeRow).where(NoticeRow.channel == "wechat").order_by(col(NoticeRow.id))
            )
        )


def dispatch(container: Container) -> Any:
    dispatcher = Dispatcher(container.engine, {"wechat": container.wechat_sender})
    return asyncio.run(dispatcher.drain())


# --- authentication and configuration ---------------------------------------------------------


def test_server_verification_echoes_and_wrong_signature_is_403(
    served: tuple[Door, Container],
) -> None:
    door, container = served
    query = {**door.query(), "echostr": "1234567890123"}
    response = door.client.get("/wechat", params=query)
    assert response.status_code == 200 and response.text == "1234567890123"
    bad = {**door.query(token="not-our-token"), "echostr": "x"}
    assert door.client.get("/wechat", params=bad).status_code == 403
    assert door.client.get("/wechat", params={"echostr": "x"}).status_code == 403
    assert count(container.engine, InboundMessageRow) == 0


def test_without_settings_the_server_runs_and_wechat_is_503(
    db_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    container = Container(
        Settings(_env_file=None, database_url=db_url, data_dir=tmp_path, scheduler_enabled=False)  # type: ignore[call-arg]
    )
    with caplog.at_level(logging.WARNING), TestClient(create_app(container)) as client:
        assert client.get("/healthz").status_code == 200
        door = Door(client)
        assert door.post(text_xml("你好")).status_code == 503
        assert client.get("/wechat", params={**door.query(), "echostr": "1"}).status_code == 503
    assert any(
        "WECHAT_APP_ID" in r.getMessage() and "503" in r.getMessage() for r in caplog.records
    )


def test_bad_signature_malformed_xml_and_replays_store_nothing(
    served: tuple[Door, Container], mode: str
) -> None:
    door, container = served
    xml = text_xml("失业人员能贷多少")
    forged = door.client.post("/wechat", params=door.query(token="forged"), content=xml.encode())
    assert forged.status_code == 403
    old = int(time.time()) - 301
    assert door.post(xml, timestamp=old).status_code == 403  # replayed (older than 5 minutes)
    assert door.post(xml, timestamp=int(time.time()) + 400).status_code == 403
    query = door.query()
    if mode == "aes":
        query.update(encrypt_type="aes", msg_signature="0" * 40)
    malformed = door.client.post("/wechat", params=query, content=b"<xml><Content>oops")
    assert malformed.status_code == 400
    if mode == "aes":
        # a valid URL signature but a ciphertext signed with another token
        query = door.query()
        body = b"<xml><Encrypt><![CDATA[AAAA]]></Encrypt></xml>"
        query.update(encrypt_type="aes", msg_signature="0" * 40)
        assert door.client.post("/wechat", params=query, content=body).status_code == 403
        no_msg_signature = door.client.post("/wechat", params=door.query(), content=xml.encode())
        assert no_msg_signature.status_code == 403
    else:
        no_type = "<xml><FromUserName>o1</FromUserName><CreateTime>1</CreateTime></xml>"
        assert door.client.post("/wechat", params=door.query(), content=no_type).status_code == 400
    with Session(container.engine) as s:
        assert s.exec(select(InboundMessageRow)).all() == []
        assert s.exec(select(ChannelIdentityRow)).all() == []


# --- messages ---------------------------------------------------------------------------------


def test_question_answered_passively_with_numbered_options(served: tuple[Door, Container]) -> None:
    door, container = served
    answer = door.say("失业人员能贷多少")
    assert "万" in answer and "依据" in answer
    assert "回复 1 个人 / 2 合伙创业 / 3 小企业" in door.say("预审")
    with Session(container.engine) as s:
        ident = s.exec(select(ChannelIdentityRow)).one()
        assert (ident.channel, ident.address, ident.verified) == ("wechat", OPENID, False)
    assert wechat_notices(container.engine) == []  # everything went passively


def test_menu_clicks_voice_and_unsupported(served: tuple[Door, Container]) -> None:
    door, _container = served
    assert "政策问题" in door.reply(door.post(event_xml("CLICK", "faq")))
    assert "资格预审" in door.reply(door.post(event_xml("CLICK", "precheck")))
    now = int(time.time())
    assert "没有" in door.reply(door.post(event_xml("CLICK", "status", at=now)))
    assert "工单" in door.reply(door.post(event_xml("CLICK", "human", at=now)))  # same second
    assert "请发文字" in door.reply(door.post(media_xml("voice", "VOICE1")))
    assert door.post(event_xml("VIEW", "https://example.org")).text == "success"
    assert door.post(event_xml("CLICK", "no-such-key")).text == "success"


def test_subscribe_welcomes_and_unsubscribe_marks_unreachable(
    served: tuple[Door, Container],
) -> None:
    door, container = served
    welcome = door.reply(door.post(event_xml("subscribe")))
    assert "资格预审" in welcome and "绑定" in welcome
    assert door.post(event_xml("unsubscribe")).text == "success"
    with Session(container.engine) as s:
        ident = s.exec(select(ChannelIdentityRow)).one()
        assert ident.unreachable and ident.unreachable_reason == "unsubscribe"
    door.reply(door.post(event_xml("subscribe")))
    with Session(container.engine) as s:
        assert not s.exec(select(ChannelIdentityRow)).one().unreachable


def test_duplicate_msgids_under_concurrency_run_once(served: tuple[Door, Container]) -> None:
    door, container = served
    xml = text_xml("人工")  # opens a ticket: a second run would be visible
    replies: list[str] = []
    lock = threading.Lock()

    def deliver() -> None:
        text = door.reply(door.post(xml))
        with lock:
            replies.append(text)

    run_together(deliver, [() for _ in range(4)])
    assert len(replies) == 4 and len(set(replies)) == 1 and "工单" in replies[0]
    db = container.engine
    assert count(db, InboundMessageRow, InboundMessageRow.channel == "wechat") == 1
    assert count(db, HandoffTicketRow) == 1
    assert wechat_notices(db) == []


class HeldDialogue:
    """The real engine, reached only once the test releases it (as under load): the passive
    window is missed, whatever the machine's speed."""

    def __init__(self, container: Container) -> None:
        self.container = container
        self.release = threading.Event()

    def handle(self, event: InboundEvent) -> EngineResult:
        assert self.release.wait(TIMEOUT), "the test never released the engine"
        result: EngineResult = self.container.dialogue.handle(event)
        return result


def test_late_reply_goes_once_through_the_customer_service_api(
    served: tuple[Door, Container], wechat_api: FakeWechatApi
) -> None:
    door, container = served
    webhooks = door.client.app.state.wechat  # type: ignore[attr-defined]
    webhooks.reply_budget = 0.2
    held = HeldDialogue(container)
    webhooks.dialogue = lambda: held
    xml = text_xml("人工")
    assert door.post(xml).text == "success"  # the budget ran out: answered at once
    retry = door.post(xml)  # WeChat's retry within its 5 s window
    assert retry.text == "success"
    held.release.set()
    door.client.portal.call(webhooks.drain)  # both deliveries' late replies are done
    notices = wechat_notices(container.engine)
    assert [(n.kind, n.status) for n in notices] == [("reply", "pending")]
    webhooks.dialogue = lambda: container.dialogue
    assert door.post(xml).text == "success"  # a third delivery after the reply was queued
    stats = dispatch(container)
    assert stats.sent == 1
    assert len(wechat_api.texts(OPENID)) == 1 and "工单" in wechat_api.texts(OPENID)[0]
    assert count(container.engine, HandoffTicketRow) == 1
    assert count(container.engine, NoticeRow) == 1


class LongAnswer:
    def handle(self, event: InboundEvent) -> EngineResult:
        line = "创业担保贷款由财政贴息，借款人按期还款。" * 10
        return EngineResult([Reply(text="\n".join([line] * 12))])


def test_long_answers_split_at_2048_bytes(
    served: tuple[Door, Container], wechat_api: FakeWechatApi
) -> None:
    door, container = served
    door.client.app.state.wechat.dialogue = LongAnswer  # type: ignore[attr-defined]
    first = door.say("长问题")
    assert len(first.encode()) <= 2048
    dispatch(container)
    rest = wechat_api.texts(OPENID)
    assert len(rest) >= 1 and all(len(t.encode()) <= 2048 for t in rest)
    total = "".join([first, *rest]).replace("\n", "")
    assert total == LongAnswer().handle(InboundEvent("wechat", OPENID, "x")).replies[
        0
    ].text.replace("\n", "")


def test_whole_conversation(served: tuple[Door, Container], wechat_api: FakeWechatApi) -> None:
    door, container = served
    assert "依据" in door.say("贷款需要交利息吗")
    door.say("预审")
    door.say("1")
    door.say("1")
    door.say("有")
    door.say("开一家小饭馆")
    door.say("进货和租门面")
    door.say("没有")
    door.say("五万")
    result = door.say("两年")  # longer than 2,048 bytes: the rest follows as 客服消息
    assert "初步符合" in result and len(result.encode()) <= 2048
    dispatch(container)
    assert "回复 1 开始申请并提交材料" in wechat_api.texts(OPENID)[-1]
    assert "姓名" in door.say("1")
    assert "手机号" in door.say("张三")  # the intake: a mobile proved by an SMS one-time code
    assert "验证码已通过短信发送" in door.say("139 1234 0077")
    with Session(container.engine) as s:
        code = s.exec(select(NoticeRow).where(NoticeRow.kind == "otp")).one().params["code"]
    assert "身份证号" in door.say(str(code))
    door.say(id_number("62010219900101123"))
    door.say("2")  # district
    door.say("跳过")  # the business address may be skipped
    assert "请核对申请信息" in door.say("2027年3月")
    created = door.say("1")  # 确认
    assert "已收 0/5 项" in created
    wechat_api.media["MEDIA-1"] = (png(1), "image/png")
    got = door.reply(door.post(media_xml("image", "MEDIA-1")))
    assert "已收到第1项" in got and "已收 1/5 项" in got
    wechat_api.media["PDF-1"] = (
        b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n",
        "application/pdf",
    )
    assert "已收到第2项" in door.reply(door.post(media_xml("file", "PDF-1")))
    wechat_api.media["HUGE"] = (b"\xff\xd8\xff" + b"0" * (1024 * 1024 + 10), "image/jpeg")
    assert "MB" in door.reply(door.post(media_xml("image", "HUGE")))
    assert "请重新发送" in door.reply(door.post(media_xml("image", "NO-SUCH-MEDIA")))
    status = door.say("进度")
    assert "草稿" in status and "尚缺材料" in status
    assert "工单" in door.say("人工")
    with Session(container.engine) as s:
        app = s.exec(select(ApplicationRow)).one()
        assert app.stage == "draft"
        items = s.exec(
            select(DocumentItemRow)
            .where(DocumentItemRow.status == "received")
            .order_by(col(DocumentItemRow.id))
        ).all()
        assert [i.content_type for i in items] == ["image/png", "application/pdf"]
        assert items[1].filename == "营业执照.pdf"
        assert s.exec(select(HandoffTicketRow)).one().channel == "wechat"
    assert len(wechat_api.of("media/get", ok=True)) == 3
    assert len(wechat_api.of("token")) == 1  # one access_token for the whole conversation


def test_a_malformed_aes_key_is_reported_and_wechat_stays_closed(
    db_url: str, tmp_path: Path, wechat_api: FakeWechatApi, caplog: pytest.LogCaptureFixture
) -> None:
    container = make_container(db_url, tmp_path, wechat_api, wechat_encoding_aes_key="too-short")
    with caplog.at_level(logging.WARNING), TestClient(create_app(container)) as client:
        assert Door(client).post(text_xml("你好")).status_code == 503
    assert any("43 characters" in r.getMessage() for r in caplog.records)


class BrokenDialogue:
    def handle(self, event: InboundEvent) -> EngineResult:
        raise RuntimeError("database down")


def test_an_engine_failure_gets_a_polite_answer_and_stores_nothing(
    served: tuple[Door, Container],
) -> None:
    door, container = served
    door.client.app.state.wechat.dialogue = BrokenDialogue  # type: ignore[attr-defined]
    assert "系统繁忙" in door.say("你好")
    assert count(container.engine, InboundMessageRow) == 0
