"""A question classifier learnt from labelled questions: which entry a whole message asks for.

The lexical ranking (index.py) scores a question against each entry's own texts, one document at
a time; it cannot learn that 俺家那口子 or a long story usually asks what the amount entry answers.
This model does: a multinomial logistic regression over the message's character 1–3-grams and
jieba words (TF-IDF, sublinear, each block L2-normalised), trained on the base's questions and
paraphrases together with the labelled question sets named in retrieval.yaml (``train_sets``,
questions written by people who had not read the base), with one more class, :data:`OFF_TOPIC`,
learnt from their off-topic questions.

`chuangdai kb train --write` fits it (scikit-learn, at build time only) and writes
:data:`MODEL_FILE` into the knowledge folder: the vocabulary, the IDF weights, the largest
weights (the smallest are dropped: :data:`KEEP_WEIGHTS`) as a sparse table and the classes.
Answering needs numpy only: a message's features pick rows of the weight table, one sum and a
softmax. A folder without the file has no model, and the bot answers as the ranking alone would.

How a reply uses it (knowledge.model_reading): :meth:`QuestionModel.guess` gives the likeliest
class and its probability; at or above ``learned_threshold`` a single-question message is answered
by that entry (or refused as off-topic), unless a reading rule chose the answer or the answer is an
entry the model does not know (added after training); :meth:`QuestionModel.speaks_for` tells
which words the base never uses the model learnt as an entry's.
"""

from __future__ import annotations

import hashlib
import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from knowledge.schema import EXTRA_FILE, Entry

MODEL_FILE = "question_model.npz"
OFF_TOPIC = "__off_topic__"  # the class of questions not about the programme
NGRAMS = (1, 3)  # character n-gram lengths
MIN_DF = 2  # a feature seen in fewer training texts is not kept
KEEP_WEIGHTS = 0.1  # share of the weights kept (largest magnitudes): a small file, same answers
C = 30.0  # inverse regularisation strength of the logistic regression (10 until the twelfth round)


@dataclass(frozen=True)
class Guess:
    """The model's likeliest class for a message: an entry id, or None for off-topic."""

    entry_id: str | None
    p: float
    near: tuple[str, ...] = ()  # the next likeliest entries, most likely first


def char_grams(text: str) -> list[str]:
    """Character n-grams of a normalised text (spaces dropped)."""
    s = "".join(text.split())
    lo, hi = NGRAMS
    return [s[i : i + n] for n in range(lo, hi + 1) for i in range(len(s) - n + 1)]


def _block(terms: Iterable[str], vocab: dict[str, int], idf: np.ndarray) -> dict[int, float]:
    """TF-IDF (sublinear tf) of the known terms, L2-normalised: column → value."""
    counts = Counter(vocab[t] for t in terms if t in vocab)
    if not counts:
        return {}
    vals = {c: (1.0 + math.log(n)) * float(idf[c]) for c, n in counts.items()}
    norm = math.sqrt(sum(v * v for v in vals.values()))
    return {c: v / norm for c, v in vals.items()}


class QuestionModel:
    """The trained classifier (see the module docstring)."""

    def __init__(
        self,
        chars: Sequence[str],
        words: Sequence[str],
        idf: np.ndarray,
        weights: np.ndarray,
        intercept: np.ndarray,
        classes: Sequence[str],
        digest: str,
    ) -> None:
        self.chars = {t: i for i, t in enumerate(chars)}
        self.words = {t: i + len(chars) for i, t in enumerate(words)}
        self.idf = np.asarray(idf, dtype=np.float64)
        self.weights = np.asarray(weights, dtype=np.float32)  # features × classes
        self.intercept = np.asarray(intercept, dtype=np.float64)
        self.classes = tuple(classes)
        self.digest = digest  # of the base's entry ids and texts it was trained with
        self._mask = np.zeros(len(self.classes))

    @property
    def entry_ids(self) -> frozenset[str]:
        return frozenset(c for c in self.classes if c != OFF_TOPIC)

    def restrict(self, entry_ids: Iterable[str]) -> None:
        """Only these entries (and off-topic) can be guessed: the base in service may lack an
        entry the model learnt (removed, or out of its dates)."""
        keep = set(entry_ids) | {OFF_TOPIC}
        self._mask = np.array([0.0 if c in keep else -np.inf for c in self.classes])

    def features(self, text: str, tokens: Sequence[str]) -> tuple[list[int], list[float]]:
        """The message's feature columns and values (character block, then word block)."""
        both = _block(char_grams(text), self.chars, self.idf)
        both.update(_block(tokens, self.words, self.idf))
        return list(both), list(both.values())

    def lean(self, word: str, entry_id: str) -> float | None:
        """How much more `word` alone, as the model learnt it, counts for off-topic than for entry
        `entry_id` (logits; negative: for the entry); None when the model has no feature of the
        word or does not know the entry."""
        if entry_id not in self.classes or OFF_TOPIC not in self.classes:
            return None
        cols, vals = self.features(word, [word])
        if not cols:
            return None
        contrib = np.asarray(vals) @ self.weights[cols]
        return float(contrib[self.classes.index(OFF_TOPIC)] - contrib[self.classes.index(entry_id)])

    def speaks_for(self, word: str, entry_id: str) -> bool:
        """Whether `word` alone (its characters and itself), as the model learnt it, counts for
        entry `entry_id` more than for off-topic: 到手 for how long it takes, not 花呗 for
        whether a loan is repaid. A word the model has no feature of counts for neither."""
        lean = self.lean(word, entry_id)
        return lean is not None and lean < 0

    def speaks_against(self, word: str, entry_id: str, margin: float = 0.0) -> bool:
        """Whether `word` alone, as the model learnt it, counts for off-topic more than for entry
        `entry_id`, by more than `margin` (logits: 花呗 against whether a loan is repaid); a word
        the model has no feature of counts for neither."""
        lean = self.lean(word, entry_id)
        return lean is not None and lean > margin

    def probabilities(self, text: str, tokens: Sequence[str]) -> np.ndarray:
        cols, vals = self.features(text, tokens)
        logits = self.intercept + self._mask
        if cols:
            logits = logits + np.asarray(vals) @ self.weights[cols]
        logits = logits - logits.max()
        p = np.exp(logits)
        return np.asarray(p / p.sum())

    def guess(self, text: str, tokens: Sequence[str], near: int = 2) -> Guess:
        """The likeliest class and the `near` next likeliest entries."""
        return self.guess_from(self.probabilities(text, tokens), near)

    def guess_from(self, p: np.ndarray, near: int = 2) -> Guess:
        """:meth:`guess` from the class probabilities already computed."""
        order = np.argsort(-p)[: near + 1].tolist()
        label = self.classes[order[0]]
        runners = tuple(
            self.classes[i] for i in order[1:] if self.classes[i] != OFF_TOPIC and p[i] > 0.0
        )
        return Guess(None if label == OFF_TOPIC else label, float(p[order[0]]), runners)

    # --- file ----------------------------------------------------------------------------------

    def save(self, path: Path) -> None:
        rows, cols = np.nonzero(self.weights)
        with path.open("wb") as fh:
            np.savez_compressed(
                fh,
                chars=np.array(sorted(self.chars, key=self.chars.__getitem__), dtype=str),
                words=np.array(sorted(self.words, key=self.words.__getitem__), dtype=str),
                idf=self.idf.astype(np.float32),
                rows=rows.astype(np.int32),
                cols=cols.astype(np.int16),
                vals=self.weights[rows, cols].astype(np.float16),
                intercept=self.intercept.astype(np.float32),
                classes=np.array(self.classes, dtype=str),
                digest=np.array([self.digest], dtype=str),
            )

    @classmethod
    def load(cls, path: Path) -> QuestionModel:
        """Raises ValueError (or OSError) when the file is not a model of this format."""
        with np.load(path, allow_pickle=False) as z:
            try:
                chars, words, classes = list(z["chars"]), list(z["words"]), list(z["classes"])
                weights = np.zeros((len(chars) + len(words), len(classes)), dtype=np.float32)
                weights[z["rows"], z["cols"]] = z["vals"]
                return cls(
                    [str(t) for t in chars],
                    [str(t) for t in words],
                    z["idf"],
                    weights,
                    z["intercept"],
                    [str(c) for c in classes],
                    str(z["digest"][0]),
                )
            except (KeyError, IndexError) as exc:
                raise ValueError(f"{path.name}: 不是问题分类模型文件（{exc}）") from exc


def base_digest(entries: Iterable[Entry]) -> str:
    """Digest of the folder's own entries' ids and texts (staff additions left out): tells
    whether the base changed since the model was trained."""
    h = hashlib.sha256()
    for eid, texts in sorted((e.id, e.texts) for e in entries if e.file != EXTRA_FILE):
        h.update(eid.encode())
        for t in texts:
            h.update(b"\x00" + t.encode())
        h.update(b"\x01")
    return h.hexdigest()[:16]


def train(
    examples: Sequence[tuple[str, Sequence[str], str]], digest: str, c: float = C
) -> QuestionModel:
    """Fit the model on (normalised text, tokens, class) examples (scikit-learn, build time)."""
    from scipy.sparse import csr_matrix
    from sklearn.linear_model import LogisticRegression

    if len({label for _, _, label in examples}) < 2:
        raise ValueError("训练数据至少需要两个类别")
    grams = [char_grams(text) for text, _, _ in examples]
    toks = [list(tokens) for _, tokens, _ in examples]
    chars = _vocabulary(grams)
    words = _vocabulary(toks)
    n = len(examples)
    df = np.zeros(len(chars) + len(words))
    cpos = {t: i for i, t in enumerate(chars)}
    wpos = {t: i + len(chars) for i, t in enumerate(words)}
    for g, ws in zip(grams, toks, strict=True):
        for col in {cpos[t] for t in g if t in cpos} | {wpos[t] for t in ws if t in wpos}:
            df[col] += 1
    idf = np.log((1.0 + n) / (1.0 + df)) + 1.0  # smooth IDF, as scikit-learn's
    probe = QuestionModel(chars, words, idf, np.zeros((len(df), 1)), np.zeros(1), ["-"], digest)
    data: list[float] = []
    indices: list[int] = []
    indptr = [0]
    for text, tokens, _ in examples:
        cols, vals = probe.features(text, tokens)
        indices.extend(cols)
        data.extend(vals)
        indptr.append(len(indices))
    x = csr_matrix((data, indices, indptr), shape=(n, len(df)))
    fit = LogisticRegression(C=c, max_iter=5000)
    fit.fit(x, [label for _, _, label in examples])
    w = np.asarray(fit.coef_, dtype=np.float64).T  # features × classes
    if w.shape[1] == 1:  # two classes: scikit-learn fits one column
        w = np.hstack([-w / 2, w / 2])
        b = np.array([-fit.intercept_[0] / 2, fit.intercept_[0] / 2])
    else:
        b = np.asarray(fit.intercept_, dtype=np.float64)
    cut = np.quantile(np.abs(w), 1.0 - KEEP_WEIGHTS)
    w[np.abs(w) < cut] = 0.0
    return QuestionModel(chars, words, idf, w, b, [str(c) for c in fit.classes_], digest)


def _vocabulary(docs: Sequence[Sequence[str]]) -> list[str]:
    df = Counter(t for d in docs for t in set(d))
    return sorted(t for t, n in df.items() if n >= MIN_DF)
