"""The knowledge base: FAQ entries, retrieval, policy data and templates (the base layer).

Public API::

    import knowledge
    a = knowledge.answer("下岗证能贷多少钱", channel="sms")   # → knowledge.Answer
    kb = knowledge.KnowledgeBase.load(folder, policy)          # another folder / policy

`answer` uses the packaged folder with the default policy (``lanzhou-2013``), built on first use.
The package reads no environment variables and holds no configurable global: the composition
root (server/bootstrap.py) builds the deployment's knowledge base from the settings (POLICY,
KNOWLEDGE_DIR, DATA_DIR for the cache folder) and passes it to whatever answers questions.
"""

from __future__ import annotations

import threading
from pathlib import Path

from knowledge.answers import Answer
from knowledge.decision import DEFAULT_CONFIG, Ranked, RetrievalConfig
from knowledge.normalize import Analysis, Normalizer, set_cache_dir
from knowledge.retrieval import KnowledgeBase, check_folder
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
]

_default: KnowledgeBase | None = None
_lock = threading.Lock()


def get_default() -> KnowledgeBase:
    """The packaged knowledge base with the default policy, built once (a convenience for
    scripts and benchmarks; the server builds its own from the settings)."""
    global _default
    kb = _default
    if kb is None:
        with _lock:
            if _default is None:
                from knowledge.policy import load_policy

                policy = load_policy(DEFAULT_POLICY)
                _default = KnowledgeBase.load(PACKAGE_DIR, policy)
            kb = _default
    return kb


def answer(question: str, channel: str = "telegram") -> Answer:
    """Answer `question` from the default knowledge base ("sms" gives the short answer)."""
    return get_default().answer(question, channel)
