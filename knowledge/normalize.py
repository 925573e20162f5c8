"""Text normalisation and tokenisation for FAQ matching.

One pipeline serves both sides — the knowledge base when the index is built and every question at
query time — so that both meet in one canonical form:

1. cut very long input, NFKC (full-width → half-width), lower case, punctuation/emoji → spaces;
2. traditional → simplified (OpenCC ``t2s``);
3. numbers: ``10w``/``10个w``/``五w`` → ``10万``/``5万``; Chinese numerals before a unit → digits
   (``五万`` → ``5万``, ``十万`` → ``10万``, ``两年`` → ``2年``), ``百分之三十`` → ``30%``;
4. string-level synonyms from ``synonyms.yaml`` (one longest-first pass, no cascading);
5. jieba segmentation with ``HMM=False`` and the domain user dictionary; numbers with their unit
   stay one token; word-level synonyms; stop words and filler particles dropped;
6. character bigrams over the remaining content (a second view for words jieba splits badly).
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import json
import logging
import os
import re
import tempfile
import threading
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from math import log
from pathlib import Path
from typing import Any

import jieba
from opencc import OpenCC

from knowledge.schema import load_yaml

PACKAGE_DIR = Path(__file__).resolve().parent
DEFAULT_SYNONYMS = PACKAGE_DIR / "synonyms.yaml"
DEFAULT_USERDICT = PACKAGE_DIR / "userdict.txt"

#: Raw input beyond this is ignored (a pasted document is not a question).
MAX_RAW_CHARS = 2000
#: Cleaned text is cut to this many characters before the expensive steps.
MAX_QUESTION_CHARS = 200
#: Analyses of recent questions kept in memory (the table is emptied when full).
RECENT_ANALYSES = 2048

jieba.setLogLevel(logging.WARNING)

_CC = OpenCC("t2s")


def _traditional_chars() -> frozenset[str]:
    """Characters that OpenCC t2s changes; text without any of them is already simplified."""
    import opencc

    path = Path(opencc.__file__).resolve().parent / "dictionary" / "TSCharacters.txt"
    chars: set[str] = set()
    try:
        for line in path.read_text(encoding="utf-8").splitlines():
            key, _, values = line.partition("\t")
            if key and values.split(" ")[0] != key:
                chars.add(key)
    except OSError:
        return frozenset()
    return frozenset(chars)


_TRADITIONAL = _traditional_chars()


def to_simplified(text: str) -> str:
    if _TRADITIONAL and _TRADITIONAL.isdisjoint(text):
        return text  # fast path: OpenCC's pure-Python matcher costs ~3 µs per character
    return str(_CC.convert(text))


# --- character level ----------------------------------------------------------------------------

_NON_WORD_RE = re.compile(r"[^\u3400-\u4dbf\u4e00-\u9fff0-9a-z%.]+")
_STRAY_DOT_RE = re.compile(r"(?<![0-9])\.|\.(?![0-9])")
_SPACES_RE = re.compile(r"\s+")

_CN_DIGITS = "零〇一二两三四五六七八九十百千"
# "10w", "10 w", "10个w", "五w" → 万 (only after a number, never inside a Latin word)
_W_RE = re.compile(rf"(?<=[0-9{_CN_DIGITS}])\s*个?\s*w(?![a-z])")
_ANY_NUMERAL_RE = re.compile(rf"[0-9{_CN_DIGITS}]")
#: 带/代 right before an amount is the homophone typo of 贷 (能带10万不, 代5万): "to bring" or
#: "to stand for" are never followed by a sum in ten-thousands
_LEND_TYPO_RE = re.compile(rf"[带代](?=\s*[0-9{_CN_DIGITS}]+\s*万)")
_PERCENT_RE = re.compile(rf"百分之([{_CN_DIGITS}点]+)")
_UNITS = "万|亿|元|块|年|个|月|周|天|日|岁|次|倍|人|名|家|成|期|笔|项|条|份|张|%"
_CN_NUM_UNIT_RE = re.compile(rf"([{_CN_DIGITS}]+)(?={_UNITS})")
# a bare spoken amount at the end of a phrase: 贷一百五 → 贷150, 三千 → 3000
_CN_NUM_BARE_RE = re.compile(rf"([{_CN_DIGITS}]*[十百千][{_CN_DIGITS}]*)(?=\s|$)")
# a number with its unit stays one token: 10万, 2年, 30%, 18个工作日 → "18个", "工作日"
_NUM_TOKEN_RE = re.compile(
    r"([0-9]+(?:\.[0-9]+)?(?:万元|万|千|元|块|%|年|个月|个|天|岁|次|倍|人)?)"
)


_CN_VALUE = {
    "零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4,
    "五": 5, "六": 6, "七": 7, "八": 8, "九": 9,
}  # fmt: skip
_CN_UNIT = {"十": 10, "百": 100, "千": 1000}


def cn_to_int(text: str) -> int | None:
    """A Chinese numeral below 10,000 → int (一百五 → 150, 十五 → 15, 两千 → 2000); None if the
    text is not a well-formed number (一两, 千 alone). Checked against cn2an in the tests; written
    out here because importing cn2an costs ~0.5 s of cold start."""
    if not text or text in ("千", "百", "零", "〇"):
        return None
    total = 0
    digit: int | None = None
    last_unit = 0
    zero = False
    for ch in text:
        if ch in "零〇" and total and digit is None:
            zero = True  # 一百零五: the zero only marks a gap
        elif ch in _CN_VALUE:
            if digit is not None:
                return None  # two digits in a row (一两, 三四): a range, not a number
            digit = _CN_VALUE[ch]
        elif ch in _CN_UNIT:
            unit = _CN_UNIT[ch]
            if last_unit and unit >= last_unit:
                return None
            if digit is None:
                if total or unit != 10:
                    return None  # 百/千 without a digit
                digit = 1  # 十五 = 15
            total += digit * unit
            digit = None
            last_unit = unit
            zero = False
        else:
            return None
    if digit is not None:
        if last_unit >= 100 and text[-2] in _CN_UNIT and not zero:
            total += digit * last_unit // 10  # spoken shorthand: 一百五 = 150, 两千三 = 2300
        else:
            total += digit
    return total


def _cn_number(text: str) -> str | None:
    n = cn_to_int(text)
    return None if n is None else str(n)


def convert_numbers(text: str) -> str:
    """Normalise amounts, durations and percentages written in words or shorthand."""
    if not _ANY_NUMERAL_RE.search(text):  # every rule below starts at a digit or a numeral
        return text
    text = _W_RE.sub("万", text)
    text = _LEND_TYPO_RE.sub("贷", text)

    def percent(m: re.Match[str]) -> str:
        n = _cn_number(m.group(1))
        return f"{n}%" if n is not None else m.group(0)

    def unit(m: re.Match[str]) -> str:
        n = _cn_number(m.group(1))
        return n if n is not None else m.group(0)

    text = _PERCENT_RE.sub(percent, text)
    text = _CN_NUM_UNIT_RE.sub(unit, text)
    return _CN_NUM_BARE_RE.sub(lambda m: unit(m) if len(m.group(1)) > 1 else m.group(0), text)


#: where a long text is cut into pieces for :meth:`Normalizer.normalize_long` (no word spans them)
_SENTENCE_END_RE = re.compile(r"[\n。；！？!?;]")


def _chunks(text: str, size: int) -> list[str]:
    """`text` in pieces of at most `size` characters (a sentence longer than a question)."""
    return [text[i : i + size] for i in range(0, len(text), size)]


def clean(text: str) -> str:
    """Width, case and script folding plus punctuation removal (no synonyms, no numbers)."""
    text = unicodedata.normalize("NFKC", text[:MAX_RAW_CHARS]).lower()
    text = _NON_WORD_RE.sub(" ", text)
    text = _STRAY_DOT_RE.sub(" ", text)
    text = _SPACES_RE.sub(" ", text).strip()[:MAX_QUESTION_CHARS]
    return to_simplified(text)


# --- synonyms -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SynonymTable:
    """Rules from synonyms.yaml: string replacements, word replacements and stop words."""

    replace: Mapping[str, str] = field(default_factory=dict)  # variant → canonical
    tokens: Mapping[str, str] = field(default_factory=dict)  # word variant → canonical word
    stopwords: frozenset[str] = frozenset()

    @classmethod
    def load(cls, path: Path) -> SynonymTable:
        data = load_yaml(path.read_text(encoding="utf-8")) or {}
        problems = synonym_problems(data)
        if problems:
            raise ValueError("; ".join(problems))
        return cls(
            replace=_invert(data.get("replace") or {}),
            tokens=_invert(data.get("tokens") or {}),
            stopwords=frozenset(str(w) for w in data.get("stopwords") or []),
        )


def synonym_problems(data: Any) -> list[str]:
    """Structural problems of a parsed synonyms.yaml (empty when it is fine)."""
    if not isinstance(data, dict):
        return ["synonyms.yaml: top level must be a mapping"]
    problems: list[str] = []
    unknown = set(data) - {"replace", "tokens", "stopwords"}
    if unknown:
        problems.append(f"synonyms.yaml: unknown sections {sorted(unknown)}")
    for section in ("replace", "tokens"):
        rules = data.get(section) or {}
        if not isinstance(rules, dict):
            problems.append(f"synonyms.yaml: {section} must map canonical → [variants]")
            continue
        seen: dict[str, str] = {}
        for canonical, variants in rules.items():
            if not isinstance(variants, list) or not all(isinstance(v, str) for v in variants):
                problems.append(f"synonyms.yaml: {section}.{canonical}: variants must be a list")
                continue
            for v in variants:
                if v in seen and seen[v] != str(canonical):
                    problems.append(
                        f"synonyms.yaml: {section}: {v} maps to both {seen[v]} and {canonical}"
                    )
                seen[v] = str(canonical)
    if not isinstance(data.get("stopwords") or [], list):
        problems.append("synonyms.yaml: stopwords must be a list")
    return problems


def _invert(rules: Mapping[Any, Iterable[Any]]) -> dict[str, str]:
    out: dict[str, str] = {}
    for canonical, variants in rules.items():
        c = str(canonical)
        out.setdefault(c, c)  # a canonical protects itself from shorter keys
        for v in variants:
            out[str(v)] = c
    return out


# --- jieba --------------------------------------------------------------------------------------

_cache_dir: Path | None = None
_tok_lock = threading.Lock()
_tokenizers: dict[tuple[str, int, int], jieba.Tokenizer] = {}


def set_cache_dir(path: Path | None) -> None:
    """Where jieba keeps its dictionary cache (the server passes DATA_DIR/cache; default: the
    temp folder)."""
    global _cache_dir
    _cache_dir = path


def cache_dir() -> Path:
    if _cache_dir is not None:
        return _cache_dir
    return Path(tempfile.gettempdir())


#: Words of jieba's main dictionary rarer than this are left out: the compact dictionary loads in
#: a fraction of the time (cold start), and the knowledge base and the questions are cut by the
#: same dictionary, so consistency is kept; rare words fall back to shorter words, and the
#: character-bigram view still matches them.
MAIN_DICT_MIN_FREQ = 5


def main_dictionary() -> Path | None:
    """The compact main dictionary (written once into the cache folder), None if impossible."""
    src = Path(jieba.__file__).resolve().parent / "dict.txt"
    try:
        st = src.stat()
        out = (
            cache_dir()
            / f"chuangdai-jieba-f{MAIN_DICT_MIN_FREQ}-{st.st_size}-{int(st.st_mtime)}.txt"
        )
        if not out.exists():
            keep = []
            for line in src.read_text(encoding="utf-8").splitlines():
                parts = line.split()
                if len(parts) >= 2 and int(parts[1]) >= MAIN_DICT_MIN_FREQ:
                    keep.append(line)
            tmp = out.with_name(f"{out.name}.{os.getpid()}.tmp")
            tmp.write_text("\n".join(keep) + "\n", encoding="utf-8")
            os.replace(tmp, out)
        return out
    except (OSError, ValueError):
        return None


def _new_tokenizer() -> jieba.Tokenizer:
    """A fresh tokenizer with the compact main dictionary (its prefix table cached by jieba)."""
    tok = jieba.Tokenizer(main_dictionary() or jieba.DEFAULT_DICT)
    tok.tmp_dir = str(cache_dir())
    tok.initialize()
    return tok


def tokenizer_for(userdict: Path | None) -> jieba.Tokenizer:
    """A jieba tokenizer with the main dictionary plus `userdict`, one per userdict version."""
    if userdict is None or not userdict.exists():
        key = ("", 0, 0)
    else:
        st = userdict.stat()
        key = (str(userdict.resolve()), st.st_mtime_ns, st.st_size)
    with _tok_lock:
        tok = _tokenizers.get(key)
        if tok is None:
            tok = _new_tokenizer()
            if key[0]:
                for line in Path(key[0]).read_text(encoding="utf-8").splitlines():
                    parts = line.split()
                    if not parts or parts[0].startswith("#"):
                        continue
                    freq = (
                        int(parts[1])
                        if len(parts) > 1 and parts[1].isascii() and parts[1].isdigit()
                        else None
                    )
                    tok.add_word(parts[0], freq)
            _tokenizers[key] = tok
        return tok


#: what jieba's re_eng matches: a one-character word of these is glued to its neighbours
_ENG = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")


def cut_block(tok: jieba.Tokenizer, sentence: str) -> list[str]:
    """jieba's cut of one block without HMM (``Tokenizer.__cut_DAG_NO_HMM``: the most probable
    path through the dictionary words of `sentence`, single Latin letters and digits run
    together), the same words in one pass: each start's words are scored as they are found
    (no DAG dict, no generator per position), ties going to the longer word as in its max."""
    freq = tok.FREQ
    logtotal = log(tok.total)
    n = len(sentence)
    score: list[float] = [0.0] * (n + 1)
    end = [0] * (n + 1)
    for k in range(n - 1, -1, -1):
        best = 0.0
        best_end = -1
        i = k
        frag = sentence[k]
        while i < n and frag in freq:
            f = freq[frag]
            if f:
                s = log(f) - logtotal + score[i + 1]
                if best_end < 0 or s >= best:  # later ends are longer: a tie goes to them
                    best, best_end = s, i
            i += 1
            frag = sentence[k : i + 1]
        if best_end < 0:  # no dictionary word starts here: the character alone
            best, best_end = log(freq.get(sentence[k]) or 1) - logtotal + score[k + 1], k
        score[k] = best
        end[k] = best_end
    out: list[str] = []
    buf = ""
    x = 0
    while x < n:
        y = end[x] + 1
        word = sentence[x:y]
        if y - x == 1 and word in _ENG:
            buf += word
        else:
            if buf:
                out.append(buf)
                buf = ""
            out.append(word)
        x = y
    if buf:
        out.append(buf)
    return out


# --- the pipeline -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Analysis:
    """A text after normalisation: canonical string, content words and character bigrams."""

    text: str
    tokens: tuple[str, ...]
    bigrams: tuple[str, ...]

    @property
    def empty(self) -> bool:
        return not self.tokens


_CJK_RE = re.compile(r"[\u3400-\u9fff]+")
_DIGIT_RE = re.compile(r"[0-9]")


def char_bigrams(tokens: Iterable[str]) -> tuple[str, ...]:
    """Bigrams over the content: Chinese characters one by one, numbers and Latin words whole."""
    units: list[str] = []
    for tok in tokens:
        if _CJK_RE.fullmatch(tok):
            units.extend(tok)
        else:
            units.append(tok)
    if len(units) == 1:
        return (units[0],)
    return tuple(a + b for a, b in itertools.pairwise(units))


def _prune_analysis_caches(current: Path, max_age_s: float = 86_400.0) -> None:
    """Remove analysis caches of earlier rule/code versions untouched for a day."""
    import time

    now = time.time()
    for old in current.parent.glob("chuangdai-analysis-*.json"):
        try:
            if old != current and now - old.stat().st_mtime > max_age_s:
                old.unlink()
        except OSError:
            pass


class Normalizer:
    """The normalisation pipeline of one knowledge folder (its synonyms and user dictionary)."""

    def __init__(self, synonyms: SynonymTable, userdict: Path | None = None) -> None:
        self.synonyms = synonyms
        self.userdict = userdict
        self._tok = tokenizer_for(userdict)
        # Cleaned text holds only characters jieba treats as one block, so its block cutter
        # (what lcut(HMM=False) calls per block) can be used directly: cut_block
        self._cut: Callable[[str], Iterable[str]] = functools.partial(cut_block, self._tok)
        keys = sorted(synonyms.replace, key=len, reverse=True)
        self._replace_re = re.compile("|".join(re.escape(k) for k in keys if k)) if keys else None
        self.fingerprint = self._fingerprint()
        self._memo: dict[str, Analysis] = {}
        self._recent: dict[str, Analysis] = {}
        # the words of recent pieces: a message read several ways (the question with its story,
        # with the previous question) cuts the same pieces again
        self._recent_cuts: dict[str, tuple[str, ...]] = {}
        self._disk_loaded = False
        self.use_cache = True  # False: analyze_many recomputes everything (benchmarks)

    def _fingerprint(self) -> str:
        """Hash of everything that decides an analysis: rules, dictionaries and this code."""
        h = hashlib.sha256()
        syn = self.synonyms
        h.update(json.dumps([sorted(syn.replace.items()), sorted(syn.tokens.items()),
                             sorted(syn.stopwords)], ensure_ascii=False).encode())  # fmt: skip
        if self.userdict is not None and self.userdict.exists():
            h.update(self.userdict.read_bytes())
        h.update(Path(__file__).read_bytes())
        h.update(f"{MAIN_DICT_MIN_FREQ}|{jieba.__version__}".encode())
        return h.hexdigest()[:20]

    def _cache_path(self) -> Path:
        return cache_dir() / f"chuangdai-analysis-{self.fingerprint}.json"

    def analyze_many(self, texts: Sequence[str]) -> list[Analysis]:
        """Analyses of knowledge-base texts, memoised in memory and in the cache folder.

        Rebuilding after an edit re-analyses only new texts, and a fresh process reads the
        previous analyses instead of re-running jieba over the whole base. The cache file is keyed
        by :attr:`fingerprint`, so any change of rules, dictionary or code starts a new one.
        """
        if not self.use_cache:
            return [self.analyze(t) for t in texts]
        if not self._disk_loaded:
            self._disk_loaded = True
            try:
                data = json.loads(self._cache_path().read_text(encoding="utf-8"))
                for text, (norm, tokens, bigrams) in data.items():
                    self._memo.setdefault(text, Analysis(norm, tuple(tokens), tuple(bigrams)))
            except (OSError, ValueError, TypeError):
                pass
        out: list[Analysis] = []
        new = False
        for text in texts:
            a = self._memo.get(text)
            if a is None:
                a = self._memo[text] = self.analyze(text)
                new = True
            out.append(a)
        if new:
            keep = {t: [a.text, a.tokens, a.bigrams] for t, a in zip(texts, out, strict=True)}
            path = self._cache_path()
            try:
                tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
                tmp.write_text(json.dumps(keep, ensure_ascii=False), encoding="utf-8")
                os.replace(tmp, path)
                _prune_analysis_caches(path)
            except OSError:
                pass  # a read-only cache folder only costs speed
        return out

    @classmethod
    def from_folder(cls, folder: Path | None = None) -> Normalizer:
        """synonyms.yaml and userdict.txt of `folder`, falling back to the packaged ones."""
        syn = folder / "synonyms.yaml" if folder else None
        ud = folder / "userdict.txt" if folder else None
        syn_path = syn if syn and syn.exists() else DEFAULT_SYNONYMS
        ud_path = ud if ud and ud.exists() else DEFAULT_USERDICT
        return cls(SynonymTable.load(syn_path), ud_path)

    def normalize(self, text: str) -> str:
        """The canonical string of `text` (steps 1–4)."""
        text = convert_numbers(clean(text))
        if self._replace_re is not None:
            table = self.synonyms.replace
            text = self._replace_re.sub(lambda m: table[m.group(0)], text)
        return text

    def normalize_long(self, text: str) -> str:
        """:meth:`normalize` of a text of any length (an FAQ answer): sentence by sentence, each
        within the question limit (MAX_QUESTION_CHARS), so nothing past it is cut away."""
        pieces = (p for p in _SENTENCE_END_RE.split(text) if p.strip())
        return " ".join(
            self.normalize(chunk)
            for piece in pieces
            for chunk in _chunks(piece, MAX_QUESTION_CHARS)
        )

    def tokenize(self, normalized: str) -> list[str]:
        """Content words of an already normalised string (step 5)."""
        out: list[str] = []
        words = self.synonyms.tokens
        stop = self.synonyms.stopwords
        cuts = self._recent_cuts if self.use_cache else {}  # (benchmarks: jieba every time)
        if len(cuts) >= RECENT_ANALYSES:
            cuts.clear()
        for chunk in normalized.split():
            parts = _NUM_TOKEN_RE.split(chunk) if _DIGIT_RE.search(chunk) else [chunk]
            for i, part in enumerate(parts):
                if not part:
                    continue
                # odd parts are numbers with their unit (kept whole; 55岁 → age)
                number: tuple[str, ...] = ("年龄",) if part.endswith("岁") else (part,)
                if i % 2:
                    pieces = number
                else:
                    pieces = cuts.get(part) or cuts.setdefault(part, tuple(self._cut(part)))
                for piece in pieces:
                    mapped = words.get(piece, piece)
                    for w in mapped.split() if " " in mapped else (mapped,):
                        if w and w not in stop and not w.isspace():
                            out.append(w)
        return out

    def background(self) -> tuple[Mapping[str, int], int]:
        """jieba's dictionary frequencies (a general-Chinese background corpus) and their total."""
        return self._tok.FREQ, int(self._tok.total) or 1

    def forget_recent(self) -> None:
        """Drop the analyses of recent questions (benchmarks: time every question afresh)."""
        self._recent.clear()
        self._recent_cuts.clear()

    def analyze(self, text: str) -> Analysis:
        # one message is read several ways (clauses, salience, ranking): recent texts are kept
        hit = self._recent.get(text)
        if hit is not None:
            return hit
        norm = self.normalize(text)
        tokens = tuple(self.tokenize(norm))
        a = Analysis(text=norm, tokens=tokens, bigrams=char_bigrams(tokens) if tokens else ())
        if len(self._recent) >= RECENT_ANALYSES:
            self._recent.clear()
        self._recent[text] = a
        return a


_default: Normalizer | None = None


def default_normalizer() -> Normalizer:
    """The normaliser of the packaged knowledge folder (created on first use)."""
    global _default
    if _default is None:
        _default = Normalizer.from_folder(PACKAGE_DIR)
    return _default
