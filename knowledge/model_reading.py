"""Where the learned question model (:mod:`knowledge.learned`) reads a message in the reply
(:mod:`knowledge.respond`, step 4): a one-question message it reads with confidence gets its
entry, or is refused as off-topic (:func:`learned`); several answers keep only parts among its
likeliest entries when it reads the whole message as one of them (:func:`plausible`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from knowledge.unit_answer import entry_reply

if TYPE_CHECKING:
    from knowledge.answers import Answer
    from knowledge.retrieval import KnowledgeBase
    from knowledge.understand import Unit

#: several questions' answers are kept only among the model's likeliest entries (this many after
#: its first) when it reads the whole message as one of them with at least this probability
PLAUSIBLE_NEAR = 4
PLAUSIBLE_P = 0.5

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
    question word or particle: 好多人, typed into a form) stays refused."""
    from knowledge.retrieval import LOAN_CHAR

    model, guess = kb.model, kb.guess(text)
    if model is None or guess is None or guess.p < kb.config.learned_threshold:
        return single
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
    if guess.entry_id is None:  # off-topic
        return kb.dont_know(single.question, kb.rank(text), channel) if single.matched else single
    return entry_reply(kb, unit, guess, channel)


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
