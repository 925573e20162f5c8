"""Issue 12, third round: mechanisms judged on the held-out aggregate (fresh4), each on examples
of its own (none taken from knowledge/eval), against the packaged knowledge base and the Lanzhou
policy."""

from __future__ import annotations

import pytest

import knowledge
from knowledge import KnowledgeBase
from knowledge.policy import load_policy
from knowledge.understand import Understanding

FOLDER = knowledge.PACKAGE_DIR
FIRM_IDS = {"enterprise_eligible", "enterprise_standard", "enterprise_amount", "enterprise_docs"}


# --- an employer's story: the groups it names are the people it hires ------------------------------


def test_an_employers_story_asks_for_the_firm(und: Understanding) -> None:
    text = "我们厂做纸箱的，一共八十个人，去年新招了三十个下岗的，合同都签了三年，我们够不够条件"
    unit = und.parse(text, informative=lambda t: False).units[0]
    assert unit.query.startswith("企业") and "失业人员" not in unit.query
    assert und.employer(unit.story)


def test_an_applicants_own_story_keeps_its_facts(und: Understanding) -> None:
    # 厂子 is a firm word, but nobody is hired here: the applicant lost a job
    text = "我在印刷厂干了十五年，厂子关门后一直在家，现在想开个打字复印店，这样的能贷多少"
    unit = und.parse(text, informative=lambda t: True).units[0]
    assert unit.query.startswith("失业人员")
    assert not und.employer(unit.story)


@pytest.mark.parametrize(
    "text",
    [
        "我们公司做物流的，员工九十人，今年吸纳了三十个失业的，我们能申请吗",
        "我们厂今年新招了四十个下岗职工，签了两年合同，交了社保，符合条件吗",
    ],
)
def test_an_employers_question_is_answered_for_the_firm(kb: KnowledgeBase, text: str) -> None:
    a = kb.answer(text)
    assert a.entry_id != "unemployed_eligible", a
    assert not a.matched or a.entry_id in FIRM_IDS, a


# --- a question clause that points back (这样, 这种情况) reads the clause before it ---------------------


def test_a_pointing_question_reads_the_clause_before_it(und: Understanding) -> None:
    text = (
        "我下岗好几年了，想在路口开个修车铺，亲戚朋友都在外地打工，担保人一个都找不到，这样还能贷吗"
    )
    unit = und.parse(text, informative=lambda t: False).units[0]
    assert unit.question == "这样还能贷吗"
    assert "担保人一个都找不到" in unit.query and "修车铺" not in unit.query
    assert unit.query.startswith("失业人员")


def test_a_question_that_does_not_point_back_does_not_look_back(und: Understanding) -> None:
    text = "我下岗好几年了，想在路口开个修车铺，这种贷款利息谁出"  # 这种 names the loan
    unit = und.parse(text, informative=lambda t: True).units[0]
    assert unit.query == "失业人员这种贷款利息谁出"


def test_a_pointing_question_with_words_of_its_own_still_looks_back(und: Understanding) -> None:
    text = "我开了个小店，执照上经营范围写了网吧，这个会影响申请吗"
    unit = und.parse(text, informative=lambda t: True).units[0]
    assert unit.query == "执照上经营范围写了网吧这个会影响申请吗"


# --- a question naming an excluded industry or use goes to the entry that answers it ----------------


@pytest.mark.parametrize(
    ("question", "wanted"),
    [
        ("我开了个小店，执照上经营范围写了网吧，这个会影响申请吗", {"excluded_industries"}),
        ("朋友想开桑拿洗浴中心，这个能用这笔钱吗", {"excluded_industries", "industry_ok"}),
    ],
)
def test_an_excluded_industry_is_answered_by_the_industry_entry(
    kb: KnowledgeBase, question: str, wanted: set[str]
) -> None:
    a = kb.answer(question)
    if a.entry_id == "industry_ok":  # the industry rule, answered with the pre-check's verdict
        assert a.answer.startswith("不能") and "第二条" in a.answer, a
        return
    assert not a.matched or a.entry_id in wanted, a


def test_condition_entry_picks_the_industry_entry_among_the_next() -> None:
    from knowledge.yesno import condition_entry

    kb = KnowledgeBase.load(FOLDER, load_policy("lanzhou-2013"))
    nearby = ["credit_bad", "excluded_industries"]
    assert (
        condition_entry(kb, "执照上写了广告业", "guarantor_credit", nearby) == "excluded_industries"
    )
    assert condition_entry(kb, "执照上写了卖早点", "guarantor_credit", nearby) is None
    assert condition_entry(kb, "执照上写了广告业", "industry_ok", nearby) is None
    assert condition_entry(kb, "贷款拿去炒股", "credit_bad", ["forbidden_uses"]) == "forbidden_uses"


# --- out-of-scope families of look-alikes ------------------------------------------------------------


@pytest.mark.parametrize(
    "question",
    [
        "在抖音上卖货平台要收多少押金",  # shop platforms
        "开烧烤店要办哪些许可手续",  # permits
        "店里的货被偷了保险公司赔不赔",  # commercial insurance
        "申请低保要带户口本吗",  # social assistance
        "退伍以后的补助金多久到账",  # veteran benefits
        "微信语音发不出去怎么办",  # phones and apps
    ],
)
def test_lookalike_families_are_not_answered_as_the_loan(kb: KnowledgeBase, question: str) -> None:
    a = kb.answer(question)
    assert not a.matched, a


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("开网店卖衣服能申请创业担保贷款吗", "online_shop"),
        ("退伍军人想开店能贷多少钱", "veteran_eligible"),
        ("开烧烤店能申请这个贷款吗", "industry_ok"),
        ("这个贷款能用手机在网上申请吗", "online_apply"),
        ("申请这个贷款要带哪些材料", "docs_individual"),
    ],
)
def test_the_programmes_own_questions_still_answer(
    kb: KnowledgeBase, question: str, expected: str
) -> None:
    a = kb.answer(question)
    assert a.matched and a.entry_id == expected, a


# --- a question naming no firm is a person's: a firm's entry ranked first gives way -----------------


@pytest.mark.parametrize("question", ["这个贷款的贴息咋算", "财政贴息怎么算的", "tx怎么算的"])
def test_a_question_without_a_firm_gets_the_persons_entry(kb: KnowledgeBase, question: str) -> None:
    a = kb.answer(question)
    assert a.entry_id != "enterprise_subsidy", a
    assert a.matched and a.entry_id in {"interest_free", "subsidy_how"}, a


def test_a_firms_question_keeps_the_firms_entry(kb: KnowledgeBase) -> None:
    a = kb.answer("公司贷款的贴息具体怎么算")
    assert a.matched and a.entry_id == "enterprise_subsidy", a


# --- the conversation's subject carries over to a short question that names none --------------------


def test_a_firms_conversation_carries_its_subject(kb: KnowledgeBase) -> None:
    previous = kb.answer("我们公司想申请，最多能贷多少").entry_id
    assert previous == "enterprise_amount"
    a = kb.answer("需要交什么资料", previous=previous)
    assert a.matched and a.entry_id == "enterprise_docs", a
    alone = kb.answer("需要交什么资料")
    assert alone.entry_id == "docs_individual", alone


def test_a_short_question_naming_the_person_keeps_it(kb: KnowledgeBase) -> None:
    a = kb.answer("个人需要交什么资料", previous="enterprise_amount")
    assert a.matched and a.entry_id == "docs_individual", a


def test_a_persons_amount_question_is_not_the_firms(kb: KnowledgeBase) -> None:
    # the firm's amount entry speaks of 失业人员 (the people it hires); the runner-up uses every word
    a = kb.answer("下岗职工最多贷多少")
    assert a.matched and a.entry_id in {"unemployed_eligible", "amount_individual"}, a


# --- a story's facts may choose among what the question could mean, not replace it -----------------


def test_story_facts_do_not_replace_a_question_with_its_own_topic(kb: KnowledgeBase) -> None:
    text = "我老婆在家带孩子好几年了，想开个美甲店，贷款能不能提前还"
    a = kb.answer(text)
    assert a.entry_id != "woman_eligible", a  # the facts (妇女) alone would choose it
    assert not a.matched or a.entry_id == "early_repayment", a


def test_story_facts_still_choose_among_the_questions_own_entries(kb: KnowledgeBase) -> None:
    text = "我下岗以后在家待了好几年，想开个小卖部，像我这样的人最多能贷多少"
    a = kb.answer(text)
    assert a.matched and a.entry_id in {"unemployed_eligible", "amount_individual"}, a


# --- dialect and joint-application words -----------------------------------------------------------


def test_dialect_and_joint_words_are_normalised(kb: KnowledgeBase) -> None:
    norm = kb.normalizer
    assert "找不到" in norm.normalize("反担保人寻不着咋弄")
    assert "合伙" in norm.normalize("我们仨搭伙开店能贷多少")
    a = kb.answer("担保人实在寻不到，还有啥办法")
    assert a.matched and a.entry_id == "no_guarantor", a


def test_a_question_naming_its_group_in_other_words_gets_the_bases_word(und: Understanding) -> None:
    text = "听说只有本市户口才能办，我一个外省的能不能申请"
    unit = und.parse(text, informative=lambda t: True).units[0]
    assert unit.query == "外地户口我一个外省的能不能申请"
