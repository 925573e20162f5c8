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
import json
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from knowledge.answers import ALSO_ASK, DONT_KNOW_HEAD, EMPTY_PROMPT, HANDOFF_OFFER, Answer
from knowledge.decision import CONFIG_FILE, Ranked, Ranking, RetrievalConfig, decide
from knowledge.index import _Index
from knowledge.industry import agree_with_precheck
from knowledge.learned import MODEL_FILE, Guess, QuestionModel
from knowledge.lexicon import EntryWords, Lexicon
from knowledge.normalize import Normalizer
from knowledge.schema import (
    SMS_MAX_CHARS,
    Entry,
    Extra,
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

#: the character every word of lending has (贷款, 能贷多少, 房贷, 网贷)
LOAN_CHAR = "贷"
#: the programme's own name once normalised (创业贷, 小额担保贷款, 贴息贷款 … → 创业担保贷款)
PROGRAMME = "创业担保贷款"

#: Returns the entries to add to the folder's (the staff additions the composition root reads).
ExtraSource = Callable[[], Extra]


@dataclass(frozen=True)
class _Snapshot:
    """Everything answer() reads, swapped atomically on reload."""

    index: _Index
    rendered: Mapping[str, tuple[str, str, str]]  # id → (answer, short, source)
    by_id: Mapping[str, Entry]
    fingerprint: tuple[tuple[str, int, int], ...]
    digest: str
    lexicon: Lexicon
    extra_digest: str = ""  # of the extra entries (staff additions in the database)
    loanless: tuple[int, ...] = ()  # index positions of out-of-scope entries never naming a loan
    out_of_scope: tuple[int, ...] = ()  # index positions of every out-of-scope entry
    model: QuestionModel | None = None  # the learned question model, when the folder has one


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
    for name in ("synonyms.yaml", "userdict.txt", CONFIG_FILE, UNDERSTANDING_FILE, MODEL_FILE):
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


def _load_model(folder: Path, entry_ids: Sequence[str]) -> QuestionModel | None:
    """The folder's learned question model, restricted to the entries in service."""
    path = folder / MODEL_FILE
    if not path.exists():
        return None
    try:
        model = QuestionModel.load(path)
    except (ValueError, OSError) as exc:
        raise KnowledgeError([f"{MODEL_FILE}: -: {exc}"]) from exc
    model.restrict(entry_ids)
    return model


class KnowledgeBase:
    """FAQ entries of one knowledge folder, indexed for answering questions."""

    def __init__(
        self,
        folder: Path,
        policy: PolicyLike | Mapping[str, str] | None,
        config: RetrievalConfig | None = None,
        today: dt.date | None = None,
        extra: ExtraSource | None = None,
    ) -> None:
        """Prefer :meth:`load`. `config` None: the folder's retrieval.yaml (or the packaged one).
        `extra` returns entries to add to the folder's (read again on every reload)."""
        self.folder = Path(folder)
        self.policy = policy
        self._fixed_config = config
        self._today = today
        self._extra = extra
        self._lock = threading.Lock()
        self._snap = self._build()

    @classmethod
    def load(
        cls,
        folder: Path,
        policy: PolicyLike | Mapping[str, str] | None,
        config: RetrievalConfig | None = None,
        extra: ExtraSource | None = None,
    ) -> KnowledgeBase:
        """Parse, validate and index `folder` (and the `extra` entries); raises KnowledgeError
        listing every error."""
        return cls(folder, policy, config, extra=extra)

    @property
    def config(self) -> RetrievalConfig:
        return self._snap.index.cfg

    # --- loading -------------------------------------------------------------------------------

    def _extra_entries(self) -> tuple[list[dict[str, Any]], str]:
        extra = [dict(e) for e in self._extra()] if self._extra is not None else []
        digest = hashlib.sha256(json.dumps(extra, sort_keys=True, default=str).encode())
        return extra, digest.hexdigest()

    def _build(self) -> _Snapshot:
        extra, extra_digest = self._extra_entries()  # first: reading it may move a file
        files = _knowledge_files(self.folder)
        fingerprint = _fingerprint(files)
        values = placeholder_values(self.policy)
        entries, problems = parse_folder(self.folder, values, extra)
        errors = [str(p) for p in problems if p.error]
        rendered: dict[str, tuple[str, str, str]] = {}
        for i, e in enumerate(entries):
            try:
                rendered[e.id] = (
                    render(e.answer, values),
                    render(e.short, values),
                    render(e.source, values),
                )
                # an entry's stated yes/no openings cite the policy's articles and figures too
                openings = tuple(replace(o, say=render(o.say, values)) for o in e.openings)
            except (KeyError, ValueError, IndexError) as exc:
                errors.append(str(Problem(e.file, e.id, f"占位符无法填充：{exc}")))
                continue
            if openings != e.openings:
                entries[i] = replace(e, openings=openings)
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
        model = _load_model(self.folder, [e.id for e in active])
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
            extra_digest=extra_digest,
            model=model,
            out_of_scope=tuple(i for i, e in enumerate(index.entries) if e.out_of_scope),
            loanless=tuple(
                i
                for i, e in enumerate(index.entries)
                if e.out_of_scope and not any(LOAN_CHAR in t for t in e.texts)
            ),
        )

    def reload(self) -> bool:
        """Rebuild if a knowledge file changed (mtime/size, then content hash). True if rebuilt.

        A broken edit raises KnowledgeError and the previous index stays in service.
        """
        with self._lock:
            same_extra = self._extra_entries()[1] == self._snap.extra_digest
            files = _knowledge_files(self.folder)
            if same_extra and _fingerprint(files) == self._snap.fingerprint:
                return False
            if same_extra and _digest(files) == self._snap.digest:
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

    @property
    def model(self) -> QuestionModel | None:
        """The learned question model of the folder (knowledge.learned), if it has one."""
        return self._snap.model

    def guess(self, question: str, near: int = 2) -> Guess | None:
        """The learned model's likeliest entry (None: off-topic) for a whole message, with its
        probability; None without a model or for an empty message. (Averaging in a story's
        asking clause read alone measured worse: the whole message is what the model learnt.)"""
        from knowledge.index import message_memo

        model = self._snap.model
        if model is None:
            return None
        memo = message_memo()  # the reply asks of one message more than once (steps 4 and 7)
        key = ("guess", model, question)
        p = memo.get(key) if memo is not None else None
        if p is None:
            q = self._snap.index.normalizer.analyze(question)
            if q.empty:
                return None
            p = model.probabilities(q.text, q.tokens)
            if memo is not None:
                memo[key] = p
        return model.guess_from(p, near)

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
        return self._rank(question, k, exclude_doc, exclude_entry, lean=True)[0]

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
        self,
        question: str,
        k: int,
        exclude_doc: int | None,
        exclude_entry: str | None,
        lean: bool = False,
    ) -> tuple[Ranking, list[float]]:
        idx = self._snap.index
        q = idx.normalizer.analyze(question)
        ex = idx.entry_pos.get(exclude_entry) if exclude_entry else None
        items, confidence, gap, feats = idx.rank(q, k, exclude_doc, ex, lean)
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
        # a question naming the programme is about it: no out-of-scope entry answers it; one
        # naming a loan (贷款, 能贷多少) asks about lending: out-of-scope entries that never speak
        # of loans (营业执照怎么办, 理财) are no answer to it, nor a close rival
        unlike: tuple[int, ...] = ()
        if PROGRAMME in q.tokens:
            unlike = self._snap.out_of_scope
        elif any(LOAN_CHAR in t for t in q.tokens):
            unlike = self._snap.loanless
        items, conf, gap, _ = idx.rank(q, 8, exclude_entry=ex, lean=True, exclude_more=unlike)
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
            a = agree_with_precheck(a, best.entry.tags, self.policy, channel, self.source_of)
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

    def source_of(self, entry_id: str) -> str | None:
        """The source (document and article) an entry's answer cites, None for no such entry."""
        got = self._snap.rendered.get(entry_id)
        return got[2] if got is not None else None

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


def check_folder(
    folder: Path, policy: PolicyLike | Mapping[str, str] | None, extra: Extra = ()
) -> list[Problem]:
    """Every problem `chuangdai kb check` reports (errors and warnings), in file order; `extra`
    entries (the staff additions in the database) are checked with the folder's."""
    from knowledge.normalize import SynonymTable, synonym_problems

    values = placeholder_values(policy)
    entries, problems = parse_folder(folder, values, extra)
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

    known = {e.id for e in entries}
    shapes: tuple[tuple[str, object], ...] = ()
    if (folder / UNDERSTANDING_FILE).exists():  # its shapes name the entries they answer with
        try:
            shapes = Understanding.load(folder).shapes
        except (ValueError, OSError) as exc:
            problems.append(Problem(UNDERSTANDING_FILE, "-", str(exc)))
    for entry_id in sorted({e for e, _ in shapes} - known):
        problems.append(Problem(UNDERSTANDING_FILE, entry_id, "question_shapes 引用了不存在的条目"))
    ids = known | {OOD_LABEL, NONE_LABEL}
    for path in sorted((folder / "eval").glob("*.yaml")):  # dev, fresh, fresh2, fresh3 …
        name = f"eval/{path.name}"
        try:
            for q in load_questions(path):
                for eid in sorted(q.ids - ids):
                    problems.append(Problem(name, eid, f"未知条目：“{q.q}”"))
        except ValueError as exc:
            problems.append(Problem(name, "-", str(exc)))
    return problems + _model_problems(folder, entries)


def _model_problems(folder: Path, entries: Sequence[Entry]) -> list[Problem]:
    """A learned question model that does not load, or that was trained on other entries than
    the folder's (an edit since `kb train --write`: the model does not know the new texts)."""
    from knowledge.learned import base_digest

    path = folder / MODEL_FILE
    if not path.exists():
        return []
    try:
        model = QuestionModel.load(path)
    except (ValueError, OSError) as exc:
        return [Problem(MODEL_FILE, "-", str(exc))]
    if model.digest != base_digest(entries):
        msg = "问题分类模型训练后知识库的条目或问法已改动：请运行 chuangdai kb train --write"
        return [Problem(MODEL_FILE, "-", msg, error=False)]
    return []
