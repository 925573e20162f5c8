"""Staff commands on the FAQ: the unanswered queue, a paraphrase or a new entry stored in the
database (core/staff/faq_edits.py: validated before saving; the group they answer is marked resolved),
ignoring a group, and reloading the base in service. Each audits once."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from sqlmodel import Session

from core.kernel.errors import Invalid
from core.persistence.audit import audit
from core.staff import queries as bo
from core.staff.faq_edits import add_entry as write_entry
from core.staff.faq_edits import add_paraphrase as write_paraphrase
from knowledge import KnowledgeBase


class ReloadFailed(Invalid):
    """A knowledge file is broken: the previous base stays in service."""


@dataclass(frozen=True)
class FaqFolder:
    """The knowledge folder staff additions are checked with, and the policy placeholders."""

    path: Path
    placeholders: Mapping[str, str]


@dataclass(frozen=True)
class NewEntry:
    """A new entry as staff write it (its id is generated; empty short/source get defaults)."""

    question: str
    answer: str
    short: str = ""
    source: str = ""
    paraphrases: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    handoff: bool = False


def unanswered(session: Session, *, status: str, limit: int, offset: int) -> bo.Page:
    """Questions the bot could not answer, grouped, most frequent first."""
    return bo.unanswered_groups(session, status=status, limit=limit, offset=offset)


def add_paraphrase(
    session: Session, actor: str, faq: FaqFolder, *, entry_id: str, text: str, normalized: str = ""
) -> str:
    """Add a paraphrase to an entry; returns the id written (reload to apply)."""
    written = write_paraphrase(
        session, faq.path, entry_id.strip(), text, faq.placeholders, actor=actor
    )
    after = {"entry_id": entry_id, "paraphrase": text.strip()}
    audit(session, actor, "knowledge.paraphrase", "faq_entry", written, after=after)
    _resolve(session, actor, normalized, written)
    return written


def add_entry(
    session: Session, actor: str, faq: FaqFolder, entry: NewEntry, *, normalized: str = ""
) -> str:
    """Add a new FAQ entry; returns its id (reload to apply)."""
    written = write_entry(
        session, faq.path, question=entry.question, paraphrases=entry.paraphrases,
        answer=entry.answer, short=entry.short, source=entry.source, tags=entry.tags,
        handoff=entry.handoff, placeholders=faq.placeholders, actor=actor,
    )  # fmt: skip
    after = {"question": entry.question}
    audit(session, actor, "knowledge.entry", "faq_entry", written, after=after)
    _resolve(session, actor, normalized, written)
    return written


def ignore(session: Session, actor: str, normalized: str) -> int:
    """Mark a group of unanswered questions as ignored; returns how many."""
    return bo.resolve_group(session, normalized, status="ignored", actor=actor)


def reload(session: Session, actor: str, kb: KnowledgeBase) -> tuple[bool, int]:
    """Reload the base without restart; returns (changed, entries)."""
    try:
        changed = kb.reload()
    except Exception as exc:  # a broken file: the previous index stays in service
        raise ReloadFailed(f"重新加载失败，仍使用原知识库：{exc}") from exc
    count = len(kb.entries)
    after = {"changed": changed, "entries": count}
    audit(session, actor, "knowledge.reload", "knowledge", None, after=after)
    return changed, count


def _resolve(session: Session, actor: str, normalized: str, entry_id: str) -> None:
    if normalized:
        note = {"entry_id": entry_id}
        bo.resolve_group(session, normalized, status="resolved", actor=actor, note=note)
