"""Issue 12, seventh round: reading mechanisms judged on the read sets (dev2, fresh2–fresh9) before
fresh10 (held out) was measured again, each on examples of its own (none taken from
knowledge/eval), against the packaged knowledge base and the Lanzhou policy."""

from __future__ import annotations

import pytest

from knowledge import KnowledgeBase

# --- a later question of a topic the base never mentions -----------------------------------------


@pytest.mark.parametrize(
    "message",
    [
        "孩子能办助学金吗？去哪申请",  # 去哪申请 alone was where to apply for the loan
        "宅基地能确权吗？要什么材料？",
        "家里老人能办医保吗？每个月交多少？",
        # after a story of another loan (能延期吗 alone was the loan's extension)
        "女儿上学办的助学贷款，毕业后多久开始还？能延期吗？",
        "我弟办的生源地助学贷款逾期了，会不会上征信？能不能申请延期？",
    ],
)
def test_a_later_question_after_one_of_another_topic_or_loan_is_not_answered(
    kb: KnowledgeBase, message: str
) -> None:
    a = kb.answer(message)
    assert not a.matched and not a.parts


def test_a_later_question_naming_the_loan_is_still_answered(kb: KnowledgeBase) -> None:
    # after 助学金 (another topic), a question that names the loan is the programme's own
    a = kb.answer("孩子能办助学金吗？创业贷款去哪申请")
    assert a.matched and a.entry_id == "where_apply"


# --- 几 as "a few": a story clause, not a question --------------------------------------------------


@pytest.mark.parametrize(
    "clause",
    ["和几个同学搞了个小团队", "招了几个下岗的工人", "还能多批几万", "跟几位朋友合开了一家店"],
)
def test_a_few_people_or_a_few_more_ten_thousands_ask_nothing(
    kb: KnowledgeBase, clause: str
) -> None:
    assert not kb.understanding.asks(clause)


@pytest.mark.parametrize(
    "clause", ["能多贷几万吗", "要几个担保人", "能贷几万", "和几个人合伙能贷多少"]
)
def test_questions_with_ji_still_ask(kb: KnowledgeBase, clause: str) -> None:
    assert kb.understanding.asks(clause)


def test_a_story_with_a_few_friends_keeps_its_one_question(kb: KnowledgeBase) -> None:
    parsed = kb.understanding.parse(
        "我是在读的研究生，和几个同学搞了个做小程序的团队，还没毕业的在校生能申请吗？",
        kb.lexicon.informative,
    )
    assert [u.question for u in parsed.units] == ["还没毕业的在校生能申请吗"]


# --- a later question after a story of another loan ------------------------------------------------


def test_a_later_question_after_a_question_naming_our_loan_is_still_answered(
    kb: KnowledgeBase,
) -> None:
    # the first question names the programme's loan: 利息多少 is asked of it
    a = kb.answer("我有房贷，这个创业贷款能申请吗？利息多少？")
    assert [p.entry_id for p in a.parts] == ["other_loans", "interest_free"]


# --- a lender's name is not a typo ---------------------------------------------------------------


def test_a_lenders_name_is_not_corrected_as_a_typo(kb: KnowledgeBase) -> None:
    from knowledge.pinyin import correct_homophones

    assert correct_homophones(kb, "朋友在小贷公司借了钱") == "朋友在小贷公司借了钱"
    assert correct_homophones(kb, "返担保要啥手续") == "反担保要啥手续"  # a typo still is


def test_a_question_about_a_small_loan_company_is_not_answered(kb: KnowledgeBase) -> None:
    a = kb.answer("朋友在小贷公司借了钱，利息多少以内合法？")
    assert not a.matched


# --- whose facts: the speaker's, not a family member's ---------------------------------------------


def test_a_wifes_job_gives_no_facts_to_the_speakers_question(kb: KnowledgeBase) -> None:
    parsed = kb.understanding.parse(
        "我前年从纺织厂下岗了，媳妇在饭店当服务员，儿子上初中。想开个修鞋铺，像我这样的能贷多少？",
        kb.lexicon.informative,
    )
    (unit,) = parsed.units
    assert "失业人员" in unit.query and "妇女" not in unit.query


@pytest.mark.parametrize(
    "message",
    [
        "我媳妇在家带孩子，想开个小卖部，她能贷多少？",  # the question is about her
        "媳妇一直在家带孩子，想开个小卖部，能贷多少？",  # the speaker tells nothing of himself
    ],
)
def test_a_family_members_facts_hold_when_the_question_is_theirs(
    kb: KnowledgeBase, message: str
) -> None:
    (unit,) = kb.understanding.parse(message, kb.lexicon.informative).units
    assert "妇女" in unit.query


def test_clauses_told_of_the_speaker_and_of_a_relative(kb: KnowledgeBase) -> None:
    und = kb.understanding
    assert und.tells_of_self("我是去年下岗的") and not und.tells_of_relative("我是去年下岗的")
    assert und.tells_of_relative("老婆在超市上班") and not und.tells_of_self("老婆在超市上班")
    assert und.tells_of_relative("我老婆在超市上班")
    assert und.tells_of_self("我和老婆都下岗了")  # both: the speaker's facts


def test_an_enumeration_comma_does_not_cut_a_question(kb: KnowledgeBase) -> None:
    # 、 lists things inside one clause (执照、税务登记都有; 去社区问、把手续办了)
    (unit,) = kb.understanding.parse(
        "我是他姐姐，我能替他去社区问、把手续都办了吗？", kb.lexicon.informative
    ).units
    assert unit.question == "我能替他去社区问、把手续都办了吗"


# --- openings the entries state for the claims their answers settle --------------------------------


@pytest.mark.parametrize(
    ("question", "entry", "head"),
    [
        ("执照还没下来，能先申请贷款吗", "no_business_license", "按兰州2013年实施办法不能"),
        ("只能本地户口申请吧", "nonlocal_hukou", "不是"),
        ("外地户口在居住地的社区能申请吗", "nonlocal_hukou", "可以"),
        ("企业贷款利息是财政全包吗", "enterprise_subsidy", "不是"),
        ("补资料的时间算不算在办理时限里", "supplement_docs", "不算"),
        ("担保基金是不是银行给的钱", "guarantee_fund", "不是"),
        ("回乡创业带头人申请也得有就业失业登记证吗", "returnee_eligible", "不用"),
        ("农村妇女申请也要就业失业登记证吗", "certificate_required", "不用"),
        ("企业新招的工人要交社会保险吗", "enterprise_eligible", "要"),
        ("新招的人签三个月合同可以吗", "enterprise_eligible", "不行"),
    ],
)
def test_an_entry_opens_with_the_answer_to_the_claim_checked(
    kb: KnowledgeBase, question: str, entry: str, head: str
) -> None:
    a = kb.answer(question)
    assert a.entry_id == entry and a.answer.startswith(head), a.answer[:40]


# --- a follow-up naming a thing of its own ---------------------------------------------------------


def test_a_followup_naming_the_guarantor_gets_the_guarantors_entry(kb: KnowledgeBase) -> None:
    first = kb.answer("征信上有不良记录还能贷款吗")
    assert first.entry_id == "credit_bad"
    a = kb.answer("那反担保人的呢", previous=first.entry_id)
    assert a.matched and a.entry_id == "guarantor_credit"


def test_a_followup_naming_nothing_new_keeps_the_previous_entry(kb: KnowledgeBase) -> None:
    first = kb.answer("征信上有不良记录还能贷款吗")
    a = kb.answer("那要是已经还清了呢", previous=first.entry_id)
    assert a.entry_id == "credit_bad"


# --- a question whether one may borrow tells its circumstances in its own words --------------------


@pytest.mark.parametrize(
    ("question", "entry"),
    [
        ("俺家那口子是退役军人，能贷几个钱", "veteran_eligible"),  # 那口子: the spouse
        ("做点尕本生意能贷几个钱", "amount_individual"),  # 小本生意: a small business
    ],
)
def test_everyday_words_in_a_question_whether_one_may_borrow_are_no_other_topic(
    kb: KnowledgeBase, question: str, entry: str
) -> None:
    a = kb.answer(question)
    assert a.matched and a.entry_id == entry


@pytest.mark.parametrize(
    "question",
    [
        "农行的快e贷能贷多少",  # another lender's product
        "邮储银行的小本生意贷能贷多少",  # a bank's product
        "能申请低保吗",  # not a question whether one may borrow
    ],
)
def test_a_banks_product_or_another_topic_is_still_not_answered(
    kb: KnowledgeBase, question: str
) -> None:
    assert not kb.answer(question).matched


# --- a house's down payment is a forbidden use (房产投资) --------------------------------------------


def test_a_down_payment_is_a_forbidden_use(kb: KnowledgeBase) -> None:
    a = kb.answer("贷款能拿去付首付吗")
    assert a.entry_id == "forbidden_uses" and a.answer.startswith("不能")
    assert not kb.answer("买房首付要交多少").matched  # the mortgage's own question is not ours


def test_a_word_of_three_characters_is_not_cut_by_a_typo_correction(kb: KnowledgeBase) -> None:
    from knowledge.pinyin import correct_homophones

    # 证在 spelt zheng zai is 正在, but 居住证 holds the 证: nothing was mistyped
    assert correct_homophones(kb, "居住证在哪办") == "居住证在哪办"
    assert correct_homophones(kb, "合火开店能贷吗") == "合伙开店能贷吗"


def test_a_contract_of_three_years_is_not_told_it_is_too_short(kb: KnowledgeBase) -> None:
    # the half-year opening must not fire on 36个月 (which holds 6个月)
    a = kb.answer("企业给新招的人签了36个月合同行吗")
    assert a.entry_id == "enterprise_eligible" and not a.answer.startswith("不行")
