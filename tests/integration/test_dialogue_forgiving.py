"""Forgiving parsing: short, unexpected or empty answers are understood or asked again (issue 13)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

import knowledge
from core.dialogue.events import render_sms
from core.handoff.tickets import close_ticket
from core.persistence.models import (
    ConversationRow,
    HandoffMessageRow,
    HandoffTicketRow,
    UnansweredQuestionRow,
)
from knowledge.policy import Policy
from tests.dialogue_kit import FixedCodes, User, make_engine


@pytest.fixture
def user(engine: Engine, kb: knowledge.KnowledgeBase, policy: Policy, tmp_path: Path) -> User:
    return User(make_engine(engine, kb, policy, tmp_path, FixedCodes()))


def to_credit_question(user: User) -> None:
    for text in ("预审", "个人", "失业", "有", "开一家小饭馆", "进货"):
        user.say(text)


def to_amount_question(user: User) -> None:
    to_credit_question(user)
    user.say("没有")


@pytest.mark.parametrize("answer", ["不知道", "不清楚", "我也不确定", "忘了"])
def test_unknown_credit_is_recorded_as_null_and_explained(
    user: User, engine: Engine, answer: str
) -> None:
    to_credit_question(user)
    reply = user.text(answer)
    assert "人民银行征信中心" in reply and "信用报告" in reply
    assert "希望贷多少钱" in reply  # moved on: unknown is an answer, not a "no"
    with Session(engine) as s:
        conv = s.exec(select(ConversationRow)).one()
        assert conv.state["precheck"]["answers"]["bad_credit"] is None
    user.say("5万")
    result = user.text("2年")
    assert "初步符合" in result
    assert "征信情况未确认" in result
    assert "自报征信无不良记录" not in result


def test_unknown_credit_by_the_offered_option(user: User) -> None:
    to_credit_question(user)
    assert "人民银行征信中心" in user.text("3")  # 1 有 / 2 没有 / 3 不清楚


def test_unknown_certificate_is_not_a_no(user: User) -> None:
    for text in ("预审", "个人", "失业"):
        user.say(text)
    reply = user.text("不清楚")
    assert "就业服务机构" in reply and "就业失业登记证" in reply  # explained and asked again
    assert "什么行业" not in reply


@pytest.mark.parametrize("answer", ["没有", "不知道", "随便", "你看着办"])
def test_no_idea_at_the_amount_offers_the_cap(user: User, engine: Engine, answer: str) -> None:
    to_amount_question(user)
    replies = user.say(answer)
    assert "最高5万元，按最高额度预审可以吗？" in replies[-1].text
    assert [o.label for o in replies[-1].options] == ["是", "否"]
    with Session(engine) as s:
        assert s.exec(select(UnansweredQuestionRow)).first() is None  # not routed to the FAQ
    assert "希望贷多长时间" in user.text("1")
    assert "最长24个月，按最长期限预审可以吗？" in user.text("随便")
    result = user.text("是")
    assert "初步符合" in result and "50,000.00元" in result and "24个月" in result


def test_declining_the_default_asks_for_the_number_again(user: User) -> None:
    to_amount_question(user)
    user.say("随便")
    assert "希望贷多少钱" in user.text("不要")
    assert "希望贷多长时间" in user.text("3万")


@pytest.mark.parametrize(("text", "message"), [("0", "金额需大于0"), ("-2万", "金额需大于0")])
def test_zero_or_negative_amount(user: User, text: str, message: str) -> None:
    to_amount_question(user)
    reply = user.text(text)
    assert message in reply and "希望贷多少钱" in reply


def test_zero_term(user: User) -> None:
    to_amount_question(user)
    user.say("5万")
    reply = user.text("0")
    assert "期限需大于0" in reply and "希望贷多长时间" in reply


@pytest.mark.parametrize("text", ["", "   ", "？？？"])
def test_blank_answer_repeats_the_question_with_its_options(user: User, text: str) -> None:
    user.say("预审")
    replies = user.say(text)
    assert "没有收到文字内容" in replies[0].text
    assert "身份申请" in replies[-1].text
    assert [o.label for o in replies[-1].options] == ["个人", "合伙创业", "小企业"]


def test_unreadable_answer_repeats_the_question_with_its_options(
    user: User, engine: Engine
) -> None:
    user.say("预审")
    replies = user.say("😀😀")
    assert "没能识别" in replies[0].text
    assert [o.label for o in replies[-1].options] == ["个人", "合伙创业", "小企业"]
    with Session(engine) as s:
        assert s.exec(select(UnansweredQuestionRow)).first() is None


def test_last_options_win_over_menu_numbers(user: User) -> None:
    menu = user.say(start_payload="")
    assert [o.key for o in menu[0].options][:2] == ["precheck", "docs"]
    assert "身份申请" in user.text("1")  # 1 = 资格预审 from the menu just shown
    assert "哪一类人员" in user.text("1")  # now 1 = 个人, not 资格预审 again
    reply = user.text("4")  # 4 = 回乡创业人员 in this list, not 转人工 of the menu
    assert "户籍证明" in reply and "工单号" not in reply


def test_human_word_still_works_inside_a_numbered_list(user: User) -> None:
    user.say("预审")
    assert "工单号" in user.text("人工")


def test_a_bare_number_without_options_is_not_a_question(user: User, engine: Engine) -> None:
    user.say("贷款利息是多少？")
    reply = user.text("7")
    assert "没有可选的序号" in reply
    with Session(engine) as s:
        assert s.exec(select(UnansweredQuestionRow)).first() is None
        assert s.exec(select(HandoffTicketRow)).first() is None


def test_messages_after_a_closed_ticket_do_not_go_to_it(user: User, engine: Engine) -> None:
    user.say("人工")
    user.say("我的申请怎么还没消息")
    with Session(engine) as s:
        ticket_id = s.exec(select(HandoffTicketRow)).one().id
        assert ticket_id is not None
        close_ticket(s, ticket_id, "officer1")
        s.commit()
    reply = user.text("贷款利息是多少？")
    assert f"工单号 {ticket_id}" in reply and "已由工作人员结束" in reply
    assert "贴息" in reply  # answered by the FAQ
    with Session(engine) as s:
        assert len(s.exec(select(HandoffTicketRow)).all()) == 1
        texts = [m.text for m in s.exec(select(HandoffMessageRow)).all()]
        assert "贷款利息是多少？" not in texts


def test_flow_answers_are_not_logged_as_unanswered(user: User, engine: Engine) -> None:
    to_amount_question(user)
    user.say("5万")
    user.say("2年")
    user.say("1")  # 开始申请
    user.say("张三")
    assert "手机号" in user.text("嗯嗯好的好的")  # an intake answer, asked again
    assert "没能识别" in user.text(option="docs") + user.text("嗯嗯好的好的")  # the checklist
    with Session(engine) as s:
        assert s.exec(select(UnansweredQuestionRow)).first() is None


def test_one_ticket_number_wording(user: User) -> None:
    assert "工单号 " in user.text("你们食堂中午吃什么菜呀")
    sms = user.as_("sms", "+8613800007777")
    assert "工单号 " in render_sms(sms.say("人工")[0])


@pytest.mark.parametrize("text", ["你好", "在吗？", "您好！！"])
def test_a_greeting_is_not_a_question_for_staff(user: User, engine: Engine, text: str) -> None:
    reply = user.text(text)
    assert "请直接输入您想咨询的问题" in reply and "工单号" not in reply
    with Session(engine) as s:
        assert s.exec(select(UnansweredQuestionRow)).first() is None
        assert s.exec(select(HandoffTicketRow)).first() is None
