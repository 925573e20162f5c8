"""Question understanding: the questions inside a message, the facts around them, follow-ups.

Applicants write stories ("我妈今年五十了，以前在纺织厂上班，厂子改制后一直在家……像她这样的能贷
多少"), several questions at once ("要交哪些材料？多久能批下来") and short follow-ups ("合伙的呢？").
This module only reads the text; :mod:`knowledge.respond` decides what to answer.

- A message is cut into clauses at sentence and clause punctuation and at spaces (SMS style).
- A clause *asks* when it contains a question word (多少, 能不能, 吗 …) or ends with a question
  particle (能贷不). Clauses that do not ask are the story; the story's facts are mapped to the
  words the knowledge base uses (厂子改制 → 失业人员) and added to the question that follows.
- Up to :data:`MAX_QUESTIONS` questions are kept, in message order.

The word lists are data (``understanding.yaml`` of the knowledge folder).
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from knowledge.schema import load_yaml

PACKAGE_DIR = Path(__file__).resolve().parent
FILE = "understanding.yaml"
MAX_QUESTIONS = 3

_SENTENCE_RE = re.compile(r"([。！!？?；;\s]+)")
_CLAUSE_RE = re.compile(r"[，,：:]+")
_TRAILING_RE = re.compile(r"[啊呀哈嘛啦哦喔呗～~…\.]+$")
#: 几 as an indefinite number, not a question: after a numeral or 前/这/那/好 (九几年, 前几年,
#: 这几天, 十几万), or before 前 (几年前); 没多久, 不多久, 没几天: "not long", a statement; 啥也不会,
#: 什么都没有, 哪也不去: "nothing", "nowhere", not a question; 逾期过几次, 晚了几天: "a few times",
#: "a few days"; 也没有什么失业证: "no … to speak of"
_INDEFINITE_RE = re.compile(
    r"(?:[0-9一二三四五六七八九十两]|前|这|那|好)几(?:十|百|千)?(?:年|个月|个|天|次|万|回|家)?"
    r"|几(?:十|百|千)?(?:年|个月|天)(?:以)?前"
    r"|[没不]多(?:久|少|长时间)|没几(?:天|个月|年|次|个)"
    r"|(?:啥|什么|谁|哪儿|哪里|哪)(?:也|都)(?:不|没)|[过了]几(?:次|回|天|年|个月)|(?<!有)没有?(?:什么|啥)"
    r"|(?:和|跟|与|同|带着?|找了?|招了?|雇了?|请了?|拉了?|叫上?|约了?)几(?:个|位|名)"  # 和几个同学搞了个…: some
    r"|多[批贷借给拿要]?几(?:十|百|千)?(?:万|千|百|块)"  # 还能多批几万: a few more
    r"|(?:我们|咱们|他们|她们|你们)几(?:个|位|家)"  # 我们几个下岗的姐妹: the few of us
    r"|[也就才]几(?:十|百|千)?(?:万|千|百|块)"  # 最多也就几万: only a few
    r"|(?:包|养|种|建|盖|扩建|买|租)了?几(?:个|头|亩|只|间|台|辆)"  # 包几个大棚: some
)


#: a verb or adjective asked as "A not A" (变没变, 合不合适, 批没批下来): a question whatever the verb
A_NOT_A_RE = re.compile(r"([\u4e00-\u9fff])[没不]\1")
#: a choice asked as "是 A 还是 B" (是个人贷还是企业贷, 是我自己出还是公家出): a question
_ALTERNATIVE_RE = re.compile(r"是[^，,。？?！!]{1,12}还是")


def _any_of(words: tuple[str, ...]) -> re.Pattern[str]:
    """A regex found in a text exactly when one of `words` is in it (never, for no words)."""
    return re.compile("|".join(re.escape(w) for w in words) if words else "(?!)")


@functools.cache
def _business_noun_re(nouns: tuple[str, ...]) -> re.Pattern[str]:
    """A demonstrative and, a few characters on, one of `nouns` (这种网上的生意): built once per
    word list."""
    alternatives = "|".join(re.escape(n) for n in nouns)
    return re.compile(rf"这(?:种|个|类|样的)[^，,。？?！!]{{0,6}}?(?:{alternatives})")


@dataclass(frozen=True)
class Unit:
    """One question of a message: the clause as written and the text to rank."""

    question: str  # the asking clause(s), as written
    query: str  # the clause with the facts of the story before it
    story: str = ""  # the clauses before it that do not ask


@dataclass(frozen=True)
class Parsed:
    units: tuple[Unit, ...]  # the questions, in message order (≥ 1)
    story: bool  # a long message with clauses that do not ask (a story around the question)

    @property
    def multi(self) -> bool:
        return len(self.units) > 1


def _table(data: dict[str, Any], key: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
    raw = data.get(key) or {}
    if not isinstance(raw, dict):
        raise ValueError(f"{FILE}: {key} 需要 词 → [说法]")
    return tuple((str(k), _words(raw, k)) for k in raw)


def _words(data: dict[str, Any], key: str) -> tuple[str, ...]:
    value = data.get(key) or []
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ValueError(f"{FILE}: {key} 需要非空字符串列表")
    return tuple(sorted(value, key=len, reverse=True))


#: word lists understanding.yaml may leave out (an empty list then)
OPTIONAL_WORD_LISTS = (
    "pinyin_words", "other_lenders", "definition_starts", "definition_ends", "employer_words",
    "anaphora", "business_anaphora", "business_verbs", "business_nouns", "story_subjects",
    "followup_pronouns", "errand_words", "applicant_groups", "relatives", "borrow_words",
    "bank_words", "aspect_words", "groupless_words", "place_words",
)  # fmt: skip


def _shapes(data: dict[str, Any]) -> tuple[tuple[str, re.Pattern[str]], ...]:
    """`question_shapes`: entry id → regular expressions over a question clause."""
    raw = data.get("question_shapes") or {}
    if not isinstance(raw, dict):
        raise ValueError(f"{FILE}: question_shapes 需要映射（条目 id → 正则列表）")
    out = []
    for entry_id, patterns in raw.items():
        if not isinstance(patterns, list) or not all(isinstance(p, str) for p in patterns):
            raise ValueError(f"{FILE}: question_shapes.{entry_id} 需要字符串列表")
        for pattern in patterns:
            try:
                out.append((str(entry_id), re.compile(pattern)))
            except re.error as exc:
                raise ValueError(
                    f"{FILE}: question_shapes.{entry_id} 的正则无效：{pattern}"
                ) from exc
    return tuple(out)


def _optional_words(data: dict[str, Any], key: str) -> tuple[str, ...]:
    return _words(data, key) if data.get(key) else ()


TEXT_KEYS = ("part_heading", "sms_more", "yes_can", "no_can", "yes_is", "no_is", "yes_must",
             "no_must", "amount", "amount_unset", "term", "days", "days_step", "ratio", "industry",
             "use")  # fmt: skip


def _texts(data: dict[str, Any]) -> dict[str, str]:
    texts = data.get("texts") or {}
    if not isinstance(texts, dict):
        raise ValueError(f"{FILE}: texts 需要映射")
    missing = [k for k in TEXT_KEYS if not isinstance(texts.get(k), str)]
    if missing:
        raise ValueError(f"{FILE}: texts 缺少 {', '.join(missing)}")
    return {str(k): str(v) for k, v in texts.items()}


SALIENCE_DEFAULTS = {
    "max_frequency": 500.0,
    "min_share": 0.4,
    "other_topic_max_frequency": 1000.0,
    "purpose_max_frequency": 5000.0,
}


def _salience(data: dict[str, Any]) -> dict[str, float]:
    raw = data.get("salience") or {}
    out = dict(SALIENCE_DEFAULTS)
    if not isinstance(raw, dict) or set(raw) - set(out):
        raise ValueError(f"{FILE}: salience 只能有 {'、'.join(out)}")
    out.update({k: float(v) for k, v in raw.items()})
    return out


@dataclass(frozen=True)
class Understanding:
    question_words: tuple[str, ...]
    question_endings: tuple[str, ...]
    facts: tuple[tuple[str, tuple[str, ...]], ...]  # (canonical word, story words)
    followup_starts: tuple[str, ...]
    followup_endings: tuple[str, ...]
    followup_max_chars: int = 14
    story_min_chars: int = 24  # a message this long with clauses that do not ask tells a story
    texts: Mapping[str, str] = field(default_factory=dict)  # composed-reply texts (placeholders)
    subjects: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (subject, words naming it)
    pinyin_words: tuple[str, ...] = ()  # everyday words pinyin may spell (knowledge/pinyin.py)
    salience: Mapping[str, float] = field(default_factory=lambda: dict(SALIENCE_DEFAULTS))
    other_lenders: tuple[str, ...] = ()  # other lenders and loan products (knowledge/salience.py)
    definition_starts: tuple[str, ...] = ()  # 什么是 …: the question asks what a term means
    definition_ends: tuple[str, ...] = ()  # … 是什么意思
    employer_words: tuple[str, ...] = ()  # a story told by an employer (新招了, 我们公司)
    anaphora: tuple[str, ...] = ()  # a question opening that points back (这样, 这种情况)
    business_anaphora: tuple[str, ...] = ()  # words pointing at the story's business (这种店)
    business_verbs: tuple[str, ...] = ()  # a story clause naming a business (开个, 做)
    business_nouns: tuple[str, ...] = ()  # 这种…生意: a demonstrative, then one of these
    story_subjects: tuple[str, ...] = ()  # subjects a story gives its question (合伙)
    applicant_groups: tuple[str, ...] = ()  # facts that are groups with entries of their own
    # a short message asking about 他/她 continues the topic
    followup_pronouns: tuple[str, ...] = ()
    # someone acting for the speaker (帮我办): the facts of that clause are not the applicant's
    errand_words: tuple[str, ...] = ()
    # family members (老婆, 我妈): their facts are not the applicant's when the speaker tells of
    # themself and asks about themself
    relatives: tuple[str, ...] = ()
    # a question whether one may borrow this loan (能贷几个钱), and banks that make it another's
    borrow_words: tuple[str, ...] = ()
    bank_words: tuple[str, ...] = ()
    # question words naming what is asked (多久, 多少): a follow-up's own thing as much as 征信
    aspect_words: tuple[str, ...] = ()
    # question shapes that say which entry answers (替他去办 → in_person): (entry id, pattern)
    shapes: tuple[tuple[str, re.Pattern[str]], ...] = ()
    # questions whose answer is the same for every applicant group (去哪, 多久, 手续): a story's
    # group facts are not added to them
    groupless_words: tuple[str, ...] = ()
    # words of a place in general (区里, 镇上): they say where, not what (as a district does)
    place_words: tuple[str, ...] = ()

    @classmethod
    def load(cls, folder: Path | None = None) -> Understanding:
        """`understanding.yaml` of `folder`, else the packaged one."""
        path = folder / FILE if folder is not None else None
        if path is None or not path.exists():
            path = PACKAGE_DIR / FILE
        return cls.from_mapping(load_yaml(path.read_text(encoding="utf-8")) or {})

    @classmethod
    def from_mapping(cls, data: Any) -> Understanding:
        if not isinstance(data, dict):
            raise ValueError(f"{FILE}: 顶层需要映射")
        facts = _table(data, "facts")
        return cls(
            question_words=_words(data, "question_words"),
            question_endings=_words(data, "question_endings"),
            facts=facts,
            followup_starts=_words(data, "followup_starts"),
            followup_endings=_words(data, "followup_endings"),
            followup_max_chars=int(data.get("followup_max_chars", 14)),
            story_min_chars=int(data.get("story_min_chars", 24)),
            texts=_texts(data),
            salience=_salience(data),
            subjects=_table(data, "subjects"),
            shapes=_shapes(data),
            **{key: _optional_words(data, key) for key in OPTIONAL_WORD_LISTS},
        )

    # --- word lists as one regex each (built on first use): "any of these words in the text" ------

    @functools.cached_property
    def _question_word_re(self) -> re.Pattern[str]:
        return _any_of(self.question_words)

    @functools.cached_property
    def _fact_word_re(self) -> re.Pattern[str]:
        return _any_of(tuple(w for _, says in self.facts for w in says))

    @functools.cached_property
    def _subject_word_re(self) -> re.Pattern[str]:
        return _any_of(tuple(w for _, says in self.subjects for w in says))

    @functools.cached_property
    def _relative_re(self) -> re.Pattern[str]:
        """A family member, with the speaker's 我/我的/我家 before it (我老婆, 俺家闺女)."""
        words = "|".join(re.escape(w) for w in sorted(self.relatives, key=len, reverse=True))
        return re.compile(f"(?:我的|我家|我|俺家|俺)?(?:{words})" if words else r"(?!)")

    # --- reading ---------------------------------------------------------------------------------

    def clauses(self, text: str) -> list[list[str]]:
        """Sentences (cut at sentence punctuation and spaces), each a list of clauses (cut at
        commas), punctuation removed."""
        return [s for s, _ in self.sentences(text)]

    def sentences(self, text: str) -> list[tuple[list[str], bool]]:
        """(clauses, strong) per sentence; strong: it follows sentence punctuation (？。！；), not
        a space or the start of the message."""
        text = unicodedata.normalize("NFKC", text)
        out: list[tuple[list[str], bool]] = []
        pieces = _SENTENCE_RE.split(text)
        strong = False
        for i in range(0, len(pieces), 2):
            parts = [_TRAILING_RE.sub("", c) for c in _CLAUSE_RE.split(pieces[i])]
            parts = [c for c in parts if c]
            if parts:
                out.append((parts, strong))
            sep = pieces[i + 1] if i + 1 < len(pieces) else ""
            strong = bool(sep.strip())
        return out

    def asks(self, clause: str) -> bool:
        """Whether a clause asks something (question word inside or question particle at its end).
        几 as an indefinite number (前几年, 九几年, 十几万, 几年前) asks nothing."""
        clause = _INDEFINITE_RE.sub("", clause)
        if (
            self._question_word_re.search(clause)
            or A_NOT_A_RE.search(clause)
            or _ALTERNATIVE_RE.search(clause)
        ):
            return True
        return len(clause) > 2 and clause.endswith(self.question_endings)

    def facts_in(self, text: str) -> list[str]:
        """Canonical words of the facts a story states (in the order of the fact table)."""
        if not self._fact_word_re.search(text):  # none of them at all: the usual case
            return []
        if self.errand_words and any(w in text for w in self.errand_words):
            # 让我妈拿着材料去社区帮我办: someone running an errand is not who applies
            clauses = (c for sentence in self.clauses(text) for c in sentence)
            text = "，".join(c for c in clauses if not self.runs_errand(c))
        return [word for word, says in self.facts if any(s in text for s in says)]

    def tells_of_self(self, clause: str) -> bool:
        """Whether a clause tells of the speaker (我是去年下岗的; not 我老婆在超市上班)."""
        rest = self._relative_re.sub("", clause).replace("我们", "").replace("俺们", "")
        return "我" in rest or "俺" in rest

    def tells_of_relative(self, clause: str) -> bool:
        """Whether a clause tells of a family member and not of the speaker (老婆在超市上班)."""
        return self._relative_re.search(clause) is not None and not self.tells_of_self(clause)

    def applicants_story(self, story: list[str], question: str) -> list[str]:
        """The story clauses (as :meth:`parse` cuts them) whose facts are the applicant's: all of
        them, except the clauses about a family member when the speaker also tells of themself
        and the question names no family member and no 他/她 (我是去年下岗的，老婆在超市上班……
        像我这样的能贷多少: the wife's facts are not the applicant's)."""
        if self._relative_re.search(question) or self.names_by_pronoun(question):
            return story
        if not any(self.tells_of_self(c) for c in story):
            return story
        return [c for c in story if not self.tells_of_relative(c)]

    def runs_errand(self, clause: str) -> bool:
        """Whether a clause tells of someone doing something for the speaker (帮我办, 替我跑)."""
        return any(w in clause for w in self.errand_words)

    def parse(self, text: str, informative: Callable[[str], bool] = bool) -> Parsed:
        """The questions of a message (up to MAX_QUESTIONS) and whether a story surrounds them.

        A new question starts at an asking clause that opens a sentence after sentence
        punctuation (？。！；), or after a space when it says something of its own (`informative`:
        it names a topic of the base); an asking clause after a comma, or after a space without
        a topic of its own (谁定的, 要哪个), continues the question before it.
        """
        groups: list[tuple[list[str], list[str]]] = []  # (story before, asking span)
        story: list[str] = []
        told = False
        sentences = self.sentences(text)  # read once: the clauses below are the same
        for sentence, strong in sentences:
            for n, clause in enumerate(sentence):
                if not self.asks(clause):
                    story.append(clause)
                    told = True
                    continue
                if groups and (n > 0 or not (strong or informative(clause))):
                    groups[-1][1].extend([*story, clause])
                else:
                    groups.append((story, [clause]))
                story = []
        if not groups:  # nothing asks: the whole message is the question
            whole = "".join(c for s, _ in sentences for c in s)
            return Parsed((Unit(whole, whole),), False)
        units = []
        earlier: list[str] = []  # every story clause up to the group: a firm's story holds for all
        for before, span in groups:
            earlier.extend(before)
            units.append(self._unit(before, span, informative, "，".join(earlier)))
        if story:  # a story after the last question: its facts belong to that question
            last = units[-1]
            facts = [f for f in self.facts_in("".join(story)) if f not in last.query]
            units[-1] = Unit(last.question, "".join(facts) + last.query, last.story)
        long = told and sum(len(c) for s, _ in sentences for c in s) > self.story_min_chars
        return Parsed(tuple(units[:MAX_QUESTIONS]), long)

    def _unit(
        self,
        story: list[str],
        span: list[str],
        informative: Callable[[str], bool],
        earlier: str,
    ) -> Unit:
        question = "".join(span)
        told = "，".join(story)
        if self.employer(earlier) and not self.facts_in(question):  # (earlier holds `told`)
            # a firm's story (我们公司…新招了20个下岗的): its groups are the people it hires, the
            # applicant is the firm
            subject = "" if self.subject_of(question) else self.subjects[0][0]
            return Unit(question, subject + question, told)
        business = self.business_clause(story, question)
        if business is not None:
            # 想开个足疗按摩店……这种店能申请吗: the question is about that business, not the group
            return Unit(question, business + question, told)
        # a question that names its own group or subject (合伙的话…) keeps it: no story facts
        own = self.facts_in(question) or self.subject_of(question)
        theirs = question if own else "，".join(self.applicants_story(story, question))
        facts = [f for f in self.facts_in(theirs) if f not in question]
        if facts and informative(question) and any(w in question for w in self.groupless_words):
            facts = []  # 交材料的流程是啥, 这个证去哪办: the same for every group (失业人员 would blur it)
        carried = self.subject_of(told) if not own else None
        if carried in self.story_subjects and carried not in facts:
            facts.append(carried)  # 打算合伙开……我们三个一起申请的话最多多少: the partnership's cap
        if story and not facts and not informative(question):
            return Unit(question, "".join(story) + question, told)  # the story holds the topic
        if story and question.startswith(self.anaphora):
            # 找不到担保人，这样还能贷吗: "这样" is the clause just before the question
            return Unit(question, "".join(facts) + story[-1] + question, told)
        return Unit(question, "".join(facts) + question, told)

    def business_clause(self, story: list[str], question: str) -> str | None:
        """The story clause naming the applicant's business (想开个足疗按摩店), when the question
        points at it (这种店, 这个行业: business_anaphora; 这种网上的生意: a demonstrative and, a few
        characters on, one of business_nouns); else None. The last such clause."""
        if not story or not self.points_at_business(question):
            return None
        named = [c for c in story if self.names_business(c)]
        return named[-1] if named else None

    def names_business(self, text: str) -> bool:
        """Whether `text` (a story clause, or a whole story) names a business (想开个…, 做…)."""
        return any(v in text for v in self.business_verbs)

    def points_at_business(self, question: str) -> bool:
        """Whether a question points at a business named before it (这种店, 这种网上的生意)."""
        if any(w in question for w in self.business_anaphora):
            return True
        if not self.business_nouns or "这" not in question:
            return False
        return _business_noun_re(self.business_nouns).search(question) is not None

    def flat(self, text: str) -> str:
        """`text` without its punctuation and spaces: its clauses run together."""
        return "".join(c for s in self.clauses(text) for c in s)

    def short(self, text: str) -> bool:
        """Whether `text` is as short as a follow-up (followup_max_chars, punctuation aside)."""
        return len(self.flat(text)) <= self.followup_max_chars

    def shaped_entry(self, question: str) -> str | None:
        """The entry whose question shape (`question_shapes`) the clause has, or None."""
        if not self.shapes or self._any_shape_re.search(question) is None:
            return None  # no shape at all (one search for all of them): the usual case
        return next((e for e, pattern in self.shapes if pattern.search(question)), None)

    @functools.cached_property
    def _any_shape_re(self) -> re.Pattern[str]:
        return re.compile("|".join(f"(?:{p.pattern})" for _, p in self.shapes))

    def defined_term(self, text: str) -> str | None:
        """The term a question asks the meaning of (反担保 in "反担保是啥意思", 微利项目 in
        "什么叫微利项目"), or None when it asks something else."""
        flat = self.flat(text).removeprefix("请问")
        for start in self.definition_starts:
            if flat.startswith(start) and len(flat) > len(start):
                return flat[len(start) :]
        for end in self.definition_ends:
            if flat.endswith(end) and len(flat) > len(end):
                return flat[: -len(end)]
        return None

    def employer(self, story: str) -> bool:
        """Whether a story is told by an employer about the people it hires (employer_words)."""
        return any(w in story for w in self.employer_words)

    def subject_of(self, text: str) -> str | None:
        """The subject a text names (企业, 合伙), or None."""
        if not self._subject_word_re.search(text):
            return None
        return next((s for s, says in self.subjects if any(w in text for w in says)), None)

    def is_followup(self, text: str) -> bool:
        """A short message that continues the previous question (那要多久？ 合伙的呢？)."""
        flat = self.flat(text)
        if not flat or len(flat) > self.followup_max_chars:
            return False
        if flat.startswith(self.followup_starts) or flat.endswith(self.followup_endings):
            return True
        # 我老公是老师，他可以吗: someone named by a pronoun, what about them is the last topic
        return self.names_by_pronoun(flat)

    def names_by_pronoun(self, text: str) -> bool:
        """Whether `text` names someone by a pronoun only (他, 她): it cannot be read alone."""
        return any(p in text for p in self.followup_pronouns)
