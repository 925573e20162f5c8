"""The search structures of one set of entries: two BM25 views, the stage-1 ranking and the
stage-2 confidence (see knowledge.retrieval)."""

from __future__ import annotations

import itertools
import math
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from types import MappingProxyType
from typing import Any

import bm25s
import numpy as np

from knowledge.decision import KEY_SHARE, RetrievalConfig
from knowledge.normalize import Analysis, Normalizer
from knowledge.schema import Entry

#: the rankings of the message being answered (:func:`one_message`): the reading steps of one
#: message rank the same text several times (a story read focused then whole, a follow-up alone)
_RANKINGS: ContextVar[dict[tuple[Any, ...], Any] | None] = ContextVar("rankings", default=None)


@contextmanager
def one_message() -> Iterator[None]:
    """While answering one message, a text ranked again gets the ranking computed the first time
    (the same analysis, exclusions and mode give the same ranking: the index is immutable)."""
    token = _RANKINGS.set({})
    try:
        yield
    finally:
        _RANKINGS.reset(token)


def message_memo() -> dict[tuple[Any, ...], Any] | None:
    """The memo of the message being answered (:func:`one_message`), or None outside one: other
    readings of one message (the learned model's guesses) keep their results there too."""
    return _RANKINGS.get()


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
        self.key_total = [sum(w for _, w in keys) for keys in self.entry_keys]
        self._entry_norm = [
            self.k1 * ((1 - self.b) + self.b * length / self.avg_entry_len)
            for length in self.entry_len
        ]
        # the term-major score matrix of the bm25s index (scored directly: see doc_scores), kept
        # in the types np.bincount works in (float32 → float64 is exact: the sums are unchanged)
        scores = self.retriever.scores
        data = np.asarray(scores["data"], dtype=np.float64)
        indices = np.asarray(scores["indices"], dtype=np.intp)
        # per vocabulary term, its postings (views, made once: slicing costs per query term)
        spans = list(itertools.pairwise(np.asarray(scores["indptr"]).tolist()))
        self._post_docs = [indices[lo:hi] for lo, hi in spans]
        self._post_data = [data[lo:hi] for lo, hi in spans]
        self._doc_terms: dict[int, tuple[frozenset[str], float]] = {}
        self._lookups()

    def _lookups(self) -> None:
        """Per term, its row of :meth:`query_terms`; per entry, its terms with their saturated
        entry-level BM25 term score (the addend of :meth:`features`' loop, computed the same way)
        and its key terms with their entry IDF: :meth:`batch_features` looks them up. Every
        table holds the one string object of a term that the rows hold (a look-up then finds
        its key by identity)."""
        eidf, emax = self.entry_idf, self.entry_max_idf
        self._rows: dict[str, tuple[str, float, float]] = {
            t: (t, eidf.get(t, emax), w) for t, w in self.idf.items()
        }
        one = {t: t for t in self._rows}
        self._one = one
        self._entry_vals: list[dict[str, float]] = [
            {one[t]: eidf.get(t, emax) * tf / (tf + norm) for t, tf in counts.items()}
            for counts, norm in zip(self.entry_counts, self._entry_norm, strict=True)
        ]
        self._entry_key_w: list[dict[str, float]] = [
            {one[t]: w for t, w in keys} for keys in self.entry_keys
        ]

    def batch_features(
        self,
        cands: Sequence[int],
        best_docs: Sequence[int],
        query: tuple[list[tuple[str, float, float]], float, float],
        keys: bool,
    ) -> list[tuple[float, float, float, float]]:
        """:meth:`features` of every candidate entry (no document held out): the same sums in
        the same order (the query's terms), in one pass over the query per candidate with the
        entry's term scores looked up (a document's terms and the key terms are among its
        entry's terms)."""
        rows, self_score, total = query
        scored = total > 0 and self_score > 0
        entry_vals, entry_keys, key_totals = self._entry_vals, self._entry_key_w, self.key_total
        doc_terms = self._doc_terms
        out: list[tuple[float, float, float, float]] = []
        append = out.append
        for ei, doc in zip(cands, best_docs, strict=True):
            vals = entry_vals[ei]
            in_doc, doc_total = doc_terms.get(doc) or self._doc_set(doc)
            key_total = key_totals[ei]
            key_w = entry_keys[ei] if keys and key_total > 0 else _NO_KEYS
            score = covered = hit = key_hit = 0.0
            for t, _, w in rows:  # `in` and [] rather than .get: fewer calls in the inner loop
                if t in vals:
                    score += vals[t]
                    covered += w
                    if t in in_doc:
                        hit += w
                    if t in key_w:
                        key_hit += key_w[t]
            if scored:
                entry_score = score / self_score
                if entry_score > 1.5:  # min(…, 1.5) as in features, without the call
                    entry_score = 1.5
                q_cov = covered / total
            else:
                entry_score = q_cov = 0.0
            doc_cov = hit / doc_total
            if key_total <= 0:
                append((entry_score, q_cov, doc_cov, doc_cov))
            else:
                append((entry_score, q_cov, doc_cov, key_hit / key_total if keys else 0.0))
        return out

    def _doc_set(self, doc: int) -> tuple[frozenset[str], float]:
        """The document's distinct terms and their total IDF (kept for the next use)."""
        got = self._doc_terms.get(doc)
        if got is None:
            idf = self.idf
            total = sum(idf[t] for t in set(self.docs[doc])) or 1.0
            one = self._one
            got = self._doc_terms[doc] = (frozenset(one[t] for t in self.docs[doc]), total)
        return got

    def doc_scores(self, terms: Sequence[str], idf_total: float | None = None) -> np.ndarray:
        """BM25 of every document divided by the query's self score (0 … 1); idf_total: the
        summed IDF of `terms` when the caller has it (the total of :meth:`query_terms`)."""
        vocab = self.vocab
        ids = [vocab[t] for t in terms if t in vocab]
        if not ids:
            return np.zeros(self.n, dtype=np.float64)
        if self.retriever.nonoccurrence_array is not None:  # a BM25 variant with a floor score
            raw = self.retriever.get_scores_from_ids(ids).astype(np.float64)
            return self._normalised(raw, terms, idf_total)
        # what bm25s' get_scores_from_ids computes (its np.add.at per term) in one np.bincount
        # over the query terms' postings, summed in float64: several times faster
        if len(ids) == 1:
            raw = np.zeros(self.n, dtype=np.float64)
            raw[self._post_docs[ids[0]]] = self._post_data[ids[0]]
        else:
            docs, data = self._post_docs, self._post_data
            raw = np.bincount(
                np.concatenate([docs[i] for i in ids]),
                weights=np.concatenate([data[i] for i in ids]),
                minlength=self.n,
            )
        return self._normalised(raw, terms, idf_total)

    def _normalised(
        self, raw: np.ndarray, terms: Sequence[str], idf_total: float | None = None
    ) -> np.ndarray:
        norm = self.k1 * ((1 - self.b) + self.b * len(terms) / self.avgdl)
        if idf_total is None:
            idf_total = sum(self.idf.get(t, self.max_idf) for t in terms)
        self_score = idf_total / (norm + 1.0)
        np.divide(raw, self_score, out=raw)
        np.putmask(raw, raw > 1.0, 1.0)  # np.minimum(raw, 1.0), in a third of its time
        return raw

    def query_terms(
        self, terms: Sequence[str]
    ) -> tuple[list[tuple[str, float, float]], float, float]:
        """Per-question constants of the entry features: (term, entry IDF, doc IDF) rows, the
        entry-level self score and the total IDF of the question."""
        known = self._rows
        rows = [known.get(t) or (t, self.entry_max_idf, self.max_idf) for t in terms]
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

    def features(
        self,
        ei: int,
        doc: int,
        query: tuple[list[tuple[str, float, float]], float, float],
        held_out: int | None = None,
        keys: bool = True,
    ) -> tuple[float, float, float, float]:
        """The features of entry `ei` for one view: entry-level BM25 / self score, IDF-weighted
        share of the question the entry covers, of its best document `doc` the question covers,
        and of its key terms the question contains (`doc`'s share when it has none).

        `query`: :meth:`query_terms` of the question; held_out: a document of this entry to leave
        out (leave-one-out evaluation); keys False: the key-term share is not computed (0; a
        feature no weight uses). Every share is summed in the order of the query's terms."""
        rows, self_score, total = query
        counts: Mapping[str, int] = self.entry_counts[ei]
        if held_out is None:
            norm = self._entry_norm[ei]
        else:
            counts = self.entry_counts[ei] - Counter(self.docs[held_out])
            length = self.entry_len[ei] - len(self.docs[held_out])
            norm = self.k1 * ((1 - self.b) + self.b * length / self.avg_entry_len)
        score = covered = 0.0
        for t, eidf, w in rows:
            tf = counts.get(t, 0)
            if tf:
                score += eidf * tf / (tf + norm)
                covered += w
        if total <= 0 or self_score <= 0:
            entry_score = q_cov = 0.0
        else:
            entry_score, q_cov = min(score / self_score, 1.5), covered / total
        in_doc, doc_total = self._doc_set(doc)
        hit = 0.0  # plain loops: a generator per sum costs more than the sums (many calls)
        for t, _, w in rows:
            if t in in_doc:
                hit += w
        doc_cov = hit / doc_total
        key_total = self.key_total[ei]
        if key_total <= 0:
            return entry_score, q_cov, doc_cov, doc_cov
        if not keys:
            return entry_score, q_cov, doc_cov, 0.0
        key_w = self._entry_key_w[ei]
        hit = 0.0
        for t, _, _ in rows:
            k = key_w.get(t)
            if k is not None:
                hit += k
        return entry_score, q_cov, doc_cov, hit / key_total


#: the key terms of an entry whose key-term share is not computed
_NO_KEYS: Mapping[str, float] = MappingProxyType({})


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
        self._doc_table = np.zeros((0, 0), dtype=np.intp)
        self.rank_w = np.array(cfg.rank_weights, dtype=np.float64)
        self.accept_w = np.array(cfg.accept_weights, dtype=np.float64)
        # whether a weight of either stage uses the key-term shares (key_cov_word, key_cov_char)
        used = [bool(self.rank_w[i] or self.accept_w[2 + i]) for i in range(len(self.rank_w))]
        self._keys_used = (used[8], used[9])
        # whether stage 2 weighs the novel-term shares (accept features 12 and 13)
        self._novel_used = bool(self.accept_w[12] or self.accept_w[13])
        if not self.n_docs:
            return
        starts = np.flatnonzero(np.r_[True, self.doc_entry[1:] != self.doc_entry[:-1]])
        self.entry_start = starts.astype(np.int64)
        self.entry_end = np.r_[starts[1:], self.n_docs].astype(np.int64)
        sizes = self.entry_end - self.entry_start
        rows = np.arange(int(sizes.max()))[:, None]
        self._doc_table = np.where(rows < sizes, self.entry_start + rows, self.entry_start).astype(
            np.intp
        )
        n_entries = len(self.entries)
        self.words = _View([a.tokens for a in analyses], self.doc_entry, n_entries, cfg)
        self.chars = _View([a.bigrams for a in analyses], self.doc_entry, n_entries, cfg)

    def candidates(
        self,
        q: Analysis,
        n: int,
        exclude_doc: int | None = None,
        exclude_entry: int | None = None,
        lean: bool = False,
        exclude_more: tuple[int, ...] = (),
    ) -> list[tuple[int, int, list[float]]]:
        """The `n` leading entries by document score: (entry index, best doc, features).

        lean: features that no weight of either stage uses are left at 0 (answering; the
        calibration reads them all). exclude_more: entries left out as well (by position)."""
        if q.empty or self.words is None or self.chars is None:
            return []
        cfg = self.cfg
        qw = list(dict.fromkeys(q.tokens))
        qc = list(dict.fromkeys(q.bigrams))
        iw = self.words.query_terms(qw)
        ic = self.chars.query_terms(qc)
        w = self.words.doc_scores(qw, iw[2])
        c = self.chars.doc_scores(qc, ic[2])
        pre = cfg.word_weight * w
        pre += (1.0 - cfg.word_weight) * c
        if exclude_doc is not None:
            pre[exclude_doc] = -1.0
            w[exclude_doc] = c[exclude_doc] = 0.0
        entry_pre = np.maximum.reduceat(pre, self.entry_start)
        if exclude_entry is not None:
            entry_pre[exclude_entry] = -1.0
        if exclude_more:
            entry_pre[list(exclude_more)] = -1.0
        n = min(n, len(entry_pre))
        cand = np.argpartition(-entry_pre, n - 1)[:n]
        cand = cand[entry_pre[cand] > 0]
        if not len(cand):
            return []
        held_entry = int(self.doc_entry[exclude_doc]) if exclude_doc is not None else -1
        keys_w, keys_c = self._keys_used if lean else (True, True)
        out: list[tuple[int, int, list[float]]] = []
        cands = cand.tolist()
        best_docs, w_maxes, c_maxes = self._best_documents(cands, pre, w, c)
        if exclude_doc is None and lean:  # answering: all candidates' features at once
            fw = self.words.batch_features(cands, best_docs, iw, keys_w)
            fc = self.chars.batch_features(cands, best_docs, ic, keys_c)
            return [
                (ei, d, [wm, cm, ew, ec, dcw, dcc, qcw, qcc, kcw, kcc])
                for ei, d, wm, cm, (ew, qcw, dcw, kcw), (ec, qcc, dcc, kcc) in zip(
                    cands, best_docs, w_maxes, c_maxes, fw, fc, strict=True
                )
            ]
        for ei, best_doc, w_max, c_max in zip(cands, best_docs, w_maxes, c_maxes, strict=True):
            held = exclude_doc if ei == held_entry else None
            ew, qcw, dcw, kcw = self.words.features(ei, best_doc, iw, held, keys_w)
            ec, qcc, dcc, kcc = self.chars.features(ei, best_doc, ic, held, keys_c)
            feats = [w_max, c_max, ew, ec, dcw, dcc, qcw, qcc, kcw, kcc]
            out.append((ei, best_doc, feats))
        return out

    def _best_documents(
        self, cands: list[int], pre: np.ndarray, w: np.ndarray, c: np.ndarray
    ) -> tuple[list[int], list[float], list[float]]:
        """For each candidate entry: its best document by `pre` (the first, on a tie) and its
        best word and bigram document scores — over the candidates' documents gathered once."""
        # each entry's documents down a column, the shorter columns padded with the entry's
        # first document (a repeat changes no maximum, and argmax takes the first position)
        docs = self._doc_table[:, cands]
        first = pre[docs].argmax(axis=0)
        return (
            docs[first, np.arange(len(cands))].tolist(),
            w[docs].max(axis=0).tolist(),
            c[docs].max(axis=0).tolist(),
        )

    def rank(
        self,
        q: Analysis,
        k: int = 5,
        exclude_doc: int | None = None,
        exclude_entry: int | None = None,
        lean: bool = False,
        exclude_more: tuple[int, ...] = (),
    ) -> tuple[list[tuple[int, float, int]], float, float, list[float]]:
        """(top `k` as (entry, score, best doc), confidence, gap, acceptance features); lean and
        exclude_more: as in :meth:`candidates`."""
        n = max(k, self.cfg.rerank_entries)
        memo = _RANKINGS.get()
        key = (self, q.tokens, q.bigrams, n, exclude_doc, exclude_entry, lean, exclude_more)
        if memo is not None and key in memo:
            items, confidence, gap, accept = memo[key]
            return items[:k], confidence, gap, accept
        items, confidence, gap, accept = self._rank(
            q, n, exclude_doc, exclude_entry, lean, exclude_more
        )
        if memo is not None:
            memo[key] = (items, confidence, gap, accept)
        return items[:k], confidence, gap, accept

    def _rank(
        self,
        q: Analysis,
        n: int,
        exclude_doc: int | None,
        exclude_entry: int | None,
        lean: bool,
        exclude_more: tuple[int, ...] = (),
    ) -> tuple[list[tuple[int, float, int]], float, float, list[float]]:
        """:meth:`rank` with all `n` candidates, computed."""
        cands = self.candidates(q, n, exclude_doc, exclude_entry, lean, exclude_more)
        if not cands:
            return [], 0.0, 0.0, []
        # the stage-1 scores of all candidates in one matrix product
        scores = (np.array([f for _, _, f in cands]) @ self.rank_w).tolist()
        scored = sorted(
            ((ei, s, d, f) for (ei, d, f), s in zip(cands, scores, strict=True)),
            key=lambda x: -x[1],
        )
        top_ei, top_s, _, top_f = scored[0]
        gap = top_s - (scored[1][1] if len(scored) > 1 else 0.0)
        assert self.words is not None and self.chars is not None
        if lean and not self._novel_used:  # weighed 0: left at 0 when answering (as in candidates)
            novel_w = novel_c = 0.0
        else:
            novel_w = self.words.novel_share(
                list(dict.fromkeys(q.tokens)), exclude_doc, exclude_entry
            )
            novel_c = self.chars.novel_share(
                list(dict.fromkeys(q.bigrams)), exclude_doc, exclude_entry
            )
        accept = [
            top_s,
            gap,
            *top_f,
            novel_w,
            novel_c,
            min(len(q.tokens), 10) / 10.0,
            1.0 if self.entries[top_ei].out_of_scope else 0.0,
        ]
        z = float(np.dot(self.accept_w[:-1], accept)) + float(self.accept_w[-1])
        return [(ei, s, d) for ei, s, d, _ in scored], _sigmoid(z), gap, accept
