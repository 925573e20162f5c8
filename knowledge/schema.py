"""FAQ entry schema: parsing and validation of knowledge/faq/*.yaml.

Problems are reported as ``"file: entry id: message"``. *Errors* (broken structure, unknown
placeholders, duplicate ids) stop a load with :class:`KnowledgeError`; *warnings* (too few
paraphrases, duplicate paraphrases across entries, SMS answers too long …) only make
``chuangdai kb check`` fail, so that a running server keeps working while staff fix them.
"""

from __future__ import annotations

import datetime as dt
import re
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

import yaml

Kind = Literal["faq", "out_of_scope"]
KINDS: tuple[str, ...] = ("faq", "out_of_scope")
ID_RE = re.compile(r"^[a-z][a-z0-9_]*$")
FIELDS = {
    "id",
    "question",
    "paraphrases",
    "answer",
    "short",
    "source",
    "tags",
    "handoff",
    "kind",
    "effective_from",
    "effective_to",
    "openings",
}
REQUIRED = ("id", "question", "answer", "short", "source")
MIN_PARAPHRASES = 5
SMS_MAX_CHARS = 134


class PolicyLike(Protocol):
    """What the knowledge base needs from a policy: its placeholder values."""

    def placeholders(self) -> dict[str, str]: ...


class KnowledgeError(Exception):
    """The knowledge base cannot be loaded; `problems` lists every problem found."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__("知识库有问题：\n" + "\n".join(self.problems))


@dataclass(frozen=True)
class Problem:
    file: str
    entry_id: str
    message: str
    error: bool = True  # False: reported by `kb check` only, does not block loading

    def __str__(self) -> str:
        return f"{self.file}: {self.entry_id}: {self.message}"


#: longest opening a FAQ entry may state (one short sentence before its answer)
OPENING_MAX_CHARS = 60


@dataclass(frozen=True)
class StatedOpening:
    """The yes/no opening an entry states for a yes/no question naming one of `when` (and none
    of `unless`): "要我自己先垫吗" answered by the subsidy entry opens "按兰州2013年办法不用……"."""

    when: tuple[str, ...]
    say: str
    unless: tuple[str, ...] = ()

    def fits(self, question: str) -> bool:
        return any(w in question for w in self.when) and not any(w in question for w in self.unless)


@dataclass(frozen=True)
class Entry:
    """One FAQ (or out-of-scope) entry, texts still holding their {placeholders}."""

    id: str
    question: str
    paraphrases: tuple[str, ...]
    answer: str
    short: str
    source: str
    file: str
    tags: tuple[str, ...] = ()
    handoff: bool = False
    kind: Kind = "faq"
    effective_from: dt.date | None = None
    effective_to: dt.date | None = None
    openings: tuple[StatedOpening, ...] = ()

    @property
    def out_of_scope(self) -> bool:
        return self.kind == "out_of_scope"

    @property
    def texts(self) -> tuple[str, ...]:
        """The canonical question followed by its paraphrases."""
        return (self.question, *self.paraphrases)

    def active_on(self, day: dt.date) -> bool:
        if self.effective_from and day < self.effective_from:
            return False
        return not (self.effective_to and day > self.effective_to)


_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_yaml(text: str) -> Any:
    """yaml.safe_load, with libyaml's C parser when available (several times faster)."""
    return yaml.load(text, Loader=_LOADER)


def placeholder_values(policy: PolicyLike | Mapping[str, str] | None) -> dict[str, str]:
    if policy is None:
        return {}
    if isinstance(policy, Mapping):
        return {str(k): str(v) for k, v in policy.items()}
    return {str(k): str(v) for k, v in policy.placeholders().items()}


def template_fields(text: str) -> list[str]:
    """Placeholder names used in `text`; raises ValueError on stray braces."""
    return [name for _, name, _, _ in string.Formatter().parse(text) if name is not None]


def render(text: str, values: Mapping[str, str]) -> str:
    return text.format_map(values)


def _as_date(value: Any) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value))


#: Entries added from outside the folder (the staff additions kept in the database).
Extra = Sequence[Mapping[str, Any]]
EXTRA_FILE = "员工补充（数据库）"


def parse_file(
    path: Path, placeholders: Mapping[str, str] | None
) -> tuple[list[Entry], list[Problem]]:
    """Entries of one YAML file and the problems found in it."""
    name = path.name
    problems: list[Problem] = []
    try:
        data = load_yaml(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        return [], [Problem(name, "-", f"YAML 无法解析：{exc}")]
    if data is None:
        return [], []
    if not isinstance(data, dict) or not isinstance(data.get("entries"), list):
        return [], [Problem(name, "-", "顶层必须是 entries: 列表")]
    entries: list[Entry] = []
    for pos, raw in enumerate(data["entries"], start=1):
        entry, found = _parse_entry(raw, name, pos, placeholders)
        problems.extend(found)
        if entry is not None:
            entries.append(entry)
    return entries, problems


def _parse_entry(
    raw: Any, file: str, pos: int, placeholders: Mapping[str, str] | None
) -> tuple[Entry | None, list[Problem]]:
    if not isinstance(raw, dict):
        return None, [Problem(file, f"#{pos}", "条目必须是映射（键: 值）")]
    eid = str(raw.get("id") or f"#{pos}")
    problems: list[Problem] = []

    def err(msg: str, error: bool = True) -> None:
        problems.append(Problem(file, eid, msg, error))

    for key in REQUIRED:
        value = raw.get(key)
        if not isinstance(value, str) or not value.strip():
            err(f"缺少字段或不是非空文本：{key}")
    if "id" in raw and isinstance(raw.get("id"), str) and not ID_RE.match(raw["id"]):
        err("id 必须是 snake_case（小写字母、数字、下划线）")
    unknown = sorted(set(raw) - FIELDS)
    if unknown:
        err(f"未知字段：{', '.join(map(str, unknown))}", error=False)
    paraphrases = raw.get("paraphrases") or []
    if not isinstance(paraphrases, list) or not all(
        isinstance(p, str) and p.strip() for p in paraphrases
    ):
        err("paraphrases 必须是非空文本的列表")
        paraphrases = []
    kind: Kind = "faq"
    raw_kind = raw.get("kind") or "faq"
    if raw_kind == "out_of_scope":
        kind = "out_of_scope"
    elif raw_kind != "faq":
        err(f"kind 只能是 {' / '.join(KINDS)}")
    if len(paraphrases) < MIN_PARAPHRASES:
        err(f"相似问只有 {len(paraphrases)} 条，至少需要 {MIN_PARAPHRASES} 条", error=False)
    handoff = raw.get("handoff", False)
    if not isinstance(handoff, bool):
        err("handoff 必须是 true 或 false")
        handoff = False
    tags = raw.get("tags") or []
    if not isinstance(tags, list):
        err("tags 必须是列表")
        tags = []
    dates: dict[str, dt.date | None] = {}
    for key in ("effective_from", "effective_to"):
        try:
            dates[key] = _as_date(raw.get(key))
        except ValueError:
            err(f"{key} 必须是日期 YYYY-MM-DD")
            dates[key] = None
    openings, wrong = _openings(raw.get("openings"))
    if wrong:
        err(wrong)
    if placeholders is not None:
        texts = [(key, raw.get(key)) for key in ("answer", "short", "source")]
        for key, text in [*texts, *(("openings 的 say", o.say) for o in openings)]:
            wrong = _placeholder_problem(key, text, placeholders) if isinstance(text, str) else ""
            if wrong:
                err(wrong)
        for o in openings:  # an opening is short once filled too
            fits = not _placeholder_problem("say", o.say, placeholders)
            if fits and len(render(o.say, placeholders)) > OPENING_MAX_CHARS:
                err(f"openings 的 say 填充后超过 {OPENING_MAX_CHARS} 字：{o.say}")
    if any(p.error for p in problems):
        return None, problems
    entry = Entry(
        id=str(raw["id"]),
        question=str(raw["question"]).strip(),
        paraphrases=tuple(str(p).strip() for p in paraphrases),
        answer=str(raw["answer"]).strip(),
        short=str(raw["short"]).strip(),
        source=str(raw["source"]).strip(),
        file=file,
        tags=tuple(str(t) for t in tags),
        handoff=handoff,
        kind=kind,
        effective_from=dates["effective_from"],
        effective_to=dates["effective_to"],
        openings=openings,
    )
    return entry, problems


def _placeholder_problem(key: str, text: str, placeholders: Mapping[str, str]) -> str:
    """What is wrong with the {placeholders} of field `key`'s `text`, or ""."""
    try:
        names = template_fields(text)
    except ValueError as exc:
        return f"{key} 中的花括号不成对（{exc}）"
    bad = sorted({n for n in names if n not in placeholders})
    return f"{key} 使用了未知占位符：{', '.join('{' + b + '}' for b in bad)}" if bad else ""


def _words_list(value: Any) -> tuple[str, ...] | None:
    if not isinstance(value, list) or not all(isinstance(w, str) and w.strip() for w in value):
        return None
    return tuple(w.strip() for w in value)


def _openings(raw: Any) -> tuple[tuple[StatedOpening, ...], str]:
    """The `openings` of an entry: [{when: [words], unless: [words], say: text}], or a problem."""
    if raw is None:
        return (), ""
    problem = (
        "openings 必须是列表，每项含 when（非空词语列表）、say（不超过"
        f" {OPENING_MAX_CHARS} 字的文本），可选 unless（词语列表）"
    )
    if not isinstance(raw, list):
        return (), problem
    out: list[StatedOpening] = []
    for item in raw:
        if not isinstance(item, dict) or set(item) - {"when", "unless", "say"}:
            return (), problem
        when = _words_list(item.get("when"))
        unless = _words_list(item.get("unless", []))
        say = item.get("say")
        if not when or unless is None or not isinstance(say, str) or not say.strip():
            return (), problem
        if "{" not in say and len(say.strip()) > OPENING_MAX_CHARS:
            return (), problem  # (one with placeholders: measured filled, in _parse_entry)
        out.append(StatedOpening(when, say.strip(), unless))
    return tuple(out), ""


def faq_files(folder: Path) -> list[Path]:
    faq = folder / "faq"
    return sorted([*faq.glob("*.yaml"), *faq.glob("*.yml")])


def parse_folder(
    folder: Path, placeholders: Mapping[str, str] | None, extra: Extra = ()
) -> tuple[list[Entry], list[Problem]]:
    """All entries of `folder/faq/*.yaml`, then the `extra` entries (raw mappings of the same
    schema — the composition root passes the FAQ additions staff stored in the database, named
    EXTRA_FILE in problems), plus every problem (errors and warnings)."""
    entries: list[Entry] = []
    problems: list[Problem] = []
    files = faq_files(folder)
    if not files:
        problems.append(Problem(str(folder / "faq"), "-", "没有任何 FAQ 文件"))
    for path in files:
        found, probs = parse_file(path, placeholders)
        entries.extend(found)
        problems.extend(probs)
    for pos, raw in enumerate(extra, start=1):
        entry, probs = _parse_entry(dict(raw), EXTRA_FILE, pos, placeholders)
        problems.extend(probs)
        if entry is not None:
            entries.append(entry)
    seen: dict[str, Entry] = {}
    unique: list[Entry] = []
    for e in entries:
        if e.id in seen:
            problems.append(Problem(e.file, e.id, f"id 重复（已在 {seen[e.id].file} 中定义）"))
            continue
        seen[e.id] = e
        unique.append(e)
    return unique, problems
