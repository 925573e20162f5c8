"""Issue 12, eleventh round: the learned question model (knowledge/learned.py).

Examples of their own (none copied from an evaluation set). The model file, `kb train`, `kb check`
on a stale or broken model, and how a single-question message uses the model's reading: a long
story answered with the question it asks, look-alike off-topic questions refused, and what the
model never overrides (a reading rule's answer, an entry added after training, an out-of-scope
pointer, a short follow-up in a conversation).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from knowledge import KnowledgeBase, KnowledgeError
from knowledge.answers import Answer
from knowledge.learned import MODEL_FILE, OFF_TOPIC, QuestionModel, char_grams, train
from knowledge.model_reading import learned as _learned
from knowledge.policy import load_policy
from knowledge.understand import Unit

# --- the model on its own ----------------------------------------------------------------------

TOY = [
    ("个人 最多 能 贷 多少", ("个人", "最多", "能", "贷", "多少"), "amount"),
    ("一个人 能 贷 几万", ("一个", "人", "能", "贷", "几万"), "amount"),
    ("贷款 额度 多少", ("贷款", "额度", "多少"), "amount"),
    ("要 准备 哪些 材料", ("要", "准备", "哪些", "材料"), "docs"),
    ("申请 材料 有 哪些", ("申请", "材料", "有", "哪些"), "docs"),
    ("需要 带 什么 材料", ("需要", "带", "什么", "材料"), "docs"),
    ("今天 天气 怎么样", ("今天", "天气", "怎么样"), OFF_TOPIC),
    ("明天 天气 好 吗", ("明天", "天气", "好", "吗"), OFF_TOPIC),
]


def test_character_grams_of_a_text_without_spaces() -> None:
    assert char_grams("能 贷") == ["能", "贷", "能贷"]
    assert char_grams("") == []


def test_a_trained_model_guesses_and_survives_its_file(tmp_path: Path) -> None:
    model = train(TOY, "digest1")
    g = model.guess("最多 贷 多少", ("最多", "贷", "多少"))
    assert g.entry_id == "amount" and 0.0 < g.p <= 1.0
    assert model.guess("后天 天气 怎么样", ("后天", "天气", "怎么样")).entry_id is None
    path = tmp_path / MODEL_FILE
    model.save(path)
    again = QuestionModel.load(path)
    assert again.digest == "digest1" and again.entry_ids == frozenset({"amount", "docs"})
    # float16 weights in the file: the same guess, the probability within a hair
    h = again.guess("最多 贷 多少", ("最多", "贷", "多少"))
    assert h.entry_id == g.entry_id and abs(h.p - g.p) < 0.01
    assert np.isclose(again.probabilities("材料", ("材料",)).sum(), 1.0)


def test_a_model_restricted_to_the_entries_in_service_never_guesses_another(
    tmp_path: Path,
) -> None:
    model = train(TOY, "d")
    model.restrict(["docs"])  # the amount entry left the base
    g = model.guess("最多 贷 多少", ("最多", "贷", "多少"))
    assert g.entry_id != "amount" and "amount" not in g.near


def test_training_needs_two_classes() -> None:
    with pytest.raises(ValueError, match="两个类别"):
        train(TOY[:3], "d")


def test_a_broken_model_file_is_reported_not_half_loaded(tmp_path: Path) -> None:
    path = tmp_path / MODEL_FILE
    np.savez_compressed(path, chars=np.array(["a"]))
    with pytest.raises(ValueError, match="不是问题分类模型文件"):
        QuestionModel.load(path)


# --- a knowledge folder with and without a model ---------------------------------------------


def test_a_folder_without_a_model_answers_by_its_reading_alone(folder: Path) -> None:
    (folder / MODEL_FILE).unlink()
    kb = KnowledgeBase.load(folder, load_policy("lanzhou-2013"))
    assert kb.model is None and kb.guess("要带哪些材料") is None
    assert kb.answer("要带哪些材料").entry_id == "docs_individual"


def test_a_broken_model_stops_the_load_with_its_file_named(folder: Path) -> None:
    (folder / MODEL_FILE).write_bytes(b"not a model")
    with pytest.raises(KnowledgeError, match=MODEL_FILE):
        KnowledgeBase.load(folder, load_policy("lanzhou-2013"))


def test_kb_check_reports_a_model_older_than_the_base(cli: typer.Typer, folder: Path) -> None:
    args = ["--folder", str(folder), "--policy", "lanzhou-2013"]
    r = CliRunner().invoke(cli, ["kb", "check", *args])
    assert r.exit_code == 0, r.output
    faq = folder / "faq" / "basics.yaml"
    faq.write_text(
        faq.read_text(encoding="utf-8").replace(
            "paraphrases:", "paraphrases:\n      - 新加的问法一句", 1
        ),
        encoding="utf-8",
    )
    r = CliRunner().invoke(cli, ["kb", "check", *args])
    assert r.exit_code == 1 and "kb train --write" in r.output


def test_kb_train_writes_a_model_the_base_then_loads(cli: typer.Typer, folder: Path) -> None:
    args = ["--folder", str(folder), "--policy", "lanzhou-2013"]
    (folder / MODEL_FILE).unlink()
    r = CliRunner().invoke(cli, ["kb", "train", str(folder / "eval" / "dev2.yaml"), *args])
    assert r.exit_code == 0 and "已训练" in r.output and not (folder / MODEL_FILE).exists()
    r = CliRunner().invoke(cli, ["kb", "train", "--write", *args])  # retrieval.yaml's train_sets
    assert r.exit_code == 0 and "已写入" in r.output, r.output
    kb = KnowledgeBase.load(folder, load_policy("lanzhou-2013"))
    assert kb.model is not None and "docs_individual" in kb.model.entry_ids
    assert CliRunner().invoke(cli, ["kb", "check", *args]).exit_code == 0


def test_kb_train_names_a_missing_set(cli: typer.Typer, folder: Path) -> None:
    cfg = folder / "retrieval.yaml"
    cfg.write_text(cfg.read_text(encoding="utf-8") + "- nowhere.yaml\n", encoding="utf-8")
    args = ["--folder", str(folder), "--policy", "lanzhou-2013"]
    r = CliRunner().invoke(cli, ["kb", "train", *args])
    assert r.exit_code == 1 and "找不到训练用问题集" in r.output and "nowhere.yaml" in r.output


# --- how a message uses the model (the packaged base and its model) ----------------------------

STORY = (
    "我家那口子原来在水泥厂烧锅炉，厂子黄了以后一直打零工，想在镇上开个早点铺，"
    "像他这样的最多能贷到多少"
)


@pytest.mark.parametrize(
    ("question", "entries"),
    [
        # a story that the reading alone leaves unanswered or answers with another topic
        (STORY, {"amount_individual", "unemployed_eligible"}),
        (
            "我姐在老家种了几年地，现在想去县城开个小饭馆，她是农村户口的女同志，能办这个贷款吗",
            {"woman_eligible"},
        ),
    ],
)
def test_a_long_story_is_answered_with_what_it_asks(
    kb: KnowledgeBase, question: str, entries: set[str]
) -> None:
    a = kb.answer(question)
    assert a.matched and a.entry_id in entries, a


@pytest.mark.parametrize(
    "question",
    ["交通罚单在网上怎么交", "电动车上牌要带啥材料", "房子装修贷款利率多少", "社保断缴了怎么补"],
)
def test_look_alike_questions_of_other_things_are_not_answered(
    kb: KnowledgeBase, question: str
) -> None:
    assert not kb.answer(question).matched


def test_how_much_a_laid_off_person_may_borrow_states_the_cap(kb: KnowledgeBase) -> None:
    a = kb.answer("厂里下岗的工人贷这个能贷多少钱")
    assert a.matched and "5万" in a.answer, a.answer[:80]


def _unit(text: str) -> Unit:
    return Unit(text, text)


def _model_disagreeing(kb: KnowledgeBase, text: str) -> str:
    g = kb.guess(text)
    assert g is not None and g.entry_id is not None
    assert g.p >= kb.config.learned_threshold
    return g.entry_id


def test_what_the_model_never_overrides(kb: KnowledgeBase) -> None:
    text = "要准备哪些申请材料"
    guessed = _model_disagreeing(kb, text)
    other = "how_long" if guessed != "how_long" else "which_bank"
    reading = replace(kb.answer_entry(other), question=text)
    # the reading's answer by a rule of its own (a term, a shape, a figure): it stands
    ruled = replace(reading, by_rule=True)
    assert _learned(kb, text, _unit(text), ruled, "telegram") is ruled
    # an entry the model was not trained with (added by staff since): it stands
    staff = Answer(text, True, "staff_0001", "员工补充的答案", 0.5, "staff")
    assert _learned(kb, text, _unit(text), staff, "telegram") is staff
    # an out-of-scope entry's pointer: the other topic stays named
    pointer = replace(reading, matched=False, out_of_scope=True, entry_id="oos_phone_help")
    assert _learned(kb, text, _unit(text), pointer, "telegram") is pointer
    # otherwise the model's confident reading answers
    assert _learned(kb, text, _unit(text), reading, "telegram").entry_id == guessed


def test_a_short_follow_up_in_a_conversation_keeps_its_reading(kb: KnowledgeBase) -> None:
    # 那合伙的呢 after the individual cap: the follow-up reading, not the model's reading of
    # three characters without their conversation
    a = kb.answer("那合伙的呢", previous="amount_individual")
    assert a.entry_id == "amount_partnership"


def test_below_the_threshold_the_reading_stands(folder: Path) -> None:
    # every use of the model off: its reading (threshold), its sure reading, its doubt
    cfg = folder / "retrieval.yaml"
    cfg.write_text(
        cfg.read_text(encoding="utf-8")
        .replace("learned_threshold: 0.25", "learned_threshold: 1.01")
        .replace("learned_sure: 0.9", "learned_sure: 1.01")
        .replace("learned_doubt: 0.5", "learned_doubt: 0.0"),
        encoding="utf-8",
    )
    never = KnowledgeBase.load(folder, load_policy("lanzhou-2013"))
    assert never.model is not None
    (folder / MODEL_FILE).unlink()
    without = KnowledgeBase.load(folder, load_policy("lanzhou-2013"))
    for q in (STORY, "交通罚单在网上怎么交", "要准备哪些申请材料"):
        assert never.answer(q).entry_id == without.answer(q).entry_id


@pytest.mark.parametrize("text", ["好多人", "二十来个"])
def test_a_message_that_asks_nothing_is_not_answered_by_the_model(
    kb: KnowledgeBase, text: str
) -> None:
    # typed into a form (how many employees?): the model may read a topic into it, but nothing
    # was asked, so a refusal of the reading stands and the form asks again
    assert not kb.answer(text).matched


def test_the_models_entry_yields_to_the_exclusions_for_an_excluded_business(
    kb: KnowledgeBase,
) -> None:
    from knowledge.learned import Guess
    from knowledge.unit_answer import entry_reply

    text = "退伍回来想开家KTV，能贷多少"
    a = entry_reply(kb, _unit(text), Guess("veteran_eligible", 0.8), "telegram")
    assert a.entry_id == "excluded_industries", a.answer[:60]
    # and the model's entry stands for a business the policy allows
    b = entry_reply(
        kb, _unit("退伍回来想开家面馆，能贷款吗"), Guess("veteran_eligible", 0.8), "telegram"
    )
    assert b.entry_id == "veteran_eligible"


def test_two_clauses_of_which_one_is_answered_are_read_as_one_question(folder: Path) -> None:
    # "Is it to be re-issued first? Where?": the reading answers only the later clause (去哪补:
    # where to apply); a message answered once is a one-question message, which the model reads
    # whole: the lost certificate
    text = "我的失业证找不到了，是不是要先补办？到哪补？"
    kb = KnowledgeBase.load(folder, load_policy("lanzhou-2013"))
    assert len(kb.understanding.parse(text, kb.lexicon.informative).units) == 2
    assert kb.answer(text).entry_id == "certificate_required"
    (folder / MODEL_FILE).unlink()
    without = KnowledgeBase.load(folder, load_policy("lanzhou-2013"))
    assert without.answer(text).entry_id == "where_apply"


def test_a_part_the_model_finds_implausible_is_dropped_from_several_answers(
    kb: KnowledgeBase,
) -> None:
    from knowledge.model_reading import PLAUSIBLE_NEAR
    from knowledge.model_reading import plausible as _plausible

    text = "我想开个网吧，这种行业能不能贷款"
    g = kb.guess(text, near=PLAUSIBLE_NEAR)
    assert g is not None and g.entry_id is not None and g.p >= 0.5
    likely = {g.entry_id, *g.near}
    stray = next(e.id for e in kb.entries if e.id not in likely and not e.out_of_scope)
    read = [
        (_unit(text), kb.answer_entry(g.entry_id)),
        (_unit("能不能贷款"), kb.answer_entry(stray)),
    ]
    # the whole message is read as one of the answers' topics: the stray part was a misreading
    assert [a.entry_id for _, a in _plausible(kb, text, read)] == [g.entry_id]
    # a part among the model's likeliest stays
    near = [(_unit(text), kb.answer_entry(g.entry_id)), (_unit("?"), kb.answer_entry(g.near[0]))]
    assert _plausible(kb, text, near) == near
    # a reading of the whole that is none of the answers' topics changes nothing
    other = [(_unit(text), kb.answer_entry(stray)), (_unit("?"), kb.answer_entry(g.near[0]))]
    assert _plausible(kb, text, other) == other


def test_how_people_talk_does_not_refuse_what_the_model_reads_confidently(
    kb: KnowledgeBase,
) -> None:
    from knowledge.salience import foreign_words

    text = "贷款这玩意儿一般得等多少天才能到手"
    g = kb.guess(text)
    assert g is not None and g.entry_id == "how_long" and g.p >= kb.config.learned_trust
    # 玩意儿, 到手: words the base never uses, which alone would make it another topic
    assert foreign_words(kb, text, "how_long")
    assert not foreign_words(kb, text, "how_long", trusted=True)
    assert kb.answer(text).entry_id == "how_long"
    # a word naming another loan still refuses it, however sure the model is
    assert foreign_words(kb, "车贷这玩意儿一般多少天能批下来", "how_long", trusted=True)
    assert not kb.answer("车贷这玩意儿一般多少天能批下来").matched


def test_only_words_the_model_learnt_for_the_entry_are_outweighed(kb: KnowledgeBase) -> None:
    from knowledge.salience import foreign_words

    model = kb.model
    assert model is not None
    assert model.speaks_for("玩意儿", "how_long") and model.speaks_for("到手", "how_long")
    # learnt from look-alikes of other topics, or never seen at all: they still count
    assert not model.speaks_for("房贷", "how_long")
    assert not model.speaks_for("花呗", "must_repay")
    assert not model.speaks_for("𠀀𠀁", "how_long") and not model.speaks_for("到手", "nope")
    text = "花呗到期了不用还吧"
    assert foreign_words(kb, text, "must_repay", trusted=True)
    assert not kb.answer(text).matched


@pytest.mark.parametrize("text", ["这种贷款得抵押房子不", "我想贷款开店，要抵押房子吗"])
def test_a_loan_question_the_model_trusts_is_not_pointed_elsewhere(folder: Path, text: str) -> None:
    # the ranking finds mortgages (抵押, 房子) and points there; the model reads the guarantee
    kb = KnowledgeBase.load(folder, load_policy("lanzhou-2013"))
    assert kb.answer(text).entry_id == "need_guarantor"
    cfg = folder / "retrieval.yaml"
    cfg.write_text(
        cfg.read_text(encoding="utf-8").replace("learned_trust: 0.5", "learned_trust: 1.01"),
        encoding="utf-8",
    )
    untrusted = KnowledgeBase.load(folder, load_policy("lanzhou-2013"))
    assert untrusted.answer(text).out_of_scope
    # a question about the other loan itself keeps its pointer
    assert kb.answer("房贷要抵押房子吗").out_of_scope
