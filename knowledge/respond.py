"""From a message to a reply: which question(s) to answer, and how.

One step a line (:func:`respond`):

1. latin letters that spell pinyin (``dk zuigao neng dai duoshao``) become Chinese words of the
   base (:mod:`knowledge.pinyin`); the message is read in simplified characters;
2. a short follow-up ("合伙的呢？") of a previous FAQ entry is resolved first
   (:mod:`knowledge.followup`): a group it names (我媳妇 → 妇女), else the previous question's
   subject (企业), else the previous question itself;
3. the message is read (:mod:`knowledge.understand`): several questions are answered each (up to
   three, in order, a short later one leaning on the one before); a question inside a story is
   ranked as the asking clause plus the story's facts, the whole message (known words only) when
   that is not confident;
4. a single question whose whole message the learned model (:mod:`knowledge.learned`) reads
   with confidence gets the model's entry, or is refused when the model reads it as off-topic;
5. a message not understood on its own may continue the last topic (step 2's resolution);
6. every answer passes :mod:`knowledge.salience` (look-alike off-topic words refuse it) and a
   yes/no question naming a figure or condition gets an opening computed from the policy
   (:mod:`knowledge.yesno`);
7. a whole message the learned model reads surely (``learned_sure``) gets the model's entry, or
   is refused as off-topic, unless that entry is among the answers or a rule chose the answer
   (:func:`knowledge.model_reading.sure`); a single answer the model neither reads surely nor
   counts among its two likeliest entries is refused (:func:`knowledge.model_reading.doubted`).
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from knowledge.followup import (
    asked_of_a_new_subject,
    carried_subject,
    its_own_thing,
    kept_topic,
    of_a_business_kind,
    read_followup,
)
from knowledge.industry import verdict_text
from knowledge.lexicon import POLICY_WORD_ENTRIES
from knowledge.model_reading import doubted, learned, plausible, sure, sure_clause_reading
from knowledge.normalize import MAX_RAW_CHARS, to_simplified
from knowledge.schema import SMS_MAX_CHARS
from knowledge.understand import Parsed, Unit
from knowledge.unit_answer import (
    OWNERS,
    answer_unit,
    entry_reply,
    topic_of_its_own,
    unknown_words,
)

#: at most this many questions listed with commas are answered each (:func:`_listed`)
MAX_LISTED = 3
#: … each by an entry among this many closest to the whole sentence
LISTED_NEAR = 3


if TYPE_CHECKING:
    from knowledge.answers import Answer
    from knowledge.retrieval import KnowledgeBase


def respond(kb: KnowledgeBase, question: str, channel: str, previous: str | None) -> Answer:
    """The reply to one message (see the module docstring); a message not answered is read
    again with its homophone typos corrected (返担保 → 反担保), when it has any."""
    from knowledge.index import one_message

    token = OWNERS.set({})
    try:
        with one_message():  # a text ranked twice while reading this message is ranked once
            return _respond_message(kb, question, channel, previous)
    finally:
        OWNERS.reset(token)


def _respond_message(
    kb: KnowledgeBase, question: str, channel: str, previous: str | None
) -> Answer:
    from knowledge.pinyin import correct_homophones, spell_out

    text = to_simplified(spell_out(kb, question[:MAX_RAW_CHARS]))  # the reading needs simplified
    a = _respond(kb, question[:1000], text, channel, previous)
    if a.matched or a.out_of_scope:
        return a
    corrected = correct_homophones(kb, text)
    if corrected == text:
        return a
    b = _respond(kb, question[:1000], corrected, channel, previous)
    return b if b.matched else a


def _respond(kb: KnowledgeBase, echo: str, text: str, channel: str, previous: str | None) -> Answer:
    """The reply read from the message (:func:`_read`), or the learned model's when it is sure of
    the whole message, or none when it doubts the reply (step 7) — not for a short message in a
    conversation, which the model cannot read alone."""
    a = _read(kb, echo, text, channel, previous)
    if previous is not None and len(text) <= kb.understanding.followup_max_chars:
        return a
    b = sure(kb, text, a, channel)
    return doubted(kb, text, a, channel) if b is a else b


def _read(kb: KnowledgeBase, echo: str, text: str, channel: str, previous: str | None) -> Answer:
    und = kb.understanding
    prev = kb.entry(previous) if previous else None
    if prev is not None and not prev.out_of_scope and und.is_followup(text):
        follow = read_followup(kb, text, prev.id, channel, conversation=True)
        if follow is not None:
            return replace(follow, question=echo)
    parsed = und.parse(text, kb.lexicon.informative)
    if parsed.multi:
        several = _several(kb, text, parsed, channel)
        if several is not None:
            return replace(several, question=echo)
    single = _single(kb, text, parsed, channel)
    if single.matched and not parsed.multi and not parsed.story:
        listed = _listed(kb, text, single, channel)  # several questions, not one for the model
        if listed is not None:
            return replace(listed, question=echo)
    if prev is None or len(text) > und.followup_max_chars:  # a short one may go on the last topic
        single = learned(kb, text, parsed.units[0], single, channel)
    if prev is not None and not prev.out_of_scope and not parsed.multi and not parsed.story:
        carried = carried_subject(kb, text, prev.question, single, channel)
        if carried is not None:
            return replace(carried, question=echo)
        other = asked_of_a_new_subject(kb, text, prev.id, single, channel)
        if other is not None:  # 企业的也是这样吗 after the person's subsidy: the firm's
            return replace(other, question=echo)
        kept = kept_topic(kb, text, prev.id, single, channel)
        if kept is not None:
            return replace(kept, question=echo)
    # not understood alone, nothing foreign in it: maybe it goes on about the last topic
    if (
        not single.matched
        and prev is not None
        and not prev.out_of_scope
        and (not unknown_words(kb, text) or of_a_business_kind(kb, text, prev))
    ):
        follow = read_followup(kb, text, prev.id, channel)
        if follow is not None:
            return replace(follow, question=echo)
    return replace(single, question=echo)


def _single(kb: KnowledgeBase, text: str, parsed: Parsed, channel: str) -> Answer:
    """One question, maybe inside a story (:func:`_story_question`); a story's answer is one the
    whole message could mean too (:func:`_agreed_with_whole`): when it is not among the three
    entries closest to the whole message (its story reduced to the words the base knows), that
    reading answers instead, or nobody does (a story read two ways that disagree is not
    answered with confidence)."""
    unit = parsed.units[0]
    und = kb.understanding
    if (
        not parsed.story
        and unit.story
        and und.names_business(unit.story)
        and not und.points_at_business(unit.question)
        and kb.lexicon.names_distinctive(unit.question)
    ):
        # 我想开个奶茶店，要准备哪些材料: the business is why they ask, the clause is what
        return answer_unit(kb, unit, channel)
    if not parsed.story or unit.query == text:
        return answer_unit(kb, Unit(text, text), channel)
    excluded = _of_an_excluded_business(kb, unit, channel)
    if excluded is not None:
        return excluded
    a = _story_question(kb, unit, channel)
    return _agreed_with_whole(kb, unit, a, channel) if a.matched else a


def _of_an_excluded_business(kb: KnowledgeBase, unit: Unit, channel: str) -> Answer | None:
    """A story naming the applicant's business of an excluded industry, then asking whether or
    how much they may borrow (合伙开了个KTV…合伙能贷30万吗): the exclusion answers, read on the
    story's last clause naming a business; else None."""
    from knowledge.industry import INDUSTRY_ENTRIES
    from knowledge.yesno import excluded_business

    und = kb.understanding
    named = [c for s, _ in und.sentences(unit.story) for c in s if und.names_business(c)]
    if not named or excluded_business(kb, named[-1] + unit.question) is None:
        return None
    a = answer_unit(kb, Unit(unit.question, named[-1] + unit.question), channel)
    if not a.matched or a.entry_id != INDUSTRY_ENTRIES[0]:
        return None
    said = verdict_text(named[-1] + unit.question, kb.policy, channel)  # 不能，KTV属于娱乐业…
    return replace(a, answer=said) if said is not None else a


def _agreed_with_whole(kb: KnowledgeBase, unit: Unit, a: Answer, channel: str) -> Answer:
    """Answer `a` to a question inside a story when it is among the three entries closest to the
    whole message; else the whole message's own answer, or none."""
    whole = _whole(kb, unit)
    if a.entry_id in {r.entry.id for r in kb.rank(whole.query, k=3).items}:
        return a
    if sure_clause_reading(kb, unit.question) == a.entry_id:
        return a  # …一定要找担保人吗: the model reads the asking clause alone surely as `a`
    full = answer_unit(kb, whole, channel, story_read=False)
    return full if full.matched else kb.dont_know(a.question, kb.rank(unit.query, k=8), channel)


def _whole(kb: KnowledgeBase, unit: Unit) -> Unit:
    """The whole message, its story reduced to the words the base knows (the rest only
    dilutes)."""
    known = " ".join(
        t for t in kb.normalizer.analyze(unit.story).tokens if t in kb.lexicon.vocabulary
    )
    return Unit(unit.question, f"{known} {unit.query}", unit.story)


def _story_question(kb: KnowledgeBase, unit: Unit, channel: str) -> Answer:
    """A question inside a story: the asking clause with the story's facts first; when that is
    not confident and names nothing the base never mentions, the whole message."""
    focused = answer_unit(kb, unit, channel)
    if (
        focused.matched
        and unit.query.endswith(unit.question)
        and unit.query != unit.question
        and topic_of_its_own(kb, unit.question)
        and not _story_subject(kb, unit)
    ):
        # the story's facts were read with the question: they may choose among what the
        # question itself could mean (its three closest entries), not replace it
        near = {r.entry.id for r in kb.rank(unit.question, k=3).items}
        if focused.entry_id not in near:
            alone = answer_unit(kb, Unit(unit.question, unit.question, unit.story), channel)
            if alone.matched:
                return alone
            return kb.dont_know(focused.question, kb.rank(unit.query, k=8), channel)
    und = kb.understanding
    if und.points_at_business(unit.question) and und.names_business(unit.story):
        return focused  # about the business the story names: the story's group does not answer it
    unknown = unknown_words(kb, unit.question)
    if focused.matched or _names_something(kb, unknown):
        return focused  # a question naming what the base never mentions is not rescued
    whole = _whole(kb, unit)
    full = answer_unit(kb, whole, channel, story_read=False)  # only its known words were
    if full.matched and unknown:
        # everyday words (这样) the base never uses: the story may only choose among what the
        # question itself could mean (its three closest entries)
        near = {r.entry.id for r in kb.rank(unit.query, k=3).items}
        return full if full.entry_id in near else focused
    return full if full.matched else focused


def _story_subject(kb: KnowledgeBase, unit: Unit) -> bool:
    """Whether the story gave the question its subject (打算合伙…我们一起申请最多多少): who asks
    then decides which entry answers, beyond what the question alone is closest to."""
    und = kb.understanding
    return und.subject_of(unit.question) is None and und.subject_of(unit.query) is not None


def _names_something(kb: KnowledgeBase, words: list[str]) -> bool:
    """Whether any of `words` is more than an everyday word (这样, 因为: they name nothing)."""
    from knowledge.lexicon import EVERYDAY_FREQUENCY

    freq, _ = kb.normalizer.background()
    return any(freq.get(t, 0) < EVERYDAY_FREQUENCY for t in words)


def _listed(kb: KnowledgeBase, text: str, single: Answer, channel: str) -> Answer | None:
    """Questions listed with commas in one sentence (退伍的能贷多少，要不要担保人), read as one
    question: answered each instead when every clause asks and names a topic of its own (or
    the learned model reads it surely: 要多少天), each is answered confidently by a different
    entry that the whole sentence could mean or the model reads the clause as, and the whole
    sentence's answer is among them; else None."""
    from knowledge.understand import Unit
    from knowledge.yesno import asked_figures, stated_figures

    und = kb.understanding
    sentences = und.sentences(text)
    clauses = [c for s, _ in sentences for c in s]
    if len(sentences) != 1 or not 2 <= len(clauses) <= MAX_LISTED:
        return None
    if not all(
        und.asks(c) and (kb.lexicon.informative(c) or sure_clause_reading(kb, c)) for c in clauses
    ):
        return None
    subject = und.subject_of(clauses[0])
    # each clause's entry must be one the whole sentence could mean (贷下来的钱能干啥，有啥限制:
    # 有啥限制 alone is the age limit, which the sentence is not about); one more for each
    # clause after the second
    near = {r.entry.id for r in kb.rank(text, k=LISTED_NEAR + len(clauses) - 2).items}
    answers: list[tuple[Unit, Answer]] = []
    for c in clauses:
        asked = asked_figures(c)
        if answers and asked and any(asked & stated_figures(b.entry_id or "") for _, b in answers):
            continue  # 小微企业能贷200万吗，期限多长: the enterprise entry states the term too
        own = und.subject_of(c) or und.facts_in(c)
        query = c if own or not subject else subject + c  # 企业贷款最多多少，审批要几天
        a = answer_unit(kb, Unit(c, query), channel)
        if not a.matched or not a.entry_id:
            return None
        if a.entry_id not in near and sure_clause_reading(kb, c) != a.entry_id:
            return None
        if any(a.entry_id == b.entry_id for _, b in answers):
            return None
        answers.append((Unit(c, query), a))
    if len(answers) < 2 or all(a.entry_id != single.entry_id for _, a in answers):
        return None
    return _compose(kb, answers, channel)


def _several(kb: KnowledgeBase, text: str, parsed: Parsed, channel: str) -> Answer | None:
    """Each question answered on its own; None unless ≥ 2 different entries answer."""
    from knowledge.retrieval import LOAN_CHAR

    answers: list[tuple[Unit, Answer]] = []
    seen: set[str] = set()
    verdicts: set[tuple[str, str | None]] = set()  # (entry, the pre-check's verdict)
    und = kb.understanding
    before: tuple[Unit, Answer] | None = None  # the question just before, and its answer
    other_topic = False  # a later question was of the topic before it, which the base lacks
    pointed = False  # a question was answered by an out-of-scope entry's pointer
    for unit in parsed.units:
        a = None
        if before and _of_another_topic(kb, unit, *before):
            # 能申请低保吗？需要什么材料？: the materials of 低保, which the base knows nothing of
            a = _refused(kb, unit, channel)
            other_topic = True
        elif before and _about_the_one_before(kb, unit, *before):
            # 失业金能领多少？去哪申请？: a later question without a topic of its own asks about the
            # one before, which is another topic; it is read with it, not alone
            a = answer_unit(kb, Unit(unit.question, before[0].query + unit.query), channel)
            if not a.matched and LOAN_CHAR in unit.question:
                a = None  # 失业金怎么领？创业贷款要什么材料？: the loan's own question, read alone
        elif answers and answers[-1][1].entry_id and len(unit.question) <= und.followup_max_chars:
            # a short later question leans on the one before (企业最高多少？审批要多久？)
            a = read_followup(kb, unit.question, answers[-1][1].entry_id or "", channel)
            if a is not None and a.entry_id == answers[-1][1].entry_id and not parsed.story:
                # 利息谁出？要还几年？ (no story around them): the answer before, again, while the
                # later question names a thing of its own that another entry speaks of: that entry
                a = its_own_thing(kb, unit.question, a, channel)
        if a is None:
            a = answer_unit(kb, unit, channel)
            if a.matched and unit.story:
                a = _agreed_with_whole(kb, unit, a, channel)
            a = _read_surely(kb, unit, a, channel)
            if before and _of_another_loan(kb, unit, *before, a):
                # 办的助学贷款…第一次还款是什么时候？利息怎么算？: that loan's interest
                a = _refused(kb, unit, channel)
                other_topic = True
        before = (unit, a)
        pointed = pointed or a.out_of_scope
        # one answer per entry; but the pre-check's verdicts on two businesses the questions
        # name (网吧能贷吗 那桑拿呢) are two answers of the industries' entry
        named = (
            verdict_text(unit.question, kb.policy, channel)
            if a.entry_id in POLICY_WORD_ENTRIES
            else None
        )
        fresh = (a.entry_id, named) not in verdicts if named else a.entry_id not in seen
        if a.matched and a.entry_id and fresh:
            seen.add(a.entry_id)
            verdicts.add((a.entry_id, named))
            answers.append((unit, a))
    if len(answers) == 1 and len(parsed.units) > 1 and answers[0][0] is not parsed.units[0]:
        # the first "question" was none the base answers: the one that is, a one-question
        # message, which the model reads whole; but when another topic was asked first and this
        # one names the loan (失业金怎么领？创业贷款要什么材料？), the model's reading of the
        # whole is of the other topic
        unit, a = answers[0]
        if pointed and LOAN_CHAR in unit.question:
            return a
        return learned(kb, text, unit, a, channel)
    if not answers and other_topic:  # not answered as a whole either: it is all another topic
        return _refused(kb, parsed.units[0], channel)
    if len(answers) < 2:
        return None
    kept = plausible(kb, text, answers)
    return kept[0][1] if len(kept) == 1 else _compose(kb, kept, channel)  # one left: a single


def _read_surely(kb: KnowledgeBase, unit: Unit, a: Answer, channel: str) -> Answer:
    """A question of several, answered `a`, or the learned model's entry when it reads the
    question alone surely (``learned_sure``) as another (企业贷款应该去哪儿申请: the firm's office,
    not the person's), as :func:`sure` does for a whole message; a rule's answer and an
    out-of-scope pointer stand."""
    if not a.matched or a.by_rule or a.out_of_scope:
        return a
    entry_id = sure_clause_reading(kb, unit.question)
    if entry_id is None or entry_id == a.entry_id:
        return a
    guess = kb.guess(unit.question, near=0)
    assert guess is not None
    return replace(entry_reply(kb, unit, guess, channel, moves=False), question=a.question)


def _refused(kb: KnowledgeBase, unit: Unit, channel: str) -> Answer:
    """The "don't know" reply to a question, with the entries closest to what was ranked."""
    return kb.dont_know(unit.question, kb.rank(unit.query, k=8), channel)


def _of_another_topic(kb: KnowledgeBase, unit: Unit, before: Unit, a: Answer) -> bool:
    """Whether a later question that names no loan (每个月多少, 需要什么材料) follows one that went
    unanswered because words the base never uses make it another topic (有没有育儿补贴, 能申请低保吗:
    see knowledge.salience): it asks about that topic too."""
    from knowledge.retrieval import LOAN_CHAR
    from knowledge.salience import foreign_words

    if a.matched or a.out_of_scope or LOAN_CHAR in unit.question:
        return False  # an out-of-scope entry's topic: see _about_the_one_before
    freq, _ = kb.normalizer.background()
    # words of the dictionary, not pieces cut from a phrase (多批 of 还能多批几万)
    return any(freq.get(t, 0) > 0 for t in foreign_words(kb, before.question))


def _of_another_loan(kb: KnowledgeBase, unit: Unit, before: Unit, b: Answer, a: Answer) -> bool:
    """Whether answer `a` to a later question that names no loan (利息怎么算) follows one left
    unanswered, itself naming no loan, whose story names another loan (办的生源地助学贷款, 房贷) that
    `a`'s entry never speaks of."""
    from knowledge.retrieval import LOAN_CHAR
    from knowledge.salience import another_loan

    if not a.matched or not a.entry_id or b.matched or LOAN_CHAR in unit.question:
        return False
    if LOAN_CHAR in before.question:  # 跟政府的创业担保贷款比哪个划算: it asked of loans, ours too
        return False
    return another_loan(kb, f"{before.story} {before.question}", a.entry_id) is not None


def _about_the_one_before(kb: KnowledgeBase, unit: Unit, before: Unit, a: Answer) -> bool:
    """Whether a later question asks about the one before it (去哪申请, 要什么材料), which is
    another topic: an out-of-scope entry answered it and the later one does not ask about a loan
    with a word of the base's own (征信, 材料), or it names what the base never mentions and the
    later one names no such word at all."""
    from knowledge.retrieval import LOAN_CHAR

    own = kb.lexicon.names_distinctive(unit.question)
    if a.out_of_scope:
        return not (own and LOAN_CHAR in unit.question)
    if a.matched or not _names_something(kb, unknown_words(kb, before.question)):
        return False
    return not own


def _compose(kb: KnowledgeBase, answers: list[tuple[Unit, Answer]], channel: str) -> Answer:
    """One reply for several answered questions, within the channel's length."""
    from knowledge.answers import Part

    texts = kb.understanding.texts
    parts = tuple(Part(u.question, a.entry_id, a.answer) for u, a in answers)
    if channel == "sms":
        body = answers[0][1].answer
        rest = [u.question for u, _ in answers[1:]]
        for i in range(1, len(answers)):  # as many whole short answers as fit, then the offer
            candidate = "\n".join(a.answer for _, a in answers[: i + 1])
            if len(candidate) <= SMS_MAX_CHARS:
                body, rest = candidate, [u.question for u, _ in answers[i + 1 :]]
        if rest:
            more = texts["sms_more"].format(questions="”“".join(rest))
            if len(body) + len(more) <= SMS_MAX_CHARS:
                body = body + more
        text = body
    else:
        text = "\n\n".join(
            texts["part_heading"].format(n=n, question=u.question) + "\n" + a.answer
            for n, (u, a) in enumerate(answers, start=1)
        )
    first = answers[0][1]
    sources = [a.source for _, a in answers if a.source]
    return replace(
        first,
        answer=text,
        score=min(a.score for _, a in answers),
        source="；".join(dict.fromkeys(sources)) or None,
        handoff=any(a.handoff for _, a in answers),
        suggestions=[],
        suggestion_ids=[],
        parts=parts,
    )
