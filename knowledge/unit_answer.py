"""One question clause answered (:func:`answer_unit`): the steps :mod:`knowledge.respond` takes
for every question it reads, whether alone, inside a story or as one of several.

1. a question asking what a term means is the term owner's (反担保是啥意思);
2. the clause with its story's facts is ranked, and an entry of another subject or group left
   out (:mod:`knowledge.subjects`);
3. a question shape (`understanding.yaml` `question_shapes`) says which entry answers, when
   that entry is near (:func:`_near`);
4. a figure is checked against the policy; an excluded industry or use the clause names is
   answered from the exclusion lists (:func:`_from_policy`); the entry stating the figure or
   condition the clause names replaces a first entry that states none;
5. salient words the base never uses, papers for another thing or another loan in the story
   refuse it (:mod:`knowledge.salience`); a yes/no question gets its opening
   (:mod:`knowledge.yesno`).
"""

from __future__ import annotations

import re
from contextvars import ContextVar
from dataclasses import replace
from typing import TYPE_CHECKING

from knowledge.industry import INDUSTRY_TAGS, agree_with_precheck, verdict_text
from knowledge.schema import SMS_MAX_CHARS
from knowledge.subjects import (
    firm_entry,
    group_entry,
    groupless_entry,
    subject_entry,
    subjectless_entry,
)
from knowledge.understand import Unit

if TYPE_CHECKING:
    from knowledge.answers import Answer
    from knowledge.decision import Ranking
    from knowledge.learned import Guess
    from knowledge.retrieval import KnowledgeBase

#: an amount, term, number of days or percentage written in a question
_FIGURE_RE = re.compile(
    r"[0-9０-９一二两三四五六七八九十百千]+(?:\.\d+)?\s*(?:万元|万|w|W|元|块|年|个月|个工作日|工作日|天|%|％)"
)

#: the term owners of the message being answered (:func:`_term_owner`), by question clause
#: (set by :func:`knowledge.respond.respond` for one message)
OWNERS: ContextVar[dict[str, str | None] | None] = ContextVar("term_owners", default=None)


def answer_unit(kb: KnowledgeBase, unit: Unit, channel: str, story_read: bool = True) -> Answer:
    """One question: ranked, checked for off-topic words (in the story too when the story was
    part of what was ranked, `story_read`), opened with yes/no when it asks so."""
    owner = _term_owner(kb, unit.question)
    if owner is not None:  # 反担保是啥意思: the entry that owns the term explains it
        return replace(kb.answer_entry(owner, channel), question=unit.question[:1000], by_rule=True)
    a, ranking = kb.reply_one(unit.query, channel)
    other = (
        subject_entry(kb, unit.question, ranking)
        or subjectless_entry(kb, unit, ranking)
        or group_entry(kb, unit.question, ranking)
        or groupless_entry(kb, unit, ranking)
    )
    if other is not None:  # 企业贷款的利息…: not the individual interest entry, and back
        a, ranking = kb.reply_one(unit.query, channel, without=other)
    shaped = kb.understanding.shaped_entry(unit.question)
    entry = kb.entry(shaped) if shaped and shaped != a.entry_id else None  # (a base may lack it)
    if (
        entry is not None
        and not a.out_of_scope
        and not _excluded_named(kb, entry.tags, unit.question, channel)
        and _near(kb, entry.id, unit, ranking)  # (last: it may rank the clause again)
    ):
        # 我能替他去把手续办了吗: the shape of the question says what it asks (and an industry
        # entry still agrees with the pre-check on the business the question or story names)
        a = replace(
            kb.answer_entry(entry.id, channel), question=a.question, score=a.score, by_rule=True
        )
        a = agree_with_precheck(a, entry.tags, kb.policy, channel, kb.source_of)
    if not a.matched and _FIGURE_RE.search(unit.query):
        # a figure is checked against the policy (yesno.py), not matched word for word
        bare = _FIGURE_RE.sub(" ", unit.query)
        b, r = kb.reply_one(bare, channel)
        if b.matched:
            a, ranking = b, r
    before_policy = a
    a, business = _from_policy(kb, unit, a, channel)
    if a is not before_policy:
        a = replace(a, by_rule=True)
    if a.matched and a.entry_id:
        nearby = [r.entry.id for r in ranking.items[1:3] if not r.entry.out_of_scope]
        other = _figure_moved(kb, unit, a.entry_id, nearby)
        if other is not None:  # the entry that states the figure the question names
            a = replace(
                kb.answer_entry(other, channel), question=a.question, score=a.score, by_rule=True
            )
    return _checked(kb, unit, a, ranking, business, unit.query if story_read else "", channel)


def _checked(
    kb: KnowledgeBase,
    unit: Unit,
    a: Answer,
    ranking: Ranking | None,
    business: bool,
    context: str,
    channel: str,
    trusted: bool = False,
    sure: bool = False,
) -> Answer:
    """An answer checked for off-topic words (refused with `ranking`'s suggestions — the
    query's, ranked only then, when None — when the question or its `context` speaks of another
    thing), then opened with yes/no when it asks so. business: the question names an excluded
    business (its name is what is asked about); trusted: the learned model reads the message
    confidently as the answer's question, sure: surely (salience.foreign_words)."""
    from knowledge.salience import another_loan, foreign_words, papers_for_another_thing
    from knowledge.yesno import opening

    if (
        a.matched
        and a.entry_id
        and (
            papers_for_another_thing(kb, unit.question, a.entry_id)  # 孩子上小学要准备哪些材料
            or (
                not business
                and foreign_words(kb, unit.question, a.entry_id, context, trusted, sure)
            )
            or another_loan(kb, unit.story, a.entry_id)  # 朋友的车贷…我要承担多大责任
        )
    ):
        return kb.dont_know(
            a.question, kb.rank(unit.query) if ranking is None else ranking, channel
        )
    if a.matched and a.entry_id:
        head = opening(kb, unit.query, a.entry_id, unit.story)
        if head:  # the entry answers the claim the question checks: a reading of its own
            a = replace(a, answer=_prefix(head, a.answer, channel), by_rule=True)
    return a


def entry_reply(
    kb: KnowledgeBase, unit: Unit, guess: Guess, channel: str, moves: bool = True
) -> Answer:
    """The learned model's entry for `unit` (knowledge.learned), read as the ranking's is: a
    question shape, an excluded business the question names, or a figure it names or asks for
    moves it to the entry that answers that (among the model's next likeliest, `guess.near`:
    下岗了能贷多少钱 is the amount, not who may borrow; not without `moves`: a reading sure of
    its entry keeps it); then its answer, agreeing with the pre-check on a business the question
    names, refused when the question (or its story) speaks of another thing, opened with yes/no
    when it asks so."""
    from knowledge.yesno import excluded_business

    entry_id = _moved(kb, unit, guess, channel) if moves else guess.entry_id or ""
    a = replace(kb.answer_entry(entry_id, channel), question=unit.question[:1000], score=guess.p)
    entry = kb.entry(entry_id)
    if not a.matched or entry is None:  # an out-of-scope entry: its pointer as it is
        return a
    a = agree_with_precheck(a, entry.tags, kb.policy, channel, kb.source_of)
    business = excluded_business(kb, unit.query) is not None
    trusted = guess.entry_id == entry_id and guess.p >= kb.config.learned_trust
    sure = trusted and guess.p >= kb.config.learned_sure
    return _checked(kb, unit, a, None, business, unit.query, channel, trusted, sure)


def _moved(kb: KnowledgeBase, unit: Unit, guess: Guess, channel: str) -> str:
    """The model's entry moved by the question's shape, an excluded business it names or a
    figure it names or asks for (see :func:`entry_reply`)."""
    from knowledge.lexicon import POLICY_WORD_ENTRIES
    from knowledge.yesno import excluded_business

    entry_id = guess.entry_id or ""
    near = list(guess.near)  # (entries in service only: the model is restricted to them)
    shaped = kb.understanding.shaped_entry(unit.question)
    if shaped in near and not _excluded_named(kb, _tags(kb, shaped), unit.question, channel):
        entry_id, near = shaped, [entry_id, *(e for e in near if e != shaped)]
    named = excluded_business(kb, unit.question)  # 开个KTV能贷吗: the exclusions answer it
    if named and entry_id not in POLICY_WORD_ENTRIES and kb.entry(named) is not None:
        entry_id = named
    return _figure_moved(kb, unit, entry_id, near, asked=True) or entry_id


def _figure_moved(
    kb: KnowledgeBase, unit: Unit, entry_id: str, near: list[str], asked: bool = False
) -> str | None:
    """The entry among `near` (or the time limits', the firm's) that states the figure or
    condition the question names instead of `entry_id` (yesno.py, subjects.firm_entry); asked:
    also the kind of figure it asks for (能贷多少 → an amount)."""
    from knowledge.yesno import (
        asked_figure_entry,
        checked_figure_entry,
        condition_entry,
        figure_entry,
    )

    return (
        figure_entry(unit.query, entry_id, near)
        or (asked_figure_entry(unit.question, entry_id, near) if asked else None)
        or checked_figure_entry(kb, unit.query, entry_id)
        or condition_entry(kb, unit.query, entry_id, near)
        or firm_entry(kb, unit.question, entry_id)
    )


def _tags(kb: KnowledgeBase, entry_id: str) -> tuple[str, ...]:
    entry = kb.entry(entry_id)
    return entry.tags if entry is not None else ()


def _excluded_named(kb: KnowledgeBase, tags: tuple[str, ...], question: str, channel: str) -> bool:
    """Whether an industry entry's shape meets a clause naming an excluded or doubtful industry
    (开个足疗按摩店能贷吗, 开个棋牌室行不行): the ranking's own answer stands (the exclusions' entry,
    or :func:`_from_policy`'s), not the shape; the pre-check's matching decides (`verdict_text`)."""
    return (
        bool(INDUSTRY_TAGS & set(tags)) and verdict_text(question, kb.policy, channel) is not None
    )


def _near(kb: KnowledgeBase, entry_id: str, unit: Unit, ranking: Ranking) -> bool:
    """Whether `entry_id` is among the first three of `ranking`, or of the question clause
    ranked alone when the story's facts were ranked with it; or the clause names nothing but
    the shape (no word of the base's own, none unknown to it)."""
    if entry_id in [r.entry.id for r in ranking.items[:3]]:
        return True
    if not kb.lexicon.names_distinctive(unit.question) and not unknown_words(kb, unit.question):
        return True  # 这个贷款要还吗: nothing but the shape says what it asks
    if unit.query == unit.question:
        return False
    return entry_id in [r.entry.id for r in kb.rank(unit.question, k=3).items]


def _from_policy(kb: KnowledgeBase, unit: Unit, a: Answer, channel: str) -> tuple[Answer, bool]:
    """A question the ranking did not answer, answered from the policy's data when it asks
    whether a business of an excluded industry may borrow (装修队这种算建筑业吗), whether the money
    may go to an excluded use (先拿去炒股行不行) or, without a story, whether a figure is so
    (失业人员顶多贷4万吧); and whether it names an excluded business (its name is what is asked
    about: no off-topic check holds it against the answer)."""
    from knowledge.lexicon import POLICY_WORD_ENTRIES
    from knowledge.yesno import excluded_business, excluded_use, figure_question_entry

    # answered: kept, unless the question itself names an excluded industry it asks about
    # (这算不算广告业 after a story that ranked an entry about firms first)
    if a.matched and (
        a.entry_id in POLICY_WORD_ENTRIES or not excluded_business(kb, unit.question)
    ):
        return a, False
    business = excluded_business(kb, unit.query)
    entry_id = business or excluded_use(kb, unit.query)
    if entry_id is None and not unit.story:  # (a figure of a story is more often told than asked)
        entry_id = figure_question_entry(kb, unit.query)
    if entry_id is None:
        return a, False
    found = replace(kb.answer_entry(entry_id, channel), question=a.question, score=a.score)
    return found, business is not None


def _term_owner(kb: KnowledgeBase, question: str) -> str | None:
    """The entry owning the term a question asks the meaning of (反担保是啥意思), or None; once
    per question clause of a message (a follow-up is read several ways, the clause the same)."""
    memo = OWNERS.get()
    if memo is not None and question in memo:
        return memo[question]
    term = kb.understanding.defined_term(question)
    owner = kb.lexicon.defining_entry(term) if term else None
    if memo is not None:
        memo[question] = owner
    return owner


def topic_words(kb: KnowledgeBase, question: str) -> list[str]:
    """The topic words of the base a question clause names that are no group's (利息, 材料,
    担保人; none in 能贷多少)."""
    spread = kb.lexicon.spread
    groups = {w for w, _ in kb.understanding.facts}
    tokens = kb.normalizer.analyze(question).tokens
    return [t for t in tokens if t in spread and len(t) > 1 and t not in groups]


def topic_of_its_own(kb: KnowledgeBase, question: str) -> bool:
    """Whether a question clause names a topic word of the base that is no group's
    (:func:`topic_words`): what it asks does not depend on who asks."""
    return bool(topic_words(kb, question)) and kb.lexicon.informative(question)


def unknown_words(kb: KnowledgeBase, text: str) -> list[str]:
    from knowledge.salience import salient_words

    lex = kb.lexicon
    known = lex.known_words()
    parts = lex.word_parts()  # 中心 of 担保中心: a piece of a word of the base
    return [  # a district of the policy (榆中) says where, not what
        t
        for t, _ in salient_words(kb, text)
        if t not in known and t not in parts and not lex.in_answers(t) and not lex.is_place(t)
    ]


def _prefix(head: str, answer: str, channel: str) -> str:
    """The yes/no opening before the answer, replacing the answer's own leading 可以。/不可以。"""
    from knowledge.yesno import strip_opening

    body = strip_opening(answer)
    text = f"{head}\n{body}" if channel != "sms" else head + body
    if channel == "sms" and len(text) > SMS_MAX_CHARS:
        return head
    return text
