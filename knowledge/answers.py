"""What the bot replies: the Answer of one message, its Parts, and the fixed reply texts."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

HANDOFF_OFFER = "回复“人工”转工作人员。"
EMPTY_PROMPT = "请直接输入您想咨询的问题，例如：个人最多能贷多少？需要什么材料？" + HANDOFF_OFFER
DONT_KNOW_HEAD = "抱歉，我没有找到与您的问题准确对应的答案。"
ALSO_ASK = "您可能还想问："


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
    # the entry was chosen by a reading of the question (a term it asks about, its shape, a
    # figure it names, the policy's data), not by word overlap alone: the learned model keeps it
    by_rule: bool = False

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
