"""Issue 12, fifteenth round: a story's asking clause, read alone by the learned model, agrees
with the reading path's answer (我从广东打工回来……在哪里领申请表), and the applicant's own story
(退伍快两年了，在物流公司跑车) does not make the message another topic. Examples of their own (none
taken from knowledge/eval), against the packaged knowledge base, its model and the Lanzhou
policy."""

from __future__ import annotations

from dataclasses import replace

import pytest

from knowledge import KnowledgeBase
from knowledge.model_reading import _asks_of_the_storys_topic, learned, sure_clause_reading
from knowledge.understand import Unit

# --- the clause read surely alone agrees with the reading path: the story's group does not win ---


@pytest.mark.parametrize(
    ("text", "entry_id"),
    [
        ("我大学毕业一年了，一直在家帮父母卖菜，想开个生鲜小店。以后还能再贷吗？", "repeat_loan"),
        ("我从广东打工回来，在村里承包了几亩地种辣椒。在哪里领申请表？", "application_form"),
        ("我从广东打工回来，在村里承包了几亩地种辣椒。没人给我担保怎么办？", "no_guarantor"),
        (
            "我是下岗职工，原来在水泥厂开吊车，厂子关了以后在家待了两年。贷款期限是几年？",
            "term_length",
        ),
    ],
)
def test_a_story_s_clause_read_surely_keeps_its_answer(
    kb: KnowledgeBase, text: str, entry_id: str
) -> None:
    clause = kb.understanding.parse(text, kb.lexicon.informative).units[0].question
    assert sure_clause_reading(kb, clause) == entry_id
    # not the group's entry (毕业生, 返乡, 失业人员) the story names: what the clause asks
    a = kb.answer(text)
    assert a.matched and a.entry_id == entry_id


# --- the applicant's own story is not another topic ---------------------------------------------

VETERAN = "我退伍快两年了，在物流公司跑车，战友都在外地。"


def test_an_applicants_story_read_as_off_topic_keeps_the_clause_s_answer(
    kb: KnowledgeBase,
) -> None:
    text = VETERAN + "逾期了会怎么样？"
    g = kb.guess(text)
    assert (
        g is not None and g.entry_id is None
    )  # 物流公司, 战友: the whole looks like another topic
    a = kb.answer(text)
    assert a.matched and a.entry_id == "overdue_consequence"


def test_an_unanswered_clause_read_surely_is_answered_by_its_entry(kb: KnowledgeBase) -> None:
    a = kb.answer(VETERAN + "需要本人亲自去办吗？")
    assert a.matched and a.entry_id == "in_person"


def test_an_unsure_whole_reading_does_not_refuse_the_clause_s_answer(kb: KnowledgeBase) -> None:
    a = kb.answer("我是农村妇女，孩子上学了，想在镇上开个小吃摊。逾期了会怎么样？")
    assert a.matched and a.entry_id == "overdue_consequence"


@pytest.mark.parametrize(
    "text",
    [
        VETERAN[:-1] + "，信用卡欠了两万。逾期了会怎么样？",  # the card's arrears
        VETERAN[:-1] + "，去年买车办了车贷。逾期了会怎么样？",  # the car loan's
        "我是退伍军人，想办退役军人优待证，要准备哪些材料？",  # another thing's papers
        "我们厂去年没裁员，听说能领稳岗补贴，厂里要交哪些材料？",  # an employer's story
    ],
)
def test_a_story_about_another_thing_is_still_refused(kb: KnowledgeBase, text: str) -> None:
    a = kb.answer(text)
    assert not a.matched
    assert "没有找到" in a.answer or a.out_of_scope


def test_only_a_clause_asking_of_the_story_s_other_topic_counts(kb: KnowledgeBase) -> None:
    card = Unit("逾期了会怎么样", "逾期了会怎么样", "信用卡欠了两万")
    assert _asks_of_the_storys_topic(kb, card, "overdue_consequence")
    # 离婚 is another topic's word, but where to go first is asked of the loan
    life = Unit("先去哪里办", "先去哪里办", "我离婚以后一个人带孩子，一直没工作")
    assert not _asks_of_the_storys_topic(kb, life, "process_steps")


def test_a_clause_surely_of_the_base_keeps_the_reading_s_answer_of_the_story(
    kb: KnowledgeBase,
) -> None:
    # the model reads the whole as another topic (物流公司, 战友) and the clause alone surely as
    # the individual cap; the reading path, which read the story's group with the clause,
    # answered with the veterans' entry (their cap): that answer stands, not a refusal
    text = VETERAN + "个人最多能贷多少？"
    g = kb.guess(text)
    assert g is not None and g.entry_id is None
    unit = kb.understanding.parse(text, kb.lexicon.informative).units[0]
    assert sure_clause_reading(kb, unit.question) == "amount_individual"
    single = replace(kb.answer_entry("veteran_eligible", "telegram"), question=text)
    assert learned(kb, text, unit, single, "telegram") is single


# --- a question of several read surely by the model alone ---------------------------------------


def test_a_question_of_several_read_surely_as_another_entry_gets_it(kb: KnowledgeBase) -> None:
    from knowledge.respond import _read_surely

    clause = "企业贷款去哪儿申请"
    assert sure_clause_reading(kb, clause) == "enterprise_where"
    unit = Unit(clause, clause)
    # the ranking alone answered with the person's office (where_apply)
    person = replace(kb.answer_entry("where_apply", "telegram"), question=clause)
    got = _read_surely(kb, unit, person, "telegram")
    assert got.entry_id == "enterprise_where" and got.question == clause
    # the model's own entry, a rule's answer and an unanswered question stand as they are
    firm = replace(kb.answer_entry("enterprise_where", "telegram"), question=clause)
    assert _read_surely(kb, unit, firm, "telegram") is firm
    ruled = replace(person, by_rule=True)
    assert _read_surely(kb, unit, ruled, "telegram") is ruled
    refused = kb.dont_know(clause, kb.rank(clause), "telegram")
    assert _read_surely(kb, unit, refused, "telegram") is refused


# --- papers asked for the loan itself, at a place in general -------------------------------------


@pytest.mark.parametrize(
    ("text", "entry_id"),
    [
        (
            "我们厂做地毯的，招了二十个失业的。老板让我去县里问问企业贷款要准备哪些材料？",
            "enterprise_docs",
        ),
        ("我爸让我去镇上问问这个贷款要准备哪些材料", "docs_individual"),
    ],
)
def test_papers_of_the_loan_asked_on_an_errand_are_answered(
    kb: KnowledgeBase, text: str, entry_id: str
) -> None:
    # 老板, 县里 before 企业贷款 are who sent the asker and where to: not what the papers are for
    a = kb.answer(text)
    assert a.matched and a.entry_id == entry_id


def test_papers_for_another_thing_or_another_loan_are_still_refused(kb: KnowledgeBase) -> None:
    from knowledge.salience import papers_for_another_thing

    assert papers_for_another_thing(kb, "孩子上小学要准备哪些材料", "docs_individual")
    assert (
        papers_for_another_thing(kb, "老板让我问企业贷款要准备哪些材料", "enterprise_docs") is None
    )
    for text in ("助学贷款要准备哪些材料", "孩子上小学要准备哪些材料"):
        assert not kb.answer(text).matched


def test_a_place_in_general_says_where_not_what(kb: KnowledgeBase) -> None:
    assert kb.lexicon.is_place("区里") and kb.lexicon.is_place("镇上")
    assert kb.lexicon.is_place("榆中")  # a district of the policy, as before
    assert not kb.lexicon.is_place("小学")


# --- the pre-check's verdict and the entry that gives it agree ------------------------------------


def test_a_refused_use_is_the_forbidden_uses_answer_with_its_source(kb: KnowledgeBase) -> None:
    # first read as the allowed uses: the use the question names (交学费) is refused, and the
    # reply is the forbidden uses' entry (what a follow-up and the logs see), citing its source
    a = kb.answer("贷下来的钱能给闺女交学费不")
    assert a.entry_id == "forbidden_uses"
    assert a.answer.startswith("不能") and "个人消费支出" in a.answer
    assert a.source == kb.source_of("forbidden_uses")


@pytest.mark.parametrize("text", ["贷款能用来装修自己住的房子吗", "这钱能拿去给自己家盖房子不"])
def test_a_question_how_the_money_is_used_is_answered_on_the_use(
    kb: KnowledgeBase, text: str
) -> None:
    # 装修 and 盖房 are construction words too: the question asks how the money is used
    a = kb.answer(text)
    assert a.entry_id == "forbidden_uses"
    assert "行业" not in a.answer.splitlines()[0]


def test_a_business_of_an_excluded_industry_is_still_the_industry_s(kb: KnowledgeBase) -> None:
    a = kb.answer("开个装修公司能贷吗")
    assert a.entry_id == "excluded_industries"
    assert "建筑业" in a.answer


def test_two_businesses_asked_about_get_a_verdict_each(kb: KnowledgeBase) -> None:
    a = kb.answer("网吧能贷吗 那KTV呢")
    assert [p.entry_id for p in a.parts] == ["excluded_industries", "excluded_industries"]
    assert "网吧" in a.parts[0].answer and "KTV" in a.parts[1].answer
    # a later question naming no business of its own is no second verdict (这算不算广告业？能贷吗？)
    one = kb.answer("想开个做喷绘的小铺子。这算不算广告业？能贷吗？")
    assert one.entry_id == "excluded_industries" and not one.parts


def test_source_of_an_entry_the_base_lacks_is_none(kb: KnowledgeBase) -> None:
    assert kb.source_of("no_such_entry") is None
    assert kb.source_of("forbidden_uses")


# --- a follow-up naming another subject: the previous question asked of it -----------------------


def test_a_follow_up_naming_the_firm_asks_the_previous_question_of_it(kb: KnowledgeBase) -> None:
    first = kb.answer("个人申请要多少个工作日")
    assert first.entry_id == "how_long"
    a = kb.answer("换成企业要多久", previous=first.entry_id)
    assert a.entry_id == "enterprise_time" and a.question == "换成企业要多久"


def test_the_previous_question_is_asked_of_the_new_subject_without_its_person(
    kb: KnowledgeBase,
) -> None:
    from knowledge.followup import asked_of_a_new_subject

    text = "换成公司来申请呢，要交啥"
    single = kb.answer(text)  # alone: no entry of the firm's
    got = asked_of_a_new_subject(kb, text, "docs_individual", single, "telegram")
    assert got is not None and got.entry_id == "enterprise_docs"
    # no subject named, or the previous question's own subject: nothing to ask again
    assert asked_of_a_new_subject(kb, "那要多久", "docs_individual", single, "telegram") is None
    firm = kb.answer("企业的呢")
    assert asked_of_a_new_subject(kb, "企业的呢", "enterprise_docs", firm, "telegram") is None


# --- a story's business of an excluded industry answers whether they may borrow ---------------------


def test_a_story_s_excluded_business_answers_how_much_they_may_borrow(kb: KnowledgeBase) -> None:
    a = kb.answer("我跟表弟合伙开了个KTV，装修花光了钱，我们俩都是下岗的。合伙能贷多少？")
    assert a.entry_id == "excluded_industries"
    assert "KTV" in a.answer and a.answer.startswith("不")
    # the same story with a business no exclusion names: the partnership's cap
    b = kb.answer("我跟表弟合伙开了个奶茶店，装修花光了钱，我们俩都是下岗的。合伙能贷多少？")
    assert b.entry_id == "amount_partnership"


# --- a sure reading is undone only by a word the model learnt clearly as another topic's ---------


def test_a_sure_reading_keeps_a_word_the_model_learnt_little_of(kb: KnowledgeBase) -> None:
    from knowledge.salience import foreign_words

    text = "这个办法现在还算数吗"
    assert foreign_words(kb, text, "policy_current") == ["算数"]
    assert foreign_words(kb, text, "policy_current", trusted=True) == ["算数"]
    # read surely as the current policy, 算数 (which counts for neither) does not refuse it
    assert foreign_words(kb, text, "policy_current", trusted=True, sure=True) == []
    # 信用卡 the model learnt as another topic's: it still does
    card = "信用卡逾期了咋整"
    assert foreign_words(kb, card, "overdue_consequence", trusted=True, sure=True) == ["信用卡"]
    assert kb.model is not None
    assert kb.model.speaks_against("信用卡", "overdue_consequence", 1.0)
    assert not kb.model.speaks_against("算数", "policy_current", 1.0)
    assert not kb.model.speaks_against("🙂🙂", "policy_current")  # no feature: neither


def test_hui_counts_times_as_ci_does(kb: KnowledgeBase) -> None:
    # 贷过一回…第二回: the north's 回 is 次 (synonyms.yaml), on both sides of the match
    assert (
        kb.normalizer.analyze("还能贷第二回不").text == kb.normalizer.analyze("还能贷第二次不").text
    )
    a = kb.answer("我贷过一回了，到期都还清了，还能贷第二回不")
    assert a.entry_id == "repeat_loan"


def test_cantonese_when_and_how_long_are_asked(kb: KnowledgeBase) -> None:
    und = kb.understanding
    for clause in ("几时先至批得落", "要几多日", "要几耐"):
        assert und.asks(clause)  # 几时, 几多, 几耐: question words of their own
    assert kb.normalizer.analyze("几时批得落").text == kb.normalizer.analyze("什么时候批下来").text
    a = kb.answer("请问呢个贷款几时先至批得落呀")
    assert a.entry_id == "how_long"


@pytest.mark.parametrize(
    ("first", "followup", "entry_id"),
    [
        ("个人申请到哪里办", "企业的呢", "enterprise_where"),
        ("个人申请要交哪些材料", "那公司呢", "enterprise_docs"),
    ],
)
def test_a_bare_follow_up_naming_the_firm_asks_the_previous_question_of_it(
    kb: KnowledgeBase, first: str, followup: str, entry_id: str
) -> None:
    # 企业的呢 names nothing but the firm: the firm's answer to the question before
    prev = kb.answer(first)
    a = kb.answer(followup, previous=prev.entry_id)
    assert a.entry_id == entry_id
