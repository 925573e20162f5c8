"""Who a question is about, and so which entry answers it: rules over a ranking and the
question's subject (企业, 合伙) or applicant group (下岗的 → 失业人员), used by
:mod:`knowledge.respond` to leave out a first entry that is another subject's or group's, or to
move a firm's question to the firm's entry."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from knowledge.decision import Ranking
    from knowledge.retrieval import KnowledgeBase
    from knowledge.understand import Unit


def subject_entry(kb: KnowledgeBase, question: str, ranking: Ranking) -> str | None:
    """The first entry of `ranking`, when the question names a subject (企业, 合伙) that is no
    key word of it but is one of the runner-up's, and the two are parallel entries (the same topic
    for another subject: a key word of both, 利息 or 材料): that entry is to be left out; else
    None."""
    und = kb.understanding
    subject = und.subject_of(question)
    if subject is None or len(ranking.items) < 2 or und.facts_in(question):
        return None  # 厂子倒闭了我下岗了: the applicant's own group, the 厂 is their story
    first, second = ranking.items[0].entry, ranking.items[1].entry
    keys = kb.lexicon.entry_keys
    if first.out_of_scope or second.out_of_scope:
        return None
    if subject in keys(first.id) or subject not in keys(second.id):
        return None
    return (
        first.id if kb.lexicon.topic_words(first.id) & kb.lexicon.topic_words(second.id) else None
    )


def firm_entry(kb: KnowledgeBase, question: str, entry_id: str) -> str | None:
    """The firm's entry that answers a firm's question first answered by a person's entry: the
    question names the firm (企业, 股东, 法人) and no applicant group, the answered entry is no
    firm's, and one firm's entry's answer uses more of the question's own words than any other
    ("股东有不良记录还能贷吗" first on the person's credit entry: the enterprise conditions, which
    name the shareholders' credit record); else None."""
    und = kb.understanding
    firm = und.subjects[0][0] if und.subjects else None
    if firm is None or und.subject_of(question) != firm or und.facts_in(question):
        return None
    lex = kb.lexicon
    if firm in lex.entry_keys(entry_id):
        return None
    words = [t for t in kb.normalizer.analyze(question).tokens if t != firm and lex.distinctive(t)]
    if not words:
        return None
    scored = sorted(
        (
            (sum(lex.in_answer_of(e.id, t) for t in words), e.id)
            for e in kb.entries
            if not e.out_of_scope and firm in lex.entry_keys(e.id)
        ),
        reverse=True,
    )
    if not scored or scored[0][0] == 0 or (len(scored) > 1 and scored[1][0] == scored[0][0]):
        return None
    return scored[0][1]


def group_entry(kb: KnowledgeBase, question: str, ranking: Ranking) -> str | None:
    """The first entry of `ranking`, when the question names an applicant group (下岗的 →
    失业人员) and that entry is another group's (a key word of it names a group the question does
    not, none it does) while one of the next two entries is the named group's: that entry is to be
    left out ("下岗的能贷10万不" ranked first on the graduates' entry, whose cap is 10万); else None."""
    und = kb.understanding
    groups = und.applicant_groups
    named = [g for g in und.facts_in(question) if g in groups]
    if len(named) != 1 or len(ranking.items) < 2:  # two groups: the overlap entry's question
        return None
    own, others = kb.lexicon.group_words(named[0])  # 失业人员: 下岗, 失业 … (read once)
    keys = kb.lexicon.entry_keys
    first = ranking.items[0].entry
    if first.out_of_scope or not keys(first.id) & others or keys(first.id) & own:
        return None
    for r in ranking.items[1:3]:
        if not r.entry.out_of_scope and keys(r.entry.id) & own:
            return first.id
    return None


def subjectless_entry(kb: KnowledgeBase, unit: Unit, ranking: Ranking) -> str | None:
    """The first entry of `ranking`, when the question names no subject (企业, 合伙) but that
    entry is a subject's (a key word of it) and the runner-up is its parallel entry without one
    ("贴息怎么算" ranked first on the firm's subsidy: an applicant is a person unless they say
    otherwise): that entry is to be left out; else None."""
    und = kb.understanding
    if len(ranking.items) < 2 or und.subject_of(unit.query) or und.subject_of(unit.question):
        return None
    first, second = ranking.items[0].entry, ranking.items[1].entry
    if first.out_of_scope or second.out_of_scope:
        return None
    keys = kb.lexicon.entry_keys
    named = [s for s, _ in und.subjects if s in keys(first.id)]
    if not named or any(s in keys(second.id) for s, _ in und.subjects):
        return None
    lex = kb.lexicon
    if lex.topic_words(first.id) & lex.topic_words(second.id):
        return first.id  # parallel entries (the firm's subsidy, the person's)
    # or the runner-up uses every word of the question (失业人员最多贷多少)
    own = lex.entry_words(second.id)
    tokens = kb.normalizer.analyze(unit.query).tokens
    return first.id if tokens and all(t in own for t in tokens) else None


def groupless_entry(kb: KnowledgeBase, unit: Unit, ranking: Ranking) -> str | None:
    """The first entry of `ranking`, when the question names no applicant group but that entry
    is a group's (a key word of it names one) and the runner-up is an entry of no group that states
    the same kind of figure ("能贷10万不" ranked first on the graduates' entry, whose cap is
    10万: the individual caps of every group answer it): that entry is to be left out; else
    None."""
    from knowledge.yesno import FIGURES

    if len(ranking.items) < 2:
        return None
    first, other = ranking.items[0].entry, ranking.items[1].entry  # other: the answer without it
    kinds = {kind for kind, _ in FIGURES.get(first.id, ())}
    if not kinds & {kind for kind, _ in FIGURES.get(other.id, ())}:  # (the usual case: cheap)
        return None
    und = kb.understanding
    if first.out_of_scope or other.out_of_scope:
        return None
    if und.facts_in(unit.query) or und.subject_of(unit.query):
        return None
    keys = kb.lexicon.entry_keys
    groups = [kb.lexicon.group_words(g)[0] for g in und.applicant_groups]
    if not any(keys(first.id) & words for words in groups):
        return None
    if any(keys(other.id) & words for words in groups):
        return None
    tokens = set(kb.normalizer.analyze(unit.query).tokens)
    own = kb.lexicon.topic_words(first.id)
    if tokens & (own - kb.lexicon.entry_words(other.id)):
        return None  # it names the first entry's own people after all
    return first.id
