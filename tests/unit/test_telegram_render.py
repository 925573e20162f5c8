"""Pure parts of the Telegram adapter: command parsing, message splitting, keyboards, URLs."""

from __future__ import annotations

import pytest

from bot.app import file_base_url
from bot.handlers import split_command
from bot.render import MAX_TEXT, split_text, to_messages
from core.dialogue.events import Option, Reply


def test_commands_pass_as_text_and_start_payload_separately() -> None:
    assert split_command("/start tok-123") == ("", "tok-123")
    assert split_command("/start") == ("", "")
    assert split_command("/check@chuangdai_bot") == ("/check", None)
    assert split_command("/ask 失业人员能贷多少") == ("/ask 失业人员能贷多少", None)
    assert split_command("我想问问贴息") == ("我想问问贴息", None)


def test_long_text_is_split_at_lines_and_keyboard_goes_last() -> None:
    text = "\n".join(["政策说明" * 100] * 20)
    pieces = split_text(text)
    assert len(pieces) > 1 and all(len(p) <= MAX_TEXT for p in pieces)
    assert "\n".join(pieces) == text
    assert split_text("x" * (MAX_TEXT * 2 + 5)) == ["x" * MAX_TEXT, "x" * MAX_TEXT, "x" * 5]
    messages = to_messages(Reply(text=text, options=(Option("yes", "是"),)))
    assert all(m.markup is None for m in messages[:-1]) and messages[-1].markup is not None


def test_contact_request_becomes_a_one_time_keyboard() -> None:
    (only,) = to_messages(Reply(text="请分享手机号", request_contact=True))
    data = only.markup.to_dict() if only.markup else {}
    assert data["keyboard"][0][0]["request_contact"] is True and data["one_time_keyboard"]


def test_file_url_follows_the_api_url() -> None:
    assert file_base_url("https://api.telegram.org/bot") == "https://api.telegram.org/file/bot"
    assert file_base_url("http://127.0.0.1:8081/bot/") == "http://127.0.0.1:8081/file/bot"
    with pytest.raises(ValueError):
        file_base_url("https://api.telegram.org")
