"""The ranking features, the retrieval settings (retrieval.yaml) and the answer/fallback decision.

See knowledge.retrieval for the two stages; the index that computes the features is knowledge.index.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from knowledge.normalize import PACKAGE_DIR
from knowledge.schema import Entry, load_yaml

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
    # the learned question model (knowledge.learned): a single-question message is answered by
    # its guess at or above this probability; train_sets: the labelled sets `kb train` learns from
    learned_threshold: float = 0.25
    train_sets: tuple[str, ...] = ()
    # at or above this probability the model's reading outweighs words the base never uses
    # (到手, 玩意儿, 闺女: how people talk) unless one names a loan or another lender
    learned_trust: float = 0.5
    # at or above this probability the model's reading of a whole message outweighs the
    # ranking's answer to it (knowledge.model_reading.sure)
    learned_sure: float = 0.9
    # below this probability a single answer that is not among the model's two likeliest entries
    # for the whole message is refused (knowledge.model_reading.doubted)
    learned_doubt: float = 0.5

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
            if key == "train_sets":
                values[key] = tuple(str(v) for v in value or ())
            else:
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
            "learned_threshold": self.learned_threshold,
            "learned_trust": self.learned_trust,
            "learned_sure": self.learned_sure,
            "learned_doubt": self.learned_doubt,
            "train_sets": list(self.train_sets),
        }


DEFAULT_CONFIG = RetrievalConfig()


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
