"""Issue 12, ninth round: mechanisms and data judged on the read sets (dev2, fresh4–fresh10) before
fresh12 (held out) was measured again, each on examples of its own (none taken from
knowledge/eval), against the packaged knowledge base and the Lanzhou policy."""

from __future__ import annotations

import pytest

from knowledge import KnowledgeBase

# --- 研究生: a graduate too ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "question", ["我硕士研究生毕业，能申请这个贷款吗", "儿子研究生刚毕业想创业，能不能申请"]
)
def test_a_postgraduate_is_answered_as_a_graduate(kb: KnowledgeBase, question: str) -> None:
    a = kb.answer(question)
    assert a.entry_id == "graduate_eligible"


def test_a_postgraduate_question_ranks_the_graduates_first(kb: KnowledgeBase) -> None:
    # 研究生 is read as 毕业生: before, the firm's standard came first (算 … 也算吗)
    top = kb.rank("读完研究生的也算吗", k=1).items[0]
    assert top.entry.id == "graduate_eligible"


# --- a truck for the business is a business use, a private car is not ------------------------------


def test_a_truck_for_carrying_goods_is_an_allowed_use(kb: KnowledgeBase) -> None:
    a = kb.answer("想买辆小货车帮人拉货，这个贷款能用来买吗")
    assert a.entry_id == "allowed_uses"


def test_a_private_car_is_still_a_forbidden_use(kb: KnowledgeBase) -> None:
    a = kb.answer("贷款能拿来买辆私家车吗")
    assert a.entry_id == "forbidden_uses"


# --- 开个X店行不行: whether that business may borrow ----------------------------------------------------


@pytest.mark.parametrize("question", ["开家美容院可以吗", "开个修鞋铺行不行"])
def test_a_named_business_asked_about_gets_the_industry_answer(
    kb: KnowledgeBase, question: str
) -> None:
    a = kb.answer(question)
    assert a.entry_id == "industry_ok"
    assert a.answer.startswith("一般可以")


def test_a_named_excluded_business_is_answered_from_the_exclusions(kb: KnowledgeBase) -> None:
    # the shape does not take it over: the exclusions say no
    a = kb.answer("开个洗脚按摩店行不行")
    assert a.entry_id == "excluded_industries"


def test_an_online_shop_keeps_its_own_entry(kb: KnowledgeBase) -> None:
    assert kb.answer("开个网店可以吗").entry_id == "online_shop"


# --- where the money goes, and repaying in instalments ---------------------------------------------


@pytest.mark.parametrize("question", ["贷下来的钱打到谁的卡上", "合伙贷的钱会打到谁账户里"])
def test_where_the_loan_is_paid_is_the_bank_entry(kb: KnowledgeBase, question: str) -> None:
    assert kb.answer(question).entry_id == "which_bank"


def test_where_the_subsidy_is_paid_stays_with_the_subsidy(kb: KnowledgeBase) -> None:
    # the shape leaves a question about the interest subsidy's money alone
    assert kb.answer("贴息的钱打到哪").entry_id == "subsidy_how"


def test_repaying_the_principal_in_instalments_is_the_repayment_method(kb: KnowledgeBase) -> None:
    assert kb.answer("本金可以分几次还吗").entry_id == "repayment_method"
