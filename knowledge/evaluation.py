"""Evaluation of FAQ retrieval: accuracy, OOD rejection, threshold sweep, calibration, LOO.

The evaluation file (knowledge/eval/dev.yaml) is ``questions: [{q, label}]`` where label is an entry
id or ``ood``. Questions labelled ``ood`` or with an out-of-scope entry id form the out-of-domain
group: they are *rejected* when the bot gives no FAQ answer (a polite out-of-scope reply counts as
rejected).

Metrics:
- top1: in-domain questions the bot answers with the right entry (threshold and margin applied);
- top1_raw: the right entry ranked first, ignoring the threshold;
- top3: the right entry among the first three ranked;
- ood_rejection / false_accept: out-of-domain questions refused / answered with a FAQ entry;
- wrong_answer: in-domain questions answered with a wrong entry (the costly error).

Leave-one-paraphrase-out: every paraphrase is asked with its own document masked out of the
index; a good base still finds the entry through its other paraphrases.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from knowledge.decision import (
    ACCEPT_FEATURES,
    ACCEPT_SIGNS,
    CONFIG_FILE,
    RANK_FEATURES,
    Decision,
    Ranking,
    RetrievalConfig,
    decide,
)
from knowledge.learned import QuestionModel
from knowledge.retrieval import KnowledgeBase
from knowledge.schema import load_yaml

OOD_LABEL = "ood"
THRESHOLDS = tuple(round(0.02 * i, 2) for i in range(1, 50))  # 0.02 … 0.98
# 0.02 … 0.10: never 0, so an out-of-scope entry close behind the top one always refuses
MARGINS = tuple(round(0.01 * i, 2) for i in range(2, 11))


#: Label of a question about the loan that no entry answers: the right reply is "I don't know".
NONE_LABEL = "none"


@dataclass(frozen=True)
class EvalQuestion:
    """One evaluation question.

    label: the expected entry id, ``ood`` or ``none``; for a message with several questions the
    first expected id. positions: the expected entry per question of the message, in order, each
    a tuple of acceptable ids (empty: the single position ``(label, *also)``). context: the
    previous question of the conversation (follow-ups). style: the writer's style tag.
    """

    q: str
    label: str
    positions: tuple[tuple[str, ...], ...] = ()
    context: str | None = None
    style: str | None = None
    expect: str | None = None  # the writer's expected opening of a yes/no answer (不能，最高5万元)

    @property
    def expected(self) -> tuple[tuple[str, ...], ...]:
        return self.positions or ((self.label,),)

    @property
    def multi(self) -> bool:
        return len(self.expected) > 1

    @property
    def ids(self) -> set[str]:
        """Every id named by the question (all positions and alternatives)."""
        return {i for p in self.expected for i in p}


def _ids(value: Any, where: str) -> tuple[str, ...]:
    if isinstance(value, str) and value:
        return (value,)
    if isinstance(value, list) and value and all(isinstance(v, str) and v for v in value):
        return tuple(value)
    raise ValueError(f"{where}: 需要条目 id 或 id 列表")


def _question(item: Any, where: str) -> EvalQuestion:
    if not isinstance(item, dict) or "q" not in item:
        raise ValueError(f"{where} 需要 q 和 label")
    if "labels" in item:
        labels = item["labels"]
        if not isinstance(labels, list) or not labels:
            raise ValueError(f"{where}: labels 需要非空列表")
        positions = tuple(_ids(v, where) for v in labels)
    elif "label" in item:
        also = _ids(item["also"], where) if item.get("also") else ()
        positions = ((*_ids(item["label"], where), *also),)
    else:
        raise ValueError(f"{where} 需要 q 和 label")
    context = item.get("context")
    return EvalQuestion(
        q=str(item["q"]),
        label=positions[0][0],
        positions=positions if len(positions) > 1 or len(positions[0]) > 1 else (),
        context=str(context) if context else None,
        style=str(item["style"]) if item.get("style") else None,
        expect=str(item["expect"]) if item.get("expect") else None,
    )


def load_questions(path: Path) -> list[EvalQuestion]:
    """Questions of an evaluation YAML file: ``questions: [{q, label}]``, where an item may also
    have ``also: [ids]`` (other acceptable entries), ``labels: [id | [ids], …]`` (a message with
    several questions, in order) instead of ``label``, ``context``, ``style`` and ``expect``."""
    data = load_yaml(Path(path).read_text(encoding="utf-8")) or {}
    items = data.get("questions") if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise ValueError(f"{path}: 需要 questions: 列表")
    return [_question(item, f"{path}: 第 {i} 题") for i, item in enumerate(items, start=1)]


@dataclass(frozen=True)
class Prediction:
    """A question, its expected label and the ranking the engine produced."""

    q: str
    label: str
    ranking: Ranking

    def decision(self, threshold: float, margin: float) -> Decision:
        return decide(self.ranking, threshold, margin)

    def answered_id(self, threshold: float, margin: float) -> str | None:
        """The FAQ entry the bot would answer with, or None (refused or out-of-scope)."""
        d = self.decision(threshold, margin)
        return d.best.entry.id if d.matched and d.best else None


def predict(kb: KnowledgeBase, questions: Iterable[EvalQuestion], k: int = 5) -> list[Prediction]:
    return [Prediction(q.q, q.label, kb.rank(q.q, k=k)) for q in questions]


def _multi_doc_entries(kb: KnowledgeBase) -> list[tuple[int, str, str]]:
    docs = kb.documents()
    per_entry: dict[str, int] = {}
    for _, eid, _ in docs:
        per_entry[eid] = per_entry.get(eid, 0) + 1
    return [(d, eid, text) for d, eid, text in docs if per_entry[eid] > 1]


def leave_one_out(kb: KnowledgeBase, k: int = 5) -> list[Prediction]:
    """Each indexed paraphrase asked with its own document masked (entries with ≥ 2 documents)."""
    return [
        Prediction(text, eid, kb.rank(text, k=k, exclude_doc=d))
        for d, eid, text in _multi_doc_entries(kb)
    ]


def leave_one_entry_out(kb: KnowledgeBase, k: int = 5) -> list[Prediction]:
    """Each paraphrase asked with its whole entry masked: a topic the base does not have."""
    return [
        Prediction(text, OOD_LABEL, kb.rank(text, k=k, exclude_entry=eid))
        for _, eid, text in kb.documents()
    ]


@dataclass(frozen=True)
class Miss:
    question: str
    expected: str
    got: str  # entry id answered, "-" when refused; the top candidate follows in `top`
    top: str
    score: float
    gap: float


@dataclass(frozen=True)
class Metrics:
    threshold: float
    margin: float
    n_in: int
    n_ood: int
    top1: float
    top1_raw: float
    top3: float
    ood_rejection: float
    false_accept: float
    wrong_answer: float
    misses: list[Miss] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _ratio(a: int, b: int) -> float:
    return a / b if b else 1.0


def is_ood(label: str, oos_ids: set[str]) -> bool:
    return label == OOD_LABEL or label in oos_ids


def metrics(
    preds: Sequence[Prediction], oos_ids: set[str], threshold: float, margin: float
) -> Metrics:
    n_in = n_ood = ok = raw = top3 = rejected = wrong = 0
    misses: list[Miss] = []
    for p in preds:
        d = p.decision(threshold, margin)
        got = d.best.entry.id if d.matched and d.best else None
        best = p.ranking.best
        top = best.entry.id if best else "-"
        score = p.ranking.confidence
        if is_ood(p.label, oos_ids):
            n_ood += 1
            if got is None:
                rejected += 1
            else:
                misses.append(Miss(p.q, p.label, got, top, score, d.gap))
            continue
        n_in += 1
        ids = [r.entry.id for r in p.ranking.items]
        raw += bool(ids) and ids[0] == p.label
        top3 += p.label in ids[:3]
        if got == p.label:
            ok += 1
        else:
            wrong += got is not None
            misses.append(Miss(p.q, p.label, got or "-", top, score, d.gap))
    return Metrics(
        threshold=threshold,
        margin=margin,
        n_in=n_in,
        n_ood=n_ood,
        top1=_ratio(ok, n_in),
        top1_raw=_ratio(raw, n_in),
        top3=_ratio(top3, n_in),
        ood_rejection=_ratio(rejected, n_ood),
        false_accept=1.0 - _ratio(rejected, n_ood) if n_ood else 0.0,
        wrong_answer=wrong / n_in if n_in else 0.0,
        misses=misses,
    )


def sweep(
    preds: Sequence[Prediction],
    oos_ids: set[str],
    margin: float,
    thresholds: Sequence[float] = THRESHOLDS,
) -> list[Metrics]:
    """Metrics at each threshold (misses left out)."""
    out = []
    for t in thresholds:
        m = metrics(preds, oos_ids, t, margin)
        out.append(Metrics(**{**asdict(m), "misses": []}))
    return out


def _logistic(x: np.ndarray, y: np.ndarray, l2: float, bias: bool) -> np.ndarray:
    """L2-penalised logistic regression by Newton's method (the bias column is not penalised)."""
    if bias:
        x = np.hstack([x, np.ones((len(x), 1))])
    w = np.zeros(x.shape[1])
    penalty = np.full(x.shape[1], l2)
    if bias:
        penalty[-1] = 0.0
    for _ in range(100):
        p = 1.0 / (1.0 + np.exp(-np.clip(x @ w, -30, 30)))
        grad = x.T @ (p - y) + penalty * w
        hess = (x * (p * (1 - p))[:, None]).T @ x + np.diag(penalty + 1e-9)
        step = np.linalg.solve(hess, grad)
        w -= step
        if float(np.abs(step).max()) < 1e-8:
            break
    return w


def fit_rank_weights(kb: KnowledgeBase, l2: float = 1.0) -> tuple[float, ...]:
    """Stage-1 weights learnt pairwise by leave-one-paraphrase-out: for each held-out paraphrase
    whose entry is among the candidates, (right − wrong) feature differences are positives.
    Negative weights are clipped to 0 and the rest scaled to sum 1 (a similarity mix)."""
    diffs: list[list[float]] = []
    for d, eid, text in _multi_doc_entries(kb):
        cands = kb.candidate_features(text, exclude_doc=d)
        right = [f for e, f in cands if e.id == eid]
        if not right:
            continue
        for e, f in cands:
            if e.id != eid:
                diffs.append([a - b for a, b in zip(right[0], f, strict=True)])
    if not diffs:
        return kb.config.rank_weights
    x = np.array(diffs + [[-v for v in row] for row in diffs], dtype=np.float64)
    y = np.r_[np.ones(len(diffs)), np.zeros(len(diffs))]
    w = np.clip(_logistic(x, y, l2, bias=False), 0.0, None)
    if w.sum() <= 0:
        return kb.config.rank_weights
    return tuple(round(float(v), 4) for v in w / w.sum())


#: Stage-2 features the calibration fits by default. The other ACCEPT_FEATURES (coverage, key
#: terms, novelty) were tried: learnt from leave-one-out they rank held-out paraphrases well but
#: transfer badly to independently written questions (dev top-1 at 97 % OOD rejection fell from
#: ~0.81 to 0.53–0.62), so they keep weight 0 unless asked for.
ACCEPT_MODEL_FEATURES: tuple[str, ...] = ("score", "gap", "length", "out_of_scope")


def fit_accept_weights(
    kb: KnowledgeBase, l2: float = 1.0, features: Sequence[str] | None = ACCEPT_MODEL_FEATURES
) -> tuple[float, ...]:
    """Stage-2 logistic weights (ACCEPT_FEATURES + bias) learnt from the base itself.

    Positives/negatives: leave-one-paraphrase-out questions whose top entry is right/wrong, plus
    leave-one-entry-out questions (always wrong: their entry is masked). Newton's method with an
    L2 penalty (the bias is not penalised).
    """
    rows: list[list[float]] = []
    ys: list[float] = []
    for d, eid, text in _multi_doc_entries(kb):
        ranking, feats = kb.accept_features(text, exclude_doc=d)
        if ranking.best is not None:
            rows.append(feats)
            ys.append(1.0 if ranking.best.entry.id == eid else 0.0)
    for _, eid, text in kb.documents():
        ranking, feats = kb.accept_features(text, exclude_entry=eid)
        if ranking.best is not None:
            rows.append(feats)
            ys.append(0.0)
    x = np.array(rows, dtype=np.float64)
    y = np.array(ys, dtype=np.float64)
    names = ACCEPT_FEATURES if features is None else tuple(features)
    active = [i for i, n in enumerate(ACCEPT_FEATURES) if n in names]
    while True:  # refit without features whose weight has the wrong sign (ACCEPT_SIGNS)
        w = _logistic(x[:, active], y, l2, True)
        wrong = [j for j, v in zip(active, w[:-1], strict=True) if ACCEPT_SIGNS[j] * v < 0]
        if not wrong:
            break
        worst = max(wrong, key=lambda j: abs(w[active.index(j)]))
        active.remove(worst)
    full = [0.0] * (x.shape[1] + 1)
    for j, v in zip(active, w[:-1], strict=True):
        full[j] = float(v)
    full[-1] = float(w[-1])
    return tuple(round(v, 4) for v in full)


@dataclass(frozen=True)
class Calibration:
    config: RetrievalConfig
    dev: Metrics
    loo: Metrics
    loeo_rejection: float
    sweep: list[Metrics]


#: Least share of leave-one-entry-out questions (a topic the base lacks) the calibrated decision
#: must refuse. The dev out-of-domain questions cover the topics the base already has
#: out-of-scope entries for; this floor keeps the threshold honest for topics nobody wrote down.
MIN_LOEO_REJECTION = 0.6


def choose_threshold(
    dev: Sequence[Prediction],
    loo: Sequence[Prediction],
    oos_ids: set[str],
    target_rejection: float = 0.97,
    thresholds: Sequence[float] = THRESHOLDS,
    margins: Sequence[float] = MARGINS,
    loeo: Sequence[Prediction] = (),
    min_loeo_rejection: float = MIN_LOEO_REJECTION,
) -> tuple[float, float]:
    """(threshold, margin) with the best mean of dev and LOO top-1 among the pairs that refuse
    ≥ `target_rejection` of the dev out-of-domain questions and (when `loeo` is given)
    ≥ `min_loeo_rejection` of the leave-one-entry-out questions. On a plateau the smallest margin
    and the middle threshold are taken (room on both sides for unseen questions)."""
    scored: list[tuple[float, float, float]] = []
    for m in margins:
        for t in thresholds:
            md = metrics(dev, oos_ids, t, m)
            if md.n_ood and md.ood_rejection < target_rejection:
                continue
            if loeo and metrics(loeo, oos_ids, t, m).ood_rejection < min_loeo_rejection:
                continue
            ml = metrics(loo, oos_ids, t, m) if loo else md
            scored.append(((md.top1 + ml.top1) / 2, t, m))
    if not scored:
        return max(thresholds), min(margins)
    top = max(s for s, _, _ in scored)
    plateau = [(t, m) for s, t, m in scored if s >= top - 0.002]
    margin = min(m for _, m in plateau)
    ts = sorted(t for t, m in plateau if m == margin)
    return ts[len(ts) // 2], margin


def calibrate(
    kb: KnowledgeBase,
    dev_questions: Sequence[EvalQuestion],
    target_rejection: float = 0.97,
    fit_rank: bool = False,
) -> Calibration:
    """Learn the stage-1 and stage-2 weights from the base (leave-one-out), then pick threshold
    and margin on the dev set."""
    if fit_rank:
        rank_w = fit_rank_weights(kb)
        kb = KnowledgeBase.load(kb.folder, kb.policy, replace(kb.config, rank_weights=rank_w))
    weights = fit_accept_weights(kb)
    trial = KnowledgeBase.load(kb.folder, kb.policy, replace(kb.config, accept_weights=weights))
    oos_ids = oos_ids_of(trial)
    dev = predict(trial, dev_questions)
    loo = leave_one_out(trial)
    loeo = leave_one_entry_out(trial)
    t, m = choose_threshold(dev, loo, oos_ids, target_rejection, loeo=loeo)
    cfg = replace(trial.config, accept_weights=weights, threshold=t, margin=m)
    loeo_m = metrics(loeo, oos_ids, t, m)
    return Calibration(
        config=cfg,
        dev=metrics(dev, oos_ids, t, m),
        loo=metrics(loo, oos_ids, t, m),
        loeo_rejection=loeo_m.ood_rejection,
        sweep=sweep(dev, oos_ids, m),
    )


def write_config(folder: Path, cfg: RetrievalConfig, note: str = "") -> Path:
    """Write retrieval.yaml (the calibrated decision settings) into `folder`."""
    path = Path(folder) / CONFIG_FILE
    header = (
        "# FAQ retrieval settings, written by `chuangdai kb calibrate --write`.\n"
        "# threshold/margin: answer only when the confidence >= threshold and the lead over the\n"
        "# next entry >= margin. rank_weights: stage-1 mix of "
        + ", ".join(RANK_FEATURES)
        + ".\n# accept_weights: stage-2 logistic weights over "
        + ", ".join(ACCEPT_FEATURES)
        + ", bias.\n"
    )
    if note:
        header += "".join(f"# {line}\n" for line in note.splitlines())
    body = yaml.safe_dump(cfg.to_mapping(), allow_unicode=True, sort_keys=False)
    path.write_text(header + body, encoding="utf-8")
    return path


def oos_ids_of(kb: KnowledgeBase) -> set[str]:
    return {e.id for e in kb.entries if e.out_of_scope}


def markdown_sweep(rows: Sequence[Metrics]) -> str:
    lines = [
        "| threshold | margin | top-1 (in-domain) | OOD rejection | wrong answers |",
        "|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r.threshold:.2f} | {r.margin:.2f} | {r.top1:.1%} | {r.ood_rejection:.1%} "
            f"| {r.wrong_answer:.1%} |"
        )
    return "\n".join(lines)


def training_examples(
    kb: KnowledgeBase, files: Sequence[Path]
) -> list[tuple[str, tuple[str, ...], str]]:
    """(normalised text, tokens, class) for the learned question model (knowledge.learned):
    every text of every entry in service, then each labelled set's single questions without a
    context — an in-domain question as its first expected entry (the labeller's best; teaching
    every acceptable entry with shared weights measured no better), an off-topic one as
    :data:`knowledge.learned.OFF_TOPIC`; several questions, follow-ups and ``none`` are left
    out (the model reads one whole message; the reading path splits the others)."""
    from knowledge.learned import OFF_TOPIC

    known = {e.id for e in kb.entries}
    raw = [(t, e.id) for e in kb.entries for t in e.texts]
    for f in files:
        for q in load_questions(f):
            if q.context or q.label == NONE_LABEL or len(q.expected) != 1:
                continue
            if q.label == OOD_LABEL:
                raw.append((q.q, OFF_TOPIC))
            elif q.expected[0][0] in known:
                raw.append((q.q, q.expected[0][0]))
    out = []
    for text, label in raw:
        a = kb.normalizer.analyze(text)
        if not a.empty:
            out.append((a.text, a.tokens, label))
    return out


def train_model(kb: KnowledgeBase, files: Sequence[Path]) -> tuple[QuestionModel, int]:
    """Fit the learned question model on the base and the labelled `files`; with the number
    of training texts."""
    from knowledge.learned import base_digest, train
    from knowledge.schema import parse_folder, placeholder_values

    examples = training_examples(kb, files)
    # the folder's own entries, every date (as `kb check` compares them)
    entries, _ = parse_folder(kb.folder, placeholder_values(kb.policy), ())
    return train(examples, base_digest(entries)), len(examples)
