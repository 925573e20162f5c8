"""Staff reach the applicant: review results and stage changes on the applicant's channel, by SMS
to the verified mobile when the chat cannot be reached; the intake fields in the API and console."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, col, select

from core.applications.review import advance
from core.kernel.quiet_hours import QuietHours
from core.outbox.dispatch import Dispatcher
from core.outbox.senders import OutgoingMessage, SendResult
from core.persistence.models import ApplicationRow, ChannelIdentityRow, NoticeRow
from server.bootstrap import Container
from tests.dialogue_kit import id_number
from tests.staff_seed import Served, console_login, serve_world

PHONE = "+8613912345601"


@pytest.fixture
def served(db_url: str, tmp_path: Path) -> Iterator[Served]:
    with serve_world(db_url, tmp_path) as served:
        yield served


def say(container: Container, channel: str, address: str, **kw: Any) -> str:
    from core.dialogue.events import InboundEvent

    event = InboundEvent(channel, address, uuid.uuid4().hex, **kw)
    return "\n".join(r.text for r in container.dialogue.handle(event).replies)


def last_code(container: Container) -> str:
    with Session(container.engine) as s:
        notice = s.exec(
            select(NoticeRow).where(NoticeRow.kind == "otp").order_by(col(NoticeRow.id).desc())
        ).first()
        assert notice is not None and notice.address == PHONE
        found = re.search(r"\d{6}", notice.text)
        assert found
        return found.group(0)


def apply(container: Container, channel: str, address: str, amount: str = "5万") -> int:
    """A whole intake; the mobile verified by a code (read from the SMS in the outbox)."""
    for text in ("预审", "个人", "失业", "有", "开一家小饭馆", "进货", "没有", amount, "2年", "1"):
        say(container, channel, address, text=text)
    say(container, channel, address, text="张三")
    if channel == "telegram":
        say(container, channel, address, contact_phone=PHONE)
    else:
        assert "验证码" in say(container, channel, address, text=PHONE)
        assert "已验证" in say(container, channel, address, text=last_code(container))
    say(container, channel, address, text=id_number("62010219900101123"))
    say(container, channel, address, text="城关区")
    say(container, channel, address, text="城关区张掖路1号")
    summary = say(container, channel, address, text="下个月")
    assert "请核对申请信息" in summary
    with Session(container.engine) as s:
        app = s.exec(
            select(ApplicationRow).where(ApplicationRow.business_address.is_not(None))
        ).one()  # type: ignore[union-attr]
        assert app.id is not None
        app.stage = "submitted"  # documents are covered elsewhere; staff act from here
        s.add(app)
        s.commit()
        return app.id


def stage_notice(container: Container, app_id: int) -> NoticeRow:
    with Session(container.engine) as s:
        advance(s, app_id, actor="officer1")
        s.commit()
        return s.exec(select(NoticeRow).where(NoticeRow.kind == "review")).one()


def test_terminal_applicant_is_told_by_sms_to_the_verified_mobile(served: Served) -> None:
    _, container, _ = served
    app_id = apply(container, "terminal", "trainee")
    notice = stage_notice(container, app_id)
    assert notice.channel == "sms" and notice.address == PHONE
    assert f"您的申请{app_id}已进入" in notice.text


def test_telegram_applicant_is_told_in_the_chat_then_by_sms_once_unreachable(
    served: Served,
) -> None:
    _, container, _ = served
    app_id = apply(container, "telegram", "5005")
    notice = stage_notice(container, app_id)
    assert notice.channel == "telegram" and notice.address == "5005"
    with Session(container.engine) as s:
        ident = s.exec(select(ChannelIdentityRow).where(ChannelIdentityRow.address == "5005")).one()
        ident.unreachable = True
        s.add(ident)
        advance(s, app_id, actor="officer1")
        s.commit()
        latest = s.exec(select(NoticeRow).order_by(col(NoticeRow.id).desc())).first()
        assert latest is not None and latest.channel == "sms" and latest.address == PHONE


class BlockedChat:
    """The Telegram side of the Sender port answering as a chat that blocked the bot."""

    channel = "telegram"

    async def send(self, message: OutgoingMessage) -> SendResult:
        return SendResult(ok=False, unreachable=True, error="Forbidden: bot was blocked")


class Phone:
    channel = "sms"

    def __init__(self) -> None:
        self.sent: list[OutgoingMessage] = []

    async def send(self, message: OutgoingMessage) -> SendResult:
        self.sent.append(message)
        return SendResult(ok=True, provider_id=f"SM{len(self.sent)}")


def test_a_blocked_chat_gets_the_stage_change_by_sms(served: Served) -> None:
    _, container, _ = served
    app_id = apply(container, "telegram", "6006")
    stage_notice(container, app_id)
    phone = Phone()
    never_quiet = QuietHours.parse("00:00", "00:00")  # the test may run at night
    dispatcher = Dispatcher(
        container.engine, {"telegram": BlockedChat(), "sms": phone}, quiet=never_quiet
    )
    asyncio.run(dispatcher.drain())
    assert [m.address for m in phone.sent] == [PHONE]
    assert f"您的申请{app_id}已进入" in phone.sent[0].text
    with Session(container.engine) as s:
        chat = s.exec(select(NoticeRow).where(NoticeRow.channel == "telegram")).one()
        assert chat.status == "failed"


def test_api_and_console_show_the_intake_and_filter_by_district(served: Served) -> None:
    client, container, world = served
    app_id = apply(container, "terminal", "t2", amount="8万")
    headers = {"Authorization": f"Bearer {world.tokens['alice']}"}
    listed = client.get("/api/staff/applications", params={"district": "城关区"}, headers=headers)
    assert listed.status_code == 200
    items = listed.json()["items"]
    assert app_id in [i["id"] for i in items]
    assert all(i["district"] == "城关区" for i in items)
    item = next(i for i in items if i["id"] == app_id)
    assert item["business_address"] == "城关区张掖路1号" and item["business_type"] == "开一家小饭馆"
    assert item["requested_amount_fen"] == 8_000_000 and item["over_cap"] is True
    assert item["cap_amount_fen"] == 5_000_000 and item["applicant_name"] == "张三"
    other = client.get("/api/staff/applications", params={"district": "西固区"}, headers=headers)
    assert app_id not in [i["id"] for i in other.json()["items"]]
    detail = client.get(f"/api/staff/applications/{app_id}", headers=headers).json()
    assert detail["person"]["id_number"].startswith("620102********")
    assert detail["planned_start"] and detail["district"] == "城关区"


def test_console_shows_the_intake_and_the_cap_flag(served: Served) -> None:
    client, container, _ = served
    app_id = apply(container, "terminal", "t3", amount="8万")
    console_login(client, "alice")
    detail = client.get(f"/console/applications/{app_id}").text
    assert "城关区张掖路1号" in detail and "开一家小饭馆" in detail and "已验证" in detail
    assert "超过上限" in detail and "620102********" in detail
    listed = client.get("/console/applications", params={"district": "城关区"}).text
    assert f"/console/applications/{app_id}" in listed and "超上限" in listed
