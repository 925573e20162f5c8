"""Issue 12, fourteenth round: follow-ups that name a new party (那反担保人会怎么样 after the
overdue question) and follow-ups barely understood alone (公务员可以吗 after the guarantor
question). Examples of their own (none taken from knowledge/eval), against the packaged
knowledge base, its model and the Lanzhou policy."""

from __future__ import annotations

import pytest

from knowledge import KnowledgeBase

# --- a follow-up naming a new party: the previous question asked of that party ---------------


@pytest.mark.parametrize("followup", ["那反担保人会怎么样", "担保的人呢", "那给我担保的人呢"])
def test_a_new_party_gets_the_previous_question_asked_of_it(
    kb: KnowledgeBase, followup: str
) -> None:
    first = kb.answer("逾期不还会怎么样")
    assert first.entry_id == "overdue_consequence"
    # what happens to the guarantor when the borrower is overdue, not the borrower's answer again
    a = kb.answer(followup, previous=first.entry_id)
    assert a.entry_id == "guarantor_wage_deduction"
    assert "扣划" in a.answer


def test_a_new_thing_of_an_out_of_scope_entry_is_not_taken_from_the_model(
    kb: KnowledgeBase,
) -> None:
    # 股票 and 基金 are an out-of-scope pointer's words: the uses of the loan stay the answer
    first = kb.answer("贷款能拿来买私家车吗")
    assert first.entry_id == "forbidden_uses"
    a = kb.answer("那买股票基金呢", previous=first.entry_id)
    assert a.entry_id == "forbidden_uses"


# --- a follow-up barely understood alone: the previous entry -----------------------------------


def test_a_weak_reading_alone_gives_way_to_the_previous_entry(kb: KnowledgeBase) -> None:
    first = kb.answer("反担保人有啥要求")
    assert first.entry_id == "who_guarantor"
    # alone, 公务员可以吗 is weakly the entry on employed applicants; it asks who may guarantee
    a = kb.answer("公务员可以吗", previous=first.entry_id)
    assert a.entry_id == "who_guarantor"
    assert "行政机关事业单位工作人员" in a.answer


def test_a_confident_reading_alone_is_not_pulled_back(kb: KnowledgeBase) -> None:
    first = kb.answer("反担保人有啥要求")
    a = kb.answer("利息谁出", previous=first.entry_id)
    assert a.entry_id == "interest_free"


# --- questions listed with commas: a clause the model reads plainly ---------------------------


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("在哪儿申请，要多少天", ["where_apply", "how_long"]),
        ("去哪办，多久能批下来", ["where_apply", "how_long"]),
        ("担保中心会上门看吗，要几天", ["review_site_visit", "how_long"]),
        ("要找担保人不，去哪儿办", ["need_guarantor", "where_apply"]),
    ],
)
def test_listed_questions_are_answered_each_when_the_model_reads_a_clause(
    kb: KnowledgeBase, text: str, parts: list[str]
) -> None:
    # 要多少天 and 去哪儿办 name no topic word of the base, yet each plainly asks one thing
    a = kb.answer(text)
    assert [p.entry_id for p in a.parts] == parts
    assert [p.question for p in a.parts] == text.split("，")


def test_the_model_reads_a_clause_only_when_it_trusts_the_reading(kb: KnowledgeBase) -> None:
    from knowledge.model_reading import sure_clause_reading as _model_reads

    assert _model_reads(kb, "要多少天") == "how_long"
    assert _model_reads(kb, "有啥限制") is None  # limits of what: the sentence says
    assert _model_reads(kb, "到哪还") is None  # read less than surely: where to repay


def test_a_clause_read_less_than_surely_adds_no_answer(kb: KnowledgeBase) -> None:
    # 到哪还 alone is read (not surely) as where to apply; the repayment entry answers both
    a = kb.answer("阿么还款呢，到哪还")
    assert a.entry_id == "repayment_method" and not a.parts


# --- a business named after an entry that judges kinds of business ----------------------------


def test_a_business_named_after_the_micro_profit_entry_is_asked_of_it(kb: KnowledgeBase) -> None:
    first = kb.answer("啥叫微利项目")
    assert first.entry_id == "micro_profit"
    # 烤红薯 is no word of the base: it is the business asked about, not another topic
    a = kb.answer("卖烤红薯的算不算", previous=first.entry_id)
    assert a.entry_id == "micro_profit"


@pytest.mark.parametrize(
    ("previous", "followup"),
    [("贷款利息谁出", "卖烤红薯的算不算"), ("什么是微利项目", "房贷算不算")],
)
def test_unknown_words_after_other_entries_or_of_other_topics_are_not_answered(
    kb: KnowledgeBase, previous: str, followup: str
) -> None:
    first = kb.answer(previous)
    assert first.matched
    assert not kb.answer(followup, previous=first.entry_id).matched


# --- a story's group says who asks, the asking clause what ------------------------------------


@pytest.mark.parametrize(
    ("text", "entry"),
    [
        ("我是去年毕业的大学生，想开个工作室。毕业生申请要交哪些材料？", "docs_individual"),
        ("我们几个下岗姐妹想合伙开家政公司，合伙申请的话利息谁出？", "interest_free"),
        (
            "我是农村妇女，在家养了几年鸡，想扩大规模。听说妇女能贷款，申请表去哪儿领？",
            "application_form",
        ),
        (
            "我在部队干了八年，前年退下来一直在家，想开个修车铺。退役军人申请的话具体要走哪几步？",
            "process_steps",
        ),
    ],
)
def test_a_story_naming_a_group_gets_what_its_clause_asks(
    kb: KnowledgeBase, text: str, entry: str
) -> None:
    # the model reads each whole message as the group's entry; the clause asks papers, interest,
    # the form, the steps, which that entry never speaks of
    assert kb.answer(text).entry_id == entry


@pytest.mark.parametrize(
    ("text", "entry"),
    [
        ("我在部队干了五年，去年退伍回来，想开个修车铺，像我这样的能贷多少？", "veteran_eligible"),
        ("我是去年毕业的大学生，想开个工作室。毕业生能贷多少？", "graduate_eligible"),
        ("我们三个是一个厂下岗的，想合伙开个洗车店，合伙一共能贷多少？", "amount_partnership"),
    ],
)
def test_a_story_asking_the_groups_own_figure_keeps_its_entry(
    kb: KnowledgeBase, text: str, entry: str
) -> None:
    assert kb.answer(text).entry_id == entry


# --- the bank's total, not the applicant's cap -------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["担保基金归谁管？经办银行总共能放多少这种贷款？", "担保基金是哪来的？每家银行最多放多少？"],
)
def test_how_much_a_bank_may_lend_is_the_funds_multiple(kb: KnowledgeBase, text: str) -> None:
    # 最多…多少 after the fund asks the bank's total (a multiple of the fund), not a person's cap
    a = kb.answer(text)
    assert [p.entry_id for p in a.parts] == ["guarantee_fund", "bank_quota"]
    assert "倍" in a.parts[1].answer


# --- 当过兵: an aspect particle inside the group's word ------------------------------------------


def test_a_group_named_with_guo_inside_its_word_is_that_group(kb: KnowledgeBase) -> None:
    first = kb.answer("下岗的能贷多少钱")
    assert first.entry_id == "unemployed_eligible"
    assert kb.answer("那当过兵的人呢", previous=first.entry_id).entry_id == "veteran_eligible"


# --- dialect words of the north-east, the south-west and Gansu (synonyms.yaml) ----------------


@pytest.mark.parametrize(
    ("question", "reads", "entry"),
    [
        ("俺媳妇想开个店，上哪旮旯去申请", "上哪里去申请", "where_apply"),
        ("庄子上的婆娘能贷不", "村里的妇女能贷不", "woman_eligible"),
        ("一个人顶天能借几个钱", "最多能借多少钱", "amount_individual"),
        ("办贷款还得去上啥课吗", "还得去培训", "training"),
    ],
)
def test_dialect_words_are_read_as_mandarin(
    kb: KnowledgeBase, question: str, reads: str, entry: str
) -> None:
    assert reads in kb.normalizer.analyze(question).text
    assert kb.answer(question).entry_id == entry


def test_dialect_rewrites_keep_mandarin_phrases(kb: KnowledgeBase) -> None:
    # 好多 rewritten only where it asks an amount, 好久 only before 才, 整 only after 能
    assert "好多钱" in kb.normalizer.analyze("整个铺子要好多钱").text
    assert "好久没来" in kb.normalizer.analyze("这个人好久没来了").text
    assert kb.normalizer.analyze("嘎哈非得找担保人").text.startswith("为什么")


# --- full pinyin typed one syllable at a time --------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "spelt", "entry"),
    [
        ("xiao qi ye dai kuan zui gao duo shao qian", "小企业贷款最高多少钱", "enterprise_amount"),
        ("dai kuan yu qi le zen me ban", "贷款逾期了怎么办", "overdue_consequence"),
        ("fan dan bao ren you shen me yao qiu", "反担保人有什么要求", "who_guarantor"),
    ],
)
def test_syllables_typed_apart_are_read_together(
    kb: KnowledgeBase, typed: str, spelt: str, entry: str
) -> None:
    from knowledge.pinyin import spell_out

    # read one syllable at a time they were 小其也贷宽…: the spaces part syllables, not words
    assert spell_out(kb, typed) == spelt
    assert kb.answer(typed).entry_id == entry
