"""Policy-fact check of the FAQ (`chuangdai kb check`): every entry rendered under every policy.

An answer is only as true as the policy it is rendered with. For each policy file and each entry
(answer, SMS answer, source) this reports:

- an **article reference** (第X条) that is not the value of a placeholder of the rendering policy:
  articles belong to a document, so they come only from the policy that holds them (a policy that
  `extends` another names that document in its article placeholders, "及兰政发〔2013〕76号第五条");
- a **document name** (…〔YYYY〕N号) that is neither the policy's own document nor one of its
  `references`;
- a **figure** (万元, %, 倍, 个工作日, 个基点) typed into the text instead of coming from a
  placeholder, unless a reference named in the same sentence states it; figures of a reference
  the notes mark unconfirmed (🟡) must be hedged in that sentence ("未能核实", "据…");
- a placeholder figure of the rendering policy in a sentence that names *another* policy
  document (e.g. "兰州2013年办法 … 30万元" rendered under 财金〔2023〕75号).

Pure functions over already parsed entries; no I/O but what the caller passes in.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from knowledge.policy import PLACEHOLDER_KEYS
from knowledge.schema import Entry, Extra, Problem

ARTICLE = re.compile(r"第[一二三四五六七八九十百零]+条")
_DOC_NUMBER = re.compile(r"([\u4e00-\u9fff]{1,8})〔(\d{4})〕(\d+)号")
# Issuer prefixes of the documents the notes mention; an unknown prefix is cut to 3 characters.
DOC_PREFIXES = (
    "国经贸中小企业",
    "甘人社通",
    "深人社规",
    "兰政发",
    "甘政发",
    "国发",
    "财金",
    "银发",
    "中发",
)
FIGURE = re.compile(r"(?<![\d.])\d+(?:\.\d+)?(?:万元|万|%|倍|个工作日|个基点)")
SENTENCE = re.compile(r"[^。；;\n]+")
HEDGES = ("未能核实", "待核实", "未见原文", "有资料称", "据", "有说法称")
# The placeholders whose values are figures an answer states: the caps, terms and ratios, the
# individual processing days and the leverage.
FIGURE_KEYS = frozenset(
    k
    for k in PLACEHOLDER_KEYS
    if k.startswith(("cap_", "term_", "ratio")) or k in ("days_individual", "leverage")
)
_OPEN, _CLOSE = "\x01", "\x02"
_MARKED = re.compile(f"{_OPEN}([^{_CLOSE}]*){_CLOSE}")


@dataclass(frozen=True)
class Reference:
    """A later or related source the answers may quote figures from (policy file `references`)."""

    cite: tuple[str, ...]  # phrases that name the source in a sentence
    figures: tuple[str, ...]
    confirmed: bool = True


@dataclass(frozen=True)
class PolicyFacts:
    """What one policy file defines, for the check."""

    name: str
    document: str
    placeholders: Mapping[str, str]
    aliases: tuple[str, ...]  # ways the answers name this policy's document
    references: tuple[Reference, ...]
    extends: str | None = None


def documents_in(text: str) -> list[str]:
    """Document numbers in `text`: 兰政发〔2013〕76号, 财金〔2023〕75号 …"""
    out = []
    for m in _DOC_NUMBER.finditer(text):
        words = m.group(1)
        prefix = next((p for p in DOC_PREFIXES if words.endswith(p)), words[-3:])
        out.append(f"{prefix}〔{m.group(2)}〕{m.group(3)}号")
    return out


def _render_marked(text: str, values: Mapping[str, str], keys: Iterable[str]) -> str:
    """`text` with every placeholder value wrapped in markers (figure placeholders tagged)."""
    figure_keys = set(keys)
    marked = {k: f"{_OPEN}{'#' if k in figure_keys else ''}{v}{_CLOSE}" for k, v in values.items()}
    return text.format_map(marked)


def _outside(marked: str) -> str:
    return _MARKED.sub(" ", marked)


def _known_documents(facts: PolicyFacts) -> set[str]:
    docs = {facts.document}
    for ref in facts.references:
        docs.update(d for c in ref.cite for d in documents_in(c))
    for value in facts.placeholders.values():
        docs.update(documents_in(value))
    return docs


def _check_sentence(sentence: str, facts: PolicyFacts, others: Sequence[PolicyFacts]) -> list[str]:
    out: list[str] = []
    plain = _outside(sentence)
    clean = sentence.replace(_OPEN, "").replace(_CLOSE, "").replace("#", "")
    for figure in FIGURE.findall(plain):
        refs = [r for r in facts.references if any(c in clean for c in r.cite)]
        stating = [r for r in refs if figure in r.figures]
        if not stating:
            out.append(
                f"数字“{figure}”不是政策占位符，句中也没有注明说明该数字的来源：{clean.strip()}"
            )
        elif all(not r.confirmed for r in stating) and not any(h in clean for h in HEDGES):
            out.append(f"“{figure}”出自未核实的来源，须注明“未能核实”或来源：{clean.strip()}")
    has_figure_placeholder = f"{_OPEN}#" in sentence
    if has_figure_placeholder:
        for other in others:
            if other.document == facts.document:
                continue
            named = [a for a in other.aliases if a and a in plain and a not in facts.aliases]
            if named:
                out.append(f"句中写的是“{named[0]}”，数字却来自{facts.document}：{clean.strip()}")
    return out


def entry_problems(
    entry: Entry, facts: PolicyFacts, others: Sequence[PolicyFacts] = ()
) -> list[Problem]:
    """The policy-fact problems of one entry rendered under `facts`."""
    problems: list[str] = []
    known_docs = _known_documents(facts)
    for field, text in (("answer", entry.answer), ("short", entry.short), ("source", entry.source)):
        try:
            marked = _render_marked(text, facts.placeholders, FIGURE_KEYS)
        except (KeyError, ValueError, IndexError):
            continue  # unknown placeholders are reported by the schema check
        plain = _outside(marked)
        for art in ARTICLE.findall(plain):
            problems.append(
                f"{field}：条款“{art}”不来自{facts.name}的占位符（条款只能用政策占位符）"
            )
        clean = marked.replace(_OPEN, "").replace(_CLOSE, "").replace("#", "")
        for doc in documents_in(clean):
            if doc not in known_docs:
                problems.append(f"{field}：文件“{doc}”不是{facts.name}定义的文件或参考来源")
        for sentence in SENTENCE.findall(marked):
            problems.extend(f"{field}：{p}" for p in _check_sentence(sentence, facts, others))
    return [
        Problem(entry.file, entry.id, f"[{facts.name}] {p}", error=False)
        for p in dict.fromkeys(problems)
    ]


def placeholder_problems(facts: PolicyFacts) -> list[Problem]:
    """A policy that extends another must name the document of every article it cites (its
    article placeholders would otherwise read as articles of its own document)."""
    if facts.extends is None:
        return []
    out = []
    for key, value in facts.placeholders.items():
        if key.startswith("art_") and ARTICLE.search(value) and not documents_in(value):
            out.append(
                Problem(
                    f"policies/{facts.name}.yaml",
                    key,
                    f"[{facts.name}] 条款“{value}”没有注明所属文件（本文件继承自{facts.extends}）",
                    error=False,
                )
            )
    return out


def check_policies(entries: Sequence[Entry], all_facts: Sequence[PolicyFacts]) -> list[Problem]:
    """Every entry under every policy file (out-of-scope entries included)."""
    problems: list[Problem] = []
    for facts in all_facts:
        problems.extend(placeholder_problems(facts))
        for entry in entries:
            problems.extend(entry_problems(entry, facts, all_facts))
    return problems


def facts_of(name: str, policy: object) -> PolicyFacts:
    """PolicyFacts of a loaded knowledge.policy.Policy."""
    from knowledge.policy import Policy

    assert isinstance(policy, Policy)
    return PolicyFacts(
        name=name,
        document=policy.document,
        placeholders=policy.placeholders(),
        aliases=(policy.document, *policy.aliases),
        references=tuple(
            Reference(tuple(r.cite), tuple(r.figures), r.confirmed) for r in policy.references
        ),
        extends=policy.extends,
    )


def check_folder_policies(folder: Path, extra: Extra = ()) -> list[Problem]:
    """`check_policies` for the FAQ of `folder` (and the `extra` entries) under every policy
    file of `folder/policies` (the packaged policies when the folder has none)."""
    from knowledge.policy import POLICIES_DIR, PolicyError, list_policies, load_policy
    from knowledge.schema import parse_folder

    policies_dir = folder / "policies" if (folder / "policies").is_dir() else POLICIES_DIR
    facts: list[PolicyFacts] = []
    problems: list[Problem] = []
    for name in list_policies(policies_dir):
        try:
            facts.append(facts_of(name, load_policy(name, policies_dir)))
        except PolicyError as exc:
            problems.append(Problem(f"policies/{name}.yaml", "-", str(exc)))
    entries, _ = parse_folder(folder, None, extra)
    return problems + check_policies(entries, facts)
