"""Issue 12, sixth round: reading mechanisms judged on the read sets (dev2, fresh2–fresh7) before
fresh8 and fresh9 (held out) were measured again, each on examples of its own (none taken from
knowledge/eval), against the packaged knowledge base and the Lanzhou policy."""

from __future__ import annotations

import pytest

from knowledge import KnowledgeBase

# --- a later question asks about an off-topic one before it -------------------------------------


@pytest.mark.parametrize(
    "message",
    [
        "公积金怎么提取？要多久？",  # 要多久 alone was the approval time
        "考驾照要多少钱？多久能拿证？",  # 多久能拿证 alone was the approval time
        "社保断缴了怎么补？在哪办？",  # 在哪办 alone was where to apply
    ],
)
def test_a_later_question_about_an_off_topic_one_is_not_answered_alone(
    kb: KnowledgeBase, message: str
) -> None:
    a = kb.answer(message)
    assert not a.matched and not a.parts


def test_a_later_question_naming_the_loans_own_topic_is_still_answered(kb: KnowledgeBase) -> None:
    # after an off-topic question, the programme's own question (a loan and 材料) is read alone
    a = kb.answer("失业金怎么领？创业贷款要什么材料？")
    assert a.matched and a.entry_id == "docs_individual"


def test_a_later_question_read_with_an_off_topic_one_may_be_the_programmes(
    kb: KnowledgeBase,
) -> None:
    # 那能贷款吗 alone is anything; after 失业金 it asks whether the unemployed may borrow
    a = kb.answer("失业金怎么领？那能贷款吗？")
    assert a.matched and a.entry_id == "unemployed_eligible"


def test_two_questions_of_the_programme_are_both_answered(kb: KnowledgeBase) -> None:
    a = kb.answer("退役军人能贷多少？去哪申请？")
    assert [p.entry_id for p in a.parts] == ["veteran_eligible", "where_apply"]


# --- 个体工商户 is the base's 个体户 ----------------------------------------------------------------


@pytest.mark.parametrize("question", ["个体工商户能申请吗", "个体经营户可以贷吗"])
def test_a_sole_trader_asking_to_apply_gets_the_loan_types(
    kb: KnowledgeBase, question: str
) -> None:
    a = kb.answer(question)
    assert a.matched and a.entry_id == "loan_types"


def test_a_sole_traders_tax_stays_out_of_scope(kb: KnowledgeBase) -> None:
    a = kb.answer("个体工商户怎么交税")
    assert not a.matched and a.out_of_scope
