"""The Telegram front end end to end: real PTB against a fake Bot API server on 127.0.0.1.

The webhook is driven through the FastAPI app (TestClient runs its lifespan, so the bot's PTB
application starts for real); the outbox sender and the polling mode are driven directly.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import time as dt_time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import typer
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.app import BotConfig, TelegramBot
from core.handoff.tickets import open_ticket
from core.kernel.quiet_hours import QuietHours
from core.kernel.settings import Settings
from core.kernel.timeutil import utcnow
from core.outbox.dispatch import Dispatcher
from core.outbox.enqueue import enqueue
from core.outbox.senders import OutgoingMessage
from core.persistence.db import session_scope
from core.persistence.models import (
    BroadcastRow,
    ChannelIdentityRow,
    ConversationRow,
    DocumentItemRow,
    InboundMessageRow,
    LinkTokenRow,
    NoticeRow,
    PersonRow,
)
from server import cli_telegram
from server.app import create_app
from server.bootstrap import Container, LazyDialogue
from tests.cli_kit import ContainerRunner
from tests.db_kit import count, link
from tests.fakes.telegram_api import BOT_USER, FakeBotApi
from tests.waits import until, wait_until

SECRET = "test-secret_42"
STAFF_CHAT = -100200300
STAFF_USER = 9001
USER = 5550001
HEADERS = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
#: What `served` yields: a client of the running app and its container.
Served = tuple[TestClient, Container]


# The conversation tests need the Container's DialogueEngine (server/bootstrap.py); until it is
# importable they are skipped (the webhook, sender, staff and CLI tests do not need it).
needs_engine = pytest.mark.skipif(
    not hasattr(Container, "dialogue"), reason="Container.dialogue (the dialogue engine) not wired"
)


# --- fixtures and helpers ---------------------------------------------------------------------


def make_container(db_url: str, tmp_path: Path, bot_api: FakeBotApi, **over: Any) -> Container:
    values: dict[str, Any] = {
        "database_url": db_url,
        "data_dir": tmp_path,
        "telegram_bot_token": bot_api.token,
        "telegram_webhook_secret": SECRET,
        "telegram_api_base_url": bot_api.base_url,
        "telegram_staff_chat_id": STAFF_CHAT,
        "public_base_url": "https://loans.example.test",
        "max_upload_mb": 1,
        "broadcast_confirm_threshold": 1000,
        "scheduler_enabled": False,
    }
    values.update(over)
    return Container(Settings(_env_file=None, **values))  # type: ignore[call-arg]


@contextmanager
def serve(db_url: str, tmp_path: Path, bot_api: FakeBotApi) -> Iterator[Served]:
    """The whole app (lifespan running: the bot's PTB application started) on the fake Bot API."""
    container = make_container(db_url, tmp_path, bot_api)
    with TestClient(create_app(container)) as client:
        yield client, container


@pytest.fixture
def served(db_url: str, tmp_path: Path, bot_api: FakeBotApi) -> Iterator[Served]:
    with serve(db_url, tmp_path, bot_api) as served:
        yield served


def bot_of(container: Container) -> TelegramBot:
    bot = container.telegram
    assert bot is not None
    return bot


def drained(container: Container) -> None:
    """Wait until the bot's update queue is empty: every update fed to it has been handled (and
    its inbox row marked), so whatever it would send has been sent."""
    runner = bot_of(container).runner
    wait_until(lambda: runner.busy == 0)


def user(uid: int = USER, name: str = "张三") -> dict[str, Any]:
    return {"id": uid, "is_bot": False, "first_name": name}


def message(
    update_id: int,
    chat_id: int = USER,
    text: str | None = None,
    *,
    from_id: int | None = None,
    message_id: int | None = None,
    **extra: Any,
) -> dict[str, Any]:
    msg: dict[str, Any] = {
        "message_id": message_id or update_id,
        "date": int(time.time()),
        "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "supergroup"},
        "from": user(from_id or chat_id),
        **extra,
    }
    if text is not None:
        msg["text"] = text
        if text.startswith("/"):
            length = len(text.split()[0])
            msg["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
    return {"update_id": update_id, "message": msg}


def callback(
    update_id: int, data: str, on: dict[str, Any], *, chat_id: int = USER, from_id: int = USER
) -> dict[str, Any]:
    """A button press on the bot message `on` (a sendMessage call's params)."""
    pressed = {
        "message_id": 1,
        "date": int(time.time()),
        "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "supergroup"},
        "from": BOT_USER,
        "text": on.get("text", ""),
        "reply_markup": on.get("reply_markup"),
    }
    query = {
        "id": f"cbq-{update_id}",
        "from": user(from_id),
        "chat_instance": "ci",
        "data": data,
        "message": pressed,
    }
    return {"update_id": update_id, "callback_query": query}


def post(client: TestClient, update: Any, secret: str | None = SECRET) -> Any:
    headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret is not None else {}
    return client.post("/telegram/webhook", json=update, headers=headers)


def texts_to(bot_api: FakeBotApi, chat_id: int) -> list[str]:
    return [str(c.params["text"]) for c in bot_api.sent(chat_id)]


def buttons(params: dict[str, Any]) -> list[str]:
    markup = params.get("reply_markup") or {}
    return [b["callback_data"] for row in markup.get("inline_keyboard", []) for b in row]


def identity(db: Engine, address: str, **fields: Any) -> int:
    return link(db, "telegram", address, **fields)


def push_and_wait_alert(
    client: TestClient, bot: TelegramBot, bot_api: FakeBotApi
) -> dict[str, Any]:
    """Post pending hand-off alerts now (the background loop may have done it already)."""
    client.portal.call(bot.alerts.push, bot.application.bot)  # type: ignore[union-attr]
    alerts = wait_until(
        lambda: [c for c in bot_api.sent(STAFF_CHAT) if "工单号 " in c.params["text"]]
    )
    params: dict[str, Any] = alerts[-1].params
    return params


# --- the conversation -------------------------------------------------------------------------


@needs_engine
def test_update_in_reply_out_with_inline_keyboard(served: Served, bot_api: FakeBotApi) -> None:
    client, _ = served
    menus = bot_api.of("setMyCommands")
    private = next(c for c in menus if c.params["scope"]["type"] == "all_private_chats")
    assert {"command": "check", "description": "资格预审"} in private.params["commands"]
    assert any(c.params["scope"] == {"type": "chat", "chat_id": STAFF_CHAT} for c in menus)

    response = post(client, message(1, text="/check"))
    assert response.status_code == 200
    asked = wait_until(lambda: [c for c in bot_api.sent(USER) if buttons(c.params)])
    assert "individual" in buttons(asked[0].params)

    post(client, callback(2, "individual", asked[0].params))
    wait_until(lambda: bot_api.of("answerCallbackQuery"))
    assert bot_api.of("answerCallbackQuery")[0].params["callback_query_id"] == "cbq-2"
    wait_until(lambda: any("unemployed" in buttons(c.params) for c in bot_api.sent(USER)))


def test_wrong_or_missing_secret_is_403_and_nothing_is_stored(
    served: Served, bot_api: FakeBotApi
) -> None:
    client, container = served
    assert post(client, message(10, text="你好"), secret="wrong").status_code == 403
    assert post(client, message(11, text="你好"), secret=None).status_code == 403
    drained(container)
    assert count(container.engine, InboundMessageRow) == 0
    assert count(container.engine, ConversationRow) == 0
    assert bot_api.sent() == []


def test_malformed_body_is_400_and_nothing_is_stored(served: Served, bot_api: FakeBotApi) -> None:
    client, container = served
    for body in (b"{not json", b"[1, 2]", b'{"message": {}}', b'{"update_id": "7"}'):
        response = client.post("/telegram/webhook", content=body, headers=HEADERS)
        assert response.status_code == 400, body
    assert count(container.engine, InboundMessageRow) == 0


@needs_engine
def test_duplicate_update_is_processed_once(served: Served, bot_api: FakeBotApi) -> None:
    client, container = served
    update = message(20, text="/help")
    assert post(client, update).json() == {"ok": True}
    wait_until(lambda: bot_api.sent(USER))
    drained(container)
    first = len(bot_api.sent(USER))
    assert post(client, update).json() == {"ok": True, "duplicate": True}
    assert bot_of(container).runner.busy == 0  # the duplicate was not queued behind the answer
    drained(container)
    assert len(bot_api.sent(USER)) == first
    seen = InboundMessageRow.channel == "telegram-update"
    assert count(container.engine, InboundMessageRow, seen) == 1


@needs_engine
def test_deep_link_links_the_borrower(served: Served, bot_api: FakeBotApi) -> None:
    client, container = served
    with session_scope(container.engine) as s:
        person = PersonRow(name="李四", phone="+8613812348000")
        s.add(person)
        s.flush()
        assert person.id is not None
        s.add(
            LinkTokenRow(
                token_hash=hashlib.sha256(b"tok-123").hexdigest(),
                person_id=person.id,
                expires_at=utcnow() + timedelta(hours=1),
            )
        )
        person_id = person.id
    post(client, message(30, text="/start tok-123"))
    wait_until(lambda: any("李四" in t for t in texts_to(bot_api, USER)))
    with Session(container.engine) as s:
        row = s.exec(
            select(ChannelIdentityRow).where(ChannelIdentityRow.address == str(USER))
        ).one()
    assert row.verified and row.person_id == person_id


@needs_engine
def test_contact_button_and_only_own_number(served: Served, bot_api: FakeBotApi) -> None:
    client, container = served
    with session_scope(container.engine) as s:
        s.add(PersonRow(name="王五", phone="+8613812348001"))
    post(client, message(40, text="/start"))
    asked = wait_until(
        lambda: [
            c for c in bot_api.sent(USER) if "keyboard" in (c.params.get("reply_markup") or {})
        ]
    )
    keyboard = asked[0].params["reply_markup"]
    assert keyboard["keyboard"][0][0]["request_contact"] is True
    assert keyboard["one_time_keyboard"] is True

    other = {"phone_number": "8613900000000", "first_name": "x", "user_id": 777}
    post(client, message(41, contact=other))
    wait_until(lambda: any("本人" in t for t in texts_to(bot_api, USER)))
    own = {"phone_number": "8613812348001", "first_name": "王五", "user_id": USER}
    post(client, message(42, contact=own))
    wait_until(lambda: any("王五" in t for t in texts_to(bot_api, USER)))


# --- files ------------------------------------------------------------------------------------


def _draft_application(db: Engine) -> None:
    from core.applications.lifecycle import open_application

    with session_scope(db) as s:
        ident = s.exec(
            select(ChannelIdentityRow).where(ChannelIdentityRow.address == str(USER))
        ).one()
        open_application(
            s,
            identity_id=ident.id,
            person_id=None,
            profile={"applicant_type": "individual"},
            decision={"eligible": True},
            documents=["身份证", "营业执照"],
            policy_name="lanzhou-2013",
        )


def with_draft(served: Served, bot_api: FakeBotApi, update_id: int) -> Served:
    """The user has talked to the bot (so the chat is known) and has a draft application."""
    client, container = served
    post(client, message(update_id, text="/help"))
    wait_until(lambda: bot_api.sent(USER))
    _draft_application(container.engine)
    return client, container


def answers_to(client: TestClient, bot_api: FakeBotApi, update: dict[str, Any]) -> list[str]:
    """Post one update; the texts the bot sent the user since (once there is one at least)."""
    before = len(bot_api.sent(USER))
    post(client, update)
    wait_until(lambda: len(bot_api.sent(USER)) > before)
    return texts_to(bot_api, USER)[before:]


@needs_engine
def test_document_above_the_limit_is_refused_before_download(
    served: Served, bot_api: FakeBotApi
) -> None:
    client, container = with_draft(served, bot_api, 50)
    big = 2 * 1024 * 1024
    bot_api.add_file("big-file", b"%PDF-1.4\n" + b"0" * big, "documents/big.pdf")
    doc = {"file_id": "big-file", "file_unique_id": "ub", "file_name": "big.pdf",
           "mime_type": "application/pdf", "file_size": big}  # fmt: skip
    assert any("1MB" in t for t in answers_to(client, bot_api, message(51, document=doc)))
    assert bot_api.of("getFile") == [] and bot_api.downloads == []

    small = b"%PDF-1.4\n%test\n" + b"1" * 2000
    bot_api.add_file("small-file", small, "documents/small.pdf")
    doc = {"file_id": "small-file", "file_unique_id": "us", "file_name": "id.pdf",
           "mime_type": "application/pdf", "file_size": len(small)}  # fmt: skip
    post(client, message(52, document=doc))
    wait_until(lambda: bot_api.downloads == ["documents/small.pdf"])
    received = DocumentItemRow.status == "received"
    wait_until(lambda: count(container.engine, DocumentItemRow, received) == 1)


@needs_engine
def test_document_without_declared_size_streams_and_stops_at_the_limit(
    served: Served, bot_api: FakeBotApi
) -> None:
    client, container = with_draft(served, bot_api, 60)
    huge = b"%PDF-1.4\n" + b"0" * (40 * 1024 * 1024)  # 40 MB, limit 1 MB, no size anywhere
    bot_api.add_file("unsized", huge, "documents/unsized.pdf")
    bot_api.streamed.add("documents/unsized.pdf")
    doc = {"file_id": "unsized", "file_unique_id": "uu", "file_name": "big.pdf",
           "mime_type": "application/pdf"}  # fmt: skip
    assert any("1MB" in t for t in answers_to(client, bot_api, message(61, document=doc)))
    assert bot_api.served["documents/unsized.pdf"] < 16 * 1024 * 1024  # stopped, not 40 MB read

    small = b"%PDF-1.4\n%test\n" + b"1" * 2000
    bot_api.add_file("named", small, "documents/named.pdf")
    doc = {"file_id": "named", "file_unique_id": "un", "file_name": "../../etc/证件 正面;.html",
           "mime_type": "application/pdf", "file_size": len(small)}  # fmt: skip
    post(client, message(62, document=doc))
    received = DocumentItemRow.status == "received"
    wait_until(lambda: count(container.engine, DocumentItemRow, received) == 1)
    with Session(container.engine) as s:
        item = s.exec(select(DocumentItemRow).where(received)).one()
    assert item.filename == "证件_正面_.html"  # base name only; served as .pdf (its real type)


@needs_engine
def test_photo_uses_the_largest_size(served: Served, bot_api: FakeBotApi) -> None:
    client, container = with_draft(served, bot_api, 55)
    jpeg = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 3000
    bot_api.add_file("p-small", jpeg[:200], "photos/small.jpg")
    bot_api.add_file("p-large", jpeg, "photos/large.jpg")
    sizes = [
        {"file_id": "p-small", "file_unique_id": "s", "width": 90, "height": 60, "file_size": 200},
        {"file_id": "p-large", "file_unique_id": "l", "width": 1280, "height": 960,
         "file_size": len(jpeg)},
    ]  # fmt: skip
    post(client, message(56, photo=sizes, caption="身份证正面"))
    wait_until(lambda: bot_api.downloads == ["photos/large.jpg"])
    assert [c.params["file_id"] for c in bot_api.of("getFile")] == ["p-large"]
    received = DocumentItemRow.status == "received"
    wait_until(lambda: count(container.engine, DocumentItemRow, received) == 1)


# --- sending for the outbox -------------------------------------------------------------------


def test_blocked_user_is_marked_unreachable_and_the_batch_goes_on(
    served: Served, bot_api: FakeBotApi
) -> None:
    client, container = served
    db = container.engine
    chats = [6001, 6002, 6003]
    with session_scope(db) as s:
        for chat in chats:
            ident = ChannelIdentityRow(channel="telegram", address=str(chat))
            s.add(ident)
            s.flush()
            enqueue(s, key=f"t:{chat}", kind="relay", channel="telegram", address=str(chat),
                    identity_id=ident.id, text="工作人员回复：材料已收到")  # fmt: skip
    bot_api.blocked.add(6002)
    never_quiet = QuietHours(dt_time(0, 0), dt_time(0, 0))
    dispatcher = Dispatcher(db, {"telegram": bot_of(container).sender}, quiet=never_quiet)
    client.portal.call(dispatcher.drain)  # type: ignore[union-attr]

    with Session(db) as s:
        status = {n.address: n.status for n in s.exec(select(NoticeRow)).all()}
        rows = {r.address: r for r in s.exec(select(ChannelIdentityRow)).all()}
    assert status == {"6001": "sent", "6002": "failed", "6003": "sent"}
    assert rows["6002"].unreachable and "blocked" in (rows["6002"].unreachable_reason or "")
    assert not rows["6001"].unreachable and not rows["6003"].unreachable
    assert sorted(int(c.params["chat_id"]) for c in bot_api.sent()) == [6001, 6003]


@needs_engine
def test_a_chat_that_writes_again_is_reachable_again(served: Served, bot_api: FakeBotApi) -> None:
    client, container = served
    identity(container.engine, "6002", unreachable=True, unreachable_reason="blocked")
    post(client, message(60, chat_id=6002, text="/help"))
    wait_until(lambda: bot_api.sent(6002))
    with Session(container.engine) as s:
        again = s.exec(select(ChannelIdentityRow).where(ChannelIdentityRow.address == "6002")).one()
    assert not again.unreachable


def test_429_retry_after_is_waited_and_retried(served: Served, bot_api: FakeBotApi) -> None:
    client, container = served
    bot = bot_of(container)
    bot_api.flood[7001] = [1]
    result = client.portal.call(  # type: ignore[union-attr]
        bot.sender.send, OutgoingMessage(None, "telegram", "7001", "您好")
    )
    assert result.ok
    tries = [c for c in bot_api.of("sendMessage") if int(c.params["chat_id"]) == 7001]
    assert [c.status for c in tries] == [429, 200]
    assert tries[1].at - tries[0].at >= 1.0

    bot_api.flood[7002] = [1, 1]  # still limited after the retry: defer with retry_after
    result = client.portal.call(  # type: ignore[union-attr]
        bot.sender.send, OutgoingMessage(None, "telegram", "7002", "您好")
    )
    assert not result.ok and result.temporary and result.retry_after == 1


# --- the staff chat ---------------------------------------------------------------------------


def test_staff_broadcast_preview_then_confirm(served: Served, bot_api: FakeBotApi) -> None:
    client, container = served
    db = container.engine
    identity(db, "8001")
    identity(db, "8002")
    identity(db, "8003", opted_out=True)
    identity(db, "8004", unreachable=True)

    post(client, message(70, chat_id=USER, text="/broadcast 不该发出"))
    wait_until(lambda: any("工作人员" in t for t in texts_to(bot_api, USER)))
    drained(container)
    assert count(db, BroadcastRow) == 0

    body = "2026年贴息政策调整，详情请咨询社区。"
    post(client, message(71, chat_id=STAFF_CHAT, from_id=STAFF_USER, text=f"/broadcast {body}"))
    preview = wait_until(lambda: [c for c in bot_api.sent(STAFF_CHAT) if buttons(c.params)])[0]
    assert body in preview.params["text"] and "2 人" in preview.params["text"]
    drained(container)
    assert count(db, NoticeRow) == 0
    confirm = next(b for b in buttons(preview.params) if b.startswith("bc:ok:"))

    post(client, callback(72, confirm, preview.params, chat_id=STAFF_CHAT, from_id=STAFF_USER))
    wait_until(lambda: any("排入发送队列" in t for t in texts_to(bot_api, STAFF_CHAT)))
    with Session(db) as s:
        notices = s.exec(select(NoticeRow).order_by(col(NoticeRow.address))).all()
    assert [n.address for n in notices] == ["8001", "8002"]
    assert all(n.kind == "broadcast" and body in n.text for n in notices)
    assert bot_api.of("editMessageReplyMarkup")

    post(client, callback(73, confirm, preview.params, chat_id=STAFF_CHAT, from_id=STAFF_USER))
    wait_until(lambda: len(bot_api.of("answerCallbackQuery")) == 2)
    assert bot_api.of("answerCallbackQuery")[1].params.get("show_alert") in ("true", "True", True)
    assert count(db, NoticeRow) == 2


def test_large_broadcast_needs_a_second_staff_member(
    db_url: str, tmp_path: Path, bot_api: FakeBotApi
) -> None:
    container = make_container(db_url, tmp_path, bot_api, broadcast_confirm_threshold=0)
    identity(container.engine, "8101")
    with TestClient(create_app(container)) as client:
        post(client, message(75, chat_id=STAFF_CHAT, from_id=STAFF_USER, text="/broadcast 通知"))
        preview = wait_until(lambda: [c for c in bot_api.sent(STAFF_CHAT) if buttons(c.params)])[0]
        assert "另一位工作人员" in preview.params["text"]
        ok = buttons(preview.params)[0]
        post(client, callback(76, ok, preview.params, chat_id=STAFF_CHAT, from_id=STAFF_USER))
        wait_until(lambda: bot_api.of("answerCallbackQuery"))
        drained(container)
        assert count(container.engine, NoticeRow) == 0
        post(client, callback(77, ok, preview.params, chat_id=STAFF_CHAT, from_id=STAFF_USER + 1))
        wait_until(lambda: count(container.engine, NoticeRow) == 1)


def test_ticket_alert_and_staff_reply_are_relayed(served: Served, bot_api: FakeBotApi) -> None:
    client, container = served
    bot = bot_of(container)
    with session_scope(container.engine) as s:  # what the engine does on /human
        open_ticket(s, channel="telegram", address=str(USER), identity_id=None,
                    text="我想找工作人员", reason="user")  # fmt: skip
    alert = push_and_wait_alert(client, bot, bot_api)
    assert client.portal.call(bot.alerts.push, bot.application.bot) == 0  # type: ignore[union-attr]
    assert len([c for c in bot_api.sent(STAFF_CHAT) if "工单号 " in c.params["text"]]) == 1

    answer = "您好，请带身份证到社区办理。"
    reply = message(81, chat_id=STAFF_CHAT, from_id=STAFF_USER, text=answer)
    reply["message"]["reply_to_message"] = {
        "message_id": 1,
        "date": int(time.time()),
        "chat": {"id": STAFF_CHAT, "type": "supergroup"},
        "from": BOT_USER,
        "text": alert["text"],
    }
    post(client, reply)
    wait_until(lambda: any("将发送给申请人" in t for t in texts_to(bot_api, STAFF_CHAT)))
    post(client, message(82, chat_id=STAFF_CHAT, from_id=STAFF_USER, text="/reply 1 还有问题吗？"))
    wait_until(lambda: count(container.engine, NoticeRow, NoticeRow.kind == "relay") == 2)

    with Session(container.engine) as s:
        relays = s.exec(select(NoticeRow).where(NoticeRow.kind == "relay")).all()
    assert {n.address for n in relays} == {str(USER)}
    before = len(bot_api.sent(USER))
    never_quiet = QuietHours(dt_time(0, 0), dt_time(0, 0))
    dispatcher = Dispatcher(container.engine, {"telegram": bot.sender}, quiet=never_quiet)
    client.portal.call(dispatcher.drain)  # type: ignore[union-attr]
    delivered = texts_to(bot_api, USER)[before:]
    assert len(delivered) == 2 and all(t.startswith("【工作人员回复】") for t in delivered)
    assert any(answer in t for t in delivered)


def test_alerts_cover_tickets_from_other_channels(served: Served, bot_api: FakeBotApi) -> None:
    client, container = served
    bot = bot_of(container)
    with session_scope(container.engine) as s:
        open_ticket(s, channel="sms", address="+8613812348000", identity_id=None,
                    text="我的贷款什么时候到账", reason="user")  # fmt: skip
    text = push_and_wait_alert(client, bot, bot_api)["text"]
    assert "短信" in text and "8000" in text and "13812348000" not in text


# --- configuration and CLI --------------------------------------------------------------------


def test_without_token_the_server_runs_without_the_bot(
    db_url: str, tmp_path: Path, bot_api: FakeBotApi, caplog: pytest.LogCaptureFixture
) -> None:
    container = make_container(db_url, tmp_path, bot_api, telegram_bot_token=None)
    with TestClient(create_app(container)) as client:
        assert client.get("/healthz").status_code == 200
        assert post(client, message(90, text="你好")).status_code == 404
    assert "TELEGRAM_BOT_TOKEN is not set" in caplog.text
    assert bot_api.calls == []


def test_a_rejected_token_does_not_stop_the_server_nor_leak(
    db_url: str, tmp_path: Path, bot_api: FakeBotApi, caplog: pytest.LogCaptureFixture
) -> None:
    container = make_container(db_url, tmp_path, bot_api, telegram_bot_token="999:WRONG-TOKEN")
    with TestClient(create_app(container)) as client:
        assert client.get("/healthz").status_code == 200
        assert post(client, message(92, text="你好")).status_code == 503  # Telegram retries
    assert "could not start" in caplog.text and "WRONG-TOKEN" not in caplog.text
    assert count(container.engine, InboundMessageRow) == 0


def test_without_webhook_secret_every_update_is_refused(
    db_url: str, tmp_path: Path, bot_api: FakeBotApi
) -> None:
    container = make_container(db_url, tmp_path, bot_api, telegram_webhook_secret=None)
    with TestClient(create_app(container)) as client:
        assert post(client, message(91, text="你好"), secret="").status_code == 403


def test_cli_set_webhook_registers_url_and_secret(
    db_url: str, tmp_path: Path, bot_api: FakeBotApi
) -> None:
    container = make_container(db_url, tmp_path, bot_api)
    cli = typer.Typer()
    cli.command("noop")(lambda: None)
    cli_telegram.register(cli)
    result = ContainerRunner(container).invoke(cli, ["bot", "set-webhook"])
    assert result.exit_code == 0, result.output
    params = bot_api.of("setWebhook")[0].params
    assert params["url"] == "https://loans.example.test/telegram/webhook"
    assert params["secret_token"] == SECRET
    assert params["allowed_updates"] == ["message", "callback_query"]

    no_secret = make_container(db_url, tmp_path, bot_api, telegram_webhook_secret=None)
    assert ContainerRunner(no_secret).invoke(cli, ["bot", "set-webhook"]).exit_code == 1


@needs_engine
def test_polling_mode_answers_updates(db_url: str, tmp_path: Path, bot_api: FakeBotApi) -> None:
    container = make_container(db_url, tmp_path, bot_api)
    config = BotConfig.from_settings(container.settings)
    assert config is not None
    bot = TelegramBot(config, LazyDialogue(container), container.engine, polling=True)
    bot_api.updates.append(message(100, text="/help"))

    async def run() -> None:
        app = bot.application
        assert app.updater is not None
        async with app:
            await app.start()
            await app.updater.start_polling(poll_interval=0, timeout=1)
            await until(lambda: bot_api.sent(USER))
            await app.updater.stop()
            await app.stop()

    asyncio.run(run())
    assert bot_api.sent(USER)
    assert bot_api.of("deleteWebhook")  # polling removes a registered webhook first
