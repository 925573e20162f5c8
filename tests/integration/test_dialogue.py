"""Conversation scripts through the real engine, knowledge base, policy and database."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

import knowledge
from core.dialogue.events import Attachment, InboundEvent, Reply, render_sms
from core.handoff.tickets import staff_reply
from core.persistence.db import make_engine
from core.persistence.models import (
    ApplicationRow,
    ApplicationStageRow,
    ChannelIdentityRow,
    ConversationRow,
    DocumentItemRow,
    HandoffMessageRow,
    HandoffTicketRow,
    InboundMessageRow,
    NoticeRow,
    UnansweredQuestionRow,
)
from knowledge.policy import Policy
from tests.db_kit import run_together
from tests.dialogue_kit import User, png
from tests.dialogue_kit import make_engine as make_dialogue


@pytest.fixture
def bot(engine: Engine, kb: knowledge.KnowledgeBase, policy: Policy, tmp_path: Path) -> User:
    return User(make_dialogue(engine, kb, policy, tmp_path), address="1001")


def joined(replies: list[Reply]) -> str:
    return "\n".join(r.text for r in replies)


# --- FAQ --------------------------------------------------------------------------------------


def test_welcome_and_faq_with_source(bot: User) -> None:
    assert "资格预审" in joined(bot.say(start_payload=""))
    replies = bot.say("开KTV能申请这个贷款吗")
    text = joined(replies)
    assert "娱乐业" in text and "第二条" in text


def test_out_of_scope_is_not_answered_as_policy(bot: User, engine: Engine) -> None:
    text = joined(bot.say("失业金在哪里领"))
    assert "创业担保贷款" in text
    with Session(engine) as s:
        assert s.exec(select(HandoffTicketRow)).first() is None


def test_unknown_question_offers_suggestions_and_opens_a_ticket(bot: User, engine: Engine) -> None:
    replies = bot.say("你们食堂中午吃什么菜呀")
    assert any(o.key == "human" for r in replies for o in r.options)
    with Session(engine) as s:
        assert s.exec(select(UnansweredQuestionRow)).first() is not None
        ticket = s.exec(select(HandoffTicketRow)).one()
        assert ticket.reason == "unknown" and ticket.status == "open"


@pytest.mark.parametrize("text", ["", "   ", "😀😀😀", "？？？"])
def test_empty_or_emoji_only_input(bot: User, text: str) -> None:
    replies = bot.say(text)
    assert replies and all(r.text for r in replies)


def test_ten_thousand_characters(bot: User) -> None:
    replies = bot.say("我想问一下贷款" * 1500)
    assert "较长" in joined(replies)


def test_sms_gets_the_short_answer(bot: User) -> None:
    sms = bot.as_("sms", "+8613800001111")
    replies = sms.say("利息是多少，是不是免息")
    rendered = render_sms(replies[0])
    assert len(rendered) <= 200
    assert rendered != replies[0].text


# --- pre-check --------------------------------------------------------------------------------


def run_individual_precheck(bot: User) -> list[Reply]:
    bot.say("预审")
    bot.say("1")  # 个人
    bot.say("1")  # 失业/下岗
    bot.say("有")  # 登记证
    bot.say("开一家小饭馆")
    bot.say("进货和租门面")
    bot.say("没有")  # no bad credit
    bot.say("五万")
    return bot.say("两年")


def test_individual_precheck_by_numbers_and_words(bot: User) -> None:
    text = joined(run_individual_precheck(bot))
    assert "初步符合" in text
    assert "50,000.00元" in text and "24个月" in text
    assert "第十四条" in text and "第四条" in text
    assert "原则上在18个工作日内完成" in text  # 第十三条, 18 working days from today
    assert "预计最晚" not in text and "前完成放款" not in text
    assert "2026年12月18日" in text and "估算" not in text


def test_precheck_date_in_an_unpublished_year_is_an_estimate(
    engine: Engine, kb: knowledge.KnowledgeBase, policy: Policy, tmp_path: Path
) -> None:
    """18 working days from 2026-12-15 end in 2027, whose official arrangement is not published:
    the applicant is told the date is an estimate; the warning goes to the log, not the chat."""
    late = User(
        make_dialogue(engine, kb, policy, tmp_path, today=date(2026, 12, 15)), address="1001"
    )
    text = joined(run_individual_precheck(late))
    assert "2027年1月11日" in text  # 元旦 2027 is not counted as a working day
    assert "当年节假日安排尚未公布，日期为估算" in text
    for leak in ("No official holiday", "chinese-calendar", "warning", "weekends"):
        assert leak not in text
    sms = late.as_("sms", "+8613800002222")
    sms_text = render_sms(run_individual_precheck(sms)[-1])
    assert "估算" in sms_text and "原则上18个工作日内" in sms_text


def test_precheck_faq_in_the_middle_resumes(bot: User) -> None:
    bot.say("预审")
    bot.say("个人")
    replies = bot.say("贷款利息是多少？")
    text = joined(replies)
    assert "贴息" in text
    assert "哪一类人员" in text  # resumed at the category step


def test_back_restart_cancel(bot: User) -> None:
    bot.say("预审")
    bot.say("个人")
    assert "身份申请" in joined(bot.say("返回"))
    assert "哪一类人员" in joined(bot.say("个人"))
    assert "资格预审" in joined(bot.say("重新开始"))
    assert "退出" in joined(bot.say("取消"))
    assert "没有进行中的流程" in joined(bot.say("取消"))


def test_excluded_industry_is_refused_with_article(bot: User) -> None:
    bot.say("预审")
    bot.say("个人")
    bot.say("退役军人")
    bot.say("是")
    bot.say("开个KTV")
    bot.say("跳过")
    bot.say("没有")
    bot.say("跳过")
    text = joined(bot.say("跳过"))
    assert "暂不符合" in text and "娱乐业" in text and "第二条" in text


def test_impossible_numbers_are_asked_again(bot: User) -> None:
    bot.say("预审")
    bot.say("3")  # 小企业
    bot.say("开服装加工厂")
    bot.say("买设备")
    bot.say("没有")
    assert "合理的数字" in joined(bot.say("好多人"))
    bot.say("50")
    bot.say("20")
    bot.say("一年")
    assert "金额需大于0" in joined(bot.say("-5万"))
    bot.say("100万")
    text = joined(bot.say("24个月"))
    assert "初步符合" in text and "20" in text  # 10+10 working days for enterprises


def test_restart_in_the_middle_of_a_flow(
    engine: Engine, kb: knowledge.KnowledgeBase, policy: Policy, tmp_path: Path, bot: User
) -> None:
    bot.say("预审")
    bot.say("个人")
    # a new engine (a restarted server) over the same database continues the same flow
    restarted = make_engine(engine.url.render_as_string(hide_password=False))
    again = User(
        make_dialogue(restarted, kb, policy, tmp_path),
        address="1001",
    )
    try:
        assert "就业失业登记证" in joined(again.say("毕业生"))
    finally:
        restarted.dispose()


def test_same_message_twice_is_answered_once(bot: User, engine: Engine) -> None:
    first = bot.say("预审", message_id="m-1")
    second = bot.engine.handle(
        InboundEvent(channel="telegram", address="1001", message_id="m-1", text="预审")
    )
    assert second.duplicate and [r.text for r in second.replies] == [r.text for r in first]
    with Session(engine) as s:
        assert len(s.exec(select(InboundMessageRow)).all()) == 1
        conv = s.exec(select(ConversationRow)).one()
        assert conv.version == 1


def test_concurrent_messages_never_corrupt_the_conversation(bot: User, engine: Engine) -> None:
    bot.say("你好")
    errors: list[BaseException] = []

    def worker(i: int) -> None:
        try:
            bot.say(f"利息多少{i}")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    run_together(worker, [(i,) for i in range(6)])
    assert not errors
    with Session(engine) as s:
        conv = s.exec(select(ConversationRow)).one()
        assert conv.version == 7  # every message applied exactly once


# --- application and documents ----------------------------------------------------------------


def open_application(bot: User) -> None:
    run_individual_precheck(bot)
    bot.say("1")  # the first option offered with the result: 开始申请
    assert "手机号" in joined(bot.say("张三"))
    assert "身份证号" in joined(bot.say(contact_phone="+8613912345678"))
    assert "区县" in joined(bot.say("620102199001011233"))  # a valid GB 11643 number
    assert "经营地址" in joined(bot.say("1"))  # 城关区; the business type came from the pre-check
    bot.say("城关区张掖路1号")
    summary = joined(bot.say("下个月"))
    assert "620102********1233" in summary and "5万元" in summary and "24个月" in summary
    text = joined(bot.say("确认"))
    assert "已收 0/5 项" in text


def test_documents_collected_checked_and_submitted(bot: User, engine: Engine) -> None:
    open_application(bot)
    text = joined(bot.say(attachments=(Attachment(data=png(1), filename="a.png"),)))
    assert "已收到第1项" in text and "已收 1/5 项" in text
    assert "已作为第1项" in joined(bot.say(attachments=(Attachment(data=png(1)),)))
    assert "jpg" in joined(bot.say(attachments=(Attachment(data=b"MZ\x90\x00 not an image"),)))
    assert "MB" in joined(bot.say(attachments=(Attachment(too_large=True, declared_size=10**9),)))
    assert "MB" in joined(bot.say(attachments=(Attachment(data=png(2) + b"0" * 3_000_000),)))
    # choose item 3 explicitly, then replace it
    assert "请发送" in joined(bot.say("3"))
    assert "第3项" in joined(bot.say(attachments=(Attachment(data=png(3)),)))
    bot.say("3")
    assert "替换第3项" in joined(bot.say(attachments=(Attachment(data=png(4)),)))
    assert "还有" in joined(bot.say("提交申请"))
    for seed in (5, 6, 7):
        bot.say(attachments=(Attachment(data=png(seed)),))
    status = joined(bot.say("进度"))
    assert "草稿" in status
    done = joined(bot.say(option="submit"))
    assert "申请已提交" in done
    with Session(engine) as s:
        app = s.exec(select(ApplicationRow)).one()
        assert app.stage == "submitted"
        history = s.exec(select(ApplicationStageRow)).all()
        assert [h.stage for h in history] == ["draft", "submitted"]
        items = s.exec(select(DocumentItemRow)).all()
        assert sum(1 for i in items if i.status == "received") == 5
        assert len({i.sha256 for i in items}) == 5
    assert "社区" in joined(bot.say("进度")) or "已提交" in joined(bot.say("进度"))


def test_apply_without_precheck(bot: User) -> None:
    assert "预审" in joined(bot.say("申请"))
    assert "还没有申请" in joined(bot.say(attachments=(Attachment(data=png(9)),)))


# --- hand-off and opt-out ---------------------------------------------------------------------


def test_handoff_and_staff_reply_relayed(bot: User, engine: Engine) -> None:
    assert "工单号" in joined(bot.say("人工"))
    assert "工单号" in joined(bot.say("我的申请交了一个月了还没消息"))
    with Session(engine) as s:
        ticket = s.exec(select(HandoffTicketRow)).one()
        assert ticket.id is not None
        staff_reply(s, ticket.id, "officer1", "您好，已为您催办")
        s.commit()
        notice = s.exec(select(NoticeRow).where(NoticeRow.kind == "relay")).one()
        assert notice.address == "1001" and "已为您催办" in notice.text
        messages = s.exec(select(HandoffMessageRow)).all()
        assert [m.sender for m in messages] == ["applicant", "staff"]
    assert "自助服务" in joined(bot.say("结束"))


def test_sms_opt_out_confirms_once(bot: User, engine: Engine) -> None:
    sms = bot.as_("sms", "+8613800002222")
    assert "已退订" in joined(sms.say("我要退订"))
    assert sms.say("TD") == []
    assert "重新订阅" in joined(sms.say("订阅"))
    with Session(engine) as s:
        identity = s.exec(
            select(ChannelIdentityRow).where(ChannelIdentityRow.address == "+8613800002222")
        ).one()
        assert identity.opted_out is False
        n = s.execute(sa.text("select count(*) from audit_event")).scalar_one()
        assert n == 2


def test_status_for_unknown_sender_reveals_nothing(bot: User) -> None:
    text = joined(bot.as_("sms", "+8613800003333").say("进度"))
    assert "没有查到" in text


def test_sms_precheck_result_is_short_and_cites_articles(bot: User) -> None:
    sms = bot.as_("sms", "+8613800004444")
    result = render_sms(run_individual_precheck(sms)[-1])
    assert "初步符合" in result and "5万元" in result
    assert "第四条" in result or "第十四条" in result
    first_line = result.splitlines()[0]
    assert len(first_line) <= 134


def test_sms_refusal_cites_the_article(bot: User) -> None:
    sms = bot.as_("sms", "+8613800005555")
    for text in ("预审", "1", "1", "有", "开个网吧", "跳过", "没有", "跳过"):
        sms.say(text)
    result = render_sms(sms.say("跳过")[-1])
    assert "暂不符合" in result and "第二条" in result


def test_old_inbound_ids_are_pruned(bot: User, engine: Engine) -> None:
    from datetime import UTC, datetime, timedelta

    from core.outbox.enqueue import prune_inbound

    bot.say("你好", message_id="old")
    bot.say("你好", message_id="new")
    with Session(engine) as s:
        old = s.exec(select(InboundMessageRow).where(InboundMessageRow.message_id == "old")).one()
        old.created_at = datetime.now(UTC) - timedelta(days=40)
        s.add(old)
        s.commit()
        assert prune_inbound(s) == 1
        s.commit()
        assert [r.message_id for r in s.exec(select(InboundMessageRow)).all()] == ["new"]
