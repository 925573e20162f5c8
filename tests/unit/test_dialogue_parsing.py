import pytest

from core.dialogue.commands import detect_command, detect_opt, parse_yes_no
from core.dialogue.events import Option, Reply, render_sms
from core.kernel.numbers import parse_amount_yuan, parse_count, parse_months


@pytest.mark.parametrize(
    ("text", "yuan"),
    [
        ("五万", 50_000),
        ("5万", 50_000),
        ("5w", 50_000),
        ("5W", 50_000),
        ("50000元", 50_000),
        ("一百五", 150),
        ("一万五", 15_000),
        ("3.5万", 35_000),
        ("想贷十万块钱", 100_000),
        ("５万", 50_000),
        ("两万", 20_000),
    ],
)
def test_amounts(text: str, yuan: int) -> None:
    assert parse_amount_yuan(text) == yuan


@pytest.mark.parametrize("text", ["", "不知道", "😀😀", "-5万", "0", "999999999999"])
def test_impossible_amounts(text: str) -> None:
    assert parse_amount_yuan(text) is None


def test_counts_and_terms() -> None:
    assert parse_count("三个人") == 3
    assert parse_count("我们一共十二个") == 12
    assert parse_count("没有") is None
    assert parse_months("两年") == 24
    assert parse_months("18个月") == 18
    assert parse_months("一年半") == 18
    assert parse_months("三十六个月") == 36
    assert parse_months("0") is None


@pytest.mark.parametrize(
    ("text", "command"),
    [
        ("返回", "back"),
        (" 重新开始！", "restart"),
        ("取消", "cancel"),
        ("帮助", "help"),
        ("人工", "human"),
        ("转人工", "human"),
        ("/check", "precheck"),
        ("/status@chuangdai_bot", "status"),
        ("失业人员能贷多少", None),
    ],
)
def test_commands(text: str, command: str | None) -> None:
    assert detect_command(text) == command


@pytest.mark.parametrize(
    ("text", "channel", "in_flow", "expected"),
    [
        ("TD", "sms", False, "out"),
        ("td", "sms", False, "out"),
        ("R", "sms", False, "out"),
        ("我要退订", "sms", False, "out"),
        ("退订", "telegram", False, "out"),
        ("STOP", "sms", False, "out"),
        ("取消", "sms", False, "out"),
        ("取消", "sms", True, None),  # inside a flow 取消 cancels the flow
        ("怎么退订短信", "sms", False, None),  # a question, answered by the FAQ
        ("订阅", "sms", False, "in"),
        ("START", "sms", False, "in"),
        ("R", "telegram", False, None),
        ("我要取消订阅", "sms", False, "out"),
        ("我不退订", "sms", False, None),
        ("STOP please", "sms", False, "out"),
    ],
)
def test_opt_out_words(text: str, channel: str, in_flow: bool, expected: str | None) -> None:
    assert detect_opt(text, channel, in_flow) == expected


def test_yes_no() -> None:
    assert parse_yes_no("没有") == "no"
    assert parse_yes_no("有") == "yes"
    assert parse_yes_no("是的") == "yes"
    assert parse_yes_no("不是") == "no"
    assert parse_yes_no("开饭馆") is None


def test_sms_rendering_numbers_options() -> None:
    reply = Reply(text="长文本", options=(Option("yes", "是"), Option("no", "否")), sms_text="短")
    assert render_sms(reply) == "短\n回复 1 是 / 2 否"


@pytest.mark.parametrize("text", ["不知道", "不清楚", "不确定", "忘了", "我也不清楚"])
def test_unknown_is_never_no(text: str) -> None:
    assert parse_yes_no(text) == "unknown"


@pytest.mark.parametrize(
    ("text", "expected"),
    [("0", True), ("0元", True), ("-5万", True), ("负一万", True), ("5万", False), ("没有", False)],
)
def test_zero_or_negative_numbers(text: str, expected: bool) -> None:
    from core.kernel.numbers import is_not_positive

    assert is_not_positive(text) is expected


@pytest.mark.parametrize("text", ["没有", "不知道", "随便", "你看着办"])
def test_whatever_words(text: str) -> None:
    from core.dialogue.commands import wants_default

    assert wants_default(text)
    assert not wants_default("五万")
