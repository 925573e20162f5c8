"""Segment calculator, templates decoration and the reply length policy (pure, no database)."""

from __future__ import annotations

from decimal import Decimal

from sms.replies import plan_reply
from sms.segments import analyze, count_segments, estimate_cost, split_segments
from sms.templates import REPLY_OVERFLOW, decorate, render_sms


def test_gsm7_limits() -> None:
    assert count_segments("") == 0
    assert count_segments("a" * 160) == 1
    assert count_segments("a" * 161) == 2
    assert count_segments("a" * 306) == 2
    assert count_segments("a" * 307) == 3
    info = analyze("Hello")
    assert (info.encoding, info.units, info.remaining) == ("GSM-7", 5, 155)


def test_gsm7_extension_characters_count_double_and_are_not_split() -> None:
    assert analyze("{}").units == 4
    assert count_segments("€" * 80) == 1  # 160 septets
    assert count_segments("€" * 81) == 2  # 162 septets: 76 + 5 pairs at 153 per part
    assert count_segments("a" * 152 + "€" * 77) == 3  # 306 septets, but a pair is never split
    text = "a" * 152 + "€"  # 154 septets, the pair cannot start at septet 153
    assert analyze(text).units == 154
    parts = split_segments("a" * 152 + "€" + "b" * 10)
    assert parts[0] == "a" * 152 and parts[1].startswith("€")


def test_ucs2_limits_and_surrogates() -> None:
    assert analyze("你好").encoding == "UCS-2"
    assert count_segments("贷" * 70) == 1
    assert count_segments("贷" * 71) == 2
    assert count_segments("贷" * 134) == 2
    assert count_segments("贷" * 135) == 3
    assert analyze("😀").units == 2
    assert count_segments("贷" * 66 + "😀" + "贷" * 5) == 2  # 73 units: emoji stays in part one
    assert count_segments("a" * 100 + "é") == 1  # é is in the GSM-7 alphabet
    assert analyze("a" * 100 + "ê").encoding == "UCS-2"


def test_cost_estimate_is_exact_decimal() -> None:
    est = estimate_cost("贷" * 71, recipients=1000)
    assert est.segments_each == 2
    assert est.total_segments == 2000
    assert est.cost_yuan == Decimal("100.00")
    assert estimate_cost("hi", 3, Decimal("0.045")).cost_yuan == Decimal("0.135")


def test_decorate_signature_and_hint() -> None:
    sig, hint = "【创业担保贷款】", "拒收请回复R"
    note = decorate("还款提醒", kind="notification", signature=sig, unsubscribe_hint=hint)
    assert note == "【创业担保贷款】还款提醒"
    cast = decorate("政策公告", kind="broadcast", signature=sig, unsubscribe_hint=hint)
    assert cast.startswith(sig) and cast.endswith(hint)
    assert decorate(cast, kind="broadcast", signature=sig, unsubscribe_hint=hint) == cast


def test_plan_reply_short_answer_is_one_message_with_signature() -> None:
    out = plan_reply(["失业人员最高可贷20万元。", "回复 1 是 / 2 否"], signature="【创贷】")
    assert out == ["【创贷】失业人员最高可贷20万元。\n回复 1 是 / 2 否"]


def test_plan_reply_long_answer_is_split_and_capped() -> None:
    line = "创业担保贷款的申请需要准备身份证、户口簿、营业执照等材料。"
    texts = ["\n".join([line] * 30)]
    out = plan_reply(texts, signature="【创贷】")
    assert 1 < len(out) <= 2
    assert all(count_segments(m) <= 3 for m in out)
    assert all(m.startswith("【创贷】") for m in out)
    assert out[-1].endswith(render_sms(REPLY_OVERFLOW, {}))
    one_line = plan_reply(["很长的句子" * 200], signature="")
    assert all(count_segments(m) <= 3 for m in one_line)
