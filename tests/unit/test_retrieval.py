"""FAQ retrieval over the fixture base (tests/fixtures/kb): answers, fallback, schema, reload, CLI."""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import replace
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

import knowledge
from knowledge import Answer, KnowledgeBase, KnowledgeError, RetrievalConfig
from knowledge.answers import ALSO_ASK, EMPTY_PROMPT, HANDOFF_OFFER
from knowledge.decision import Ranked, Ranking, decide
from knowledge.evaluation import (
    leave_one_out,
    load_questions,
    metrics,
    oos_ids_of,
    predict,
    write_config,
)
from tests.contracts import LANZHOU_2013

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "kb"

#: The placeholders the fixture base uses: Lanzhou 2013's values and a caveat line.
POLICY = {
    "caveat": "以上为兰州2013年实施办法标准。",
    **{
        key: LANZHOU_2013[key]
        for key in (
            "policy_name", "policy_doc", "policy_short", "cap_unemployed", "cap_woman",
            "cap_graduate", "term_individual", "art_caps", "art_process", "days_individual",
            "days_community", "days_street", "days_guarantee", "days_bank",
        )
    },
}  # fmt: skip
JSON_KEYS = ["question", "matched", "entry_id", "answer", "score", "source", "suggestions"]


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return KnowledgeBase.load(FIXTURE, POLICY)


@pytest.fixture
def kb_copy(tmp_path: Path) -> Path:
    dst = tmp_path / "kb"
    shutil.copytree(FIXTURE, dst)
    return dst


# --- answers -----------------------------------------------------------------------------------


def test_loads_entries(kb: KnowledgeBase) -> None:
    ids = [e.id for e in kb.entries]
    assert ids[:2] == ["amount_individual", "docs_individual"]
    assert {e.id for e in kb.entries if e.out_of_scope} == {"oos_mortgage", "oos_chitchat"}


@pytest.mark.parametrize(
    ("question", "entry_id"),
    [
        ("个人最多能贷多少？", "amount_individual"),
        ("下岗职工能贷几万", "amount_individual"),
        ("創業貸最多給多少", "amount_individual"),
        ("办创业贷要带啥材料啊", "docs_individual"),
        ("要不要找担保人", "need_guarantor"),
        ("从申请到放款要多少天", "how_long"),
    ],
)
def test_matches(kb: KnowledgeBase, question: str, entry_id: str) -> None:
    a = kb.answer(question)
    assert a.matched, a
    assert a.entry_id == entry_id
    assert len(a.suggestions) <= 1  # at most a close runner-up ("您可能还想问")
    assert 0.0 < a.score <= 1.0


def test_answer_renders_placeholders_per_channel(kb: KnowledgeBase) -> None:
    full = kb.answer("个人最多能贷多少")
    sms = kb.answer("个人最多能贷多少", channel="sms")
    assert "5万元" in full.answer and "第十四条" in full.answer and "{" not in full.answer
    assert sms.answer == "失业人员最高5万元，妇女8万元，毕业生10万元，期限2年。"
    assert full.source == sms.source == "兰政发〔2013〕76号 第十四条"


def test_handoff_flag(kb: KnowledgeBase) -> None:
    a = kb.answer("贷款到期还不上会怎么样")
    assert a.matched and a.entry_id == "overdue_consequence" and a.handoff


def test_out_of_scope(kb: KnowledgeBase) -> None:
    a = kb.answer("房贷利率多少")
    assert not a.matched
    assert a.out_of_scope and a.entry_id is None
    assert a.answer == "房贷不属于创业担保贷款，请咨询银行。"
    assert a.suggestions == []


def test_dont_know_offers_three_suggestions_and_handoff(kb: KnowledgeBase) -> None:
    none = kb.answer("护照过期了在哪换新的")
    assert not none.matched and none.suggestions == [] and HANDOFF_OFFER in none.answer
    a = kb.answer("贷款的钱能拿去炒股票吗")
    assert not a.matched and not a.out_of_scope and a.entry_id is None
    assert 1 <= len(a.suggestions) <= 3
    assert all(s in {e.question for e in kb.entries} for s in a.suggestions)
    assert HANDOFF_OFFER in a.answer
    sms = kb.answer("贷款的钱能拿去炒股票吗", channel="sms")
    assert len(sms.answer) <= 134 and HANDOFF_OFFER in sms.answer


@pytest.mark.parametrize("question", ["", "   ", "😀😀", "？？？", "！", "……"])
def test_empty_questions(kb: KnowledgeBase, question: str) -> None:
    a = kb.answer(question)
    assert not a.matched and a.entry_id is None
    assert a.answer == EMPTY_PROMPT
    assert a.score == 0.0


def test_very_long_question_does_not_crash(kb: KnowledgeBase) -> None:
    a = kb.answer("我想问一下" + "贷款" * 5000)
    assert isinstance(a, Answer)
    assert len(a.question) <= 1000
    json.dumps(a.to_json(), ensure_ascii=False)


def test_to_json_keys(kb: KnowledgeBase) -> None:
    for q in ("个人最多能贷多少", "房贷利率多少", "今天星期几啊朋友", ""):
        data = kb.answer(q).to_json()
        assert list(data)[: len(JSON_KEYS)] == JSON_KEYS


def test_answer_entry(kb: KnowledgeBase) -> None:
    a = kb.answer_entry("how_long", channel="sms")
    assert a.matched and a.entry_id == "how_long" and "18" in a.answer
    with pytest.raises(KeyError):
        kb.answer_entry("nope")


def test_decision_respects_threshold_and_margin(kb: KnowledgeBase) -> None:
    r = kb.rank("个人最多能贷多少")
    assert r.best is not None and r.best.entry.id == "amount_individual"
    assert decide(r, 0.0, 0.0).matched
    assert not decide(r, 1.01, 0.0).answered


def _ranking(kb: KnowledgeBase, ids: list[str], scores: list[float], conf: float) -> Ranking:
    entries = [kb.entry(i) for i in ids]
    items = tuple(Ranked(e, s, e.question) for e, s in zip(entries, scores, strict=True) if e)
    return Ranking(items, conf, scores[0] - scores[1])


def test_close_in_domain_runner_up_is_answered_with_a_suggestion(kb: KnowledgeBase) -> None:
    r = _ranking(
        kb, ["amount_individual", "docs_individual", "oos_mortgage"], [0.9, 0.89, 0.5], 0.8
    )
    d = decide(r, 0.5, 0.03)
    assert d.answered and d.matched and d.runner_up is not None
    assert d.runner_up.entry.id == "docs_individual"
    assert not decide(r, 0.81, 0.03).answered  # confidence still rules
    far = _ranking(kb, ["amount_individual", "docs_individual"], [0.9, 0.5], 0.8)
    assert decide(far, 0.5, 0.03).runner_up is None


def test_close_out_of_scope_entry_refuses(kb: KnowledgeBase) -> None:
    runner = _ranking(kb, ["amount_individual", "oos_mortgage"], [0.9, 0.89], 0.8)
    assert not decide(runner, 0.5, 0.03).answered
    third = _ranking(
        kb, ["amount_individual", "docs_individual", "oos_mortgage"], [0.9, 0.89, 0.88], 0.8
    )
    assert not decide(third, 0.5, 0.03).answered
    top = _ranking(kb, ["oos_mortgage", "amount_individual"], [0.9, 0.89], 0.8)
    assert not decide(top, 0.5, 0.03).answered
    clear = _ranking(kb, ["oos_mortgage", "amount_individual"], [0.9, 0.5], 0.8)
    assert decide(clear, 0.5, 0.03).out_of_scope


def test_answer_offers_the_close_runner_up(kb_copy: Path) -> None:
    q = "办创业贷要带啥材料啊"
    r = KnowledgeBase.load(kb_copy, POLICY).rank(q)
    assert [x.entry.id for x in r.items[:2]] == ["docs_individual", "overdue_consequence"]
    assert not any(x.entry.out_of_scope for x in r.items)
    cfg = replace(RetrievalConfig.load(kb_copy), threshold=0.0, margin=r.gap + 0.001)
    kb = KnowledgeBase.load(kb_copy, POLICY, cfg)
    a = kb.answer(q)
    second = r.items[1].entry
    assert a.matched and a.entry_id == "docs_individual"
    assert a.suggestions == [second.question] and a.suggestion_ids == [second.id]
    assert a.answer.endswith(ALSO_ASK + second.question)
    sms = kb.answer(q, channel="sms")
    assert ALSO_ASK not in sms.answer and sms.suggestions == a.suggestions


def test_the_package_reads_no_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """POLICY and DATA_DIR are the server's to read: knowledge.answer uses the packaged default,
    and there is no process-wide default for the composition root to overwrite."""
    monkeypatch.setenv("POLICY", "no-such-policy")
    monkeypatch.setenv("DATA_DIR", "/nonexistent/chuangdai")
    assert not hasattr(knowledge, "set_default")
    assert knowledge.answer("下岗证能贷多少钱").matched


# --- evaluation --------------------------------------------------------------------------------


def test_evaluation_on_fixture(kb: KnowledgeBase) -> None:
    qs = load_questions(FIXTURE / "eval" / "dev.yaml")
    preds = predict(kb, qs)
    m = metrics(preds, oos_ids_of(kb), kb.config.threshold, kb.config.margin)
    assert m.n_in == 7 and m.n_ood == 3
    assert m.top3 == 1.0
    assert m.top1_raw >= 0.7
    assert m.ood_rejection == 1.0
    loo = leave_one_out(kb)
    assert len(loo) == sum(len(e.texts) for e in kb.entries)


# --- schema and reload -------------------------------------------------------------------------


def test_schema_errors_list_every_problem(kb_copy: Path) -> None:
    (kb_copy / "faq" / "broken.yaml").write_text(
        """entries:
  - id: Bad-Id
    question: 问题
    answer: 答案
    short: 短
    source: 来源
  - id: amount_individual
    question: 重复
    paraphrases: [a, b, c, d, e]
    answer: "{no_such_placeholder}"
    short: 短
    source: 来源
  - id: missing_answer
    question: 没有答案
    short: 短
    source: 来源
""",
        encoding="utf-8",
    )
    with pytest.raises(KnowledgeError) as exc:
        KnowledgeBase.load(kb_copy, POLICY)
    text = "\n".join(exc.value.problems)
    assert "broken.yaml: Bad-Id: id 必须是 snake_case" in text
    assert "broken.yaml: amount_individual: answer 使用了未知占位符：{no_such_placeholder}" in text
    assert "broken.yaml: missing_answer: 缺少字段或不是非空文本：answer" in text


def test_reload_only_when_files_change(kb_copy: Path) -> None:
    kb = KnowledgeBase.load(kb_copy, POLICY)
    assert kb.reload() is False
    f = kb_copy / "faq" / "basics.yaml"
    st = f.stat()
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))  # touched, same bytes
    assert kb.reload() is False
    text = f.read_text(encoding="utf-8").replace(
        "      - 个人申请最高额度\n", "      - 个人申请最高额度\n      - 我这种情况能贷几个钱\n"
    )
    f.write_text(text, encoding="utf-8")
    assert kb.reload() is True
    assert "我这种情况能贷几个钱" in kb.entry("amount_individual").paraphrases  # type: ignore[union-attr]
    f.write_text("entries:\n  - id: broken\n", encoding="utf-8")
    st = f.stat()  # a later modification time, whatever the file system's clock resolution
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns + 10_000_000_000))
    with pytest.raises(KnowledgeError):
        kb.reload()
    assert kb.answer("个人最多能贷多少").entry_id == "amount_individual"  # old index kept


def test_config_file_is_used(kb_copy: Path) -> None:
    cfg = RetrievalConfig(threshold=0.99)
    write_config(kb_copy, cfg)
    kb = KnowledgeBase.load(kb_copy, POLICY)
    assert kb.config.threshold == 0.99
    assert not kb.answer("要不要找担保人").matched or kb.answer("要不要找担保人").score >= 0.99


def test_expired_entries_are_not_answered(kb_copy: Path) -> None:
    f = kb_copy / "faq" / "basics.yaml"
    text = f.read_text(encoding="utf-8").replace(
        "    tags: [时限]\n", "    tags: [时限]\n    effective_to: 2000-01-01\n"
    )
    f.write_text(text, encoding="utf-8")
    kb = KnowledgeBase.load(kb_copy, POLICY)
    assert "how_long" not in {e.id for e in kb.entries}
    assert kb.answer("从申请到放款要多少天").entry_id != "how_long"


# --- CLI ---------------------------------------------------------------------------------------


ARGS = ["--folder", str(FIXTURE), "--policy", "lanzhou-2013"]


def test_cli_ask(cli: typer.Typer) -> None:
    r = CliRunner().invoke(cli, ["ask", "个人最多能贷多少", "--json", *ARGS])
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert list(data)[: len(JSON_KEYS)] == JSON_KEYS
    assert data["entry_id"] == "amount_individual"
    r = CliRunner().invoke(cli, ["ask", "个人最多能贷多少", "--channel", "sms", *ARGS])
    assert r.exit_code == 0 and "5万元" in r.stdout
    r = CliRunner().invoke(cli, ["ask", "个人最多能贷多少", "--channel", "fax", *ARGS])
    assert r.exit_code != 0


def test_cli_ask_batch(cli: typer.Typer, tmp_path: Path) -> None:
    f = tmp_path / "q.txt"
    f.write_text("个人最多能贷多少\n房贷利率多少\n\n护照在哪办\n", encoding="utf-8")
    r = CliRunner().invoke(cli, ["ask", "--batch", str(f), "--json", *ARGS])
    assert r.exit_code == 0, r.output
    rows = [json.loads(line) for line in r.stdout.splitlines()]
    assert len(rows) == 4
    assert rows[0]["entry_id"] == "amount_individual"
    assert rows[1]["matched"] is False and rows[1]["suggestions"] == []
    assert rows[2]["matched"] is False
    assert "房贷" in r.stdout  # ensure_ascii=False


def test_cli_kb_check(cli: typer.Typer, kb_copy: Path) -> None:
    r = CliRunner().invoke(cli, ["kb", "check", *ARGS])
    assert r.exit_code == 0, r.output
    assert "检查通过" in r.stdout
    f = kb_copy / "faq" / "extra.yaml"
    f.write_text(
        """entries:
  - id: dup_entry
    question: 要不要找担保人
    paraphrases: [只有一条]
    answer: 答
    short: "{policy_name}{policy_name}{policy_name}{policy_name}{policy_name}"
    source: 来源
""",
        encoding="utf-8",
    )
    r = CliRunner().invoke(cli, ["kb", "check", "--folder", str(kb_copy)])
    assert r.exit_code == 1
    out = r.stdout
    assert (
        "extra.yaml: dup_entry: 问法“要不要找担保人”与 need_guarantor（basics.yaml）的问法重复"
        in out
    )
    assert "extra.yaml: dup_entry: 相似问只有 1 条" in out
    assert "extra.yaml: dup_entry: 短信答案填充后" in out


def test_cli_kb_eval(cli: typer.Typer) -> None:
    dev = str(FIXTURE / "eval" / "dev.yaml")
    r = CliRunner().invoke(cli, ["kb", "eval", dev, "--json", *ARGS])
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    for key in ("top1", "top3", "ood_rejection", "false_accept", "sweep", "misses", "loo"):
        assert key in data
    r = CliRunner().invoke(cli, ["kb", "eval", dev, "--no-loo", *ARGS])
    assert r.exit_code == 0 and "top-3 召回" in r.stdout


def test_cli_kb_eval_summary_names_no_question(cli: typer.Typer) -> None:
    """A held-out set is measured by its figures alone: no question, expected id or miss."""
    dev = FIXTURE / "eval" / "dev.yaml"
    questions = [q.q for q in load_questions(dev)]
    for extra in ([], ["--json"]):
        r = CliRunner().invoke(cli, ["kb", "eval", str(dev), "--summary", *extra, *ARGS])
        assert r.exit_code == 0, r.output
        assert "dev" in r.stdout
        assert not any(q in r.stdout for q in questions)
        assert "未答对" not in r.stdout and "misses" not in r.stdout
    data = json.loads(r.stdout)
    assert data["sets"][0]["n_in"] > 0
    r = CliRunner().invoke(cli, ["kb", "eval", str(dev), "--summary", "--misses", *ARGS])
    assert r.exit_code == 1 and "不能同时使用" in r.output
