"""What users see, per evaluation set: the four figures `chuangdai kb eval` reports.

Unlike :func:`knowledge.evaluation.metrics` (which scores the ranking and the answer/refuse
decision of one question), this module asks each question the way the bot does — through
:meth:`KnowledgeBase.answer`, so that several questions in one message, follow-ups with their
previous question, and every refusal rule count — and judges the reply:

- **answered and right**: an in-domain question whose reply answers every expected question with
  an acceptable entry, in order, and nothing else;
- **right in top-3**: every expected question has an acceptable entry among the three best
  candidates (of its part of the message);
- **wrong confident**: an in-domain question whose reply contains an entry that answers none of
  its questions (the costly error: the bot answers another question);
- **off-topic accepted**: a question not about this loan answered with a FAQ entry (a polite
  out-of-scope reply counts as refused).

Questions labelled ``none`` (about the loan, but no entry answers them) are counted on their own:
refusing them is right.

A fifth figure, **yes/no opening right**, counts the in-domain questions whose writer gave the
expected opening of a yes/no answer (``expect``: 不能，退役军人最高5万元) and whose reply (its first
part) opens the same way, yes or no (:func:`knowledge.yesno.polarity`): a reply without a yes/no
opening, or not answered, does not count as right.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from knowledge.answers import Answer
from knowledge.evaluation import NONE_LABEL, OOD_LABEL, EvalQuestion, load_questions
from knowledge.retrieval import KnowledgeBase
from knowledge.yesno import polarity

#: The evaluation sets `kb eval` runs when no file is given (those present in <folder>/eval).
DEFAULT_SETS: tuple[str, ...] = (
    "dev.yaml",
    "dev2.yaml",
    "fresh.yaml",
    "fresh2.yaml",
    "fresh3.yaml",
    "fresh4.yaml",
    "fresh5.yaml",
    "fresh6.yaml",
    "fresh7.yaml",
    "fresh8.yaml",
    "fresh9.yaml",
    "fresh10.yaml",
    "fresh11.yaml",
    "fresh12.yaml",
    "fresh13.yaml",
    "fresh14.yaml",
    "fresh15.yaml",
    "fresh16.yaml",
    "fresh17.yaml",
    "fresh18.yaml",
    "fresh19.yaml",
    "fresh20.yaml",
    "fresh21.yaml",
    "fresh22.yaml",
    "fresh23.yaml",
    "fresh24.yaml",
)


@dataclass(frozen=True)
class Outcome:
    """One question, what the bot answered and the verdict."""

    q: EvalQuestion
    answered: tuple[str, ...]  # FAQ entry ids of the reply, in order
    top3: tuple[str, ...]  # the leading candidates (of every part of the message)
    verdict: str  # right | wrong | refused | partial | accepted | rejected

    def to_json(self) -> dict[str, Any]:
        return {
            "q": self.q.q,
            "expected": [list(p) for p in self.q.expected],
            "context": self.q.context,
            "style": self.q.style,
            "answered": list(self.answered),
            "top3": list(self.top3),
            "verdict": self.verdict,
        }


@dataclass(frozen=True)
class SetReport:
    name: str
    n_in: int
    n_ood: int
    n_none: int
    right: int
    top3: int
    wrong: int
    ood_accepted: int
    none_refused: int
    outcomes: list[Outcome] = field(default_factory=list)
    yes_no: int = 0  # in-domain questions with the writer's expected yes/no opening
    opening_right: int = 0  # of those, replies opening the same way (可以 / 不能)

    @property
    def right_rate(self) -> float:
        return self.right / self.n_in if self.n_in else 0.0

    @property
    def top3_rate(self) -> float:
        return self.top3 / self.n_in if self.n_in else 0.0

    @property
    def wrong_rate(self) -> float:
        return self.wrong / self.n_in if self.n_in else 0.0

    @property
    def ood_accept_rate(self) -> float:
        return self.ood_accepted / self.n_ood if self.n_ood else 0.0

    @property
    def misses(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.verdict not in ("right", "rejected")]

    def summary(self) -> dict[str, Any]:
        return {
            "set": self.name,
            "n_in": self.n_in,
            "n_ood": self.n_ood,
            "n_none": self.n_none,
            "answered_right": round(self.right_rate, 4),
            "top3": round(self.top3_rate, 4),
            "wrong_confident": round(self.wrong_rate, 4),
            "off_topic_accepted": round(self.ood_accept_rate, 4),
            "none_refused": self.none_refused,
            "yes_no": self.yes_no,
            "yes_no_opening_right": self.opening_right,
        }

    def by_style(self) -> dict[str, dict[str, int]]:
        """Counts of verdicts per style tag (questions without a tag under "-")."""
        out: dict[str, dict[str, int]] = {}
        for o in self.outcomes:
            row = out.setdefault(o.q.style or "-", {})
            row[o.verdict] = row.get(o.verdict, 0) + 1
        return out


def answered_ids(a: Answer) -> tuple[str, ...]:
    """The FAQ entries a reply answers with, in order (several for a multi-question reply)."""
    parts = getattr(a, "parts", None) or ()
    if parts:
        ids = [p.entry_id for p in parts if p.entry_id]
    else:
        ids = [a.entry_id] if a.matched and a.entry_id else []
    return tuple(dict.fromkeys(ids))


def judge(expected: Sequence[Sequence[str]], answered: Sequence[str]) -> str:
    """right / wrong / partial / refused for an in-domain question (see the module docstring).

    Each answered id covers the first not-yet-covered expected question (at or after the last
    one covered) that accepts it; an id that no expected question accepts makes the reply wrong.
    """
    if not answered:
        return "refused"
    covered = [False] * len(expected)
    last = 0
    in_order = True
    for eid in answered:
        hits = [i for i, ids in enumerate(expected) if eid in ids]
        if not hits:
            return "wrong"
        later = [i for i in hits if i >= last]
        fresh = [i for i in later if not covered[i]]
        pick = fresh[0] if fresh else (later[0] if later else hits[0])
        in_order = in_order and bool(later)
        covered[pick] = True
        # one entry may answer several expected questions (e.g. the woman entry gives the cap
        # and the term): mark every later position that accepts it too
        for i in hits:
            if i > pick and not covered[i]:
                covered[i] = True
        last = pick
    return "right" if all(covered) and in_order else "partial"


def ask(kb: KnowledgeBase, q: EvalQuestion) -> tuple[Answer, tuple[str, ...]]:
    """The bot's reply to `q` (after its context question, as the dialogue engine keeps the last
    answered entry) and the leading candidates (of each question of a message)."""
    previous = kb.answer(q.context).entry_id if q.context else None
    a = kb.answer(q.q, previous=previous)
    texts = [p.question for p in a.parts] or [q.q]
    top = tuple(dict.fromkeys(r.entry.id for t in texts for r in kb.rank(t, k=3).items))
    if a.entry_id and a.entry_id not in top:  # a follow-up or a story answered by its clause
        top = (a.entry_id, *top[:2])
    return a, top


def run_set(kb: KnowledgeBase, questions: Iterable[EvalQuestion], name: str) -> SetReport:
    oos = {e.id for e in kb.entries if e.out_of_scope}
    n_in = n_ood = n_none = right = top3 = wrong = accepted = none_refused = 0
    yes_no = opening_right = 0
    outcomes: list[Outcome] = []
    for q in questions:
        a, top = ask(kb, q)
        got = answered_ids(a)
        if q.label == OOD_LABEL or q.label in oos:
            n_ood += 1
            verdict = "accepted" if got else "rejected"
            accepted += bool(got)
        elif q.label == NONE_LABEL:
            n_none += 1
            verdict = "wrong" if got else "rejected"
            none_refused += not got
        else:
            n_in += 1
            verdict = judge(q.expected, got)
            right += verdict == "right"
            wrong += verdict == "wrong"
            top3 += all(any(i in top for i in ids) for ids in q.expected)
            want = polarity(q.expect) if q.expect else None
            if want is not None:
                yes_no += 1
                reply = a.parts[0].answer if a.parts else a.answer
                opening_right += bool(got) and polarity(reply) == want
        outcomes.append(Outcome(q, got, top, verdict))
    return SetReport(
        name, n_in, n_ood, n_none, right, top3, wrong, accepted, none_refused, outcomes,
        yes_no, opening_right,
    )  # fmt: skip


def default_sets(folder: Path) -> list[Path]:
    return [folder / "eval" / n for n in DEFAULT_SETS if (folder / "eval" / n).exists()]


def run_files(kb: KnowledgeBase, files: Sequence[Path]) -> list[SetReport]:
    return [run_set(kb, load_questions(f), Path(f).name) for f in files]


def markdown_reports(reports: Sequence[SetReport]) -> str:
    lines = [
        "| set | in domain / off-topic | answered and right | right in top-3 "
        "| wrong confident (in domain) | off-topic accepted | yes/no opening right |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in reports:
        none = f" (+{r.n_none} no-entry, {r.none_refused} refused)" if r.n_none else ""
        yes_no = f"{r.opening_right} / {r.yes_no}" if r.yes_no else "—"
        lines.append(
            f"| {r.name} | {r.n_in} / {r.n_ood}{none} | {r.right_rate:.1%} ({r.right}) "
            f"| {r.top3_rate:.1%} | {r.wrong_rate:.1%} ({r.wrong}) "
            f"| {r.ood_accept_rate:.1%} ({r.ood_accepted}) | {yes_no} |"
        )
    return "\n".join(lines)
