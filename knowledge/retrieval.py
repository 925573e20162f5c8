"""FAQ retrieval: index, ranking, decision and rendering.

Every canonical question and paraphrase is one document. Two bm25s indexes are built once per load:
one over jieba words, one over character bigrams. A question is scored against every document by
both; each score is divided by the question's *self score* (what a document identical to the
question would get, unknown words counting at the highest IDF), so it lies in [0, 1] and means
"how much of the question this document explains".

Stage 1 (ranking): the leading entries (best document per entry) are re-scored with a fixed linear
mix of similarity features — best document (words, bigrams), the entry's documents as one bag
(words, bigrams) and how much of the best document the question covers. The best entry wins.

Stage 2 (answer or not): a small logistic model turns the top candidate's features, its lead over
the best *different* entry and the question length into a confidence. Its weights are learnt from
the knowledge base itself (leave-one-paraphrase-out gives positives and near misses,
leave-one-entry-out gives questions whose topic is missing), so the bot learns what "no answer
here" looks like without seeing the evaluation set. The bot refuses when confidence <
`threshold`. When the runner-up is close (similarity lead < `margin`) the decision depends on what
is close: two in-domain FAQ entries close together are both acceptable answers (e.g. 下岗了能贷多少:
unemployed_eligible vs amount_individual), so the top one is answered and the runner-up is offered
as "您可能还想问"; an out-of-scope entry within the margin (or on top) means the question sits on
the line between our topic and another one, so the bot refuses as before. Threshold and margin are
calibrated on knowledge/eval/dev.yaml (`chuangdai kb calibrate`) and kept in retrieval.yaml. When
it refuses it says it does not know and offers the three closest canonical questions and a hand-off.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import threading
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import bm25s
import numpy as np

from knowledge.industry import agree_with_precheck
from knowledge.lexicon import EntryWords, Lexicon
from knowledge.normalize import PACKAGE_DIR, Analysis, Normalizer
from knowledge.schema import (
    SMS_MAX_CHARS,
    Entry,
    KnowledgeError,
    PolicyLike,
    Problem,
    faq_files,
    load_yaml,
    parse_folder,
    placeholder_values,
    render,
)
from knowledge.understand import FILE as UNDERSTANDING_FILE
from knowledge.understand import Understanding

HANDOFF_OFFER = "回复“人工”转工作人员。"
EMPTY_PROMPT = "请直接输入您想咨询的问题，例如：个人最多能贷多少？需要什么材料？" + HANDOFF_OFFER
DONT_KNOW_HEAD = "抱歉，我没有找到与您的问题准确对应的答案。"
ALSO_ASK = "您可能还想问："


RANK_FEATURES: tuple[str, ...] = (
    "doc_word",  # best document, word BM25 / self score
    "doc_char",  # best document, bigram BM25 / self score
    "entry_word",  # all the entry's documents as one bag, word BM25 / self score
    "entry_char",
    "doc_cov_word",  # share of the best document's (IDF-weighted) words found in the question
    "doc_cov_char",
    "q_cov_word",  # share of the question's words found anywhere in the entry
    "q_cov_char",
    "key_cov_word",  # share of the entry's key words (in ≥ 30 % of its documents) in the question
    "key_cov_char",
)
KEY_SHARE = 0.3
ACCEPT_FEATURES: tuple[str, ...] = (
    "score",  # stage-1 score of the top entry
    "gap",  # its lead over the next entry
    *RANK_FEATURES,  # the top entry's features
    "novel_word",  # IDF-weighted share of the question's words the base has never seen
    "novel_char",
    "length",  # min(number of content words, 10) / 10
    "out_of_scope",  # top entry is an out-of-scope entry
)
# Expected direction of each stage-2 weight (+1 / -1; 0: free). Calibration refits without any
# feature whose weight comes out against its sign, so that the model stays monotone
# ("more overlap never lowers confidence") on questions unlike its training data.
ACCEPT_SIGNS: tuple[int, ...] = (1, 1, *(1 for _ in RANK_FEATURES), -1, -1, 0, 0)
CONFIG_FILE = "retrieval.yaml"


@dataclass(frozen=True)
class RetrievalConfig:
    """Ranking weights and the answer/fallback decision (see the module docstring).

    Defaults are overridden by ``retrieval.yaml`` in the knowledge folder, which
    ``chuangdai kb calibrate --write`` regenerates.
    """

    threshold: float = 0.22
    margin: float = 0.03
    word_weight: float = 0.5  # share of the word index in the first-stage document score
    rerank_entries: int = 12  # entries taken from the first stage into the re-ranker
    k1: float = 1.2
    b: float = 0.75
    rank_weights: tuple[float, ...] = (0.2, 0.2, 0.2, 0.2, 0.1, 0.1, 0.0, 0.0, 0.0, 0.0)
    # logistic weights over ACCEPT_FEATURES, then the bias
    accept_weights: tuple[float, ...] = (
        1.9906, 4.3168, *(0.0 for _ in range(12)), 0.6399, 0.2692, -3.0676,
    )  # fmt: skip

    @classmethod
    def load(cls, folder: Path | None) -> RetrievalConfig:
        """retrieval.yaml of `folder`, else the packaged one, else the defaults."""

        for path in (folder / CONFIG_FILE if folder else None, PACKAGE_DIR / CONFIG_FILE):
            if path is not None and path.exists():
                data = load_yaml(path.read_text(encoding="utf-8")) or {}
                return cls.from_mapping(data)
        return cls()

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> RetrievalConfig:
        known = set(cls.__dataclass_fields__)
        values: dict[str, Any] = {}
        for key, value in data.items():
            if key not in known:
                raise ValueError(f"{CONFIG_FILE}: 未知设置 {key}")
            values[key] = tuple(float(v) for v in value) if isinstance(value, list) else value
        cfg = cls(**values)
        if len(cfg.rank_weights) != len(RANK_FEATURES):
            raise ValueError(f"{CONFIG_FILE}: rank_weights 需要 {len(RANK_FEATURES)} 个数")
        if len(cfg.accept_weights) != len(ACCEPT_FEATURES) + 1:
            raise ValueError(f"{CONFIG_FILE}: accept_weights 需要 {len(ACCEPT_FEATURES) + 1} 个数")
        return cfg

    def to_mapping(self) -> dict[str, Any]:
        return {
            "threshold": self.threshold,
            "margin": self.margin,
            "word_weight": self.word_weight,
            "rerank_entries": self.rerank_entries,
            "k1": self.k1,
            "b": self.b,
            "rank_weights": list(self.rank_weights),
            "accept_weights": list(self.accept_weights),
        }


DEFAULT_CONFIG = RetrievalConfig()


@dataclass(frozen=True)
class Part:
    """One question of a message with several, and its answer."""

    question: str
    entry_id: str | None
    answer: str

    def to_json(self) -> dict[str, Any]:
        return {"question": self.question, "entry_id": self.entry_id, "answer": self.answer}


@dataclass(frozen=True)
class Answer:
    """What the bot replies to one message (`parts`: one per question when it asks several)."""

    question: str
    matched: bool
    entry_id: str | None
    answer: str
    score: float
    source: str | None
    suggestions: list[str] = field(default_factory=list)
    handoff: bool = False
    out_of_scope: bool = False
    suggestion_ids: list[str] = field(default_factory=list)
    parts: tuple[Part, ...] = ()
    no_question: bool = False  # nothing to answer in it (a greeting, "在吗", punctuation)

    def to_json(self) -> dict[str, Any]:
        out = {
            "question": self.question,
            "matched": self.matched,
            "entry_id": self.entry_id,
            "answer": self.answer,
            "score": round(self.score, 4),
            "source": self.source,
            "suggestions": list(self.suggestions),
            "handoff": self.handoff,
            "out_of_scope": self.out_of_scope,
            "suggestion_ids": list(self.suggestion_ids),
        }
        if self.parts:
            out["parts"] = [p.to_json() for p in self.parts]
        return out


@dataclass(frozen=True)
class Ranked:
    """One candidate entry for a question."""

    entry: Entry
    score: float  # stage-1 similarity
    doc: str  # the text of its best document


@dataclass(frozen=True)
class Ranking:
    """The candidates for one question, best first, with the stage-2 confidence of the first."""

    items: tuple[Ranked, ...]
    confidence: float
    gap: float  # stage-1 lead of the first over the second entry

    @property
    def best(self) -> Ranked | None:
        return self.items[0] if self.items else None


@dataclass(frozen=True)
class Decision:
    """The answer/fallback decision over a ranking."""

    best: Ranked | None
    answered: bool  # confident, and no out-of-scope entry within the margin
    confidence: float
    gap: float
    runner_up: Ranked | None = None  # a close in-domain second answer ("您可能还想问")

    @property
    def matched(self) -> bool:
        return self.answered and self.best is not None and not self.best.entry.out_of_scope

    @property
    def out_of_scope(self) -> bool:
        return self.answered and self.best is not None and self.best.entry.out_of_scope


def decide(ranking: Ranking, threshold: float, margin: float) -> Decision:
    """Refuse when confidence < threshold. Otherwise answer the top entry, unless the lead over
    the next entry is < margin and an out-of-scope entry is on top or among the close ones; a
    close in-domain runner-up is kept in `runner_up` (offered as a suggestion)."""
    best = ranking.best
    conf, gap = ranking.confidence, ranking.gap
    if best is None or conf < threshold:
        return Decision(best, False, conf, gap)
    if gap >= margin:
        return Decision(best, True, conf, gap)
    close = [r for r in ranking.items[1:] if best.score - r.score < margin]
    if best.entry.out_of_scope or any(r.entry.out_of_scope for r in close):
        return Decision(best, False, conf, gap)
    return Decision(best, True, conf, gap, close[0] if close else None)


def _idf(df: int, n: int) -> float:
    return math.log(1.0 + (n - df + 0.5) / (df + 0.5))


class _View:
    """One view of the documents (words or character bigrams).

    Document level: a bm25s index, one document per question/paraphrase. Entry level: the bag of
    terms of all the entry's documents, scored the same way for the few re-ranked candidates (kept
    as Counters so that leave-one-out can subtract a held-out document).
    """

    def __init__(
        self,
        docs: list[tuple[str, ...]],
        doc_entry: np.ndarray,
        n_entries: int,
        cfg: RetrievalConfig,
    ) -> None:
        self.k1 = cfg.k1
        self.b = cfg.b
        self.n = len(docs)
        self.retriever = bm25s.BM25(k1=cfg.k1, b=cfg.b)
        self.retriever.index([list(d) for d in docs], show_progress=False)
        self.vocab: dict[str, int] = {k: v for k, v in self.retriever.vocab_dict.items() if k != ""}
        # one pass: term counts per entry and, per entry, in how many documents a term occurs
        self.entry_counts: list[Counter[str]] = [Counter() for _ in range(n_entries)]
        per_entry: list[Counter[str]] = [Counter() for _ in range(n_entries)]
        n_docs = [0] * n_entries
        for d, ei in zip(docs, doc_entry.tolist(), strict=True):
            self.entry_counts[ei].update(d)
            per_entry[ei].update(set(d))
            n_docs[ei] += 1
        df: Counter[str] = Counter()
        edf: Counter[str] = Counter()
        for c in per_entry:
            df.update(c)
            edf.update(c.keys())
        self.idf = {t: _idf(c, self.n) for t, c in df.items()}
        self.max_idf = _idf(0, self.n)
        self.avgdl = max(1.0, sum(len(d) for d in docs) / max(1, self.n))
        self.docs = docs
        self.n_entries = n_entries
        self.entry_idf = {t: _idf(c, n_entries) for t, c in edf.items()}
        self.entry_max_idf = _idf(0, n_entries)
        self.entry_len = [sum(c.values()) for c in self.entry_counts]
        self.df = df
        self.entry_df = per_entry  # per entry: in how many of its documents a term occurs
        # key terms of each entry: present in ≥ KEY_SHARE of its documents (and in ≥ 2)
        self.entry_keys: list[list[tuple[str, float]]] = [
            [
                (t, self.entry_idf[t])
                for t, c in per_entry[ei].items()
                if c >= max(2.0, KEY_SHARE * n_docs[ei])
            ]
            for ei in range(n_entries)
        ]
        self.avg_entry_len = max(1.0, sum(self.entry_len) / max(1, n_entries))

    def doc_scores(self, terms: Sequence[str]) -> np.ndarray:
        """BM25 of every document divided by the query's self score (0 … 1)."""
        ids = [self.vocab[t] for t in terms if t in self.vocab]
        if not ids:
            return np.zeros(self.n, dtype=np.float64)
        raw = self.retriever.get_scores_from_ids(ids).astype(np.float64)
        norm = self.k1 * ((1 - self.b) + self.b * len(terms) / self.avgdl)
        self_score = sum(self.idf.get(t, self.max_idf) for t in terms) / (norm + 1.0)
        return np.minimum(raw / self_score, 1.0)

    def doc_coverage(self, doc: int, query: frozenset[str]) -> float:
        """IDF-weighted share of the document's terms that the query contains."""
        idf = self.idf
        terms = set(self.docs[doc])
        total = sum(idf[t] for t in terms) or 1.0
        return sum(idf[t] for t in terms if t in query) / total

    def query_terms(
        self, terms: Sequence[str]
    ) -> tuple[list[tuple[str, float, float]], float, float]:
        """Per-question constants of the entry features: (term, entry IDF, doc IDF) rows, the
        entry-level self score and the total IDF of the question."""
        rows = [
            (t, self.entry_idf.get(t, self.entry_max_idf), self.idf.get(t, self.max_idf))
            for t in terms
        ]
        return rows, sum(r[1] for r in rows) / (self.k1 + 1.0), sum(r[2] for r in rows)

    def novel_share(
        self, terms: Sequence[str], held_doc: int | None, held_entry: int | None
    ) -> float:
        """IDF-weighted share of the question's terms that no (remaining) document contains.

        With a held-out document or entry their terms count as unseen, so leave-one-out
        questions look like real new questions (whose unknown words are truly unknown).
        """
        held = set(self.docs[held_doc]) if held_doc is not None else ()
        entry_df = self.entry_df[held_entry] if held_entry is not None else {}
        total = novel = 0.0
        for t in terms:
            w = self.idf.get(t, self.max_idf)
            total += w
            df = self.df.get(t, 0) - (t in held) - entry_df.get(t, 0)
            if df <= 0:
                novel += w
        return novel / total if total > 0 else 0.0

    def key_coverage(self, ei: int, query: frozenset[str], fallback: float) -> float:
        """IDF-weighted share of the entry's key terms that the question contains."""
        keys = self.entry_keys[ei]
        total = sum(w for _, w in keys)
        if total <= 0:
            return fallback
        return sum(w for t, w in keys if t in query) / total

    def entry_features(
        self,
        ei: int,
        query: tuple[list[tuple[str, float, float]], float, float],
        held_out: int | None = None,
    ) -> tuple[float, float]:
        """(entry-level BM25 / self score, IDF-weighted share of the question the entry covers).

        held_out: a document of this entry to leave out (leave-one-out evaluation).
        """
        rows, self_score, total = query
        counts: Mapping[str, int] = self.entry_counts[ei]
        length = self.entry_len[ei]
        if held_out is not None:
            counts = self.entry_counts[ei] - Counter(self.docs[held_out])
            length -= len(self.docs[held_out])
        norm = self.k1 * ((1 - self.b) + self.b * length / self.avg_entry_len)
        score = covered = 0.0
        for t, eidf, w in rows:
            tf = counts.get(t, 0)
            if tf:
                score += eidf * tf / (tf + norm)
                covered += w
        if total <= 0 or self_score <= 0:
            return 0.0, 0.0
        return min(score / self_score, 1.5), covered / total


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, x))))


class _Index:
    """The search structures of one set of entries; immutable once built."""

    def __init__(self, entries: Sequence[Entry], normalizer: Normalizer, cfg: RetrievalConfig):
        self.normalizer = normalizer
        self.cfg = cfg
        self.entries: list[Entry] = []
        doc_entry: list[int] = []
        self.doc_text: list[str] = []
        analyses: list[Analysis] = []
        all_texts = [t for e in entries for t in e.texts]
        cache = dict(zip(all_texts, normalizer.analyze_many(all_texts), strict=True))
        for e in entries:
            seen: set[tuple[str, ...]] = set()
            docs: list[tuple[str, Analysis]] = []
            for text in e.texts:
                a = cache[text]
                if a.empty or a.tokens in seen:
                    continue
                seen.add(a.tokens)
                docs.append((text, a))
            if not docs:
                continue
            ei = len(self.entries)
            self.entries.append(e)
            for text, a in docs:
                doc_entry.append(ei)
                self.doc_text.append(text)
                analyses.append(a)
        self.entry_pos = {e.id: i for i, e in enumerate(self.entries)}
        self.doc_entry = np.array(doc_entry, dtype=np.int64)
        self.n_docs = len(analyses)
        self.words: _View | None = None
        self.chars: _View | None = None
        self.entry_start = np.zeros(0, dtype=np.int64)
        self.entry_end = np.zeros(0, dtype=np.int64)
        self.rank_w = np.array(cfg.rank_weights, dtype=np.float64)
        self.accept_w = np.array(cfg.accept_weights, dtype=np.float64)
        if not self.n_docs:
            return
        starts = np.flatnonzero(np.r_[True, self.doc_entry[1:] != self.doc_entry[:-1]])
        self.entry_start = starts.astype(np.int64)
        self.entry_end = np.r_[starts[1:], self.n_docs].astype(np.int64)
        n_entries = len(self.entries)
        self.words = _View([a.tokens for a in analyses], self.doc_entry, n_entries, cfg)
        self.chars = _View([a.bigrams for a in analyses], self.doc_entry, n_entries, cfg)

    def candidates(
        self, q: Analysis, n: int, exclude_doc: int | None = None, exclude_entry: int | None = None
    ) -> list[tuple[int, int, list[float]]]:
        """The `n` leading entries by document score: (entry index, best doc, features)."""
        if q.empty or self.words is None or self.chars is None:
            return []
        cfg = self.cfg
        qw = list(dict.fromkeys(q.tokens))
        qc = list(dict.fromkeys(q.bigrams))
        w = self.words.doc_scores(qw)
        c = self.chars.doc_scores(qc)
        pre = cfg.word_weight * w + (1.0 - cfg.word_weight) * c
        if exclude_doc is not None:
            pre[exclude_doc] = -1.0
            w[exclude_doc] = c[exclude_doc] = 0.0
        entry_pre = np.maximum.reduceat(pre, self.entry_start)
        if exclude_entry is not None:
            entry_pre[exclude_entry] = -1.0
        n = min(n, len(entry_pre))
        cand = np.argpartition(-entry_pre, n - 1)[:n]
        cand = cand[entry_pre[cand] > 0]
        if not len(cand):
            return []
        w_max = np.maximum.reduceat(w, self.entry_start)
        c_max = np.maximum.reduceat(c, self.entry_start)
        sw, sc = frozenset(qw), frozenset(qc)
        iw = self.words.query_terms(qw)
        ic = self.chars.query_terms(qc)
        held_entry = int(self.doc_entry[exclude_doc]) if exclude_doc is not None else -1
        out: list[tuple[int, int, list[float]]] = []
        for ei in cand.tolist():
            lo, hi = int(self.entry_start[ei]), int(self.entry_end[ei])
            best_doc = lo + int(np.argmax(pre[lo:hi])) if hi - lo > 1 else lo
            held = exclude_doc if ei == held_entry else None
            ew, qcw = self.words.entry_features(ei, iw, held)
            ec, qcc = self.chars.entry_features(ei, ic, held)
            dcw = self.words.doc_coverage(best_doc, sw)
            dcc = self.chars.doc_coverage(best_doc, sc)
            feats = [
                float(w_max[ei]),
                float(c_max[ei]),
                ew,
                ec,
                dcw,
                dcc,
                qcw,
                qcc,
                self.words.key_coverage(ei, sw, dcw),
                self.chars.key_coverage(ei, sc, dcc),
            ]
            out.append((ei, best_doc, feats))
        return out

    def rank(
        self,
        q: Analysis,
        k: int = 5,
        exclude_doc: int | None = None,
        exclude_entry: int | None = None,
    ) -> tuple[list[tuple[int, float, int]], float, float, list[float]]:
        """(top `k` as (entry, score, best doc), confidence, gap, acceptance features)."""
        cands = self.candidates(q, max(k, self.cfg.rerank_entries), exclude_doc, exclude_entry)
        if not cands:
            return [], 0.0, 0.0, []
        scored = sorted(
            ((ei, float(np.dot(self.rank_w, f)), d, f) for ei, d, f in cands),
            key=lambda x: -x[1],
        )
        top_ei, top_s, _, top_f = scored[0]
        gap = top_s - (scored[1][1] if len(scored) > 1 else 0.0)
        assert self.words is not None and self.chars is not None
        qw = list(dict.fromkeys(q.tokens))
        qc = list(dict.fromkeys(q.bigrams))
        accept = [
            top_s,
            gap,
            *top_f,
            self.words.novel_share(qw, exclude_doc, exclude_entry),
            self.chars.novel_share(qc, exclude_doc, exclude_entry),
            min(len(q.tokens), 10) / 10.0,
            1.0 if self.entries[top_ei].out_of_scope else 0.0,
        ]
        z = float(np.dot(self.accept_w[:-1], accept)) + float(self.accept_w[-1])
        return [(ei, s, d) for ei, s, d, _ in scored[:k]], _sigmoid(z), gap, accept


@dataclass(frozen=True)
class _Snapshot:
    """Everything answer() reads, swapped atomically on reload."""

    index: _Index
    rendered: Mapping[str, tuple[str, str, str]]  # id → (answer, short, source)
    by_id: Mapping[str, Entry]
    fingerprint: tuple[tuple[str, int, int], ...]
    digest: str
    lexicon: Lexicon


def _entry_words(index: _Index) -> list[EntryWords]:
    view = index.words
    if view is None:
        return []
    sizes = (index.entry_end - index.entry_start).tolist()
    return [
        EntryWords(
            e,
            view.entry_counts[ei],
            frozenset(t for t, _ in view.entry_keys[ei]),
            view.entry_df[ei],
            int(sizes[ei]),
        )
        for ei, e in enumerate(index.entries)
    ]


def _knowledge_files(folder: Path) -> list[Path]:
    files = faq_files(folder)
    for name in ("synonyms.yaml", "userdict.txt", CONFIG_FILE, UNDERSTANDING_FILE):
        if (folder / name).exists():
            files.append(folder / name)
    return files


def _fingerprint(files: Sequence[Path]) -> tuple[tuple[str, int, int], ...]:
    out = []
    for p in files:
        st = p.stat()
        out.append((str(p), st.st_mtime_ns, st.st_size))
    return tuple(out)


def _digest(files: Sequence[Path]) -> str:
    h = hashlib.sha256()
    for p in files:
        h.update(str(p).encode())
        h.update(p.read_bytes())
    return h.hexdigest()


class KnowledgeBase:
    """FAQ entries of one knowledge folder, indexed for answering questions."""

    def __init__(
        self,
        folder: Path,
        policy: PolicyLike | Mapping[str, str] | None,
        config: RetrievalConfig | None = None,
        today: dt.date | None = None,
    ) -> None:
        """Prefer :meth:`load`. `config` None: the folder's retrieval.yaml (or the packaged one)."""
        self.folder = Path(folder)
        self.policy = policy
        self._fixed_config = config
        self._today = today
        self._lock = threading.Lock()
        self._snap = self._build()

    @classmethod
    def load(
        cls,
        folder: Path,
        policy: PolicyLike | Mapping[str, str] | None,
        config: RetrievalConfig | None = None,
    ) -> KnowledgeBase:
        """Parse, validate and index `folder`; raises KnowledgeError listing every error."""
        return cls(folder, policy, config)

    @property
    def config(self) -> RetrievalConfig:
        return self._snap.index.cfg

    # --- loading -------------------------------------------------------------------------------

    def _build(self) -> _Snapshot:
        files = _knowledge_files(self.folder)
        fingerprint = _fingerprint(files)
        values = placeholder_values(self.policy)
        entries, problems = parse_folder(self.folder, values)
        errors = [str(p) for p in problems if p.error]
        rendered: dict[str, tuple[str, str, str]] = {}
        for e in entries:
            try:
                rendered[e.id] = (
                    render(e.answer, values),
                    render(e.short, values),
                    render(e.source, values),
                )
            except (KeyError, ValueError, IndexError) as exc:
                errors.append(str(Problem(e.file, e.id, f"占位符无法填充：{exc}")))
        if errors:
            raise KnowledgeError(errors)
        try:
            normalizer = Normalizer.from_folder(self.folder)
        except (ValueError, OSError) as exc:
            raise KnowledgeError([f"synonyms.yaml: -: {exc}"]) from exc
        try:
            cfg = self._fixed_config or RetrievalConfig.load(self.folder)
        except (ValueError, TypeError, OSError) as exc:
            raise KnowledgeError([f"{CONFIG_FILE}: -: {exc}"]) from exc
        today = self._today or dt.date.today()
        active = [e for e in entries if e.active_on(today)]
        index = _Index(active, normalizer, cfg)
        try:
            understanding = Understanding.load(self.folder)
        except (ValueError, TypeError, OSError) as exc:
            raise KnowledgeError([f"{UNDERSTANDING_FILE}: -: {exc}"]) from exc
        return _Snapshot(
            index=index,
            rendered=rendered,
            by_id={e.id: e for e in entries},
            fingerprint=fingerprint,
            digest=_digest(files),
            lexicon=Lexicon(
                _entry_words(index),
                normalizer,
                understanding,
                {k: v[0] for k, v in rendered.items()},
                self.policy,
            ),
        )

    def reload(self) -> bool:
        """Rebuild if a knowledge file changed (mtime/size, then content hash). True if rebuilt.

        A broken edit raises KnowledgeError and the previous index stays in service.
        """
        with self._lock:
            files = _knowledge_files(self.folder)
            if _fingerprint(files) == self._snap.fingerprint:
                return False
            if _digest(files) == self._snap.digest:
                self._snap = replace(self._snap, fingerprint=_fingerprint(files))
                return False
            self._snap = self._build()
            return True

    # --- reading -------------------------------------------------------------------------------

    @property
    def entries(self) -> list[Entry]:
        """Entries in service (FAQ and out-of-scope), in file order."""
        return list(self._snap.index.entries)

    @property
    def normalizer(self) -> Normalizer:
        return self._snap.index.normalizer

    @property
    def understanding(self) -> Understanding:
        return self._snap.lexicon.understanding

    @property
    def lexicon(self) -> Lexicon:
        """What the base's words say (knowledge.lexicon)."""
        return self._snap.lexicon

    def entry(self, entry_id: str) -> Entry | None:
        return self._snap.by_id.get(entry_id)

    def rank(
        self,
        question: str,
        k: int = 5,
        exclude_doc: int | None = None,
        exclude_entry: str | None = None,
    ) -> Ranking:
        """The `k` closest entries (FAQ and out-of-scope), best first, with the confidence.

        exclude_doc / exclude_entry mask a document or a whole entry (evaluation only).
        """
        return self._rank(question, k, exclude_doc, exclude_entry)[0]

    def accept_features(
        self, question: str, exclude_doc: int | None = None, exclude_entry: str | None = None
    ) -> tuple[Ranking, list[float]]:
        """The ranking and the stage-2 features of its top entry (for calibration)."""
        return self._rank(question, 5, exclude_doc, exclude_entry)

    def candidate_features(
        self, question: str, exclude_doc: int | None = None, exclude_entry: str | None = None
    ) -> list[tuple[Entry, list[float]]]:
        """Stage-1 features (RANK_FEATURES) of the leading candidates (for calibration)."""
        idx = self._snap.index
        q = idx.normalizer.analyze(question)
        ex = idx.entry_pos.get(exclude_entry) if exclude_entry else None
        cands = idx.candidates(q, idx.cfg.rerank_entries, exclude_doc, ex)
        return [(idx.entries[ei], f) for ei, _, f in cands]

    def _rank(
        self, question: str, k: int, exclude_doc: int | None, exclude_entry: str | None
    ) -> tuple[Ranking, list[float]]:
        idx = self._snap.index
        q = idx.normalizer.analyze(question)
        ex = idx.entry_pos.get(exclude_entry) if exclude_entry else None
        items, confidence, gap, feats = idx.rank(q, k, exclude_doc, ex)
        ranked = tuple(Ranked(idx.entries[ei], s, idx.doc_text[d]) for ei, s, d in items)
        return Ranking(ranked, confidence, gap), feats

    def documents(self) -> list[tuple[int, str, str]]:
        """(document index, entry id, text) of every indexed document (for evaluation)."""
        idx = self._snap.index
        return [
            (d, idx.entries[int(idx.doc_entry[d])].id, idx.doc_text[d]) for d in range(idx.n_docs)
        ]

    def answer(
        self, question: str, channel: str = "telegram", previous: str | None = None
    ) -> Answer:
        """Reply to `question`; channel "sms" gives the short answer.

        The message is read first (knowledge.respond): the question inside a story, several
        questions, a follow-up of `previous` (the entry id the conversation answered last),
        off-topic words the base never uses, the opening of a yes/no question.
        """
        from knowledge.respond import respond

        question = question if isinstance(question, str) else str(question)
        return respond(self, question, channel, previous)

    def reply_one(
        self, question: str, channel: str = "telegram", without: str | None = None
    ) -> tuple[Answer, Ranking]:
        """The answer to `question` read as one question (no splitting), and its ranking;
        `without`: an entry left out (respond.py: one that contradicts the question's subject)."""
        question = question if isinstance(question, str) else str(question)
        echo = question[:1000]
        idx = self._snap.index
        q = idx.normalizer.analyze(question)
        if q.empty:
            empty = Answer(echo, False, None, EMPTY_PROMPT, 0.0, None, no_question=True)
            return empty, Ranking((), 0.0, 0.0)
        ex = idx.entry_pos.get(without) if without else None
        items, conf, gap, _ = idx.rank(q, 8, exclude_entry=ex)
        ranking = Ranking(
            tuple(Ranked(idx.entries[ei], s, idx.doc_text[d]) for ei, s, d in items), conf, gap
        )
        return self._decide_answer(echo, ranking, channel), ranking

    def _decide_answer(self, echo: str, ranking: Ranking, channel: str) -> Answer:
        idx = self._snap.index
        best = ranking.best
        conf = ranking.confidence
        if best is None:
            return Answer(echo, False, None, _dont_know([], channel), 0.0, None)
        d = decide(ranking, idx.cfg.threshold, idx.cfg.margin)
        if d.answered:
            a = self._entry_answer(echo, best.entry, conf, channel, not d.out_of_scope)
            a = agree_with_precheck(a, best.entry.tags, self.policy, channel)  # knowledge.industry
            if d.matched and d.runner_up is not None:
                other = d.runner_up.entry
                text = a.answer
                if channel != "sms":
                    text = f"{text.rstrip()}\n\n{ALSO_ASK}{other.question}"
                a = replace(a, answer=text, suggestions=[other.question], suggestion_ids=[other.id])
            return a
        return self.dont_know(echo, ranking, channel)

    def dont_know(self, echo: str, ranking: Ranking, channel: str) -> Answer:
        """The refusal: "I don't know", the three closest FAQ questions and a hand-off offer."""
        conf = ranking.confidence
        faq = [r for r in ranking.items if not r.entry.out_of_scope][:3]
        suggestions = [r.entry.question for r in faq]
        return Answer(
            question=echo,
            matched=False,
            entry_id=None,
            answer=_dont_know(suggestions, channel),
            score=conf,
            source=None,
            suggestions=suggestions,
            suggestion_ids=[r.entry.id for r in faq],
        )

    def answer_entry(self, entry_id: str, channel: str = "telegram") -> Answer:
        """The answer of a given entry (e.g. the user picked suggestion 2)."""
        e = self._snap.by_id.get(entry_id)
        if e is None:
            raise KeyError(entry_id)
        return self._entry_answer(e.question, e, 1.0, channel, matched=not e.out_of_scope)

    def _entry_answer(
        self, echo: str, e: Entry, score: float, channel: str, matched: bool
    ) -> Answer:
        full, short, source = self._snap.rendered[e.id]
        text = short if channel == "sms" else full
        if e.out_of_scope:
            return Answer(echo, False, None, text, score, source, [], False, True)
        return Answer(echo, matched, e.id, text, score, source, [], e.handoff, False)


def _dont_know(suggestions: list[str], channel: str) -> str:
    if channel == "sms":
        text = "抱歉没找到准确答案。"
        for i in range(len(suggestions), 0, -1):
            cand = (
                text
                + "您可能想问："
                + "；".join(suggestions[:i])
                + "。换个说法再问或"
                + HANDOFF_OFFER
            )
            if len(cand) <= SMS_MAX_CHARS:
                return cand
        return text + "请换个说法再问，或" + HANDOFF_OFFER
    lines = [DONT_KNOW_HEAD]
    if suggestions:
        lines.append("您是不是想问：")
        lines.extend(f"{i}. {s}" for i, s in enumerate(suggestions, start=1))
        lines.append("可以直接发送上面的问题，或换个说法再问；" + HANDOFF_OFFER)
    else:
        lines.append("请换个说法再问；" + HANDOFF_OFFER)
    return "\n".join(lines)


def check_folder(folder: Path, policy: PolicyLike | Mapping[str, str] | None) -> list[Problem]:
    """Every problem `chuangdai kb check` reports (errors and warnings), in file order."""
    from knowledge.normalize import SynonymTable, synonym_problems

    values = placeholder_values(policy)
    entries, problems = parse_folder(folder, values)
    syn = folder / "synonyms.yaml"
    if syn.exists():
        import yaml

        try:
            problems.extend(
                Problem("synonyms.yaml", "-", p)
                for p in synonym_problems(load_yaml(syn.read_text(encoding="utf-8")))
            )
            SynonymTable.load(syn)
        except (yaml.YAMLError, ValueError):
            pass
    try:
        normalizer = Normalizer.from_folder(folder)
    except (ValueError, OSError) as exc:
        problems.append(Problem("synonyms.yaml", "-", str(exc)))
        return problems
    owner: dict[tuple[str, ...], Entry] = {}
    for e in entries:
        for text in e.texts:
            a = normalizer.analyze(text)
            if a.empty:
                problems.append(Problem(e.file, e.id, f"问法“{text}”归一化后没有任何内容词"))
                continue
            other = owner.get(a.tokens)
            if other is not None and other.id != e.id:
                problems.append(
                    Problem(e.file, e.id, f"问法“{text}”与 {other.id}（{other.file}）的问法重复")
                )
            owner.setdefault(a.tokens, e)
        try:
            short = render(e.short, values)
        except (KeyError, ValueError, IndexError):
            continue
        if len(short) > SMS_MAX_CHARS:
            problems.append(
                Problem(e.file, e.id, f"短信答案填充后 {len(short)} 字，超过 {SMS_MAX_CHARS} 字")
            )
    from knowledge.evaluation import NONE_LABEL, OOD_LABEL, load_questions

    ids = {e.id for e in entries} | {OOD_LABEL, NONE_LABEL}
    for path in sorted((folder / "eval").glob("*.yaml")):  # dev, fresh, fresh2, fresh3 …
        name = f"eval/{path.name}"
        try:
            for q in load_questions(path):
                for eid in sorted(q.ids - ids):
                    problems.append(Problem(name, eid, f"未知条目：“{q.q}”"))
        except ValueError as exc:
            problems.append(Problem(name, "-", str(exc)))
    return problems
