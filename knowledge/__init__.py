"""The knowledge base: FAQ entries, retrieval, policy data and templates (the base layer).

Public API::

    import knowledge
    a = knowledge.answer("下岗证能贷多少钱", channel="sms")   # → knowledge.Answer
    kb = knowledge.KnowledgeBase.load(folder, policy)          # another folder / policy
    knowledge.set_default(kb)                                  # composition root override

The default knowledge base is the packaged folder with the policy named by $POLICY
(default ``lanzhou-2013``); it is built on first use and shared by the whole process.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from knowledge.normalize import Analysis, Normalizer, set_cache_dir
from knowledge.retrieval import (
    DEFAULT_CONFIG,
    Answer,
    KnowledgeBase,
    Ranked,
    RetrievalConfig,
    check_folder,
)
from knowledge.schema import Entry, KnowledgeError, PolicyLike, Problem

PACKAGE_DIR = Path(__file__).resolve().parent
DEFAULT_POLICY = "lanzhou-2013"

__all__ = [
    "DEFAULT_CONFIG",
    "DEFAULT_POLICY",
    "PACKAGE_DIR",
    "Analysis",
    "Answer",
    "Entry",
    "KnowledgeBase",
    "KnowledgeError",
    "Normalizer",
    "PolicyLike",
    "Problem",
    "Ranked",
    "RetrievalConfig",
    "answer",
    "check_folder",
    "get_default",
    "set_cache_dir",
    "set_default",
]

_default: KnowledgeBase | None = None
_lock = threading.Lock()


def get_default() -> KnowledgeBase:
    """The process-wide knowledge base (packaged folder, policy from $POLICY), built once."""
    global _default
    kb = _default
    if kb is None:
        with _lock:
            if _default is None:
                from knowledge.policy import load_policy

                policy = load_policy(os.environ.get("POLICY", DEFAULT_POLICY))
                _default = KnowledgeBase.load(PACKAGE_DIR, policy)
            kb = _default
    return kb


def set_default(kb: KnowledgeBase | None) -> None:
    """Replace the process-wide knowledge base (None: build the packaged one on next use)."""
    global _default
    with _lock:
        _default = kb


def answer(question: str, channel: str = "telegram") -> Answer:
    """Answer `question` from the default knowledge base ("sms" gives the short answer)."""
    return get_default().answer(question, channel)
