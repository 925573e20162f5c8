"""Excluded industries and uses (兰州 第二条) in the pre-check and the FAQ, which never disagree
(issue 11): the article's words and plain equivalents are refused, looser words get a caution
"须担保机构认定" with the article, and negated words ("绝不炒股") do not count."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

import knowledge
from core.applications.eligibility import Decision, precheck
from core.applications.precheck_input import parse_precheck_input
from core.kernel.workdays import WorkCalendar
from knowledge import KnowledgeBase
from knowledge.policy import load_policy

POLICY = load_policy("lanzhou-2013")


def run(**extra: Any) -> Decision:
    data = {
        "applicant_type": "individual",
        "category": "unemployed",
        "has_certificate": True,
        "industry": "小吃店",
        "bad_credit": False,
        **extra,
    }
    return precheck(parse_precheck_input(data), POLICY, date(2026, 3, 2), WorkCalendar())


@pytest.mark.parametrize(
    ("industry", "name"),
    [
        ("开网咖", "网吧"),
        ("开个KTV", "娱乐业"),
        ("歌厅", "娱乐业"),
        ("足疗店", "按摩"),
        ("装修队", "建筑业"),
        ("装潢", "建筑业"),
        ("家装", "建筑业"),
        ("给别人家做室内装修", "建筑业"),
    ],
)
def test_article_words_and_equivalents_are_refused(industry: str, name: str) -> None:
    d = run(industry=industry)
    assert not d.eligible
    refusal = next(r for r in d.reasons if r.code == "excluded_industry")
    assert name in refusal.message and refusal.article.endswith("第二条")


@pytest.mark.parametrize(
    "industry", ["传媒公司", "图文打印", "开澡堂", "推拿", "酒吧", "棋牌室", "电竞馆"]
)
def test_looser_words_get_a_caution_with_the_article(industry: str) -> None:
    d = run(industry=industry)
    assert d.eligible
    caution = next(r for r in d.reasons if r.code == "industry_caution")
    assert "须担保机构认定" in caution.message and caution.article.endswith("第二条")
    assert "industry_ok" not in d.codes()


@pytest.mark.parametrize("purpose", ["进货，绝不炒股", "不买房，租门面"])
def test_negated_purposes_are_not_prohibited(purpose: str) -> None:
    d = run(industry="百货零售", purpose=purpose)
    assert d.eligible and "excluded_purpose" not in d.codes()


def test_prohibited_purpose_still_refused() -> None:
    assert not run(industry="百货零售", purpose="拿一部分去炒股").eligible


# --- the FAQ agrees with the pre-check --------------------------------------------------------


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return KnowledgeBase.load(knowledge.PACKAGE_DIR, POLICY)


@pytest.mark.parametrize(
    "business", ["澡堂", "洗浴", "网咖", "KTV", "足疗店", "酒吧", "装修", "推拿", "饭店", "理发店"]
)
@pytest.mark.parametrize("channel", ["telegram", "sms"])
def test_faq_never_disagrees_with_the_precheck(
    kb: KnowledgeBase, business: str, channel: str
) -> None:
    question = f"开{business}这类生意能申请吗"
    answer = kb.answer(question, channel)
    assert answer.matched, question
    d = run(industry=business)
    if not d.eligible:
        assert "一般可以" not in answer.answer
        assert "不可以" in answer.answer or "不能" in answer.answer
    elif "industry_caution" in d.codes():
        assert "须担保机构认定" in answer.answer and "一般可以" not in answer.answer
    else:
        assert "不可以" not in answer.answer and "须担保机构认定" not in answer.answer


def test_household_certificate_advice_names_no_unsourced_office() -> None:
    """The seeds name no office issuing a 户籍证明: the pre-check names none either."""
    d = run(category="returnee", has_certificate=False)
    hint = next(r for r in d.reasons if r.code == "no_certificate").message
    assert "户籍证明" in hint and "社区确认" in hint
    for office in ("派出所", "公安", "就业服务机构", "街道", "村委会"):
        assert office not in hint, office
