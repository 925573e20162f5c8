"""Pinyin typed for Chinese: ``dk zuigao neng dai duoshao`` → 贷款最高能贷多少, ``gr zgdk ed``.

Applicants without a Chinese keyboard type full pinyin or initials. The words of the knowledge
base (and a short list of everyday words, ``pinyin_words`` in understanding.yaml), the words of
synonyms.yaml and the story facts (退伍, 老公, 下岗) and the commonest words of general Chinese
(jieba's dictionary: 我 是 的 大学生) are spelt with pypinyin once; each latin run of a message is
then cut, by dynamic programming, into the cheapest words whose full pinyin or initials spell it
(the base's own words cheapest, see the costs below), word by word where its spaces part words.
Runs that spell nothing stay as they are. Only messages with latin letters pay for this (the
table is built on first use, about 0.4 s).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Container, Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from knowledge.retrieval import KnowledgeBase

_LATIN_RE = re.compile(r"[A-Za-z]+(?:\s+[A-Za-z]+)*")
_CJK_SPLIT_RE = re.compile(r"([\u4e00-\u9fff]+)")
_CJK_RUN_RE = re.compile(r"[\u4e00-\u9fff]+")
_lock = threading.Lock()
_tables: dict[int, tuple[dict[str, str], dict[str, tuple[str, float]]]] = {}

#: how many of the commonest words of jieba's dictionary pinyin may spell (full pinyin only)
COMMON_WORDS = 8000

#: what a word spelling part of a latin run costs (the cheapest spelling wins): a word of the base
#: of two or more characters, or an everyday reading (pinyin_words: 能 贷 吗), spelt in full; a
#: base word's initials (dk, zx); a common word of general Chinese (大学生, 下岗, 的); a base word
#: of one character that is no everyday reading (打, 推) — dearer than a common word, so that
#: daxuesheng is 大学生 and not 打学生; initials that are themselves a syllable (de: 的, not 等额).
#: A common word costs more than two base words: neng dai ma stays 能贷吗 rather than 能代码.
COST_BASE, COST_INITIALS, COST_COMMON, COST_BASE_CHAR, COST_SYLLABLE_INITIALS = (
    1.0,
    1.5,
    2.1,
    2.2,
    2.5,
)


def _table(kb: KnowledgeBase) -> tuple[dict[str, str], dict[str, tuple[str, float]]]:
    """(full pinyin → word over the base's words and everyday readings, most used word first;
    every spelling → (word, cost) over those words, their initials and the commonest words of
    general Chinese, the cheapest kept)."""
    key = id(kb.lexicon.vocabulary)
    with _lock:
        got = _tables.get(key)
        if got is not None:
            return got
        from pypinyin import Style, lazy_pinyin, pinyin

        spread = kb.lexicon.spread
        everyday = kb.understanding.pinyin_words
        words = [w for w in kb.lexicon.vocabulary if _CJK_RUN_RE.fullmatch(w)]
        words.sort(key=lambda w: (-spread.get(w, 0), w))  # ties by the word: the same every run
        words = [*everyday, *words]  # everyday readings first
        full: dict[str, str] = {}
        initials: dict[str, str] = {}
        for w in words:
            full.setdefault("".join(lazy_pinyin(w)), w)
            if len(w) == 1:  # every reading of a single character: 还 is huan as well as hai
                for reading in pinyin(w, style=Style.NORMAL, heteronym=True)[0]:
                    full.setdefault(reading, w)
            if len(w) > 1:
                initials.setdefault("".join(lazy_pinyin(w, style=Style.FIRST_LETTER)), w)
        costed: dict[str, tuple[str, float]] = {}

        def offer(spelt: str, word: str, cost: float) -> None:
            if spelt not in costed or cost < costed[spelt][1]:
                costed[spelt] = (word, cost)

        for spelt, w in full.items():
            offer(spelt, w, COST_BASE if len(w) > 1 or w in everyday else COST_BASE_CHAR)
        for w in _domain_words(kb):  # 退伍, 下岗, 老公: what the normaliser reads into the base's
            offer("".join(lazy_pinyin(w)), w, COST_BASE)
        common = [("".join(lazy_pinyin(w)), w) for w in _common_words(kb)]  # spelt once
        syllables = {spelt for spelt, w in common if len(w) == 1}
        for spelt, w in initials.items():
            offer(spelt, w, COST_SYLLABLE_INITIALS if spelt in syllables else COST_INITIALS)
        for (
            spelt,
            w,
        ) in common:  # 我 是 的 大学生 下岗: typed too, though the base may never use them
            offer(spelt, w, COST_COMMON)
        _tables.clear()
        _tables[key] = (full, costed)
        return full, costed


def _domain_words(kb: KnowledgeBase) -> list[str]:
    """Words of two or more characters that synonyms.yaml and the story facts of
    understanding.yaml name (both sides of a rule: 退伍 as well as 退役军人), sorted."""
    syn = kb.normalizer.synonyms
    words = {*syn.replace, *syn.replace.values(), *syn.tokens, *syn.tokens.values()}
    words |= {w for group, says in kb.understanding.facts for w in (group, *says)}
    return sorted(w for w in words if len(w) > 1 and _CJK_RUN_RE.fullmatch(w))


def _common_words(kb: KnowledgeBase) -> list[str]:
    """The COMMON_WORDS most frequent words of jieba's dictionary (Chinese characters only),
    commonest first (ties by the word)."""
    import heapq

    freq, _ = kb.normalizer.background()
    pairs = ((f, w) for w, f in freq.items() if f > 0 and _CJK_RUN_RE.fullmatch(w))
    return [w for _, w in heapq.nlargest(COMMON_WORDS, pairs)]


def _spell(run: str, costed: dict[str, tuple[str, float]]) -> str | None:
    """The cheapest words spelling `run` (see the costs above), or None."""
    n = len(run)
    best: list[tuple[float, str] | None] = [None] * (n + 1)
    best[0] = (0.0, "")
    for i in range(n):
        cur = best[i]
        if cur is None:
            continue
        for j in range(i + 1, min(n, i + 24) + 1):
            found = costed.get(run[i:j])
            if found is None:
                continue
            cand = (cur[0] + found[1], cur[1] + found[0])
            if best[j] is None or cand[0] < best[j][0]:  # type: ignore[index]
                best[j] = cand
    end = best[n]
    return end[1] if end is not None else None


def spell_out(kb: KnowledgeBase, text: str) -> str:
    """`text` with every latin run that spells base words replaced by those words."""
    if not _LATIN_RE.search(text):
        return text
    known = kb.lexicon.vocabulary
    runs = [r for r in _LATIN_RE.findall(text) if len(r) > 1 and r.lower() not in known]
    if not runs or all(kb.normalizer.analyze(r).tokens and _known_run(kb, r) for r in runs):
        return text  # 10w, zx, SYB, APP: spellings the normaliser or the base already knows
    _, costed = _table(kb)
    out = _LATIN_RE.sub(lambda m: _spell_run(m.group(0).lower(), costed) or m.group(0), text)
    return re.sub(r"(?<=[\u4e00-\u9fff])\s+(?=[\u4e00-\u9fff])", "", out)


def _spell_run(run: str, costed: dict[str, tuple[str, float]]) -> str | None:
    """A latin run spelt: word by word where its spaces part words that each spell (wo shi
    daxuesheng: 是 大学生, not 十大 学生), else as one string (zgdk ed; xiao qi ye, every part
    one syllable)."""
    parts = run.split()
    if len(parts) > 1:
        spelt = [_spell(p, costed) for p in parts]
        words = [w for w in spelt if w]
        if len(words) == len(parts) and any(len(w) > 1 for w in words):
            return "".join(words)
        # every part one syllable (xiao qi ye dai kuan): the spaces part syllables, not words;
        # read apart they are 小其也贷宽, run together 小企业贷款
    return _spell("".join(parts), costed)


def _known_run(kb: KnowledgeBase, run: str) -> bool:
    """A latin run the normaliser maps to base words (zx → 征信) or the base uses as is."""
    return all(t in kb.lexicon.vocabulary for t in kb.normalizer.analyze(run).tokens)


_readings: dict[str, frozenset[str]] = {}
_prefix_sets: dict[int, frozenset[str]] = {}


def _char_readings(ch: str) -> frozenset[str]:
    """Every toneless reading of a character (还: hai, huan), kept once read."""
    got = _readings.get(ch)
    if got is None:
        from pypinyin import Style, pinyin

        got = frozenset(pinyin(ch, style=Style.NORMAL, heteronym=True)[0])
        _readings[ch] = got
    return got


def _prefixes(kb: KnowledgeBase, full: dict[str, str]) -> frozenset[str]:
    """Every prefix of every full-pinyin spelling of the base's words (built once per table)."""
    key = id(kb.lexicon.vocabulary)
    with _lock:
        got = _prefix_sets.get(key)
        if got is None:
            got = frozenset(k[:n] for k in full for n in range(1, len(k) + 1))
            _prefix_sets.clear()
            _prefix_sets[key] = got
        return got


def _spellings(piece: str, prefixes: frozenset[str]) -> list[set[str]]:
    """For each length n of `piece`'s first 1…4 characters, the readings of those characters,
    character by character, that begin a base word's spelling (the reading in context is one of
    them): a cheap test before reading the message in pinyin. Stops at the first empty one."""
    out: list[set[str]] = []
    current = {""}
    for ch in piece[:4]:
        current = {s + r for s in current for r in _char_readings(ch)} & prefixes
        out.append(current)
        if not current:
            break
    return out


#: a dictionary word this frequent across a piece's edge (离婚 in 办离婚) is what was written
EDGE_WORD_FREQUENCY = 50


def _is_word(pair: str, known: Container[str], freq: Mapping[str, int]) -> bool:
    """Whether `pair` (characters across a piece's edge) is a word of the base or of jieba's
    dictionary: then the piece is kept as written (办离婚 is not 办理婚)."""
    return bool(pair) and (pair in known or freq.get(pair, 0) >= EDGE_WORD_FREQUENCY)


def _spans_word(run: str, j: int, known: Container[str], freq: Mapping[str, int]) -> bool:
    """Whether a word of `run` holds both its characters `j` and `j + 1`: two characters that are
    a word (:func:`_is_word`), or three or four that are a word of the base or the dictionary."""
    if _is_word(run[j : j + 2], known, freq):
        return True
    for size in (3, 4):  # longer words are rarer: any word of the dictionary
        for start in range(max(0, j + 2 - size), min(j, len(run) - size) + 1):
            if _in_dictionary(run[start : start + size], known, freq):
                return True
    return False


def _in_dictionary(word: str, known: Container[str], freq: Mapping[str, int]) -> bool:
    """Whether `word` is a word of the base or of jieba's dictionary (at any frequency)."""
    return word in known or freq.get(word, 0) > 0


def _lender_spans(kb: KnowledgeBase, run: str) -> set[int]:
    """Positions in `run` of the names of other lenders and loan products (understanding.yaml
    `other_lenders`): words spelt as meant, never corrected."""
    kept: set[int] = set()
    for word in kb.understanding.other_lenders:
        at = run.find(word)
        while at >= 0:
            kept.update(range(at, at + len(word)))
            at = run.find(word, at + 1)
    return kept


def correct_homophones(kb: KnowledgeBase, text: str) -> str:
    """`text` with homophone typos of the base's words corrected (返担保 → 反担保, 贴西 → 贴息): a run
    of two to four characters that is no word (neither the base's nor jieba's dictionary's) and is
    spelt in pinyin like a base word of the same length becomes that word. The message is read in
    pinyin (in context: 还款 is huankuan) only when some piece may spell a base word by the
    readings of its characters; :mod:`knowledge.respond` calls it only for a message it could not
    answer."""
    from pypinyin import lazy_pinyin

    full, _ = _table(kb)
    prefixes = _prefixes(kb, full)
    known = kb.lexicon.vocabulary
    freq, _ = kb.normalizer.background()
    out: list[str] = []
    for run in _CJK_SPLIT_RE.split(text):
        if not run or not _CJK_RUN_RE.fullmatch(run):
            out.append(run)
            continue
        spelt: list[str] | None = None
        n = len(run)
        kept = _lender_spans(kb, run)  # 小贷公司 is a lender's name, not a typo of 校贷
        # each edge between two characters, looked up once (a piece has two edges): whether a
        # word of two to four characters spans it (住证 is none, but 居住证 is: 证在 is no piece)
        edge = [_spans_word(run, j, known, freq) for j in range(n - 1)]
        i = 0
        while i < n:
            starts: list[set[str]] | None = None
            # a word of the base across the left edge (房贷|提前) keeps every piece starting here
            sizes = (4, 3, 2) if i == 0 or not edge[i - 1] else ()
            for size in sizes:
                if i + size > n:
                    continue
                piece = run[i : i + size]
                if _in_dictionary(piece, known, freq) or kept.intersection(range(i, i + size)):
                    continue
                if i + size < n and edge[i + size - 1]:  # … or across the right edge
                    continue
                if starts is None:  # the longest piece read first: as many characters as it has
                    starts = _spellings(piece, prefixes)
                hits = [s for s in starts[size - 1] if s in full] if len(starts) >= size else []
                if not hits:
                    continue
                if all(len(_char_readings(ch)) == 1 for ch in piece):
                    word = full.get(hits.pop())  # one reading per character: no context needed
                else:
                    if spelt is None:
                        spelt = lazy_pinyin(run)
                    word = full.get("".join(spelt[i : i + size]))
                if word is not None and len(word) == size and word != piece:
                    out.append(word)
                    i += size
                    break
            else:
                out.append(run[i])
                i += 1
    return "".join(out)
