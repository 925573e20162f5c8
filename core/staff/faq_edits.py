"""Staff additions to the FAQ: `knowledge/faq/staff_additions.yaml` (schema: knowledge/README.md).

Two actions turn a question the bot could not answer into knowledge:

- a new paraphrase (相似问) of an existing entry. FAQ ids are unique across files, so an entry
  that lives in another file is extended by a companion entry `<id>_staff` in this file, which
  carries the original's answer, short answer, source and tags (placeholders kept, so a policy
  switch still updates it) and the paraphrases staff added; an entry of this file is extended
  in place;
- a new entry.

Every change is validated with the knowledge loader before it is written: the candidate file is
checked together with the other FAQ files in a scratch copy of the folder (schema errors, unknown
placeholders, duplicate ids, a paraphrase that another entry already has) and only then replaces
the file atomically. The running knowledge base picks it up on `KnowledgeBase.reload()` (the
console's “重新加载知识库” button).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from core.kernel.errors import Invalid
from knowledge import check_folder
from knowledge.schema import ID_RE, Entry, parse_folder

FILE_NAME = "staff_additions.yaml"
SUFFIX = "_staff"
HEADER = (
    "# FAQ entries added by staff from the console (knowledge/README.md has the schema).\n"
    "# Entries named <id>_staff carry paraphrases added to the entry <id> of another file.\n"
)
_COPY = ("synonyms.yaml", "userdict.txt", "retrieval.yaml")
_REFUSED_WARNINGS = ("重复", "归一化", "超过")  # duplicate/empty paraphrase, SMS answer too long
_lock = threading.Lock()


class FaqEditError(Invalid):
    """The change would break the knowledge base; `problems` lists why (Chinese)."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__("；".join(self.problems) or "知识库校验失败")


def additions_path(folder: Path) -> Path:
    return folder / "faq" / FILE_NAME


def ensure_file(folder: Path) -> Path:
    """The staff file, created with `entries: []` when absent."""
    path = additions_path(folder)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        _write_atomic(path, HEADER + "entries: []\n")
    return path


def load_entries(folder: Path) -> list[dict[str, Any]]:
    path = ensure_file(folder)
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    entries = data.get("entries") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise FaqEditError([f"{FILE_NAME}：顶层必须是 entries: 列表"])
    return [dict(e) for e in entries if isinstance(e, dict)]


def _write_atomic(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".staff_additions.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def dump(entries: Sequence[Mapping[str, Any]]) -> str:
    body = yaml.safe_dump(
        {"entries": [dict(e) for e in entries]},
        allow_unicode=True,
        sort_keys=False,
        width=1000,
        default_flow_style=False,
    )
    return HEADER + body


def validate(
    folder: Path, entries: Sequence[Mapping[str, Any]], placeholders: Mapping[str, str]
) -> None:
    """Check the candidate staff file with the other FAQ files (raises FaqEditError)."""
    text = dump(entries)
    with tempfile.TemporaryDirectory(prefix="kbcheck-") as tmp:
        root = Path(tmp)
        (root / "faq").mkdir()
        for src in sorted((folder / "faq").glob("*.y*ml")):
            if src.name != FILE_NAME:
                shutil.copyfile(src, root / "faq" / src.name)
        for name in _COPY:
            if (folder / name).exists():
                shutil.copyfile(folder / name, root / name)
        (root / "faq" / FILE_NAME).write_text(text, encoding="utf-8")
        problems = check_folder(root, dict(placeholders))
    ours = [
        p
        for p in problems
        if p.file == FILE_NAME and (p.error or any(w in p.message for w in _REFUSED_WARNINGS))
    ]
    if ours:
        raise FaqEditError([f"{p.entry_id}：{p.message}" for p in ours])


def _save(folder: Path, entries: list[dict[str, Any]], placeholders: Mapping[str, str]) -> None:
    validate(folder, entries, placeholders)
    _write_atomic(ensure_file(folder), dump(entries))


def _existing(folder: Path, placeholders: Mapping[str, str]) -> dict[str, Entry]:
    found, _ = parse_folder(folder, dict(placeholders))
    return {e.id: e for e in found}


def add_paraphrase(folder: Path, entry_id: str, text: str, placeholders: Mapping[str, str]) -> str:
    """Add `text` as a paraphrase of `entry_id`; returns the id of the entry written."""
    text = " ".join(text.split())
    if not text:
        raise FaqEditError(["相似问不能为空"])
    if len(text) > 200:
        raise FaqEditError(["相似问不能超过200字"])
    with _lock:
        entries = load_entries(folder)
        by_id = {str(e.get("id")): e for e in entries}
        target = by_id.get(entry_id)
        if target is None:
            known = _existing(folder, placeholders)
            original = known.get(entry_id)
            if original is None:
                raise FaqEditError([f"条目 {entry_id} 不存在"])
            companion_id = entry_id if entry_id.endswith(SUFFIX) else entry_id + SUFFIX
            target = by_id.get(companion_id)
            if target is None:
                target = {
                    "id": companion_id,
                    "question": text,
                    "paraphrases": [],
                    "answer": original.answer,
                    "short": original.short,
                    "source": original.source,
                    "tags": [*original.tags, "员工补充"],
                    "handoff": original.handoff,
                }
                if original.kind != "faq":
                    target["kind"] = original.kind
                entries.append(target)
                _save(folder, entries, placeholders)
                return companion_id
        texts = [str(target.get("question", "")), *map(str, target.get("paraphrases") or [])]
        if text in texts:
            raise FaqEditError([f"条目 {target['id']} 已有这个问法"])
        target["paraphrases"] = [*map(str, target.get("paraphrases") or []), text]
        _save(folder, entries, placeholders)
        return str(target["id"])


def add_entry(
    folder: Path,
    *,
    entry_id: str,
    question: str,
    paraphrases: Sequence[str],
    answer: str,
    short: str,
    source: str,
    tags: Sequence[str] = (),
    handoff: bool = False,
    placeholders: Mapping[str, str],
) -> str:
    """Add a new FAQ entry to the staff file; returns its id."""
    entry_id = entry_id.strip()
    if not ID_RE.match(entry_id):
        raise FaqEditError(["条目 id 须为小写字母开头，只含小写字母、数字和下划线"])
    entry: dict[str, Any] = {
        "id": entry_id,
        "question": " ".join(question.split()),
        "paraphrases": [" ".join(p.split()) for p in paraphrases if p.strip()],
        "answer": answer.strip(),
        "short": short.strip(),
        "source": source.strip(),
        "tags": [t.strip() for t in tags if t.strip()] + ["员工补充"],
        "handoff": bool(handoff),
    }
    with _lock:
        entries = load_entries(folder)
        if any(str(e.get("id")) == entry_id for e in entries):
            raise FaqEditError([f"条目 id {entry_id} 已存在"])
        entries.append(entry)
        _save(folder, entries, placeholders)
    return entry_id
