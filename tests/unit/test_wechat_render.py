"""WeChat rendering: numbered options, the 2,048-byte text limit, the menu and template files."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import knowledge
from core.dialogue.events import Option, Reply
from core.outbox.templates import load_templates
from wechat.menu import MenuError, load_menu
from wechat.render import MAX_BYTES, reply_text, split_text
from wechat.texts import load_wechat_data

KNOWLEDGE = Path(knowledge.__file__).resolve().parent


def test_options_are_numbered_text() -> None:
    text = reply_text(
        [Reply("您是否持有登记证？", (Option("yes", "是"), Option("no", "否"))), Reply("第二条")]
    )
    assert text == "您是否持有登记证？\n回复 1 是 / 2 否\n\n第二条"


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.text(alphabet=st.sampled_from("贷款利息。！a1 \n🙂"), min_size=0, max_size=900),
        min_size=1,
        max_size=6,
    )
)
def test_pieces_fit_2048_bytes_and_lose_nothing(parts: list[str]) -> None:
    text = "\n".join(parts)
    pieces = split_text(text)
    assert all(0 < len(p.encode("utf-8")) <= MAX_BYTES for p in pieces)
    squashed = "".join(text.split())
    assert "".join("".join(pieces).split()) == squashed


def test_short_text_is_one_piece_and_long_lines_split_at_sentences() -> None:
    assert split_text("你好") == ["你好"]
    assert split_text("  \n ") == []
    sentence = "创业担保贷款由财政贴息。" * 100  # one line, 3,600 bytes
    pieces = split_text(sentence)
    assert len(pieces) == 2 and all(p.endswith("。") for p in pieces)


def test_shipped_menu_is_valid_and_bad_menus_are_refused(tmp_path: Path) -> None:
    menu = load_menu(KNOWLEDGE / "wechat_menu.yaml")
    keys = {b.get("key") for top in menu["button"] for b in [top, *top.get("sub_button", [])]}
    assert {"faq", "precheck", "status", "human"} <= keys
    cases = {
        "button: []": "1 to 3",
        "button:\n  - {type: click, name: 一二三四五六七八九, key: faq}": "16 bytes",
        "button:\n  - {type: click, name: 问答, key: other}": "other",
        "button:\n  - {type: view, name: 官网, url: ftp://x}": "url",
        "button:\n  - name: 我的\n    sub_button: []": "1 to 5",
        "button: [1, 2, 3, 4]": "1 to 3",
        "a: [": "menu.yaml",
    }
    for text, message in cases.items():
        path = tmp_path / "menu.yaml"
        path.write_text(text, encoding="utf-8")
        with pytest.raises(MenuError, match=message):
            load_menu(path)


def test_template_mapping_covers_every_notification_and_renders() -> None:
    data = load_wechat_data(KNOWLEDGE / "templates" / "wechat.yaml")
    notices = {
        name
        for name, t in load_templates().items()
        if t.kind in ("notification", "broadcast")
        # SMS only: the code goes to the number on file, employers get no chat notices
        and name not in ("link_code", "verify_code", "wage_deduction_employer")
    }
    assert notices <= set(data.templates), notices - set(data.templates)
    for name, mapped in data.templates.items():
        params = {p: f"<{p}>" for p in load_templates()[name].params}
        rendered = mapped.render(params)
        assert rendered and all(set(v) == {"value"} for v in rendered.values())
    assert data.template("repay_reminder") is None  # no id shipped: the deployment's own


def test_request_urls_in_logs_never_show_the_secret_or_token(
    caplog: pytest.LogCaptureFixture,
) -> None:
    import logging

    from wechat.client import install_log_scrubbing

    install_log_scrubbing()
    with caplog.at_level(logging.INFO, logger="httpx"):
        logging.getLogger("httpx").info(
            'HTTP Request: %s %s "%s"',
            "GET",
            "https://api.weixin.qq.com/cgi-bin/token?appid=wx1&secret=TOPSECRET&access_token=TKN",
            "HTTP/1.1 200 OK",
        )
    text = caplog.text
    assert "TOPSECRET" not in text and "TKN" not in text and "secret=***" in text
