"""The packaged knowledge base: size, schema, `kb check`, dev-set quality and variant robustness.

Skipped only while knowledge/faq/ is still empty.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from opencc import OpenCC

import knowledge
from knowledge import KnowledgeBase, check_folder
from knowledge.evaluation import (
    OOD_LABEL,
    EvalQuestion,
    load_questions,
    metrics,
    oos_ids_of,
    predict,
)
from knowledge.policy import load_policy

FOLDER = knowledge.PACKAGE_DIR
DEV = FOLDER / "eval" / "dev.yaml"

pytestmark = pytest.mark.skipif(
    not any((FOLDER / "faq").glob("*.yaml")), reason="knowledge/faq/ is still empty"
)


@pytest.fixture(scope="module")
def policy() -> object:
    return load_policy("lanzhou-2013")


@pytest.fixture(scope="module")
def kb(policy: object) -> KnowledgeBase:
    return KnowledgeBase.load(FOLDER, policy)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def dev() -> list[EvalQuestion]:
    if not DEV.exists():
        pytest.skip("knowledge/eval/dev.yaml is missing")
    return load_questions(DEV)


def test_size(kb: KnowledgeBase) -> None:
    faq = [e for e in kb.entries if not e.out_of_scope]
    assert len(faq) >= 60, f"only {len(faq)} FAQ entries"
    assert any(e.out_of_scope for e in kb.entries)


def test_kb_check_is_clean(policy: object) -> None:
    problems = check_folder(FOLDER, policy)  # type: ignore[arg-type]
    assert not problems, "\n".join(map(str, problems))


def test_dev_questions_are_not_copied_from_the_base(
    kb: KnowledgeBase, dev: list[EvalQuestion]
) -> None:
    norm = kb.normalizer  # same spelling after width/script/number/synonym folding = a copy
    base = {norm.normalize(t): e.id for e in kb.entries for t in e.texts}
    leaked = [(q.q, base[t]) for q in dev if (t := norm.normalize(q.q)) in base]
    assert not leaked, leaked


def test_dev_accuracy_and_rejection(kb: KnowledgeBase, dev: list[EvalQuestion]) -> None:
    cfg = kb.config
    m = metrics(predict(kb, dev), oos_ids_of(kb), cfg.threshold, cfg.margin)
    misses = "\n".join(f"{x.question} | {x.expected} → {x.got} ({x.score:.2f})" for x in m.misses)
    assert m.top1 >= 0.95, f"top-1 {m.top1:.3f}\n{misses}"
    assert m.ood_rejection >= 0.95, f"OOD rejection {m.ood_rejection:.3f}\n{misses}"


# --- variants: the same question written differently lands on the same entry --------------------

_S2T = OpenCC("s2t")
_FULLWIDTH = {i: i + 0xFEE0 for i in range(0x21, 0x7F)}


def traditional(q: str) -> str:
    return str(_S2T.convert(q))


def fullwidth(q: str) -> str:
    return q.translate(_FULLWIDTH)


def fillers(q: str) -> str:
    return "请问" + re.sub(r"[？?！!。]*$", "", q) + "呢？"


def chatty(q: str) -> str:
    return "你好，" + re.sub(r"[？?！!。]*$", "", q) + "啊哈"


_CN = {"5": "五", "8": "八", "10": "十", "30": "三十", "3": "三", "2": "两", "20": "二十"}


def wan_words(q: str) -> str:
    return re.sub(r"(\d+)万", lambda m: _CN.get(m.group(1), m.group(1)) + "万", q)


def wan_w(q: str) -> str:
    return re.sub(r"(\d+)万", r"\1w", q)


VARIANTS: dict[str, Callable[[str], str]] = {
    "traditional": traditional,
    "fullwidth": fullwidth,
    "fillers": fillers,
    "chatty": chatty,
}


def _sample(dev: list[EvalQuestion], n: int = 40) -> list[EvalQuestion]:
    inside = [q for q in dev if q.label != OOD_LABEL]
    step = max(1, len(inside) // n)
    return inside[::step][:n]


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_variants_land_on_the_same_entry(
    kb: KnowledgeBase, dev: list[EvalQuestion], variant: str
) -> None:
    make = VARIANTS[variant]
    moved = []
    for q in _sample(dev):
        a, b = kb.answer(q.q), kb.answer(make(q.q))
        if (a.entry_id, a.matched) != (b.entry_id, b.matched):
            moved.append((q.q, make(q.q), a.entry_id, b.entry_id))
    assert not moved, moved


def test_amount_spellings_land_on_the_same_entry(kb: KnowledgeBase) -> None:
    base = ["我想贷10万", "能贷5万吗", "下岗证能贷5万不", "毕业生能贷10万吗", "合伙能贷30万吗"]
    moved = []
    for q in base:
        ref = kb.answer(q)
        for v in (wan_words(q), wan_w(q), fullwidth(q), q.replace("万", "个w")):
            got = kb.answer(v)
            if (got.entry_id, got.matched) != (ref.entry_id, ref.matched):
                moved.append((q, v, ref.entry_id, got.entry_id))
    assert not moved, moved


def test_typos_land_on_the_same_entry(kb: KnowledgeBase) -> None:
    pairs = [
        ("贷款额度最高多少", "代款额渡最高多少"),
        ("需要反担保吗", "需要返担宝吗"),
        ("营业执照没办下来能申请吗", "营业执造没办下来能申请吗"),
        ("贴息怎么算", "贴西怎么算"),
        ("征信不好能贷款吗", "zx不好能代款吗"),
    ]
    moved = []
    for good, bad in pairs:
        a, b = kb.answer(good), kb.answer(bad)
        if (a.entry_id, a.matched) != (b.entry_id, b.matched):
            moved.append((good, bad, a.entry_id, b.entry_id))
    assert not moved, moved


@pytest.mark.parametrize(
    ("question", "entry_id"),
    [
        ("公司贷款多少天能放下来", "enterprise_time"),
        ("放款一般要多久", "how_long"),
    ],
)
def test_close_in_domain_questions_are_answered(
    kb: KnowledgeBase, question: str, entry_id: str
) -> None:
    a = kb.answer(question)
    assert a.matched and a.entry_id == entry_id, a


def test_how_much_after_being_laid_off_states_the_cap(kb: KnowledgeBase) -> None:
    # close to unemployed_eligible, which states the same cap (the learned model's reading)
    a = kb.answer("下岗了能贷多少钱")
    assert a.entry_id in ("amount_individual", "unemployed_eligible") and "最高5万" in a.answer


@pytest.mark.parametrize(
    "question",
    [
        "征信报告在哪儿能打印",
        "老板拖欠工资找谁",
        "驾照过期了怎么换",
        "一次性创业补贴去哪领",
        "买基金划算吗",
    ],
)
def test_new_out_of_scope_topics_are_not_answered_as_faq(kb: KnowledgeBase, question: str) -> None:
    a = kb.answer(question)
    assert not a.matched, a
