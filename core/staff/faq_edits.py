"""Staff additions to the FAQ, stored in the database (table `faq_addition`, one row per entry in
the knowledge/README.md schema), never as a file inside the code checkout.

Two actions turn a question the bot could not answer into knowledge:

- a new paraphrase (相似问) of an existing entry. FAQ ids are unique across files, so an entry
  that lives in a file is extended by a companion entry `<id>_staff`, which carries the
  original's answer, short answer, source and tags (placeholders kept, so a policy switch still
  updates it) and the paraphrases staff added; a staff entry is extended in place;
- a new entry, whose id is generated (`staff_0001`, `staff_0002` …).

Every change is validated with the knowledge loader before it is stored: the additions are
checked together with the folder's FAQ files in a scratch copy (schema errors, unknown
placeholders, duplicate ids, a paraphrase that another entry already has). The composition root
passes `stored_entries` to the knowledge loader (`KnowledgeBase.load(..., extra=...)`,
`check_folder(..., extra)`), so the index, `kb check` and `kb eval` include them; the running base
picks a change up on `KnowledgeBase.reload()` (the console's “重新加载知识库” button).

A deployment that still has the former `knowledge/faq/staff_additions.yaml` gets its entries
moved into the table on first load (`adopt_file`), and the file renamed out of the FAQ folder's
glob (`staff_additions.yaml.moved-to-database`).
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import yaml
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from core.kernel.errors import Invalid
from core.kernel.timeutil import utcnow
from core.persistence.audit import audit
from core.persistence.db import session_scope
from core.persistence.models_loan_actions import FaqAdditionRow
from knowledge import check_folder
from knowledge.schema import Entry, parse_folder

FILE_NAME = "staff_additions.yaml"  # the former file, and the scratch file of `validate`
MOVED_SUFFIX = ".moved-to-database"
SUFFIX = "_staff"
ID_PREFIX = "staff_"
DEFAULT_SOURCE = "担保中心工作人员补充"
_COPY = ("synonyms.yaml", "userdict.txt", "retrieval.yaml")
_REFUSED_WARNINGS = ("重复", "归一化", "超过")  # duplicate/empty paraphrase, SMS answer too long
_FIELDS_CN = {"question": "问题", "answer": "答案", "short": "短信答案", "source": "依据"}
_lock = threading.Lock()
log = logging.getLogger(__name__)


class FaqEditError(Invalid):
    """The change would break the knowledge base; `problems` lists why (Chinese)."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__("；".join(self.problems) or "知识库校验失败")


def legacy_path(folder: Path) -> Path:
    return folder / "faq" / FILE_NAME


# --- storage --------------------------------------------------------------------------------------


def load_entries(session: Session) -> list[dict[str, Any]]:
    """The stored additions, in the order they were added."""
    rows = session.exec(select(FaqAdditionRow).order_by(col(FaqAdditionRow.id)))
    return [dict(r.data) for r in rows]


def _read_legacy(path: Path) -> list[dict[str, Any]]:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    entries = data.get("entries") if isinstance(data, dict) else None
    return [dict(e) for e in entries or [] if isinstance(e, dict) and e.get("id")]


def adopt_file(engine: Engine, folder: Path) -> int:
    """Move the entries of a former `faq/staff_additions.yaml` into the table (those not there
    yet) and rename the file out of the FAQ glob; returns how many entries were added."""
    path = legacy_path(folder)
    if not path.exists():
        return 0
    entries = _read_legacy(path)
    added = 0
    with session_scope(engine) as session:
        known = set(session.exec(select(FaqAdditionRow.entry_id)))
        for e in entries:
            if str(e["id"]) not in known:
                session.add(FaqAdditionRow(entry_id=str(e["id"]), data=e, actor="migration"))
                known.add(str(e["id"]))
                added += 1
        if added:
            audit(
                session,
                "system",
                "knowledge.adopt_file",
                "knowledge",
                FILE_NAME,
                after={"entries": added},
            )
    path.rename(path.with_name(FILE_NAME + MOVED_SUFFIX))
    log.info("moved %d FAQ additions from %s into the database", added, path)
    return added


def stored_entries(engine: Engine, folder: Path) -> list[dict[str, Any]]:
    """The staff additions for the knowledge loader (a former file adopted first); none before
    the database has the table (then a former file is still read by the folder loader)."""
    if not sa.inspect(engine).has_table(FaqAdditionRow.__tablename__):
        return []
    adopt_file(engine, folder)
    with Session(engine) as session:
        return load_entries(session)


def _store(session: Session, entries: list[dict[str, Any]], actor: str) -> None:
    rows = {r.entry_id: r for r in session.exec(select(FaqAdditionRow))}
    now = utcnow()
    try:
        with session.begin_nested():
            for e in entries:
                row = rows.get(str(e["id"]))
                if row is None:
                    session.add(FaqAdditionRow(entry_id=str(e["id"]), data=e, actor=actor))
                elif row.data != e:
                    row.data, row.updated_at = dict(e), now
                    session.add(row)
            session.flush()
    except IntegrityError as exc:  # another officer stored the same id at the same moment
        raise FaqEditError(["条目编号冲突（他人同时在添加），请重试"]) from exc


# --- validation -----------------------------------------------------------------------------------


def dump(entries: Sequence[Mapping[str, Any]]) -> str:
    return yaml.safe_dump(
        {"entries": [dict(e) for e in entries]},
        allow_unicode=True,
        sort_keys=False,
        width=1000,
        default_flow_style=False,
    )


def _in_chinese(message: str) -> str:
    for code, name in _FIELDS_CN.items():
        if message.startswith(f"{code} "):
            return name + message[len(code) + 1 :]
    return message


def validate(
    folder: Path, entries: Sequence[Mapping[str, Any]], placeholders: Mapping[str, str]
) -> None:
    """Check the candidate additions with the folder's FAQ files (raises FaqEditError)."""
    with tempfile.TemporaryDirectory(prefix="kbcheck-") as tmp:
        root = Path(tmp)
        (root / "faq").mkdir()
        for src in sorted((folder / "faq").glob("*.y*ml")):
            if src.name != FILE_NAME:
                shutil.copyfile(src, root / "faq" / src.name)
        for name in _COPY:
            if (folder / name).exists():
                shutil.copyfile(folder / name, root / name)
        (root / "faq" / FILE_NAME).write_text(dump(entries), encoding="utf-8")
        problems = check_folder(root, dict(placeholders))
    ours = [
        p
        for p in problems
        if p.file == FILE_NAME and (p.error or any(w in p.message for w in _REFUSED_WARNINGS))
    ]
    if ours:
        raise FaqEditError([f"{p.entry_id}：{_in_chinese(p.message)}" for p in ours])


def _save(
    session: Session,
    folder: Path,
    entries: list[dict[str, Any]],
    placeholders: Mapping[str, str],
    actor: str,
) -> None:
    validate(folder, entries, placeholders)
    _store(session, entries, actor)


def _existing(folder: Path, placeholders: Mapping[str, str]) -> dict[str, Entry]:
    found, _ = parse_folder(folder, dict(placeholders))
    return {e.id: e for e in found}


# --- the two actions ------------------------------------------------------------------------------


def add_paraphrase(
    session: Session,
    folder: Path,
    entry_id: str,
    text: str,
    placeholders: Mapping[str, str],
    actor: str = "system",
) -> str:
    """Add `text` as a paraphrase of `entry_id`; returns the id of the entry written."""
    text = " ".join(text.split())
    if not text:
        raise FaqEditError(["相似问不能为空"])
    if len(text) > 200:
        raise FaqEditError(["相似问不能超过200字"])
    with _lock:
        entries = load_entries(session)
        by_id = {str(e.get("id")): e for e in entries}
        target = by_id.get(entry_id)
        if target is None:
            original = _existing(folder, placeholders).get(entry_id)
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
                _save(session, folder, entries, placeholders, actor)
                return companion_id
        texts = [str(target.get("question", "")), *map(str, target.get("paraphrases") or [])]
        if text in texts:
            raise FaqEditError([f"条目 {target['id']} 已有这个问法"])
        target["paraphrases"] = [*map(str, target.get("paraphrases") or []), text]
        _save(session, folder, entries, placeholders, actor)
        return str(target["id"])


def next_id(entries: Sequence[Mapping[str, Any]]) -> str:
    """The next generated id: staff_0001, staff_0002 … (one above the highest stored)."""
    numbers = [
        int(str(e["id"])[len(ID_PREFIX) :])
        for e in entries
        if str(e.get("id", "")).startswith(ID_PREFIX) and str(e["id"])[len(ID_PREFIX) :].isdigit()
    ]
    return f"{ID_PREFIX}{max(numbers, default=0) + 1:04d}"


def add_entry(
    session: Session,
    folder: Path,
    *,
    question: str,
    paraphrases: Sequence[str],
    answer: str,
    short: str = "",
    source: str = "",
    tags: Sequence[str] = (),
    handoff: bool = False,
    placeholders: Mapping[str, str],
    actor: str = "system",
) -> str:
    """Add a new FAQ entry (its id generated); returns the id."""
    question, answer = " ".join(question.split()), answer.strip()
    missing = [m for m, v in (("问题不能为空", question), ("答案不能为空", answer)) if not v]
    if missing:
        raise FaqEditError(missing)
    with _lock:
        entries = load_entries(session)
        entry: dict[str, Any] = {
            "id": next_id(entries),
            "question": question,
            "paraphrases": [" ".join(p.split()) for p in paraphrases if p.strip()],
            "answer": answer,
            "short": short.strip() or answer,
            "source": source.strip() or DEFAULT_SOURCE,
            "tags": [t.strip() for t in tags if t.strip()] + ["员工补充"],
            "handoff": bool(handoff),
        }
        entries.append(entry)
        _save(session, folder, entries, placeholders, actor)
    return str(entry["id"])
