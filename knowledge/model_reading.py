"""Where the learned question model (:mod:`knowledge.learned`) reads a message in the reply
(:mod:`knowledge.respond`, steps 4 and 7): a one-question message it reads with confidence gets
its entry, or is refused as off-topic (:func:`learned`); several answers keep only parts among
its likeliest entries when it reads the whole message as one of them (:func:`plausible`); a
message it reads surely is answered by its reading whatever the ranking found (:func:`sure`),
and an answer it finds unlikely for a message it cannot read surely either is refused
(:func:`doubted`)."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from knowledge.unit_answer import entry_reply

if TYPE_CHECKING:
    from knowledge.answers import Answer
    from knowledge.learned import Guess
    from knowledge.retrieval import KnowledgeBase
    from knowledge.understand import Unit

#: several questions' answers are kept only among the model's likeliest entries (this many after
#: its first) when it reads the whole message as one of them with at least this probability
PLAUSIBLE_NEAR = 4
PLAUSIBLE_P = 0.5

#: a single answer is doubted (:func:`doubted`) when its entry is not among this many likeliest
DOUBT_NEAR = 2

#: a word of an asking clause names the thing asked (材料, 步骤, 申请表) only when it is rarer
#: than this in general Chinese (the background frequencies): 这种, 情况, 准备 name nothing
ASKED_THING_FREQUENCY = 10000

#: a story's asking clause read alone by the model at least this surely, as another entry's
#: question, outweighs a reading of the whole message less sure than this
STORY_CLAUSE_P = 0.5


def learned(kb: KnowledgeBase, text: str, unit: Unit, single: Answer, channel: str) -> Answer:
    """The learned model's reading of a one-question message, `text`, when it is confident:
    its entry answers (checked as the reading's own answers are, for `unit`: off-topic words,
    the yes/no opening), or, read as off-topic, the message is refused.

    The reading's answer stands when both agree; when a reading of the question chose it
    (`Answer.by_rule`: a term, a shape, a figure named, the policy's data); when it is an entry
    the model does not know (added to the base after the model was trained); and when it is an
    out-of-scope entry's pointer (the ranking found the other topic the message names), unless
    the message asks about a loan and the model reads it as an entry's question with trust
    (这个贷款要抵押房子吗: the guarantee, not mortgages). A refused message that asks nothing (no
    question word or particle: 好多人, typed into a form) stays refused.

    In a story, the reading's answer also stands when the model reads the asking clause alone
    surely as it; and a message read as off-topic is not refused for the words of the
    applicant's own story (:func:`_applicants_clause`) when the model reads its clause as the
    reading's answer with trust, or, with no answer, surely as an entry's question."""
    from knowledge.retrieval import LOAN_CHAR

    model, guess = kb.model, kb.guess(text)
    if model is None or guess is None or guess.p < kb.config.learned_threshold:
        return single
    if (
        unit.story
        and single.matched
        and guess.entry_id is not None
        and sure_clause_reading(kb, unit.question) == single.entry_id
    ):
        # 我既是失业人员又是妇女，额度按5万算还是8万算: the reading path and the model's sure
        # reading of the asking clause alone agree; the story's group does not outweigh them
        return single
    if (
        unit.story
        and guess.p >= STORY_CLAUSE_P
        and not (single.by_rule or single.out_of_scope)
        and _pulled_to_a_group(kb, unit, guess.entry_id)
    ):
        return _what_the_clause_asks(kb, unit, guess, single, channel)
    guessed = kb.entry(guess.entry_id) if guess.entry_id else None
    pointer_stands = not (
        guessed is not None
        and not guessed.out_of_scope
        and guess.p >= kb.config.learned_trust
        and LOAN_CHAR in text
    )
    if (single.out_of_scope and pointer_stands) or (
        single.matched
        and (
            single.by_rule
            or single.entry_id == guess.entry_id
            or single.entry_id not in model.entry_ids
        )
    ):
        return single
    if not single.matched and not kb.understanding.asks(unit.question):
        return single  # 好多人, an answer to a form's question: nothing asked, nothing to answer
    if unit.story and guess.p < STORY_CLAUSE_P:
        # 我老婆在家带孩子好几年了…贷款能不能提前还: the story's people may carry the whole
        # message, not surely, to their group's entry; its asking clause, read surely alone as
        # another entry's question, says what is asked
        asked = kb.guess(unit.question)
        if (
            asked is not None
            and asked.entry_id not in (None, guess.entry_id)
            and asked.p >= STORY_CLAUSE_P
        ):
            if single.matched and single.entry_id == asked.entry_id:
                return single
            guess = asked
    if guess.entry_id is None:
        return _read_as_off_topic(kb, text, unit, single, channel)
    return entry_reply(kb, unit, guess, channel)


def _read_as_off_topic(
    kb: KnowledgeBase, text: str, unit: Unit, single: Answer, channel: str
) -> Answer:
    """The reply to a message the model reads as off-topic: refused, unless the story is the
    applicant's own (:func:`_applicants_clause`: 我退伍两年了，在物流公司跑车……逾期了会怎么样)
    and the model reads its asking clause as the reading's answer with trust, or surely as a
    question of the base — then the reading's answer stands (it read the story's group with the
    clause), or, with none, the clause's entry answers (…需要本人亲自去办吗)."""
    asked = _applicants_clause(kb, unit, single.entry_id if single.matched else None)
    surely = asked is not None and asked.p >= kb.config.learned_sure
    if single.matched:
        return (
            single
            if surely or _trusted_as(kb, asked, single)
            else kb.dont_know(single.question, kb.rank(text), channel)
        )
    return entry_reply(kb, unit, asked, channel) if surely and asked is not None else single


def _applicants_clause(kb: KnowledgeBase, unit: Unit, entry_id: str | None) -> Guess | None:
    """The learned model's reading of a story's asking clause alone, when the story is the
    applicant's own (我退伍两年了，在物流公司跑车……逾期了会怎么样): it states a fact of an applicant
    group, is not told by an employer, names no other lender or loan (车贷; for `entry_id`, the
    entry that would answer), and the clause asks nothing of another topic the story names nor
    another thing's papers. Such a story's words (物流公司, 战友) may make the whole message look
    like another topic to the model, or dilute its reading; they say who asks, the clause says
    what. None otherwise."""
    from knowledge.salience import another_loan, papers_for_another_thing

    und = kb.understanding
    if not unit.story or not und.facts_in(unit.story) or und.employer(unit.story):
        return None
    asked = kb.guess(unit.question, near=0)
    if asked is None or asked.entry_id is None:
        return None
    entry_id = entry_id or asked.entry_id
    if (
        another_loan(kb, unit.story, entry_id)
        or papers_for_another_thing(kb, unit.question, entry_id)
        or _asks_of_the_storys_topic(kb, unit, entry_id)
    ):
        return None
    return asked


def _asks_of_the_storys_topic(kb: KnowledgeBase, unit: Unit, entry_id: str) -> bool:
    """Whether the asking clause asks about another topic the story names (信用卡欠了两万。逾期
    了会怎么样: the card's arrears): an out-of-scope entry holds both a word of the story that
    the base knows only as another topic (and entry `entry_id` does not use) and a thing the
    clause asks (a topic word rarer than ASKED_THING_FREQUENCY, not a question word). A story's
    other words (离婚, 幼儿园) only tell the applicant's life."""
    from knowledge.unit_answer import topic_words

    lex, und = kb.lexicon, kb.understanding
    other = lex.other_topic_words(und.salience["other_topic_max_frequency"])
    own = lex.entry_words(entry_id)
    told = {
        t
        for t in kb.normalizer.analyze(unit.story).tokens
        if t in other and t not in own and not lex.in_answer_of(entry_id, t)
    }
    if not told:
        return False
    freq, _ = kb.normalizer.background()
    asked = {
        t
        for t in topic_words(kb, unit.question)
        if freq.get(t, 0) < ASKED_THING_FREQUENCY and not any(w in t for w in und.question_words)
    }
    return any(
        told & lex.entry_words(e.id) and asked & lex.entry_words(e.id)
        for e in kb.entries
        if e.out_of_scope
    )


def _applicants_answer(kb: KnowledgeBase, unit: Unit, a: Answer) -> bool:
    """Whether answer `a` to a story's question is what the model reads the asking clause alone
    as, with trust (``learned_trust``), the story being the applicant's own
    (:func:`_applicants_clause`): two readings agree, and the story's words do not undo them."""
    if not a.matched or not a.entry_id or a.out_of_scope:
        return False
    return _trusted_as(kb, _applicants_clause(kb, unit, a.entry_id), a)


def _trusted_as(kb: KnowledgeBase, asked: Guess | None, a: Answer) -> bool:
    """Whether the clause reading `asked` is answer `a`'s entry, with trust (learned_trust)."""
    return asked is not None and asked.entry_id == a.entry_id and asked.p >= kb.config.learned_trust


def _what_the_clause_asks(
    kb: KnowledgeBase, unit: Unit, guess: Guess, single: Answer, channel: str
) -> Answer:
    """The reply to a story's message that the model reads as the group's entry the story names,
    while the asking clause asks a thing of its own (:func:`_pulled_to_a_group`): the model's
    reading of the clause alone when it is sure enough and of no group's entry, else the reading
    path's answer when that is of no group's entry, else the group's entry."""
    asked = kb.guess(unit.question)
    if (
        asked is not None
        and asked.entry_id not in (None, guess.entry_id)
        and asked.p >= STORY_CLAUSE_P
        and not _of_a_group(kb, asked.entry_id)
    ):
        if single.matched and single.entry_id == asked.entry_id:
            return single
        return entry_reply(kb, unit, asked, channel)
    if single.matched and single.entry_id == guess.entry_id:
        return single
    if single.matched and not _of_a_group(kb, single.entry_id):
        return single
    return entry_reply(kb, unit, guess, channel)


def _pulled_to_a_group(kb: KnowledgeBase, unit: Unit, entry_id: str | None) -> bool:
    """Whether the model reads a story's message as a group's entry (退役军人, 妇女, 合伙: a key
    word of it names a group or a subject) while the asking clause names a topic of its own that
    the entry neither asks nor answers (…退役军人申请这个贷款要准备哪些证件: the papers, asked by
    a veteran; 农村妇女凭户籍证明: the women's entry does speak of papers): the story says who
    asks, the clause what."""
    from knowledge.unit_answer import topic_of_its_own, topic_words
    from knowledge.yesno import asked_figures, stated_figures

    if entry_id is None or not topic_of_its_own(kb, unit.question):
        return False
    if asked_figures(unit.question) & stated_figures(entry_id):
        return False  # …要几年还: the group's entry states its term
    if not _of_a_group(kb, entry_id):
        return False
    lex = kb.lexicon
    own = lex.entry_words(entry_id)
    freq, _ = kb.normalizer.background()
    return any(
        freq.get(t, 0) < ASKED_THING_FREQUENCY  # (这种情况, 准备 name nothing)
        and t not in own
        and not lex.in_answer_of(entry_id, t)
        for t in topic_words(kb, unit.question)
    )


def _of_a_group(kb: KnowledgeBase, entry_id: str | None) -> bool:
    """Whether an entry is an applicant group's (a key word of it names one: 退役军人, 妇女; 没 of
    没工作 names nobody) or the one entry of a subject (合伙: its cap; not 企业, whose papers,
    time and subsidy have entries of their own)."""
    entry = kb.entry(entry_id) if entry_id else None
    if entry is None or entry.out_of_scope:
        return False
    und, lex = kb.understanding, kb.lexicon
    keys = {k for k in lex.entry_keys(entry.id) if len(k) > 1}
    if any(keys & lex.group_words(g)[0] for g in und.applicant_groups):
        return True
    named = [s for s, _ in und.subjects if s in keys]
    return any(sum(s in lex.entry_keys(e.id) for e in kb.entries) == 1 for s in named)


def sure_clause_reading(kb: KnowledgeBase, clause: str) -> str | None:
    """The entry the learned model reads a clause alone as, when it is sure of that reading
    (learned_sure): 要多少天 names no topic word of the base, yet it plainly asks how long (到哪还,
    read less surely, is where to repay, not where to apply)."""
    guess = kb.guess(clause, near=0)
    if guess is None or guess.p < kb.config.learned_sure:
        return None
    return guess.entry_id


def plausible(
    kb: KnowledgeBase, text: str, answers: list[tuple[Unit, Answer]]
) -> list[tuple[Unit, Answer]]:
    """The answers to several questions without those the learned model finds implausible: when
    it reads the whole message confidently as one of their topics, a question answered by an
    entry it does not count among its likeliest (PLAUSIBLE_NEAR) was a clause misread (一个人
    能不能贷, inside a story about which trade may borrow, is not a second question)."""
    g = kb.guess(text, near=PLAUSIBLE_NEAR)
    if g is None or g.p < PLAUSIBLE_P or g.entry_id not in {a.entry_id for _, a in answers}:
        return answers
    likely = {g.entry_id, *g.near}
    return [(u, a) for u, a in answers if a.entry_id in likely]


def sure(kb: KnowledgeBase, text: str, a: Answer, channel: str) -> Answer:
    """The reply `a` to a whole message `text`, or the model's reading when it is sure of it
    (``learned_sure``): its entry's answer as it is (no shape or figure moves it: 担保中心说要来
    实地看…看多少天 is the site visit, not the time limits), still refused when the message speaks
    of another thing; read as off-topic, the message is refused.

    `a` stands when it is the model's entry or one of several answers, and, unless the message is
    read as off-topic, when a rule of the reading chose it (`Answer.by_rule`: a figure named, a
    yes/no claim the policy decides). Read as off-topic, the message keeps `a` when the story is
    the applicant's own and its asking clause is read as `a` (:func:`_applicants_answer`)."""
    g = kb.guess(text)
    if g is None or g.p < kb.config.learned_sure or g.entry_id in {p.entry_id for p in a.parts}:
        return a
    if g.entry_id is None:
        if _applicants_answer(kb, kb.understanding.parse(text, kb.lexicon.informative).units[0], a):
            return a  # the applicant's own story, its clause read as `a` (see learned)
        return kb.dont_know(a.question, kb.rank(text), channel) if a.matched else a
    if a.matched and (a.entry_id == g.entry_id or a.by_rule):
        return a
    unit = kb.understanding.parse(text, kb.lexicon.informative).units[0]
    if (
        a.matched
        and unit.story
        and not _of_a_group(kb, a.entry_id)
        and _pulled_to_a_group(kb, unit, g.entry_id)
    ):
        return a  # …毕业生申请要交哪些材料: the story's group is who asks, not what
    return replace(entry_reply(kb, unit, g, channel, moves=False), question=a.question)


def doubted(kb: KnowledgeBase, text: str, a: Answer, channel: str) -> Answer:
    """The single answer `a` to a whole message `text`, refused when the model reads the message
    unsurely (below ``learned_doubt``) and the answer's entry is not among its DOUBT_NEAR
    likeliest: the ranking and the model disagree where neither is sure, and a wrong answer is
    worse than none. Several answers, a rule's answer, an out-of-scope pointer and the answer the
    model reads the asking clause of the applicant's own story as (:func:`_applicants_answer`)
    stand."""
    if not a.matched or a.parts or a.by_rule:
        return a
    g = kb.guess(text, near=DOUBT_NEAR - 1)
    if g is None or g.p >= kb.config.learned_doubt or a.entry_id in (g.entry_id, *g.near):
        return a
    if _applicants_answer(kb, kb.understanding.parse(text, kb.lexicon.informative).units[0], a):
        return a  # the applicant's own story, its asking clause read with trust as `a`
    return kb.dont_know(a.question, kb.rank(text), channel)
