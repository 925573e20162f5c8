"""Short follow-ups in a conversation and in a message of several questions (respond step 2
and 5): a follow-up is read with the previous entry's question — a group it names (我媳妇 →
妇女), else the previous question's subject (企业), else the previous question itself — and
answered alone instead when that reading is as confident and near; a new party it names (那反担保人呢)
gets the previous question asked of it."""

from __future__ import annotations

from collections.abc import Container
from dataclasses import replace
from typing import TYPE_CHECKING

from knowledge.understand import Unit
from knowledge.unit_answer import answer_unit

if TYPE_CHECKING:
    from knowledge.answers import Answer
    from knowledge.retrieval import KnowledgeBase
    from knowledge.schema import Entry

#: a follow-up that gives its previous entry again is answered by itself instead only when that
#: reading is at least this share as confident (合伙的呢 alone: the partnership's cap; 街道呢
#: alone is a guess next to "社区审核几天街道呢", which keeps the approval time)
FOLLOWUP_ALONE_SHARE = 0.35
#: … and is among this many entries closest to the previous question and the follow-up together
FOLLOWUP_NEAR = 5
#: how many of the learned model's next readings of a follow-up naming a new thing are tried
FOLLOWUP_MODEL_NEAR = 2

#: the person a question asks of when it names no subject (个人申请需要什么材料)
PERSON = "个人"

#: a short question the previous topic keeps must be one it could mean alone: among this many
#: entries closest to it (:func:`kept_topic`)
FOLLOWUP_COULD = 3


def of_a_business_kind(kb: KnowledgeBase, text: str, prev: Entry) -> bool:
    """修鞋的算不算 after 什么是微利项目: a short question after an entry that judges kinds of
    business (its tags: industry, use, 微利项目) names the business it asks about; the words
    the base never uses are that business, not another topic."""
    from knowledge.industry import BUSINESS_KIND_TAGS

    return kb.understanding.short(text) and bool(BUSINESS_KIND_TAGS & set(prev.tags))


def carried_subject(
    kb: KnowledgeBase, text: str, previous: str, single: Answer, channel: str
) -> Answer | None:
    """A short question that names no subject, no group and not 个人, after a question about a
    subject (企业贷款最多多少？ then 要准备哪些材料): the subject carries over when that gives
    another entry of the subject's; else None (the question's own answer stands)."""
    und = kb.understanding
    subject = und.subject_of(previous)
    if (
        subject is None
        or not und.short(text)
        or und.subject_of(text)
        or und.facts_in(text)
        or PERSON in text
    ):
        return None
    keys = kb.lexicon.entry_keys
    if single.entry_id and subject in keys(single.entry_id):
        return None
    a = answer_unit(kb, Unit(text, subject + text), channel)
    return a if a.matched and a.entry_id and subject in keys(a.entry_id) else None


def kept_topic(
    kb: KnowledgeBase, text: str, previous: str, single: Answer, channel: str
) -> Answer | None:
    """A short question answered alone by an entry far from the last topic, that read as a
    follow-up gets an entry the question alone could also mean (贴几年 after 有贴息吗: the
    subsidy's years, not the loan's term): that reading; else None."""
    if not single.matched or not kb.understanding.short(text):
        return None
    prev = kb.entry(previous)
    assert prev is not None
    near = {r.entry.id for r in kb.rank(prev.question + text, k=FOLLOWUP_NEAR).items}
    if single.entry_id in near:
        return _weak_beside_previous(kb, text, prev, single, channel)
    follow = read_followup(kb, text, previous, channel)
    if follow is None or not follow.matched or follow.entry_id == single.entry_id:
        return None
    could = {r.entry.id for r in kb.rank(text, k=FOLLOWUP_COULD).items}
    return follow if follow.entry_id in could else None


def _weak_beside_previous(
    kb: KnowledgeBase, text: str, prev: Entry, single: Answer, channel: str
) -> Answer | None:
    """公务员行不行 after 谁能当反担保人: the question alone is barely understood (another entry,
    less than FOLLOWUP_ALONE_SHARE as confident) while read with the previous question it is
    the previous entry, confidently: that entry (whether a civil servant may be the guarantor);
    else None."""
    a = answer_unit(kb, Unit(text, prev.question + text), channel)
    if a.matched and a.entry_id == prev.id and single.score < FOLLOWUP_ALONE_SHARE * a.score:
        return replace(a, question=text[:1000])
    return None


def read_followup(
    kb: KnowledgeBase, text: str, previous: str, channel: str, conversation: bool = False
) -> Answer | None:
    """A follow-up ranked with the previous entry's question; None when that is not confident."""
    from knowledge.yesno import same_figure_for

    prev = kb.entry(previous)
    assert prev is not None
    same = same_figure_for(kb, text, previous)
    if same is not None:  # 企业的呢 after the individual term: the enterprise's term
        return replace(kb.answer_entry(same, channel), question=text[:1000])
    other = asked_of_a_new_subject(kb, text, previous, None, channel)
    if other is not None:  # 企业的呢 after where a person applies: where a firm does
        return other
    und = kb.understanding
    facts = und.facts_in(text)
    if facts:  # 要是我媳妇也申请呢 after the veteran entry: the follow-up names its own group
        a = answer_unit(kb, Unit(text, "".join(facts) + text), channel)
        if a.matched:
            return a
    subject = und.subject_of(prev.question)
    if subject and und.subject_of(text) is None:  # 企业… then "审批要多久": the firm's approval
        a = answer_unit(kb, Unit(text, subject + text), channel)
        if a.matched:
            return a
    unit = Unit(text, prev.question + text)
    a = answer_unit(kb, unit, channel)
    if not a.matched:
        return None
    if a.entry_id == previous and not und.names_by_pronoun(text):
        # the same entry again: only if the follow-up alone agrees (他可以吗 cannot be read alone)
        alone = answer_unit(kb, Unit(text, text), channel)
        # ... and is not a guess next to it (街道呢 after 社区审核几天: how long, not site visits)
        confident = alone.score >= FOLLOWUP_ALONE_SHARE * a.score
        if (
            alone.entry_id not in (None, previous)
            and alone.matched
            and confident
            and (not conversation or _all_used(kb, _new_words(kb, text, previous, True), alone))
        ):
            # ... nor another topic (已经还清三年了呢 after 征信有逾期能贷吗: still the credit record,
            # not repaying a loan): among the entries closest to the two read together
            near = {r.entry.id for r in kb.rank(unit.query, k=FOLLOWUP_NEAR).items}
            if alone.entry_id in near:
                return alone
        other = _of_the_new_thing(kb, text, prev, channel)
        if other is not None:
            return other
    return a


def asked_of_a_new_subject(
    kb: KnowledgeBase, text: str, previous: str, single: Answer | None, channel: str
) -> Answer | None:
    """A short question naming another subject than the previous question's (企业的也是这样吗,
    换成公司来申请呢，要交啥, 企业的呢 after a person's question) that names nothing else, or is
    answered alone (`single`; read here when None) by no entry of that subject: the previous
    question asked of the subject (its person, 个人, left out), when an entry of the subject
    answers it (a key word of the entry names it); else None."""
    und = kb.understanding
    prev = kb.entry(previous)
    subject = und.subject_of(text)
    if prev is None or subject is None or not und.short(text):
        return None
    if subject == und.subject_of(prev.question):
        return None
    keys = kb.lexicon.entry_keys
    naming = {subject, *dict(und.subjects).get(subject, ())}
    if _own_words(kb, text, naming):  # 企业的条件呢 asks a thing of its own: its own reading
        if single is None:
            single = answer_unit(kb, Unit(text, text), channel)
        if single.matched and single.entry_id and subject in keys(single.entry_id):
            return None
    asked = subject + prev.question.replace(PERSON, "")  # 企业申请需要什么材料？
    a = answer_unit(kb, Unit(asked, asked), channel)
    if a.matched and a.entry_id and subject in keys(a.entry_id):
        return replace(a, question=text[:1000])
    return None


def _of_the_new_thing(kb: KnowledgeBase, text: str, prev: Entry, channel: str) -> Answer | None:
    """那担保人的呢 after 征信有逾期能申请吗, read with the previous question, gave the previous
    entry again: the follow-up names a thing of its own (a word of the base the previous entry's
    question does not use), so the answer is the entry that is confident without the previous one
    and uses that word (the guarantor's credit); None when there is none."""
    if not kb.understanding.is_followup(text):
        return None
    asked = set(kb.normalizer.analyze(prev.question).tokens)
    new = _own_words(kb, text, asked)
    if not new:
        return None
    b, _ = kb.reply_one(prev.question + text, channel, without=prev.id)
    if _all_used(kb, new, b):
        return replace(b, question=text[:1000])
    # 那担保人呢 after 到期还不上会怎么样: the ranking is not confident without the previous
    # entry; the learned model's next reading of the two together that uses the new words and
    # is among the entries closest to them (what happens to the guarantor)
    guess = kb.guess(prev.question + text, near=FOLLOWUP_MODEL_NEAR)
    if guess is None:
        return None
    near = {r.entry.id for r in kb.rank(prev.question + text, k=FOLLOWUP_NEAR).items}
    for eid in (guess.entry_id, *guess.near):
        if eid and eid != prev.id and eid in near and _uses_all(kb, new, eid):
            b = kb.answer_entry(eid, channel)
            return replace(b, question=text[:1000]) if b.matched else None
    return None


def its_own_thing(kb: KnowledgeBase, question: str, a: Answer, channel: str) -> Answer:
    """A later question read with the one before gave that one's entry `a` again: the entry
    that answers the question alone instead, when the question names words of the base that
    `a`'s entry never uses and that entry uses them all; `a` otherwise."""
    if a.entry_id is None or kb.understanding.is_followup(question):
        return a
    new = _new_words(kb, question, a.entry_id)
    if not new:
        return a
    alone = answer_unit(kb, Unit(question, question), channel)
    return alone if _all_used(kb, new, alone) else a


def _new_words(kb: KnowledgeBase, question: str, before: str, asks: bool = False) -> list[str]:
    """The words of `question` (see :func:`_own_words`) that entry `before` never uses."""
    return _own_words(kb, question, kb.lexicon.entry_words(before), asks)


def _own_words(
    kb: KnowledgeBase, question: str, known: Container[str], asks: bool = False
) -> list[str]:
    """The distinctive words of `question` (期限, 抵押; with `asks` also the question words naming
    what is asked: 多久) not in `known`."""
    lex = kb.lexicon
    aspects = kb.understanding.aspect_words if asks else ()
    return [
        t
        for t in kb.normalizer.analyze(question).tokens
        if (lex.distinctive(t) or t in aspects) and t not in known
    ]


def _all_used(kb: KnowledgeBase, words: list[str], a: Answer) -> bool:
    """Whether answer `a` is matched and its entry uses every one of `words` (at least one)."""
    return a.matched and a.entry_id is not None and _uses_all(kb, words, a.entry_id)


def _uses_all(kb: KnowledgeBase, words: list[str], entry_id: str) -> bool:
    """Whether the entry uses every one of `words` (at least one)."""
    own = kb.lexicon.entry_words(entry_id)
    return bool(words) and all(t in own for t in words)
