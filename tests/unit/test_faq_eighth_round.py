"""Issue 12, eighth round: reading mechanisms judged on the read sets (dev2, fresh2–fresh10) before
fresh11 (held out) was measured again, each on examples of its own (none taken from
knowledge/eval), against the packaged knowledge base and the Lanzhou policy."""

from __future__ import annotations

import pytest

from knowledge import KnowledgeBase

# --- a short later question naming a thing of its own ----------------------------------------------


@pytest.mark.parametrize(
    ("message", "parts"),
    [
        # read with the question before, 得还几年 came back as the interest entry (and was dropped)
        ("利息谁来出？得还几年？", ["interest_free", "term_length"]),
        ("企业贷款上限多少？要抵押吗？", ["enterprise_amount", "need_guarantor"]),
    ],
)
def test_a_short_later_question_of_its_own_thing_gets_its_own_entry(
    kb: KnowledgeBase, message: str, parts: list[str]
) -> None:
    a = kb.answer(message)
    assert [p.entry_id for p in a.parts] == parts


def test_a_short_later_question_the_entry_before_answers_stays_with_it(kb: KnowledgeBase) -> None:
    # 能贷几次 is the re-borrowing entry's own question: one answer, not two
    a = kb.answer("还清了还能再贷吗？能贷几次？")
    assert a.entry_id == "repeat_loan" and not a.parts


# --- a follow-up naming nothing of its own stays on the last topic --------------------------------


@pytest.mark.parametrize("previous", ["贷款批下来一共要几天？", "审批需要多长时间？"])
def test_a_follow_up_naming_no_new_thing_keeps_the_topic(kb: KnowledgeBase, previous: str) -> None:
    # 银行这一步呢 alone reads as the steps of the process; after a question of time it asks the
    # bank's time, and 银行/步 are words the time entry itself uses
    first = kb.answer(previous)
    assert first.entry_id == "how_long"
    assert kb.answer("银行这一步呢？", previous=first.entry_id).entry_id == "how_long"


# --- an excluded industry named by the question itself ---------------------------------------------


def test_a_question_naming_an_excluded_industry_is_answered_from_the_exclusions(
    kb: KnowledgeBase,
) -> None:
    # the story's facts (失业人员) ranked an entry about firms first; the clause names 广告业
    a = kb.answer("厂子倒闭以后一直在家，想开个做喷绘的小铺子。这算不算广告业？能贷吗？")
    assert a.entry_id == "excluded_industries"
    assert a.answer.startswith("不")


# --- 拉几个人 / 叫上几个: some people, not a question --------------------------------------------------


@pytest.mark.parametrize(
    "clause",
    [
        "拉几个人组个装修队",
        "叫上几个老乡",
        "约了几个朋友",
        "我们几个老姐妹想搞个裁缝铺",
        "个人贷款最多也就几万",
        "想再包几个鱼塘",
    ],
)
def test_gathering_a_few_people_asks_nothing(kb: KnowledgeBase, clause: str) -> None:
    assert not kb.understanding.asks(clause)


def test_a_story_gathering_a_few_people_for_an_excluded_trade_is_refused(
    kb: KnowledgeBase,
) -> None:
    # 拉几个人组个装修队 was read as a question of its own, and 这种能申请吗 then lost its business
    a = kb.answer("我以前在工地上干活，现在不想打工了，拉几个人组个装修队。这种能申请吗？")
    assert a.entry_id == "excluded_industries"
    assert "建筑业" in a.answer


# --- 哪几家: which ones, not "where" ---------------------------------------------------------------


@pytest.mark.parametrize("text", ["经办银行有哪几家", "合作的银行有哪几个"])
def test_which_few_reads_as_which_ones(kb: KnowledgeBase, text: str) -> None:
    tokens = kb.normalizer.analyze(text).tokens
    assert "哪些" in tokens and "哪里" not in tokens


def test_a_piece_of_a_base_word_is_not_foreign(kb: KnowledgeBase) -> None:
    from knowledge.salience import foreign_words

    # 经办的银行 splits off 经办, a piece of the base's word 经办银行: not another topic
    assert foreign_words(kb, "经办的银行有哪些", "which_bank") == []
    a = kb.answer("经办的银行有哪几家？")
    assert a.matched and a.entry_id == "which_bank"


def test_4050_people_are_read_as_the_unemployed(kb: KnowledgeBase) -> None:
    assert "失业人员" in kb.normalizer.analyze("4050的能贷款吗").tokens
    assert kb.answer("我是4050人员，能申请这个贷款吗").entry_id == "unemployed_eligible"


def test_a_follow_up_with_a_piece_of_a_base_word_goes_on_about_the_topic(
    kb: KnowledgeBase,
) -> None:
    # 中心 (of 担保中心) is no unknown word: 洗浴中心算不算 asks on about the excluded industries
    first = kb.answer("什么行业不能申请？")
    assert first.entry_id == "excluded_industries"
    a = kb.answer("洗浴中心算不算", previous=first.entry_id)
    assert a.entry_id == "excluded_industries"
    assert "须担保机构认定" in a.answer


@pytest.mark.parametrize(
    ("dialect", "plain"), [("能贷款伐", "能贷款吗"), ("可以申请咩", "可以申请吗")]
)
def test_dialect_question_particles_read_as_ma(kb: KnowledgeBase, dialect: str, plain: str) -> None:
    assert kb.normalizer.analyze(dialect).tokens == kb.normalizer.analyze(plain).tokens
    assert kb.understanding.asks(dialect)


# --- a question the same for every group: no story group facts ------------------------------------


def test_a_question_of_procedure_after_a_story_is_not_read_as_the_groups_eligibility(
    kb: KnowledgeBase,
) -> None:
    message = "我原来在水泥厂上班，厂子倒闭后一直在家。想开个早餐店，这个贷款具体怎么个流程？"
    unit = kb.understanding.parse(message, kb.lexicon.informative).units[-1]
    assert "失业人员" not in unit.query  # 倒闭 tells of a group; 流程 is the same for every group
    assert kb.answer(message).entry_id == "process_steps"


def test_a_question_of_eligibility_after_a_story_keeps_the_groups_facts(kb: KnowledgeBase) -> None:
    message = "我原来在水泥厂上班，厂子倒闭后一直在家。想开个早餐店，像我这样能贷多少？"
    unit = kb.understanding.parse(message, kb.lexicon.informative).units[-1]
    assert unit.query.startswith("失业人员")


# --- the certificate named for its holder ----------------------------------------------------------


def test_what_the_certificate_may_borrow_is_the_holders_cap(kb: KnowledgeBase) -> None:
    # 下岗证能贷多少 asks what a laid-off person may borrow, not whether the certificate is needed
    assert kb.normalizer.analyze("下岗证能贷多少").tokens[:2] == ("失业人员", "能")
    # (the amount entry, or the laid-off person's entry, which states the same cap: the learned
    # model's reading since the eleventh round)
    a = kb.answer("我这下岗证能贷多少啊")
    assert a.entry_id in ("amount_individual", "unemployed_eligible") and "最高5万" in a.answer


# --- question shapes: the clause says which entry answers ------------------------------------------


@pytest.mark.parametrize(
    "message",
    [
        "我儿子在外地打工，想回来开个洗车店，他请不下假来。我能替他去社区把申请交了吗？",
        "我爸腿脚不好，想开个修鞋铺。这个贷款我代他去办行不行？",
    ],
)
def test_whether_someone_may_act_for_the_applicant_is_the_in_person_rule(
    kb: KnowledgeBase, message: str
) -> None:
    a = kb.answer(message)
    assert a.entry_id == "in_person"
    assert a.answer.startswith("不可以")


def test_asking_on_someones_behalf_is_no_such_shape(kb: KnowledgeBase) -> None:
    assert kb.understanding.shaped_entry("我是替我儿子问的，他能贷多少") is None
    assert kb.understanding.shaped_entry("我能替他去把手续办了吗") == "in_person"


def test_a_bad_question_shape_is_reported_in_chinese() -> None:
    from knowledge.schema import load_yaml
    from knowledge.understand import PACKAGE_DIR, Understanding

    data = load_yaml((PACKAGE_DIR / "understanding.yaml").read_text(encoding="utf-8"))
    with pytest.raises(ValueError, match=r"question_shapes\.in_person 的正则无效"):
        Understanding.from_mapping({**data, "question_shapes": {"in_person": ["替(去"]}})
    with pytest.raises(ValueError, match="需要字符串列表"):
        Understanding.from_mapping({**data, "question_shapes": {"in_person": "替"}})


def test_kb_check_reports_a_shape_of_an_unknown_entry(tmp_path: object) -> None:
    import shutil
    from pathlib import Path

    from knowledge import check_folder
    from knowledge.understand import PACKAGE_DIR

    folder = Path(str(tmp_path)) / "kb"
    shutil.copytree(Path(__file__).resolve().parents[1] / "fixtures" / "kb", folder)
    text = (PACKAGE_DIR / "understanding.yaml").read_text(encoding="utf-8")
    text = text.replace("question_shapes:\n  in_person:", "question_shapes:\n  no_such_entry:")
    (folder / "understanding.yaml").write_text(text, encoding="utf-8")
    problems = [str(p) for p in check_folder(folder, None)]
    assert any("no_such_entry" in p and "question_shapes" in p for p in problems), problems


def test_a_complaint_of_delay_after_the_time_limits_is_the_delay_entry(kb: KnowledgeBase) -> None:
    first = kb.answer("社区审核要几天？")
    a = kb.answer("要是超时了怎么办", previous=first.entry_id)
    assert a.entry_id == "delay_complaint"


# --- a figure asked by no group: every group's figure ----------------------------------------------


def test_a_cap_asked_by_no_group_is_answered_with_every_groups_cap(kb: KnowledgeBase) -> None:
    # 10万 is the graduates' cap: "可以，大中专院校毕业生最高10万元" would tell anyone they may
    a = kb.answer("可以贷10w不")
    assert a.entry_id == "amount_individual"
    assert not a.answer.startswith("可以")


def test_a_cap_asked_by_a_named_group_stays_with_it(kb: KnowledgeBase) -> None:
    assert kb.answer("大学生能贷10万吗").entry_id == "graduate_eligible"


# --- full pinyin with everyday words -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "spelt"),
    [
        (
            "wo laogong shi tuiwu junren neng dai ma",
            "我老公是退伍军人能贷吗",
        ),  # 老公, 退伍: synonyms
        ("xiagang de neng dai duoshao", "下岗的能贷多少"),  # de is 的, not the initials of 等额
        ("woshidaxuesheng", "我是大学生"),  # a common word, not 打 + 学生
        ("zx bu hao neng dai ma", "征信不好能贷吗"),  # 能贷吗, not 能 + 代码
        ("gr zgdk ed", "个人最高贷款额度"),  # initials still spell the base's words
    ],
)
def test_full_pinyin_spells_everyday_and_domain_words(
    kb: KnowledgeBase, typed: str, spelt: str
) -> None:
    from knowledge.pinyin import spell_out

    assert spell_out(kb, typed) == spelt


def test_a_whole_message_in_pinyin_is_answered(kb: KnowledgeBase) -> None:
    a = kb.answer("wo laogong shi tuiwu junren neng dai ma")
    assert a.matched and a.entry_id == "veteran_eligible"


@pytest.mark.parametrize(
    ("dialect", "plain"), [("额度是好多嘛", "额度是多少"), ("啷个申请", "怎么申请")]
)
def test_south_western_question_words(kb: KnowledgeBase, dialect: str, plain: str) -> None:
    assert kb.normalizer.analyze(dialect).tokens == kb.normalizer.analyze(plain).tokens


def test_a_lot_of_people_is_no_question_of_amount(kb: KnowledgeBase) -> None:
    # 好多 asks an amount only where it follows 是/能贷; 好多人 (a lot of people) is no question
    assert "多少" not in kb.normalizer.analyze("好多人").tokens


@pytest.mark.parametrize("followup", ["担保中心那边呢", "街道这一关呢？", "银行那块呢"])
def test_a_step_named_with_that_side_keeps_the_working_days(
    kb: KnowledgeBase, followup: str
) -> None:
    from knowledge.yesno import same_figure_for

    first = kb.answer("社区审核要几天？")
    assert same_figure_for(kb, followup, first.entry_id or "") == first.entry_id
    assert kb.answer(followup, previous=first.entry_id).entry_id == first.entry_id


def test_asking_to_repay_later_is_the_extension_entry(kb: KnowledgeBase) -> None:
    a = kb.answer("去年贷的款马上到期，手头实在紧，能不能延后一段时间")
    assert a.entry_id == "extension"


def test_whether_this_trade_may_borrow_is_the_industry_rule(kb: KnowledgeBase) -> None:
    a = kb.answer("我在镇上开了个驾校陪练，这个行业能不能贷？")
    assert a.entry_id == "industry_ok" and a.answer.startswith("一般可以")
    # ... and the shape never overrides the pre-check on an excluded trade
    b = kb.answer("我想开个网咖，这种生意能不能申请？")
    assert b.answer.startswith("不能") and "网吧" in b.answer


def test_no_asking_word_in_not_much(kb: KnowledgeBase) -> None:
    assert not kb.understanding.asks("家里没啥存款")


@pytest.mark.parametrize("message", ["这个贷款要还吗", "政府给的钱要还不", "听说这钱不用还？"])
def test_whether_the_loan_is_repaid_is_the_must_repay_entry(
    kb: KnowledgeBase, message: str
) -> None:
    a = kb.answer(message)
    assert a.entry_id == "must_repay" and a.answer.startswith("要还")


@pytest.mark.parametrize("message", ["借朋友的钱要还吗", "信用卡要还吗", "花呗不用还吗"])
def test_repaying_another_debt_is_not_the_programmes(kb: KnowledgeBase, message: str) -> None:
    assert not kb.answer(message).matched


def test_why_interest_is_still_paid_is_how_the_subsidy_works(kb: KnowledgeBase) -> None:
    message = "我开了个早点铺，贷款按时还着。想问一下贴息到底是怎么回事，为啥每个季度还是要交利息？"
    assert kb.answer(message).entry_id == "subsidy_how"


@pytest.mark.parametrize("clause", ["我的贷款批了没", "审到哪一步了", "进度怎么查"])
def test_asking_how_far_the_application_got_is_the_status_shape(
    kb: KnowledgeBase, clause: str
) -> None:
    assert kb.understanding.shaped_entry(clause) == "check_status"


@pytest.mark.parametrize("message", ["这个贷款要还吗", "我能替他去社区办吗", "批了没"])
def test_a_base_without_the_shaped_entries_answers_without_them(message: str) -> None:
    # a deployment's own base may lack in_person, must_repay … (understanding.yaml falls back to
    # the packaged one): the shapes then say nothing, and nothing fails
    from pathlib import Path

    from knowledge.policy import load_policy

    folder = Path(__file__).resolve().parents[1] / "fixtures" / "kb"
    small = KnowledgeBase.load(folder, load_policy("lanzhou-2013"))
    assert small.entry("in_person") is None
    a = small.answer(message)
    assert a.entry_id is None or small.entry(a.entry_id) is not None


@pytest.mark.parametrize(
    ("message", "opening"),
    [("社区调查是不是两天就得完成", "不是"), ("社区那一步是不是一个星期就要办完", "不是")],
)
def test_a_time_checked_in_days_or_weeks_is_the_time_limits(
    kb: KnowledgeBase, message: str, opening: str
) -> None:
    a = kb.answer(message)
    assert a.entry_id == "how_long"
    assert a.answer.startswith(opening)


@pytest.mark.parametrize("message", ["晚几天还会不会上征信", "要是晚了几天才还上，会怎么样"])
def test_a_few_days_late_is_overdue_not_how_long(kb: KnowledgeBase, message: str) -> None:
    assert kb.answer(message).entry_id == "overdue_consequence"


@pytest.mark.parametrize("things", ["要准备啥东西", "得带什么东西"])
def test_things_to_prepare_are_materials(kb: KnowledgeBase, things: str) -> None:
    assert "材料" in kb.normalizer.analyze(things).tokens


@pytest.mark.parametrize("message", ["个人贷款的流程是怎样的", "请问个人申请流程如何"])
def test_asking_the_procedure_is_the_steps(kb: KnowledgeBase, message: str) -> None:
    assert kb.answer(message).entry_id == "process_steps"


def test_whether_a_visit_is_normal_is_no_question_of_the_procedure(kb: KnowledgeBase) -> None:
    assert kb.understanding.shaped_entry("这是正常流程吗") is None


def test_what_the_guarantor_owes_when_the_borrower_defaults(kb: KnowledgeBase) -> None:
    a = kb.answer("邻居让我当担保人，签字以后他要是跑了我得赔吗")
    assert a.entry_id == "guarantor_wage_deduction"


# --- papers for another thing -----------------------------------------------------------------------


def test_papers_for_something_the_base_never_mentions_are_not_the_loans(kb: KnowledgeBase) -> None:
    from knowledge.salience import papers_for_another_thing

    question = "外地户口孩子在兰州上初中要哪些材料"
    assert papers_for_another_thing(kb, question, "nonlocal_hukou") == "初中"
    assert not kb.answer(question).matched


@pytest.mark.parametrize(
    "question", ["外地户口在兰州申请要准备哪些材料", "开个奶茶店要准备哪些材料"]
)
def test_papers_for_the_loan_or_the_business_are_still_the_loans(
    kb: KnowledgeBase, question: str
) -> None:
    from knowledge.salience import papers_for_another_thing

    assert papers_for_another_thing(kb, question, "docs_individual") is None


def test_a_short_message_naming_the_business_asks_its_own_question(kb: KnowledgeBase) -> None:
    # read whole, 开个奶茶店 made it a question whether a tea shop may borrow
    assert kb.answer("我想开个奶茶店，要准备哪些材料").entry_id == "docs_individual"
    # ... while a clause naming nothing of its own leans on the business clause
    assert kb.answer("我想贷十万块开个店，能批那么多吗").entry_id == "amount_individual"


@pytest.mark.parametrize("message", ["担保人要找什么样的人", "啥样的人能当担保人"])
def test_who_may_be_the_guarantor_is_the_guarantor_conditions(
    kb: KnowledgeBase, message: str
) -> None:
    assert kb.answer(message).entry_id == "who_guarantor"


@pytest.mark.parametrize(
    "message",
    [
        "我的征信挺好，可我老公前些年欠了网贷没还上。他的征信会不会拖累我申请？",
        "我想自己申请，银行会不会查我丈夫的征信？",  # not the guarantor's credit
    ],
)
def test_a_spouses_credit_record_is_the_credit_rule(kb: KnowledgeBase, message: str) -> None:
    assert kb.answer(message).entry_id == "credit_bad"


def test_a_fee_taken_from_the_loan_is_the_fee_entry(kb: KnowledgeBase) -> None:
    assert kb.answer("放款时银行扣了一笔手续费，这个合理吗").entry_id == "guarantee_fee"


@pytest.mark.parametrize("message", ["兰州那个实施办法现在还适用吗", "你们依据的政策还有效吗"])
def test_whether_the_policy_still_holds_is_the_current_policy(
    kb: KnowledgeBase, message: str
) -> None:
    assert kb.answer(message).entry_id == "policy_current"


def test_whether_a_certificate_still_holds_is_no_question_of_the_policy(kb: KnowledgeBase) -> None:
    assert kb.understanding.shaped_entry("那个培训证书以后还管用吗") is None


def test_each_partners_share_is_the_partnership_cap(kb: KnowledgeBase) -> None:
    first = kb.answer("合伙能贷多少？")
    assert (
        kb.answer("五个人的话每人分多少", previous=first.entry_id).entry_id == "amount_partnership"
    )
