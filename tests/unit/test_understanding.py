"""Reading a message before ranking (issue 12): stories, several questions, look-alike off-topic
questions, yes/no openings, follow-ups, pinyin and typos — on examples of their own (none taken
from knowledge/eval), against the packaged knowledge base and the Lanzhou policy."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

import knowledge
from knowledge import KnowledgeBase
from knowledge.eval_report import judge
from knowledge.evaluation import EvalQuestion, load_questions
from knowledge.policy import load_policy
from knowledge.schema import SMS_MAX_CHARS
from knowledge.understand import Understanding

FOLDER = knowledge.PACKAGE_DIR
AMOUNT_IDS = {"unemployed_eligible", "amount_individual", "woman_eligible", "amount_overlap"}


# --- 1. long questions with personal context -----------------------------------------------------


def test_story_facts_go_with_the_asking_clause(und: Understanding) -> None:
    text = (
        "我舅舅在纸箱厂干了二十年，厂子倒闭后一直闲着，想在小区门口卖烧饼，这样的人最多能贷多少钱"
    )
    parsed = und.parse(text, informative=lambda t: "多少" in t)
    assert parsed.story and len(parsed.units) == 1
    unit = parsed.units[0]
    assert unit.question == "这样的人最多能贷多少钱"
    assert unit.query.startswith("失业人员") and "纸箱厂" not in unit.query


def test_story_without_a_topic_of_its_own_keeps_the_story(und: Understanding) -> None:
    text = "材料三个月前就交上去了，街道说早报了，银行一直没消息，这正常吗"
    # 这正常吗 points back (anaphora): with a topic of its own it takes the clause just before it
    assert und.parse(text, lambda t: True).units[0].query == "银行一直没消息这正常吗"
    assert "银行一直没消息" in und.parse(text, lambda t: False).units[0].query


def test_a_question_naming_its_own_group_keeps_it(und: Understanding) -> None:
    text = "我们四个都是去年的大专毕业生，想一起开个奶茶铺，合伙的话总共最多能贷多少"
    unit = und.parse(text, informative=lambda t: True).units[0]
    assert unit.query == "合伙的话总共最多能贷多少"  # no 毕业生 from the story


def test_issue_story_is_answered_with_the_amount(kb: KnowledgeBase) -> None:
    a = kb.answer(
        "我妈今年五十了，以前在纺织厂上班，厂子改制后一直在家，现在想在菜场边上开个小面馆，像她这样的能贷多少"
    )
    assert a.matched and a.entry_id in AMOUNT_IDS, a


# --- 2. several questions in one message ---------------------------------------------------------


def test_several_questions_are_answered_each_in_order(kb: KnowledgeBase) -> None:
    a = kb.answer("申请要带什么材料？贷款期限最长几年？")
    assert a.matched and [p.entry_id for p in a.parts] == ["docs_individual", "term_length"]
    assert a.answer.startswith("【1】申请要带什么材料") and "\n\n【2】贷款期限最长几年" in a.answer
    data = a.to_json()
    for key in ("question", "matched", "entry_id", "answer", "score", "source", "suggestions"):
        assert key in data
    assert data["entry_id"] == "docs_individual"
    assert [p["entry_id"] for p in data["parts"]] == ["docs_individual", "term_length"]
    assert "parts" not in kb.answer("申请要带什么材料").to_json()


def test_several_questions_by_sms_fit_and_offer_the_rest(kb: KnowledgeBase) -> None:
    a = kb.answer("企业申请要哪些材料？审批要几天？有贴息吗？", channel="sms")
    assert len(a.parts) >= 2 and len(a.answer) <= SMS_MAX_CHARS
    first = kb.answer_entry(a.parts[0].entry_id or "", "sms").answer
    assert a.answer.startswith(first)


def test_a_comma_does_not_split_one_question(kb: KnowledgeBase) -> None:
    a = kb.answer("我是复员军人，想问一下，能申请吗")
    assert not a.parts and a.entry_id == "veteran_eligible"


# --- 3. look-alike off-topic questions --------------------------------------------------------


@pytest.mark.parametrize("question", ["宠物店开业要交多少押金", "驾校开业押金要交多少"])
def test_lookalike_with_foreign_salient_words_is_refused(kb: KnowledgeBase, question: str) -> None:
    a = kb.answer(question)
    assert not a.matched, a


def test_business_names_are_not_held_against_the_question(kb: KnowledgeBase) -> None:
    assert kb.answer("开个花店能贷款吗").matched
    assert kb.answer("开个打印店能申请贷款吗").matched


@pytest.mark.parametrize("question", ["微粒贷提前还款要手续费吗", "房贷提前还清有违约金吗"])
def test_words_of_another_topic_refuse_a_lookalike(kb: KnowledgeBase, question: str) -> None:
    a = kb.answer(question)
    assert not a.matched, a  # not the programme's early repayment


def test_another_topics_word_is_fine_where_the_entry_uses_it(kb: KnowledgeBase) -> None:
    a = kb.answer("我名下有一套房子的房贷，影响申请创业担保贷款不")
    assert a.matched and a.entry_id == "other_loans", a


# --- 4. yes/no openings from the policy -----------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "head"),
    [
        ("当过兵的能贷20万吗", "不能，城镇复员转业退役军人最高5万元。"),
        ("妇女最高能贷8万是吗", "是的，城乡妇女最高8万元。"),
        ("企业最多贷两百万对吧", "是的，劳动密集型小企业最高200万元。"),
        ("贷款期限最长能到5年吗", "不能，个人贷款期限最长2年。"),
        ("开歌厅能申请贷款吗", "不能，娱乐业属于不能申请的行业"),
        ("贷下来能拿去买基金吗", "不能，贷款不能用于股票、债券、基金投资"),
        ("公司贷款期限能有两年吗", "可以，企业贷款期限最长2年。"),
        ("合伙贷款能借三年吗", "不能，合伙贷款期限最长2年。"),
    ],
)
def test_yes_no_opening_follows_the_policy(kb: KnowledgeBase, question: str, head: str) -> None:
    a = kb.answer(question)
    assert a.matched and a.answer.startswith(head), a.answer[:80]
    assert "\n可以。" not in a.answer  # the entry's own opening is replaced


def test_opening_follows_a_policy_switch() -> None:
    kb = KnowledgeBase.load(FOLDER, load_policy("national-2023"))
    a = kb.answer("当过兵的能贷20万吗")
    assert a.matched and a.answer.startswith("可以"), a.answer[:60]


# --- 5. follow-ups -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "previous", "expected"),
    [
        ("合伙一起干的呢？", "amount_individual", "amount_partnership"),
        ("那要多久？", "process_steps", "how_long"),
    ],
)
def test_followup_resolves_against_the_previous_entry(
    kb: KnowledgeBase, question: str, previous: str, expected: str
) -> None:
    assert kb.answer(question, previous=previous).entry_id == expected


def test_followup_names_its_own_group(kb: KnowledgeBase) -> None:
    a = kb.answer("那我老婆呢，她最多能贷多少", previous="veteran_eligible")
    assert a.entry_id in {"woman_eligible", "amount_individual"}, a


def test_followup_without_previous_or_unknown_previous_is_safe(kb: KnowledgeBase) -> None:
    a = kb.answer("那要多久？", previous="no_such_entry")
    assert a.question == "那要多久？"


# --- 6. dialect, typos, pinyin, traditional, w ---------------------------------------------------


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("qiye dk zuigao duoshao", "enterprise_amount"),
        ("lixi zenme suan", "interest_free"),
        ("退役軍人能貸多少", "veteran_eligible"),
        ("创业担宝代款在哪办", "where_apply"),
        ("创业单保贷宽去哪申请", "where_apply"),
    ],
)
def test_spelling_variants_land_on_the_entry(
    kb: KnowledgeBase, question: str, expected: str
) -> None:
    a = kb.answer(question)
    assert a.entry_id == expected, a


def test_latin_that_spells_nothing_is_kept(kb: KnowledgeBase) -> None:
    from knowledge.pinyin import spell_out

    assert spell_out(kb, "开KTV行不行") == "开KTV行不行"
    assert spell_out(kb, "能贷10w不") == "能贷10w不"


# --- evaluation format and report ----------------------------------------------------------------


def test_judge_multi_positions_and_order() -> None:
    assert judge([("a",), ("b",)], ["a", "b"]) == "right"
    assert judge([("a",), ("b",)], ["b", "a"]) == "partial"
    assert judge([("a",), ("b",)], ["a"]) == "partial"
    assert judge([("a",), ("b",)], ["a", "c"]) == "wrong"
    assert judge([("a", "x"), ("b", "a")], ["a"]) == "right"
    assert judge([("a",)], []) == "refused"


def test_eval_format_accepts_also_labels_and_context(tmp_path: object) -> None:
    from pathlib import Path

    path = Path(str(tmp_path)) / "set.yaml"
    path.write_text(
        "questions:\n"
        "  - {q: 问一, label: a, also: [b]}\n"
        "  - {q: 问二, labels: [a, [b, c]], style: multi}\n"
        "  - {q: 那呢, label: a, context: 问一}\n",
        encoding="utf-8",
    )
    qs = load_questions(path)
    assert qs[0].expected == (("a", "b"),)
    assert qs[1].multi and qs[1].expected == (("a",), ("b", "c")) and qs[1].label == "a"
    assert qs[2].context == "问一" and qs[2].expected == (("a",),)
    assert EvalQuestion("q", "ood").expected == (("ood",),)
    path.write_text("questions:\n  - {q: 问, labels: []}\n", encoding="utf-8")
    with pytest.raises(ValueError):
        load_questions(path)


def test_cli_kb_eval_runs_every_set() -> None:
    import typer

    from server.cli_kb import register

    app = typer.Typer()
    register(app)
    r = CliRunner().invoke(app, ["kb", "eval", "--json", "--policy", "lanzhou-2013"])
    assert r.exit_code == 0, r.output
    sets = {s["set"]: s for s in json.loads(r.stdout)["sets"]}
    expected = {
        "dev.yaml",
        "fresh.yaml",
        "fresh2.yaml",
        "fresh3.yaml",
        "fresh4.yaml",
        "fresh5.yaml",
    }
    assert expected <= set(sets)
    for s in sets.values():
        for key in ("answered_right", "top3", "wrong_confident", "off_topic_accepted"):
            assert 0.0 <= s[key] <= 1.0


def test_kb_check_reports_stale_labels_of_every_eval_set(tmp_path: object) -> None:
    import shutil
    from pathlib import Path

    from knowledge import check_folder

    folder = Path(str(tmp_path)) / "kb"
    shutil.copytree(Path(__file__).resolve().parents[1] / "fixtures" / "kb", folder)
    (folder / "eval" / "fresh9.yaml").write_text(
        "questions:\n"
        "  - {q: 问一, labels: [need_guarantor, no_such_entry]}\n"
        "  - {q: 问二, label: none}\n",
        encoding="utf-8",
    )
    problems = [str(p) for p in check_folder(folder, None)]
    assert any("eval/fresh9.yaml: no_such_entry: 未知条目" in p for p in problems), problems
    assert not any("none" in p for p in problems)
