"""Look-alike off-topic questions: salient words the knowledge base never uses.

"结婚登记要带什么材料" shares 材料 with the FAQ and "淘宝开店押金交多少" shares 开店; what makes them
another topic are their *salient* words — words rare in general Chinese (by jieba's own
dictionary frequencies, a background corpus of everyday text) — that appear nowhere in the base.
A question clause is refused when such words carry at least ``salience.min_share`` of the clause's
salience (sum of background IDF, −log relative frequency, over its words of two or more characters)
and the answered entry does not use them either.

A salient word the base knows *only as another topic* (房贷, 车贷, 微粒贷: words of its out-of-scope
entries, see :meth:`knowledge.lexicon.Lexicon.other_topic_words`) in the question or the story it
is ranked with refuses the answer by itself when the answered entry (questions and answer) never
uses it ("房贷提前还款要收违约金吗" is not the programme's early repayment). Settings: ``salience``
in understanding.yaml.
"""

from __future__ import annotations

import math
import re
from collections.abc import Container
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from knowledge.retrieval import KnowledgeBase

#: a word right after these names the applicant's business (开个饭馆, 做刺绣的): whether a
#: business qualifies is in scope, so its name is never held against the question
_BUSINESS_RE = re.compile(
    r"(?:开|开个|开了个|开一个|开家|做|搞|干|卖|摆个|办个)(?:个|了|一个|家|小)?$"
)


#: a word undoes the learned model's sure reading of a question as an entry only when, alone,
#: it counts for off-topic by at least this much more (logits) than for that entry: 信用卡 against
#: the overdue entry (≈ 7), not 算数 against the current policy (≈ 0)
AGAINST_MARGIN = 1.0

#: the loan's own name in a question (企业贷款, 这个贷款)
_LOAN_WORD = "贷款"

#: two or more characters, all in the CJK unified ideographs block (U+4E00 … U+9FFF)
_CJK_WORD_RE = re.compile(r"[\u4e00-\u9fff]{2,}")


def _cjk_word(t: str) -> bool:
    return _CJK_WORD_RE.fullmatch(t) is not None


def salient_words(kb: KnowledgeBase, text: str) -> list[tuple[str, float]]:
    """(word, background IDF) of the words of `text` with two or more Chinese characters."""
    freq, total = kb.normalizer.background()
    out = []
    for t in kb.normalizer.analyze(text).tokens:
        if _cjk_word(t):
            out.append((t, math.log(total / (freq.get(t, 0) + 1))))
    return out


#: a loan product's name spelt with a Latin letter (惠农e贷): another lender's product
_PRODUCT_RE = re.compile(r"[A-Za-z]贷")


def foreign_words(
    kb: KnowledgeBase,
    text: str,
    entry_id: str | None = None,
    context: str = "",
    trusted: bool = False,
    sure: bool = False,
) -> list[str]:
    """Salient words of the question `text` absent from the base (and from entry `entry_id`'s
    texts), when they weigh enough to make the question another topic; or words of the question
    or its `context` (the story around it) that the base knows only as another topic; else [].

    A question whether one may borrow this loan (能贷几个钱, 这个贷款……; understanding.yaml
    `borrow_words`) that names no bank and no other lender tells its circumstances with such words
    (俺家那口子, 尕本生意, 退休金): they do not make it another topic, unless one names a loan.
    Nor, when the learned model reads the message confidently as entry `entry_id`'s question
    (`trusted`), do the words that, as the model learnt them from questions and look-alikes of
    other topics, speak for that entry (这玩意儿多长时间能批下来: 玩意儿; not 花呗 in 花呗不用还吗);
    and when it reads it surely (`sure`), only the words it learnt clearly as another topic's
    count (AGAINST_MARGIN: 信用卡dk逾期了咋整 stays refused; 这个办法现在还算数吗 is answered —
    算数 says little either way; a loan word always counts)."""
    from knowledge.retrieval import LOAN_CHAR

    words = _foreign_words(kb, text, entry_id, context)
    if not words or entry_id is None:
        return words
    model = kb.model
    if (trusted or sure) and model is not None:
        # trusted: a word counts unless it speaks for the entry; sure: only when it speaks
        # against it clearly (one reading of each word's lean)
        if sure:
            words = [
                w
                for w in words
                if LOAN_CHAR in w or model.speaks_against(w, entry_id, AGAINST_MARGIN)
            ]
        else:
            words = [w for w in words if LOAN_CHAR in w or not model.speaks_for(w, entry_id)]
        if not words:
            return []
    if not _asks_to_borrow(kb, text):
        return words
    if any(LOAN_CHAR in w for w in words) or kb.lexicon.other_lender(entry_id, text):
        return words
    return []


#: a question for papers: what to bring, prepare or hand in (要准备哪些材料, 需要啥证件)
_PAPERS_RE = re.compile(
    r"(?:带|准备|交|提供|要|需要)[^，。？！]{0,3}(?:哪些|什么|啥)[^，。？！]{0,2}(?:材料|证件|资料|东西|手续)"
)


def papers_for_another_thing(kb: KnowledgeBase, question: str, entry_id: str) -> str | None:
    """A word the base never uses (rarer than ``purpose_max_frequency`` in general Chinese) that a
    question for papers names before asking for them, as what they are for (孩子上小学要哪些材料:
    小学; 公司换法人要带哪些材料: none, 法人 is the base's), or None. A business the applicant
    runs (开个奶茶店要哪些材料) is no other thing."""
    m = _PAPERS_RE.search(question)
    if m is None or m.start() == 0:
        return None
    before = question[: m.start()]
    loan = before.rfind(_LOAN_WORD) + len(_LOAN_WORD)
    lenders = kb.understanding.other_lenders
    if loan >= len(_LOAN_WORD) and not any(before[:loan].endswith(w) for w in lenders):
        # 老板让我去区里问企业贷款要准备哪些材料: what is named before the loan is not what the
        # papers are for (助学贷款 is another loan: the whole question is read)
        before = before[loan:]
        if not before:
            return None
    known = kb.lexicon.known_words(entry_id)
    freq, _ = kb.normalizer.background()
    limit = kb.understanding.salience["purpose_max_frequency"]
    norm = kb.normalizer.analyze(before).text.replace(" ", "")
    for t, _ in salient_words(kb, before):
        if freq.get(t, 0) < limit and _never_used(kb, t, known, norm):
            return t
    return None


def _never_used(kb: KnowledgeBase, word: str, known: Container[str], norm: str) -> bool:
    """Whether the base never uses `word` in any form: not a word of it (`known`), of its
    answers, a piece of a longer word of it (经办 of 经办银行) or a district, nor the business the
    applicant runs in `norm` (开个饭馆)."""
    lex = kb.lexicon
    return not (
        word in known
        or lex.in_answers(word)
        or word in lex.word_parts()
        or lex.is_place(word)
        or _names_business(norm, word)
    )


def _asks_to_borrow(kb: KnowledgeBase, text: str) -> bool:
    und = kb.understanding
    if not any(w in text for w in und.borrow_words):
        return False
    return not any(w in text for w in und.bank_words) and not _PRODUCT_RE.search(text)


def _foreign_words(kb: KnowledgeBase, text: str, entry_id: str | None, context: str) -> list[str]:
    settings = kb.understanding.salience
    freq, _ = kb.normalizer.background()
    words: list[tuple[str, float]] | None = None
    if entry_id is not None:
        lender = kb.lexicon.other_lender(entry_id, f"{context} {text}")
        if lender:
            return [lender]
        other = kb.lexicon.other_topic_words(settings["other_topic_max_frequency"])
        own = kb.lexicon.entry_words(entry_id)
        read = f"{context} {text}" if context and context != text else text
        around = salient_words(kb, read)
        if read == text:
            words = around  # the question alone was read: its words are these
        norm = kb.normalizer.analyze(read).text.replace(" ", "")  # the analysis just made
        elsewhere = [
            t
            for t, _ in around
            if t in other
            and t not in own
            and not kb.lexicon.in_answer_of(entry_id, t)
            and not _names_business(norm, t)
            and not kb.lexicon.is_place(t)
        ]
        if elsewhere:
            return elsewhere
    if words is None:
        words = salient_words(kb, text)
    if not words:
        return []
    known = kb.lexicon.known_words(entry_id)
    norm = kb.normalizer.analyze(text).text.replace(" ", "")
    foreign = [
        (t, w)
        for t, w in words
        if freq.get(t, 0) < settings["max_frequency"]
        and _never_used(kb, t, known, norm)
        and not _built_of_known(kb, t, known)
    ]
    # the share of what the clause is about: its question words (什么, 多久, 是不是) name nothing
    asking = kb.understanding.question_words
    content = sum(w for t, w in words if t not in asking) or 1.0
    share = sum(w for _, w in foreign) / content
    return [t for t, _ in foreign] if share >= settings["min_share"] else []


def _built_of_known(kb: KnowledgeBase, word: str, known: Container[str]) -> bool:
    """Whether `word` is a compound of a word the base uses and one more character (门面房 =
    门面 + 房, 小饭馆 = 小 + 饭馆): a variant of the base's own word, not another topic."""
    if len(word) < 3:
        return False
    for part in (word[:-1], word[1:]):
        tokens = kb.normalizer.analyze(part).tokens  # 门面 is spelt 店 in the base
        whole = len(tokens) == 1 and (len(tokens[0]) > 1 or tokens[0] != part)
        if whole and tokens[0] in known:  # one word of the base, not loose characters (婚 证)
            return True
    return False


#: what 开 or 办 may open that is no business (开对公账户, 开发票, 办个证明): an account, a card or a
#: paper
_OPENED_PAPER_RE = re.compile(r"账户|账号|户头|银行卡|信用卡|会员卡|证明|发票|收据")


def _names_business(text: str, word: str) -> bool:
    """Whether `word` follows a verb of running a business in `text` (开个饭馆, 开澡堂), not as an
    account or a paper opened (开对公账户)."""
    at = text.find(word)
    if at <= 0 or not _BUSINESS_RE.search(text[:at]):
        return False
    return _OPENED_PAPER_RE.search(text[at : at + len(word) + 3]) is None


def another_loan(kb: KnowledgeBase, story: str, entry_id: str) -> str | None:
    """Another lender or loan product the story around a question is about (买房办按揭, 朋友的车贷):
    an `other_lenders` word or a loan word the base knows only as another topic, when the
    answered entry does not speak of other loans; else None."""
    if not story:
        return None
    lex = kb.lexicon
    named = [w for w in (*kb.understanding.other_lenders, *lex.other_loan_words()) if w in story]
    if not named or lex.speaks_of_other_loans(entry_id):
        return None
    return named[0]
