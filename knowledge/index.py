"""The search structures of one set of entries: two BM25 views, the stage-1 ranking and the
stage-2 confidence (see knowledge.retrieval)."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence

import bm25s
import numpy as np

from knowledge.decision import KEY_SHARE, RetrievalConfig
from knowledge.normalize import Analysis, Normalizer
from knowledge.schema import Entry


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
