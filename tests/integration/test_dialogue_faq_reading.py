"""The FAQ as a user meets it in a conversation (issue 12): follow-ups resolved against the entry
the conversation answered last, several questions in one message, a yes/no opening — through the
real engine, knowledge base, policy and database (SQLite, and PostgreSQL with `make test-pg`)."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

import knowledge
from core.dialogue.engine import DialogueEngine
from core.dialogue.events import InboundEvent, Reply
from core.persistence.models import ConversationRow
from knowledge.policy import Policy
from knowledge.schema import SMS_MAX_CHARS
from tests.dialogue_kit import make_engine as make_dialogue

pytestmark = pytest.mark.db


@pytest.fixture
def dialogue(
    engine: Engine, kb: knowledge.KnowledgeBase, policy: Policy, tmp_path: Path
) -> DialogueEngine:
    return make_dialogue(engine, kb, policy, tmp_path)


def say(d: DialogueEngine, text: str, channel: str = "telegram", address: str = "2001") -> str:
    event = InboundEvent(channel=channel, address=address, message_id=uuid.uuid4().hex, text=text)
    replies: list[Reply] = d.handle(event).replies
    return "\n".join((r.sms_text or r.text) if channel == "sms" else r.text for r in replies)


def test_followup_uses_the_entry_answered_last(dialogue: DialogueEngine, engine: Engine) -> None:
    first = say(dialogue, "个人最多能贷多少？")
    assert "5万元" in first
    with Session(engine) as s:
        conv = s.exec(select(ConversationRow)).one()
        assert conv.state["faq"].get("last") == "amount_individual"
    follow = say(dialogue, "合伙一起干的呢？")
    assert "30万元" in follow and "合伙" in follow


def test_followup_without_history_is_not_guessed(dialogue: DialogueEngine) -> None:
    text = say(dialogue, "合伙一起干的呢？", address="2002")
    assert "30万元" in text or "抱歉" in text  # answered on its own words, or refused


def test_several_questions_by_sms_fit_one_message(dialogue: DialogueEngine) -> None:
    text = say(
        dialogue, "申请要带什么材料？贷款期限最长几年？", channel="sms", address="+8613800000001"
    )
    assert len(text) <= SMS_MAX_CHARS
    assert "身份证" in text


def test_yes_no_question_opens_with_the_policy_answer(dialogue: DialogueEngine) -> None:
    text = say(dialogue, "当过兵的能贷20万吗", address="2003")
    assert text.startswith("不能，城镇复员转业退役军人最高5万元。")
