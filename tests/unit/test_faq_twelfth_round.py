"""Issue 12, twelfth round: yes/no openings judged on the read sets (fresh16–fresh18) while
fresh15 is held out, each on examples of its own (none taken from knowledge/eval), against the
packaged knowledge base and the Lanzhou policy."""

from __future__ import annotations

from pathlib import Path

import pytest

import knowledge
from knowledge import KnowledgeBase
from knowledge.policy import load_policy
from knowledge.schema import parse_folder, placeholder_values
from knowledge.yesno import polarity


def _opens(kb: KnowledgeBase, question: str) -> tuple[str | None, str | None]:
    a = kb.answer(question)
    return a.entry_id, polarity(a.answer)


# --- a claim that something may not be done ---------------------------------------------------------


@pytest.mark.parametrize(
    "question", ["足疗店不让贷款，对吧", "听说开网咖的不能申请，是真的吗", "贷款不可以拿去买基金吧"]
)
def test_a_claim_that_the_policy_forbids_it_is_confirmed(kb: KnowledgeBase, question: str) -> None:
    # before: "不是，按摩属于不能申请的行业": a "no" that contradicts what follows it
    entry, opens = _opens(kb, question)
    assert entry in {"excluded_industries", "forbidden_uses"}
    assert opens == "yes"


@pytest.mark.parametrize("question", ["开个足疗店能贷吗", "贷款能拿去买基金吗"])
def test_asking_whether_it_may_be_done_is_still_refused(kb: KnowledgeBase, question: str) -> None:
    assert _opens(kb, question)[1] == "no"


# --- "not more than" is a claim of the limit --------------------------------------------------------


def test_a_limit_said_as_not_more_than_is_confirmed_when_it_is_the_cap(kb: KnowledgeBase) -> None:
    # before: 超过 read as asking for more than 30万: "不是，合伙经营共同申请最高30万元"
    entry, opens = _opens(kb, "几个人合伙办，加起来不得超过30万，是这样吧")
    assert entry == "amount_partnership" and opens == "yes"
    assert _opens(kb, "合伙的总共不能超过20万对吗") == ("amount_partnership", "no")


def test_asking_for_more_than_the_cap_is_still_refused(kb: KnowledgeBase) -> None:
    assert _opens(kb, "合伙的能超过30万吗") == ("amount_partnership", "no")


# --- a figure said back with a question mark --------------------------------------------------------


def test_a_figure_said_back_with_a_question_mark_is_a_yes_no_question(kb: KnowledgeBase) -> None:
    a = kb.answer("街道复核要8个工作日？")
    assert a.entry_id == "how_long"
    assert polarity(a.answer) == "no" and "2个工作日" in a.answer.split("。")[0]
    assert polarity(kb.answer("街道复核要2个工作日？").answer) == "yes"


def test_a_figure_asked_for_is_not_read_as_a_claim(kb: KnowledgeBase) -> None:
    a = kb.answer("街道复核要几个工作日？")
    assert polarity(a.answer) is None


# --- any verb asked "A not A" ------------------------------------------------------------------------


def test_a_verb_asked_a_not_a_gets_the_opening(kb: KnowledgeBase) -> None:
    a = kb.answer("退役军人贷8万批不批")
    assert a.entry_id == "veteran_eligible" and polarity(a.answer) == "no"


# --- the entry's own openings: the rule confirmed, the policy's articles -----------------------------


def test_whether_one_must_come_in_person_is_confirmed(kb: KnowledgeBase) -> None:
    # the in-person entry's answer opens 不可以 (to 代办); asked the rule itself, it is 是的
    assert _opens(kb, "一定得本人亲自去办吗") == ("in_person", "yes")
    assert _opens(kb, "能让我老婆替我去办手续吗") == ("in_person", "no")


def test_that_a_firm_pays_the_rate_above_the_base_is_confirmed(kb: KnowledgeBase) -> None:
    entry, opens = _opens(kb, "企业贷款上浮那部分利息是企业自己承担吧")
    assert entry == "enterprise_subsidy" and opens == "yes"
    assert _opens(kb, "企业贷款上浮的利息贴不贴")[1] == "no"


def test_stated_openings_cite_the_policy_in_force(kb: KnowledgeBase) -> None:
    values = placeholder_values(kb.policy)
    says = [o.say for e in kb.entries for o in e.openings]
    assert says and not any("{" in s for s in says)
    in_person = kb.entry("in_person")
    assert in_person is not None
    assert any(values["art_in_person"] in o.say for o in in_person.openings)


def _folder_with_opening(tmp_path: Path, say: str) -> Path:
    import shutil

    dst = tmp_path / "kb"
    shutil.copytree(knowledge.PACKAGE_DIR, dst, ignore=shutil.ignore_patterns("__pycache__"))
    faq = dst / "faq" / "eligibility.yaml"
    text = faq.read_text(encoding="utf-8")
    old = "say: 是的，个人贷款申请人应亲自办理贷款申请手续（{art_in_person}）。"
    assert old in text
    faq.write_text(text.replace(old, f"say: {say}"), encoding="utf-8")
    return dst


@pytest.mark.parametrize(
    ("say", "problem"),
    [
        ("是的，见{art_nowhere}。", "未知占位符"),
        ("是的（{art_in_person}），" + "须本人办理" * 11 + "。", "填充后超过"),
    ],
)
def test_a_bad_stated_opening_is_reported(tmp_path: Path, say: str, problem: str) -> None:
    folder = _folder_with_opening(tmp_path, say)
    values = placeholder_values(load_policy("lanzhou-2013"))
    _, problems = parse_folder(folder, values)
    found = [p for p in problems if p.entry_id == "in_person" and p.error]
    assert found and problem in found[0].message


# --- a choice asked as 是 A 还是 B ---------------------------------------------------------------------


def test_a_choice_between_two_things_asks(kb: KnowledgeBase) -> None:
    und = kb.understanding
    assert und.asks("利息是我自己出还是公家出")
    assert und.asks("咱这种是走个人贷还是企业贷")
    # 还是 as "still" asks nothing
    assert not und.asks("我还是想开个面馆")
    assert not und.asks("我想了很久还是决定自己干")
