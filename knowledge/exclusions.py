"""Excluded industries and uses (第二条): the words that place a text in a class, cautions,
negation ("绝不炒股" does not count), and the texts said about them. One matcher, used by the
pre-check (core.applications.eligibility) and the FAQ (knowledge.industry) alike; loaded from a policy file."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any

from pydantic import field_validator

from knowledge._model import FrozenModel as _Model
from knowledge._model import normalize_text


class WordRule(_Model):
    """A word that places a text in an exclusion class, unless one of `unless` also appears."""

    word: str
    unless: tuple[str, ...] = ()


# A negation right before a word ("绝不炒股", "不买房") means the text says it will *not* do it.
_NEGATION = re.compile(r"(绝不|决不|从不|并不|不会|不去|不再|不|没有|没|非|别|无需|无)$")
# Question forms and "I don't know" that contain 不 but negate nothing: 能不能, 是不是, 不知道 …
_NOT_NEGATION = re.compile(r"(.)不\1|不知道|不清楚|不确定|不懂|不了解")
_CLAUSE_BREAK = re.compile(r"[，,。；;、！!？?\n]")
_VERBS = frozenset("去做开搞干用买炒会想要拿投")


def _negated(norm: str, start: int) -> bool:
    """Whether the word at `start` of the normalised text is negated within its clause."""
    clause_start = max((m.end() for m in _CLAUSE_BREAK.finditer(norm, 0, start)), default=0)
    before = _NOT_NEGATION.sub("", norm[clause_start:start])
    # the negator stands right before the word, or before one or two verbs (不去炒股, 绝不会开)
    for gap in range(0, 3):
        if gap > len(before) or any(c not in _VERBS for c in before[len(before) - gap :]):
            break
        if _NEGATION.search(before[: len(before) - gap]):
            return True
    return False


class ExclusionClass(_Model):
    """One excluded industry or use, with the everyday words that fall under it.

    `words` are the article's words and their plain equivalents (refused); `caution` words may or
    may not fall under the class (酒吧, 澡堂 …): the guarantee institution decides (须担保机构认定).
    A word negated in its clause ("进货，绝不炒股") does not count."""

    name: str
    words: tuple[WordRule, ...]
    caution: tuple[str, ...] = ()
    mask: tuple[str, ...] = ()
    # words that, in the answer to "what is the loan for", mean fitting out the business's own
    # premises rather than running a business of this class (装修 as a use is not 建筑业)
    purpose_mask: tuple[str, ...] = ()
    # ... unless the answer says the work is done for others (给别人家装修 is 建筑业 again)
    purpose_unmask: tuple[str, ...] = ()

    @field_validator("words", mode="before")
    @classmethod
    def _words(cls, value: Any) -> Any:
        if not isinstance(value, list | tuple):
            return value
        out: list[Any] = []
        for item in value:
            if isinstance(item, str):
                out.append({"word": item})
            elif isinstance(item, dict) and len(item) == 1 and "word" not in item:
                ((word, unless),) = item.items()
                out.append({"word": word, "unless": unless or ()})
            else:
                out.append(item)
        return out

    def _masked(self, text: str, purpose: bool = False) -> str:
        norm = normalize_text(text)
        if purpose and any(normalize_text(w) in norm for w in self.purpose_unmask):
            purpose = False
        for phrase in (*self.mask, *(self.purpose_mask if purpose else ())):
            norm = norm.replace(normalize_text(phrase), "|")
        return norm

    def match(self, text: str, purpose: bool = False) -> str | None:
        """The first (not negated) word of this class found in `text` (after masking), or None.
        `purpose`: `text` answers what the loan is for (the class's `purpose_mask` applies)."""
        if _any_word(tuple(r.word for r in self.words)).search(normalize_text(text)) is None:
            return None  # none of its words at all (masking only removes text): the usual case
        norm = self._masked(text, purpose)
        for rule in self.words:
            if any(normalize_text(u) in norm for u in rule.unless):
                continue
            if _occurs(norm, normalize_text(rule.word)):
                return rule.word
        return None

    def match_caution(self, text: str) -> str | None:
        """The first (not negated) caution word found in `text`, or None."""
        norm = self._masked(text)
        for word in self.caution:
            if _occurs(norm, normalize_text(word)):
                return word
        return None


@functools.lru_cache(maxsize=64)
def _any_word(words: tuple[str, ...]) -> re.Pattern[str]:
    """One pattern finding any of `words` (normalised), built once per word list."""
    return re.compile("|".join(re.escape(normalize_text(w)) for w in words) or r"(?!)")


def _occurs(norm: str, word: str) -> bool:
    """`word` occurs in `norm` at least once without a negation before it."""
    start = norm.find(word)
    while start >= 0:
        if not _negated(norm, start):
            return True
        start = norm.find(word, start + 1)
    return False


@dataclass(frozen=True)
class ExclusionMatch:
    """An excluded class found in a text, and the word that matched."""

    name: str
    word: str


class ExclusionTexts(_Model):
    """What the pre-check and the FAQ say about an excluded or doubtful industry or use.
    Fields: {word} (as written), {name} (the class), {article}."""

    refuse: str
    refuse_sms: str
    refuse_use: str
    refuse_use_sms: str
    caution: str
    caution_sms: str


class Exclusions(_Model):
    article: str
    industries: tuple[ExclusionClass, ...]
    uses: tuple[ExclusionClass, ...]
    texts: ExclusionTexts

    def match_industry(self, text: str, purpose: bool = False) -> ExclusionMatch | None:
        return _first_match(self.industries, text, purpose)

    def match_use(self, text: str) -> ExclusionMatch | None:
        return _first_match(self.uses, text)

    def caution_industry(self, text: str) -> ExclusionMatch | None:
        """A doubtful word (须担保机构认定), when no excluded word matched."""
        for cls in self.industries:
            word = cls.match_caution(text)
            if word is not None:
                return ExclusionMatch(cls.name, word)
        return None


def _first_match(
    classes: tuple[ExclusionClass, ...], text: str, purpose: bool = False
) -> ExclusionMatch | None:
    for cls in classes:
        word = cls.match(text, purpose)
        if word is not None:
            return ExclusionMatch(cls.name, word)
    return None
