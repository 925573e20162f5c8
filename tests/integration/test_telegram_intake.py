"""The intake through the real Telegram door (webhook → engine → fake Bot API): the phone question
offers the contact button, a shared own number verifies the mobile, the ID number is masked."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import Session, select

from core.persistence.models import ApplicationRow, ChannelIdentityRow, PersonRow
from tests.dialogue_kit import id_number
from tests.fakes.telegram_api import FakeBotApi
from tests.integration.test_telegram import (
    USER,
    Served,
    drained,
    message,
    post,
    serve,
    texts_to,
)
from tests.waits import wait_until

ID_OK = id_number("62010219900101123")


@pytest.fixture
def served(db_url: str, tmp_path: Path, bot_api: FakeBotApi) -> Iterator[Served]:
    with serve(db_url, tmp_path, bot_api) as served:
        yield served


def test_intake_on_telegram(served: Served, bot_api: FakeBotApi) -> None:
    client, container = served
    answers = (
        "预审",
        "个人",
        "失业",
        "有",
        "开一家小饭馆",
        "进货",
        "没有",
        "5万",
        "2年",
        "1",
        "张三",
    )
    for n, text in enumerate(answers, start=100):
        before = len(texts_to(bot_api, USER))
        post(client, message(n, text=text))
        wait_until(lambda before=before: len(texts_to(bot_api, USER)) > before)  # one at a time
    asked = wait_until(
        lambda: [
            c for c in bot_api.sent(USER) if "keyboard" in (c.params.get("reply_markup") or {})
        ]
    )
    assert asked[-1].params["reply_markup"]["keyboard"][0][0]["request_contact"] is True
    own = {"phone_number": "8613912340001", "first_name": "张三", "user_id": USER}
    post(client, message(200, contact=own))
    wait_until(lambda: any("手机号已验证" in t for t in texts_to(bot_api, USER)))
    post(client, message(201, text=ID_OK[:-1] + ("1" if ID_OK[-1] != "1" else "2")))
    wait_until(lambda: any("校验位不正确" in t for t in texts_to(bot_api, USER)))
    post(client, message(202, text=ID_OK))
    wait_until(lambda: any("620102********" in t for t in texts_to(bot_api, USER)))
    drained(container)  # every message handled: none of them showed the whole ID number
    assert not any(ID_OK in t for t in texts_to(bot_api, USER))
    with Session(container.engine) as s:
        person = s.exec(select(PersonRow)).one()
        assert person.phone == "+8613912340001" and person.id_number == ID_OK
        ident = s.exec(
            select(ChannelIdentityRow).where(ChannelIdentityRow.channel == "telegram")
        ).one()
        assert ident.verified and ident.person_id == person.id
        assert s.exec(select(ApplicationRow)).one().person_id == person.id
