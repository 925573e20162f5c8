"""The faster computations of the answering path give what the straightforward ones give:
document scores against bm25s' own scoring, the lean features against the full ones, the term
owner found by its inverted list against a scan of every entry, and the homophone correction that
reads pinyin only when a piece may spell a base word against reading every run (texts of our own)."""

from __future__ import annotations

import numpy as np
import pytest

import knowledge
from knowledge import KnowledgeBase
from knowledge.lexicon import DEFINES_LEAD, DEFINES_SHARE
from knowledge.policy import load_policy

QUESTIONS = [
    "我下岗三年了想开个早餐铺能贷多少钱",
    "担保人必须是公务员吗",
    "贷款批下来要多少个工作日",
    "企业招了二十个失业的人能贷吗",
    "zx不好能贷吗",
    "征信",
]


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return KnowledgeBase.load(knowledge.PACKAGE_DIR, load_policy("lanzhou-2013"))


@pytest.mark.parametrize("question", QUESTIONS)
def test_document_scores_equal_bm25s_scores(kb: KnowledgeBase, question: str) -> None:
    idx = kb._snap.index
    q = idx.normalizer.analyze(question)
    for view, terms in ((idx.words, q.tokens), (idx.chars, q.bigrams)):
        assert view is not None
        terms = tuple(dict.fromkeys(terms))
        ids = [view.vocab[t] for t in terms if t in view.vocab]
        got = view.doc_scores(terms)
        raw = view.retriever.get_scores_from_ids(ids).astype(np.float64)
        expected = view._normalised(raw, terms)
        assert got.shape == expected.shape
        assert np.allclose(got, expected, rtol=1e-6, atol=1e-7)
        assert got.max() > 0


@pytest.mark.parametrize("question", QUESTIONS)
def test_lean_ranking_leaves_out_only_unused_features(kb: KnowledgeBase, question: str) -> None:
    idx = kb._snap.index
    q = idx.normalizer.analyze(question)
    full = idx.candidates(q, 12)
    lean = idx.candidates(q, 12, lean=True)
    assert [(e, d) for e, d, _ in full] == [(e, d) for e, d, _ in lean]
    unused = [i for i in range(10) if not (idx.rank_w[i] or idx.accept_w[2 + i])]
    for (_, _, f), (_, _, g) in zip(full, lean, strict=True):
        for i in range(10):
            if i in (8, 9) and i in unused:
                assert g[i] in (0.0, f[i])  # an entry without key terms keeps its fallback
            else:
                assert g[i] == f[i]
    assert idx.rank(q, 8)[:3] == idx.rank(q, 8, lean=True)[:3]


def _owner_by_scan(kb: KnowledgeBase, term: str) -> str | None:
    lex = kb.lexicon
    tokens = lex.normalizer.analyze(term).tokens
    if not tokens:
        return None
    shares = sorted(
        (
            (min(e.doc_counts.get(t, 0) for t in tokens) / e.n_docs, e.entry.id)
            for e in lex._entries
            if e.n_docs and not e.entry.out_of_scope
        ),
        reverse=True,
    )
    if not shares or shares[0][0] < DEFINES_SHARE:
        return None
    if len(shares) > 1 and shares[0][0] < DEFINES_LEAD * shares[1][0]:
        return None
    return shares[0][1]


@pytest.mark.parametrize(
    "term", ["反担保", "贴息", "信用社区", "微利项目", "展期", "宠物医院", "额度"]
)
def test_term_owner_by_inverted_list_equals_a_scan(kb: KnowledgeBase, term: str) -> None:
    assert kb.lexicon.defining_entry(term) == _owner_by_scan(kb, term)


def _corrected_by_reading_everything(kb: KnowledgeBase, text: str) -> str:
    import re

    from pypinyin import lazy_pinyin

    from knowledge.pinyin import _is_word, _table

    full, _ = _table(kb)
    known = kb.lexicon.vocabulary
    freq, _ = kb.normalizer.background()
    out: list[str] = []
    for run in re.split(r"([\u4e00-\u9fff]+)", text):
        if not run or not re.fullmatch(r"[\u4e00-\u9fff]+", run):
            out.append(run)
            continue
        spelt = lazy_pinyin(run)
        i = 0
        while i < len(run):
            for size in (4, 3, 2):
                piece = run[i : i + size]
                if len(piece) < size or piece in known or freq.get(piece, 0):
                    continue
                left = run[i - 1 : i + 1] if i > 0 else ""
                right = run[i + size - 1 : i + size + 1] if i + size < len(run) else ""
                if _is_word(left, known, freq) or _is_word(right, known, freq):
                    continue
                word = full.get("".join(spelt[i : i + size]))
                if word is not None and len(word) == size and word != piece:
                    out.append(word)
                    i += size
                    break
            else:
                out.append(run[i])
                i += 1
    return "".join(out)


@pytest.mark.parametrize(
    "text",
    [
        "提钱还款要交违约金吗",  # 提钱 → 提前
        "我想早点还宽可以吗",  # 还 read huan in context
        "贷宽批下来要几天",
        "担宝人要有正式工作吗",
        "我在私企上班能贷吗",  # nothing to correct
        "银行说额度用完了要排对",
        "办离职证明要几天",  # 离职 is a word: not 办理职
    ],
)
def test_homophone_correction_equals_reading_every_run(kb: KnowledgeBase, text: str) -> None:
    from knowledge.pinyin import correct_homophones

    assert correct_homophones(kb, text) == _corrected_by_reading_everything(kb, text)


def test_known_words_of_an_entry_add_its_own_words(kb: KnowledgeBase) -> None:
    base = kb.lexicon.known_words()
    with_entry = kb.lexicon.known_words("oos_housing_fund")
    own = kb.lexicon.entry_words("oos_housing_fund")
    extra = next(w for w in own if w not in base)  # a word only that out-of-scope entry uses
    assert extra in with_entry and extra not in base
    assert all(w in with_entry for w in list(base)[:50])
    assert "比特币挖矿机" not in with_entry


def test_best_documents_equal_a_loop_over_each_entry(kb: KnowledgeBase) -> None:
    idx = kb._snap.index
    rng = np.random.default_rng(5)
    n = idx.n_docs
    pre = rng.integers(0, 4, n).astype(np.float64)  # many ties: the first best document wins
    w, c = rng.random(n), rng.random(n)
    cands = [0, 3, len(idx.entries) - 1, 7]
    best, w_max, c_max = idx._best_documents(cands, pre, w, c)
    for i, ei in enumerate(cands):
        lo, hi = int(idx.entry_start[ei]), int(idx.entry_end[ei])
        assert best[i] == lo + int(np.argmax(pre[lo:hi]))
        assert w_max[i] == w[lo:hi].max() and c_max[i] == c[lo:hi].max()


def _eval_questions() -> list[str]:
    from knowledge.evaluation import load_questions

    files = sorted((knowledge.PACKAGE_DIR / "eval").glob("*.yaml"))
    return list(dict.fromkeys(q.q for f in files for q in load_questions(f)))


def test_rankings_shared_within_a_message_give_the_same_replies(kb: KnowledgeBase) -> None:
    """Every question of every evaluation set (alone and after a previous entry): the reply when a
    text ranked twice while reading the message is ranked once equals the reply when every
    reading step ranks afresh (the reading without `one_message`)."""
    from knowledge.respond import _respond_message

    questions = _eval_questions()
    assert len(questions) > 1000
    for q in questions:
        for previous in (None, "amount_individual"):
            kb.normalizer.forget_recent()
            shared = kb.answer(q, "telegram", previous)
            kb.normalizer.forget_recent()
            assert shared == _respond_message(kb, q, "telegram", previous), q


def test_a_text_ranked_twice_in_one_message_is_ranked_once(kb: KnowledgeBase) -> None:
    from knowledge.index import one_message

    idx = kb._snap.index
    q = idx.normalizer.analyze("担保人要什么条件")
    # the acceptance features: a new list each time the ranking is computed
    assert idx.rank(q, 8)[3] is not idx.rank(q, 8)[3]  # outside a message: ranked each time
    with one_message():
        first, again, fewer = idx.rank(q, 8), idx.rank(q, 8), idx.rank(q, 3)
        assert again[3] is first[3] and fewer[3] is first[3]
        assert again == first and fewer[0] == first[0][:3]
        assert idx.rank(q, 8, exclude_entry=0)[3] is not first[3]
    assert first == idx.rank(q, 8)


def test_recent_pieces_cut_once_give_the_same_analyses(kb: KnowledgeBase) -> None:
    """Pieces cut by jieba for a recent text are reused (a story read with its question, with the
    previous question): every evaluation question, alone and joined to another question, is
    analysed as a fresh normaliser that cuts everything analyses it."""
    from knowledge import Normalizer

    fresh = Normalizer.from_folder(knowledge.PACKAGE_DIR)
    fresh.use_cache = False  # no cut reused
    questions = _eval_questions()
    warm = kb.normalizer
    warm.forget_recent()
    for i, q in enumerate(questions):
        for text in (q, questions[i - 1] + q, f"{q} {questions[i - 1]}"):
            fresh.forget_recent()
            assert warm.analyze(text) == fresh.analyze(text), text
    assert warm._recent_cuts  # the warm one kept pieces
