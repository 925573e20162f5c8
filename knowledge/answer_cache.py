"""A small LRU cache in front of `KnowledgeBase.answer` (the same questions arrive again and
again: "怎么申请", "额度多少"). Answers are immutable; the cache is keyed by the knowledge base's
current snapshot, so a reload (new files, new policy figures) empties it. A knowledge base
without a snapshot attribute is passed through uncached."""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

_NO_SNAPSHOT = object()


class CachedAnswers:
    def __init__(self, kb: Any, size: int = 4096) -> None:
        self.kb = kb
        self.size = size
        self._lock = threading.Lock()
        self._snapshot: object = None
        self._answers: OrderedDict[tuple[str, str, str | None], Any] = OrderedDict()

    def answer(self, question: str, channel: str = "telegram", previous: str | None = None) -> Any:
        """`previous`: the entry the conversation answered last (a follow-up reads against it)."""
        snapshot = getattr(self.kb, "_snap", _NO_SNAPSHOT)
        if snapshot is _NO_SNAPSHOT or not isinstance(question, str) or len(question) > 200:
            return self.kb.answer(question, channel, previous)
        key = (question, channel, previous)
        with self._lock:
            if snapshot is not self._snapshot:
                self._answers.clear()
                self._snapshot = snapshot
            found = self._answers.get(key)
            if found is not None:
                self._answers.move_to_end(key)
                return found
        answer = self.kb.answer(question, channel, previous)
        with self._lock:
            if snapshot is self._snapshot:
                self._answers[key] = answer
                if len(self._answers) > self.size:
                    self._answers.popitem(last=False)
        return answer

    def __getattr__(self, name: str) -> Any:  # answer_entry, reload, … of the knowledge base
        return getattr(self.kb, name)
