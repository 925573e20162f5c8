"""What the knowledge base's words say: which words it uses, which name a topic, which belong
only to out-of-scope topics. Built once per index (lazy parts on first use) and read by
:mod:`knowledge.respond`, :mod:`knowledge.salience` and :mod:`knowledge.pinyin`."""

from __future__ import annotations

import heapq
import re
import threading
from collections import Counter
from collections.abc import Container, Mapping, Sequence
from dataclasses import dataclass, field

from knowledge.normalize import Normalizer
from knowledge.schema import Entry
from knowledge.understand import Understanding

#: words of this programme's own names (创业担保贷, 小额担保贷, 贴息贷): no other lender's product
_PROGRAMME_WORDS = ("创业", "担保", "贴息")
#: characters no product name holds (a verb or pronoun: 银行的钱能贷, 银行我去贷)
_NOT_IN_NAME = r"\s的贷能可要想不去来给怎多我你他她，。？！,.?!"

#: a word in more than this share of the FAQ entries says nothing of the topic (能, 申请, 贷款)
COMMON_SHARE = 0.15
#: words this frequent in jieba's dictionary (情况, 时间, 工作) name no topic of their own
EVERYDAY_FREQUENCY = 30_000
#: a term is owned by the entry in ≥ this share of whose questions it occurs …
DEFINES_SHARE = 0.2
#: … when that share is at least this many times any other entry's
DEFINES_LEAD = 1.5
#: entries whose topic is the policy's excluded industries and uses (their words are theirs)
POLICY_WORD_ENTRIES = ("excluded_industries", "industry_ok", "forbidden_uses", "allowed_uses")


@dataclass(frozen=True)
class EntryWords:
    """The words of one entry's question and paraphrases, and its key words (in ≥ 30 % of them)."""

    entry: Entry
    counts: Mapping[str, int]
    keys: frozenset[str]
    doc_counts: Mapping[str, int] = field(default_factory=dict)  # in how many of its documents
    n_docs: int = 0


@dataclass(frozen=True)
class KnownWords:
    """The base's words and one entry's own words, asked as one set (without copying the
    base's vocabulary for every question)."""

    base: frozenset[str]
    own: frozenset[str]

    def __contains__(self, word: object) -> bool:
        return word in self.base or word in self.own


def _cjk_word(w: str) -> bool:
    return len(w) > 1 and all("\u4e00" <= c <= "\u9fff" for c in w)


def policy_words(policy: object) -> set[str]:
    """Words of the policy's exclusion lists (industries and uses a question may name)."""
    exclusions = getattr(policy, "exclusions", None)
    out: set[str] = set()
    for group in (getattr(exclusions, "industries", ()), getattr(exclusions, "uses", ())):
        for cls in group or ():
            out.add(str(getattr(cls, "name", "")))
            for w in getattr(cls, "words", ()) or ():
                out.add(str(getattr(w, "word", w)))
    return out


class Lexicon:
    def __init__(
        self,
        entries: Sequence[EntryWords],
        normalizer: Normalizer,
        understanding: Understanding,
        answers: Mapping[str, str],
        policy: object,
    ) -> None:
        self.normalizer = normalizer
        self.understanding = understanding
        self._entries = list(entries)
        self._by_id = {e.entry.id: e for e in self._entries}
        self._answers = answers
        self._policy = policy
        faq = [e for e in self._entries if not e.entry.out_of_scope]
        self.n_faq = max(1, len(faq))
        spread: Counter[str] = Counter()
        for e in faq:
            spread.update(e.counts.keys())
        #: for each FAQ word, the number of FAQ entries using it
        self.spread: Mapping[str, int] = spread
        #: every word of the FAQ entries' questions and paraphrases
        self.vocabulary: frozenset[str] = frozenset(spread)
        self._lock = threading.Lock()
        self._known: frozenset[str] | None = None
        self._parts: frozenset[str] | None = None
        self._answer_text: str | None = None
        self._entry_answer: dict[str, str] = {}
        self._other: dict[float, frozenset[str]] = {}
        self._users: dict[str, list[EntryWords]] | None = None
        self._tops: dict[str, list[tuple[float, str]]] = {}
        self._groups: dict[str, tuple[frozenset[str], frozenset[str]]] = {}
        self._entry_words: dict[str, frozenset[str]] = {}
        self._loan_words: list[str] | None = None
        self._product_re: re.Pattern[str] | None = None

    def informative(self, text: str) -> bool:
        """Whether `text` says something of its own: a FAQ word of two or more characters, or two
        words, that are neither question words, nor common to many entries (> COMMON_SHARE), nor
        everyday words (情况, 时间: ≥ EVERYDAY_FREQUENCY in jieba's dictionary)."""
        asking = self.understanding.question_words
        limit = COMMON_SHARE * self.n_faq
        freq, _ = self.normalizer.background()
        content = [
            t
            for t in self.normalizer.analyze(text).tokens
            if t not in asking
            and self.spread.get(t, 0) <= limit
            and freq.get(t, 0) < EVERYDAY_FREQUENCY
        ]
        return len(content) >= 2 or any(len(t) > 1 and t in self.spread for t in content)

    def names_distinctive(self, text: str) -> bool:
        """Whether `text` has a :meth:`distinctive` word (征信, 抵押): a topic of its own."""
        return any(self.distinctive(t) for t in self.normalizer.analyze(text).tokens)

    def distinctive(self, word: str) -> bool:
        """Whether a word of two or more characters says something of its own: used by the base,
        by few entries (≤ COMMON_SHARE) and no question word (征信, 股东; not 贷款, 什么)."""
        return (
            len(word) > 1
            and word not in self.understanding.question_words
            and 0 < self.spread.get(word, 0) <= COMMON_SHARE * self.n_faq
        )

    def is_place(self, word: str) -> bool:
        """Whether `word` names one of the policy's districts (榆中 or 榆中县) or a place in
        general (区里, understanding.yaml `place_words`): where, not what."""
        if word in self.understanding.place_words:
            return True
        districts = getattr(self._policy, "districts", ()) or ()
        names = {d for d in districts} | {d[:-1] for d in districts if len(d) > 2}
        return word in names

    def defining_entry(self, term: str) -> str | None:
        """The FAQ entry that owns `term` (反担保 → need_guarantor): the entry in whose questions
        the term's words occur most often (share of its documents, ≥ DEFINES_SHARE), clearly more
        often (× DEFINES_LEAD) than in any other entry's; None when no entry owns it clearly."""
        tokens = self.normalizer.analyze(term).tokens
        if not tokens:
            return None
        if len(tokens) == 1:  # one word: its two highest shares, known from the start
            shares = self._term_users()[1].get(tokens[0], [])
        else:
            # only entries using every word of the term have a share above 0: those among the
            # users of its least used word (the two highest shares are all that is looked at)
            by_word = self._term_users()[0]
            users = min((by_word.get(t, ()) for t in tokens), key=len)
            shares = heapq.nlargest(
                2,
                (
                    (min(e.doc_counts.get(t, 0) for t in tokens) / e.n_docs, e.entry.id)
                    for e in users
                    if all(e.doc_counts.get(t, 0) for t in tokens)
                ),
            )
        if not shares or shares[0][0] < DEFINES_SHARE:
            return None
        second = shares[1][0] if len(shares) > 1 else 0.0
        if shares[0][0] < DEFINES_LEAD * second:
            return None
        return shares[0][1]

    def _term_users(
        self,
    ) -> tuple[Mapping[str, list[EntryWords]], Mapping[str, list[tuple[float, str]]]]:
        """For each word, the FAQ entries whose questions use it, and the two highest shares of
        their documents using it with those entries' ids, highest first (built on first use)."""
        with self._lock:
            if self._users is None:
                users: dict[str, list[EntryWords]] = {}
                for e in self._entries:
                    if e.n_docs and not e.entry.out_of_scope:
                        for t in e.doc_counts:
                            users.setdefault(t, []).append(e)
                self._users = users
                self._tops = {
                    t: heapq.nlargest(
                        2, ((e.doc_counts[t] / e.n_docs, e.entry.id) for e in es if e.doc_counts[t])
                    )
                    for t, es in users.items()
                }
            return self._users, self._tops

    def group_words(self, group: str) -> tuple[frozenset[str], frozenset[str]]:
        """The words naming applicant group `group` (its name and the story words that tell it,
        normalised: 失业人员, 下岗, 失业 …) and those naming another applicant group but not it;
        the same for every question, so read once per group."""
        with self._lock:
            got = self._groups.get(group)
        if got is not None:
            return got
        und = self.understanding
        said = dict(und.facts)

        def words(g: str) -> frozenset[str]:
            return frozenset(self.normalizer.analyze(" ".join((g, *said.get(g, ())))).tokens)

        own = words(group)
        others = frozenset().union(*(words(g) for g in und.applicant_groups if g != group)) - own
        got = (own, others)
        with self._lock:
            self._groups[group] = got
        return got

    def entry_keys(self, entry_id: str) -> frozenset[str]:
        """Key words of an entry (in ≥ 30 % of its questions and paraphrases)."""
        e = self._by_id.get(entry_id)
        return e.keys if e is not None else frozenset()

    def topic_words(self, entry_id: str) -> frozenset[str]:
        """Key words of an entry that few entries use (≤ COMMON_SHARE): what its topic is."""
        limit = COMMON_SHARE * self.n_faq
        return frozenset(k for k in self.entry_keys(entry_id) if self.spread.get(k, 0) <= limit)

    def entry_words(self, entry_id: str) -> frozenset[str]:
        """Words of an entry's question and paraphrases (after normalisation); the entries about
        industries and uses also own the policy's exclusion words (还房贷 is a use question)."""
        got = self._entry_words.get(entry_id)  # the same for every question: made once
        if got is not None:
            return got
        e = self._by_id.get(entry_id)
        own = frozenset(e.counts) if e is not None else frozenset()
        if entry_id in POLICY_WORD_ENTRIES:
            own |= policy_words(self._policy)
        with self._lock:
            self._entry_words[entry_id] = own
        return own

    def known_words(self, entry_id: str | None = None) -> Container[str]:
        """Words the base uses: the FAQ entries' questions and paraphrases and the policy's words
        (exclusion lists), plus entry `entry_id`'s own words when given (answer texts: see
        :meth:`in_answers`)."""
        known = self._known_set()
        return KnownWords(known, self.entry_words(entry_id)) if entry_id else known

    def _known_set(self) -> frozenset[str]:
        """The base's questions' and paraphrases' words and the policy's words (made once)."""
        with self._lock:
            if self._known is None:
                self._known = frozenset(set(self.vocabulary) | policy_words(self._policy))
            return self._known

    def word_parts(self) -> frozenset[str]:
        """The beginnings and ends (two characters or more) of the base's longer words: 经办 of
        经办银行, a word a question splits off where the base keeps it whole (经办的银行)."""
        if self._parts is None:  # (built once; a race builds the same set twice at worst)
            words = self._known_set()
            self._parts = frozenset(
                part for w in words for n in range(2, len(w)) for part in (w[:n], w[-n:])
            )
        return self._parts

    def other_lender(self, entry_id: str, text: str) -> str | None:
        """A lender or loan product of another kind (understanding.yaml `other_lenders`) that
        `text` names, when entry `entry_id` does not speak of other loans; else None."""
        named = [w for w in self.understanding.other_lenders if w in text]
        product = self._bank_product(text)
        if product:
            named.append(product)
        if not named or self.speaks_of_other_loans(entry_id):
            return None
        return named[0]

    def _bank_product(self, text: str) -> str | None:
        """A bank's own loan product named after the bank (邮储银行的小本生意贷), not this
        programme under another name (银行的创业担保贷)."""
        if self._product_re is None:
            banks = "|".join(re.escape(w) for w in self.understanding.bank_words)
            self._product_re = re.compile(rf"(?:{banks})(?:银行)?的?([^{_NOT_IN_NAME}]{{2,6}}贷)")
        m = self._product_re.search(text)
        if m is None or any(w in m.group(1) for w in _PROGRAMME_WORDS):
            return None
        return m.group(1)

    def other_loan_words(self) -> list[str]:
        """Loan words the base knows only as another topic (房贷, 车贷, 网贷 …)."""
        if self._loan_words is None:  # the same for every question: sorted once
            limit = self.understanding.salience["other_topic_max_frequency"]
            self._loan_words = sorted(w for w in self.other_topic_words(limit) if "贷" in w)
        return self._loan_words

    def speaks_of_other_loans(self, entry_id: str) -> bool:
        """Whether the entry's texts (questions, paraphrases, answer) name another lender, loan
        product or a loan word the base knows only as another topic (有房贷还能申请吗)."""
        e = self._by_id.get(entry_id)
        own = " ".join((*e.entry.texts, self._answers.get(entry_id, ""))) if e else ""
        return any(w in own for w in (*self.understanding.other_lenders, *self.other_loan_words()))

    def in_answer_of(self, entry_id: str, word: str) -> bool:
        """Whether entry `entry_id`'s answer text contains `word` (normalised spelling)."""
        with self._lock:
            text = self._answer_of(entry_id)
        return word in text

    def in_answers(self, word: str) -> bool:
        """Whether an FAQ answer text contains `word` (normalised spelling); out-of-scope
        entries' answers, which speak of other topics, do not count."""
        with self._lock:
            if self._answer_text is None:  # the entries' own texts, joined (a space parts them)
                self._answer_text = " ".join(
                    self._answer_of(e.entry.id) for e in self._entries if not e.entry.out_of_scope
                )
            text = self._answer_text
        return word in text

    def _answer_of(self, entry_id: str) -> str:
        """Entry `entry_id`'s answer, normalised whole (kept once made; the caller holds the
        lock)."""
        text = self._entry_answer.get(entry_id)
        if text is None:
            text = self.normalizer.normalize_long(self._answers.get(entry_id, ""))
            self._entry_answer[entry_id] = text
        return text

    def other_topic_words(self, max_frequency: float) -> frozenset[str]:
        """Words the base knows only as another topic, rarer than `max_frequency` in jieba's
        dictionary: used by out-of-scope entries and by no FAQ entry (or by one, when ten times
        rarer), or key words of an
        out-of-scope entry that are no FAQ entry's key word and few FAQ entries use (房贷, 车贷,
        微粒贷 …; not 怎么, 贷款)."""
        with self._lock:
            got = self._other.get(max_frequency)
            if got is not None:
                return got
            freq, _ = self.normalizer.background()
            oos_words: set[str] = set()
            oos_keys: set[str] = set()
            faq_keys: set[str] = set()
            for e in self._entries:
                if e.entry.out_of_scope:
                    oos_words.update(e.counts)
                    oos_keys |= e.keys
                else:
                    faq_keys |= e.keys
            limit = COMMON_SHARE * self.n_faq
            found = frozenset(
                w
                for w in oos_words
                if _cjk_word(w)
                and freq.get(w, 0) < max_frequency
                and (
                    w not in self.spread
                    # a name (借呗) a single FAQ entry mentions in passing
                    or (self.spread[w] == 1 and freq.get(w, 0) < max_frequency / 10)
                    or (w in oos_keys and w not in faq_keys and self.spread[w] <= limit)
                )
            )
            self._other[max_frequency] = found
            return found
