"""Issue 12, second round: mechanisms that keep answers right on questions nobody has seen —
another lender or loan product named in the question or its story, … — each on examples of its
own (none taken from knowledge/eval), against the packaged knowledge base and the Lanzhou policy."""

from __future__ import annotations

import pytest

import knowledge
from knowledge import KnowledgeBase
from knowledge.salience import another_loan

FOLDER = knowledge.PACKAGE_DIR


# --- another lender or loan product -------------------------------------------------------------


@pytest.mark.parametrize(
    "question",
    [
        "消费贷最多能借多少",  # 能借多少 reads like the amount entry
        "贷款公司放的款利息一般几厘",
        "抵押贷要找谁做担保",
    ],
)
def test_a_question_about_another_loan_product_is_refused(kb: KnowledgeBase, question: str) -> None:
    a = kb.answer(question)
    assert not a.matched, a


@pytest.mark.parametrize(
    "question",
    [
        "同事拿车贷买的车让我做担保人，他要是断供了我要赔多少",
        "我表哥在贷款公司借了钱，让我给他担保，担保人要负什么责任",
    ],
)
def test_a_story_about_another_loan_makes_its_question_about_that_loan(
    kb: KnowledgeBase, question: str
) -> None:
    a = kb.answer(question)
    assert not a.matched, a


def test_an_entry_that_speaks_of_other_loans_still_answers(kb: KnowledgeBase) -> None:
    # other_loans names 房贷/车贷 itself: "having another loan" is the programme's question
    a = kb.answer("我家里有个经营贷还没还完，还能申请创业担保贷款吗")
    assert a.matched and a.entry_id == "other_loans", a
    assert another_loan(kb, "我有车贷", "other_loans") is None


def test_a_story_without_another_loan_is_not_held_against_the_question(kb: KnowledgeBase) -> None:
    assert another_loan(kb, "", "guarantor_wage_deduction") is None
    assert another_loan(kb, "我在单位上班，工资不高", "guarantor_wage_deduction") is None
    assert another_loan(kb, "朋友的车贷我给担保了", "guarantor_wage_deduction") == "车贷"


# --- a variant of the base's own word is not a foreign word --------------------------------------


def test_a_compound_of_a_known_word_is_not_foreign(kb: KnowledgeBase) -> None:
    from knowledge.salience import _built_of_known

    known = kb.lexicon.known_words()
    assert _built_of_known(kb, "门面房", known)  # 门面 (spelt 店 in the base) + 房
    assert not _built_of_known(kb, "比特币", known)
    assert not _built_of_known(kb, "押金条", known)
    assert not _built_of_known(kb, "私家", known)  # two characters: judged as a word
    a = kb.answer("这贷款能拿去买门面房不")
    assert a.matched and a.entry_id in {"forbidden_uses", "allowed_uses"}, a


# --- what a term means --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "term"),
    [("劳动密集型是啥意思", "劳动密集型"), ("请问什么叫展期？", "展期"), ("开网店", None)],
)
def test_the_term_a_question_asks_the_meaning_of(
    kb: KnowledgeBase, question: str, term: str | None
) -> None:
    assert kb.understanding.defined_term(question) == term


@pytest.mark.parametrize(
    ("question", "entry_id"),
    [("劳动密集型是啥意思", "enterprise_standard"), ("何谓展期", "extension")],
)
def test_a_term_is_explained_by_the_entry_that_owns_it(
    kb: KnowledgeBase, question: str, entry_id: str
) -> None:
    a = kb.answer(question)
    assert a.matched and a.entry_id == entry_id, a


def test_a_term_no_entry_owns_clearly_is_ranked_as_usual(kb: KnowledgeBase) -> None:
    assert kb.lexicon.defining_entry("贴息") is None  # three entries speak of it alike
    assert kb.lexicon.defining_entry("宠物医院") is None  # none does
    assert kb.lexicon.defining_entry("反担保") == "need_guarantor"


# --- the figure a question names ----------------------------------------------------------------


def test_an_amount_question_goes_to_the_entry_that_states_amounts() -> None:
    from knowledge.yesno import figure_entry, figure_kinds

    assert figure_kinds("小企业能批到300万不") == {"amount"}
    assert figure_kinds("贷3年行不行") == {"term"}
    # the approval-time entry states days, not amounts: the amount entry next to it answers
    assert figure_entry("小企业能批到300万不", "enterprise_time", ["enterprise_amount"]) == (
        "enterprise_amount"
    )
    # the question asks the entry's own kind of figure: kept
    assert figure_entry("贷8万审批要几天", "how_long", ["amount_individual"]) is None
    # an entry that states no figure of its own (policy_current) is kept
    assert figure_entry("个人真能贷30万了？", "policy_current", ["amount_individual"]) is None
    # no candidate states the figure: kept
    assert figure_entry("小企业能批到300万不", "enterprise_time", ["enterprise_docs"]) is None


# --- 几 as an indefinite number; everyday words --------------------------------------------------


@pytest.mark.parametrize(
    ("clause", "asks"),
    [
        ("我前几年开过一个小卖部", False),
        ("他是九几年退伍的", False),
        ("欠了十几万", False),
        ("三年前的事", False),
        ("几年能还完", True),
        ("十几万够不够", True),
    ],
)
def test_an_indefinite_number_asks_nothing(kb: KnowledgeBase, clause: str, asks: bool) -> None:
    assert kb.understanding.asks(clause) is asks


def test_a_story_with_an_indefinite_number_keeps_its_question(kb: KnowledgeBase) -> None:
    text = "我是九几年退伍的，这些年一直在工地上打零工，今年想在村口开个小卖部，我能贷多少"
    parsed = kb.understanding.parse(text, kb.lexicon.informative)
    assert len(parsed.units) == 1 and parsed.units[0].question == "我能贷多少"
    assert "退役军人" in parsed.units[0].query  # the story's fact goes with it


def test_everyday_words_name_nothing(kb: KnowledgeBase) -> None:
    from knowledge.respond import _names_something

    assert not _names_something(kb, ["这样", "因为"])
    assert _names_something(kb, ["比特币"])


# --- pinyin: every reading of a single character ------------------------------------------------


def test_pinyin_reads_a_character_with_several_readings(kb: KnowledgeBase) -> None:
    from knowledge.pinyin import spell_out

    assert "还不上" in spell_out(kb, "daoqi huan bu shang zenme ban")  # huan, not only hai
    a = kb.answer("daoqi huan bu shang zenme ban")
    assert a.matched and a.entry_id in {"overdue_consequence", "extension"}, a


# --- 个人 says whose loan it is ------------------------------------------------------------------


@pytest.mark.parametrize("question", ["个人贷款最高额度", "个人最高贷款额"])
def test_individual_is_a_word_not_a_filler(kb: KnowledgeBase, question: str) -> None:
    assert "个人" in kb.normalizer.analyze(question).tokens
    a = kb.answer(question)
    assert a.matched and a.entry_id == "amount_individual", a  # not the enterprise amount


# --- the subject a question names ---------------------------------------------------------------


def test_a_firms_question_goes_to_the_parallel_enterprise_entry(kb: KnowledgeBase) -> None:
    a = kb.answer("公司贷款利息要自己出吗")
    assert a.matched and a.entry_id == "enterprise_subsidy", a  # not the individual interest


def test_a_subject_without_a_parallel_entry_changes_nothing(kb: KnowledgeBase) -> None:
    a = kb.answer("合伙贷款利息是不是全免")  # the partnership entry is about amounts, not interest
    assert a.entry_id != "amount_partnership", a


def test_the_applicants_own_story_of_a_factory_is_no_firm(kb: KnowledgeBase) -> None:
    a = kb.answer("厂子倒闭我下岗了，还能贷款不")
    assert a.matched and a.entry_id == "unemployed_eligible", a


# --- a district of the policy says where, not what ----------------------------------------------


def test_a_district_is_a_place_not_another_topic(kb: KnowledgeBase) -> None:
    assert kb.lexicon.is_place("皋兰") and kb.lexicon.is_place("榆中县")
    assert not kb.lexicon.is_place("淘宝")
    previous = kb.answer("个人去哪里申请").entry_id
    a = kb.answer("我户口在皋兰，住在西固，该找哪个社区", previous=previous)
    assert a.matched and a.entry_id == "where_apply", a


# --- homophone typos ----------------------------------------------------------------------------


def test_homophone_typos_of_base_words_are_corrected(kb: KnowledgeBase) -> None:
    from knowledge.pinyin import correct_homophones

    assert correct_homophones(kb, "提钱还款行不行") == "提前还款行不行"
    assert correct_homophones(kb, "返担保人") == "反担保人"
    # real words (jieba's dictionary) and text without Chinese are left alone
    assert correct_homophones(kb, "我在私企上班") == "我在私企上班"
    assert correct_homophones(kb, "ok 10w") == "ok 10w"


def test_a_homophone_is_not_made_of_a_word_that_was_written(kb: KnowledgeBase) -> None:
    """办离职: 办理 is a base word spelt banli, but 离职 across the piece's edge is an everyday word
    of the dictionary, so the message says 离职 and is not read as 办理职 (then answered as if it
    asked how long the programme's approval takes)."""
    from knowledge.pinyin import correct_homophones

    assert correct_homophones(kb, "办离职证明要几天") == "办离职证明要几天"
    assert correct_homophones(kb, "去民政局办离婚要带户口本吗") == "去民政局办离婚要带户口本吗"
    assert not kb.answer("办离职证明要几天").matched
    assert (
        correct_homophones(kb, "担宝人要有正式工作吗") == "担保人要有正式工作吗"
    )  # still corrected


def test_a_message_not_understood_is_read_again_with_typos_corrected(kb: KnowledgeBase) -> None:
    a = kb.answer("提钱还款行不行")
    assert a.matched and a.entry_id == "early_repayment", a
    assert a.question == "提钱还款行不行"  # the user's own words are echoed
