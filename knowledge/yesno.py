"""The opening of a yes/no question that names a figure or a condition, computed from the policy.

"退伍军人能贷30万吗" answered with the veteran entry opens "不能，城镇复员转业退役军人最高5万元。"
instead of the entry's own "可以。": the figure the question names (an amount, a term, a number of
working days, a hiring ratio) is compared with the active policy, and an excluded industry or use
the question names gives "不能". Texts are data (``texts`` in understanding.yaml); which figure an
entry speaks about is :data:`FIGURES`.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from knowledge.industry import INDUSTRY_ENTRIES, MAY_USE_RE, USE_ENTRIES
from knowledge.lexicon import POLICY_WORD_ENTRIES
from knowledge.normalize import convert_numbers
from knowledge.understand import A_NOT_A_RE

if TYPE_CHECKING:
    from knowledge.retrieval import KnowledgeBase

#: entry id → the figures its answer states, as (kind, policy key): amounts by applicant
#: category, terms and working days by applicant type, the enterprise hiring ratio
FIGURES: dict[str, tuple[tuple[str, str], ...]] = {
    "unemployed_eligible": (("amount", "unemployed"), ("term", "individual")),
    "veteran_eligible": (("amount", "veteran"), ("term", "individual")),
    "woman_eligible": (("amount", "woman"), ("term", "individual")),
    "graduate_eligible": (("amount", "graduate"), ("term", "individual")),
    "returnee_eligible": (("amount", "returnee"),),
    "amount_individual": (("amount", "individual"), ("term", "individual")),
    "amount_partnership": (("amount", "partnership"), ("term", "partnership")),
    "enterprise_amount": (("amount", "enterprise"), ("term", "enterprise")),
    "term_length": (("term", "individual"),),
    "how_long": (("days", "individual"),),
    "enterprise_time": (("days", "enterprise"),),
    "enterprise_eligible": (("ratio", "enterprise"),),
}
#: question words of a yes/no question about a statement (是8万对吧, 是6个工作日吗, 要7个工作日吧)
#: vs an ability (能贷10万吗, 7个工作日能办完吗)
_IS_RE = re.compile(
    r"是不是|对吧|对不对|没错吧|真的假的|是吗|是吧|对吗|是真的|是各?\d|要\d+个?工作日"
)
#: a question claiming what the limit is (最高只能贷5万吗, 最长就两年吗, 上限5万吗): true only when it
#: names the limit itself; 最高/最多/最长 with 能 or 可以 asks what is possible (最长能到5年吗)
_LIMIT_CLAIM_RE = re.compile(
    r"上限|封顶|顶多|只能|只有|就只|就能|就是|才能|(?:最高|最多|最长)(?![^，,。？?]*(?:能|可以))"
)
#: a question whether something must be done (也得招够30%吗, 必须贷满5万吗): 要 / 不用
_MUST_RE = re.compile(r"也得|得[招占达有交]|必须|非得|一定要|需要[招占达有]|要[招占达]")
#: a question asking for more than the figure it names (能超过两年吗, 贷5万以上行不行)
_MORE_RE = re.compile(r"超过|以上|多于|不止|高于|大于|超出")
#: … unless it says the figure is not to be passed (总额不能超过30万对不对): a claim of the limit
_NOT_MORE_RE = re.compile(r"不(?:能|得|会|可以|可|准|许)?(?:超过|超出|高于|多于)")
#: a claim that something may not be done (按摩店不能贷，是真的吗; 氧吧也在不能贷款的行业里？):
#: when the policy excludes it, the claim is right (是的) rather than the ability refused (不能);
#: searched with "A not A" taken out (能不能, 可不可以: a question of the ability)
_NEGATED_CLAIM_RE = re.compile(r"不(?:能|让|可以|允许|给|准)|禁止")
#: a figure said back with a question mark and no question word (社区审核要10个工作日？): a
#: yes/no question about that figure
_FIGURE_BACK_RE = re.compile(
    r"\d\s*(?:万|年|个?工作日|天|个?(?:星期|礼拜|周)|%)[^，,。？?!！多几啥什么哪怎]{0,6}[？?]\s*$"
)
#: the words naming each step of the procedure (担保中心审核是6个工作日吗: that step's limit)
_STEP_WORDS: dict[str, tuple[str, ...]] = {
    "community_review": ("社区",),
    "street_review": ("街道", "乡镇"),
    "guarantee_review": ("担保中心", "担保机构", "担保公司"),
    "bank_review": ("银行",),
}
_YESNO_RE = re.compile(
    r"吗|不$|不[？?]|能不能|可不可以|是不是|对吧|对不对|没错吧|真的假的|行不行|给不给|算不算|要不要|需不需要"
    r"|[么吧嘛](?:$|[？?])|可以不|行不|成不|中不中|能否|是否"
)
_AMOUNT_RE = re.compile(r"(\d+(?:\.\d+)?)万")
_UNIT_COUNTER_RE = re.compile(r"(\d)\s*个\s*(?=万)")
_YEARS_RE = re.compile(r"(\d+)年")
#: working days, days, or weeks (a week is five working days: 社区调查要一个星期吗)
_DAYS_RE = re.compile(r"(\d+)个?工作日|(\d+)天|(\d+)个?(?:星期|礼拜|周)")
_PERCENT_RE = re.compile(r"(\d+)%")
#: the entry's own leading yes/no, replaced by the computed opening
_LEADING_RE = re.compile(r"^(?:可以|不可以|一般可以|会有|有影响|要还|不能|能|是的|不是)[。，,]\s*")
_GROUP_WORDS = {
    "veteran": ("退役", "退伍", "转业", "复员", "军人"),
    "woman": ("妇女", "女的", "女性"),
    "graduate": ("毕业", "大学生", "大专", "中专"),
    "unemployed": ("下岗", "失业"),
}


#: how a yes/no reply (or a writer's expected one) opens: yes or no, after a leading "按…办法"
_SOURCE_PREFIX_RE = re.compile(r"^\s*(?:按|根据)?[^，。,]{0,12}?办法[，,]?")
_NO_RE = re.compile(r"^\s*(?:不能|不可以|不是|不行|不会|不对|不用|不需要|不贴|不给|没有|不)")
_YES_RE = re.compile(r"^\s*(?:可以|一般可以|能|是的|是|对|会|要|需要|有|行|给)")


def polarity(text: str) -> str | None:
    """ "yes" or "no" by how `text` opens (不能，最高5万元 → no; 按兰州2013办法不能… → no), or None
    when it opens with neither (根据……第十三条: a reply without a yes/no opening)."""
    body = _SOURCE_PREFIX_RE.sub("", text, count=1)
    for t in (body, text):
        if _NO_RE.match(t):
            return "no"
        if _YES_RE.match(t):
            return "yes"
    return None


def strip_opening(answer: str) -> str:
    return _LEADING_RE.sub("", answer, count=1)


def opening(kb: KnowledgeBase, question: str, entry_id: str, story: str = "") -> str | None:
    """The computed opening for `question` answered by `entry_id`, or None; `story`, the
    clauses before the question, may name the firm's size (我们厂一百多号工人，也得招够30%吧)."""
    policy = kb.policy
    if not hasattr(policy, "categories"):
        return None
    texts = kb.understanding.texts
    text = convert_numbers(question.replace("w", "万").replace("W", "万"))
    text = _UNIT_COUNTER_RE.sub(r"\1", text)  # 5个万 (5个w): 5万
    if not (
        _YESNO_RE.search(question)
        or A_NOT_A_RE.search(question)  # any verb asked "A not A" (贴不贴, 批没批)
        or _FIGURE_BACK_RE.search(text)
    ):
        return None
    statement = _is_statement(text)
    # 是8万对吧: 是的 / 不是; 一百多人的厂也得招够30%吗: 要 / 不用; 能贷3万吗: 可以 / 不能
    kind = "is" if statement else "must" if _MUST_RE.search(text) else "can"
    yes, no = texts[f"yes_{kind}"], texts[f"no_{kind}"]
    excluded = _condition(policy, question, entry_id)
    if excluded is not None:
        kind, name, article = excluded
        # 按摩店不能贷，是真的吗: the claim that it may not is right
        claims = _NEGATED_CLAIM_RE.search(A_NOT_A_RE.sub("", question))
        answer = texts["yes_is"] if claims else no
        return texts[kind].format(answer=answer, name=name, article=article)
    for kind, key in FIGURES.get(entry_id, ()):  # the first figure the question names
        if kind == "amount":
            head = _amount(policy, texts, text, key, (yes, no), statement)
        elif kind == "term":
            head = _term(policy, texts, text, key, (yes, no), statement)
        elif kind == "days":
            head = _days(policy, texts, text, key, (yes, no), statement)
        else:
            head = _ratio(policy, texts, text, (yes, no), convert_numbers(story))
        if head is not None:
            return head
    return _stated(kb, text, entry_id)


def _stated(kb: KnowledgeBase, question: str, entry_id: str) -> str | None:
    """The opening the entry itself states for the claim the question checks (its `openings` in
    the FAQ file: 要我自己先垫吗 → 按兰州2013年办法不用……), or None."""
    entry = kb.entry(entry_id)
    if entry is None:
        return None
    return next((o.say for o in entry.openings if o.fits(question)), None)


def _condition(policy: Any, question: str, entry_id: str) -> tuple[str, str, str] | None:
    exclusions = policy.exclusions
    if entry_id not in POLICY_WORD_ENTRIES:
        return None
    if entry_id in ("excluded_industries", "industry_ok"):
        m = exclusions.match_industry(question)
        if m is not None:
            return "industry", m.name, exclusions.article
    if entry_id in ("forbidden_uses", "allowed_uses"):
        m = exclusions.match_use(question)
        if m is not None:
            return "use", m.name, exclusions.article
    return None


def _wan(yuan: int) -> str:
    from knowledge.policy import format_yuan_wan

    return format_yuan_wan(yuan)


def format_months(months: int) -> str:
    from knowledge.policy import format_months as fmt

    return fmt(months)


def _amount(
    policy: Any, texts: Any, text: str, key: str, answers: tuple[str, str], statement: bool
) -> str | None:
    m = _AMOUNT_RE.search(text)
    if m is None:
        return None
    asked = float(m.group(1)) * 10_000
    if key == "individual":  # the group the question names, else no opening
        key = next((k for k, ws in _GROUP_WORDS.items() if any(w in text for w in ws)), "")
        if not key:
            return None
    if key == "partnership":
        cap, who = policy.partnership.cap_yuan, "合伙经营共同申请"
    elif key == "enterprise":
        cap, who = policy.enterprise.cap_yuan, str(policy.enterprise.label)
    else:
        cat = policy.categories.get(key)
        if cat is None:
            return None
        cap, who = cat.cap_yuan, str(cat.label)
    if cap is None:
        return str(texts["amount_unset"]).format(who=who)
    answer = answers[0] if _within(asked, cap, text, statement) else answers[1]
    return str(texts["amount"]).format(answer=answer, who=who, cap=_wan(int(cap)))


def _is_statement(text: str) -> bool:
    """Whether the question claims a figure (是8万对吧, 最高只能贷5万吗) rather than asks whether
    an amount or a term is possible (能贷3万吗)."""
    return bool(
        _IS_RE.search(text)
        or _LIMIT_CLAIM_RE.search(text)
        or _NOT_MORE_RE.search(text)
        or _FIGURE_BACK_RE.search(text)
    )


def _within(asked: float, limit: float, text: str, statement: bool) -> bool:
    """Whether the figure a question names agrees with the policy's `limit`: more than it (能超过
    两年吗) only when the limit is higher; a claim of the limit (最高只能5万吗) only when it is the
    limit; an amount or a term asked for (能贷3万吗) when it is not above the limit."""
    if _MORE_RE.search(text) and not _NOT_MORE_RE.search(text):
        return limit > asked
    if statement:
        return asked == limit
    return asked <= limit


def _term(
    policy: Any, texts: Any, text: str, key: str, answers: tuple[str, str], statement: bool
) -> str | None:
    m = _YEARS_RE.search(text)
    if m is None or _AMOUNT_RE.search(text):
        return None
    if key == "enterprise" or "企业" in text:
        months, who = policy.enterprise.term_months, "企业贷款"
    elif key == "partnership" or "合伙" in text:
        months, who = policy.partnership.term_months, "合伙贷款"
    else:
        months, who = policy.categories["unemployed"].term_months, "个人贷款"
    asked = int(m.group(1)) * 12
    answer = answers[0] if _within(asked, months, text, statement) else answers[1]
    return str(texts["term"]).format(answer=answer, who=who, term=format_months(months))


def _days(
    policy: Any, texts: Any, text: str, key: str, answers: tuple[str, str], statement: bool
) -> str | None:
    m = _DAYS_RE.search(text)
    if m is None:
        return None
    asked = int(m.group(1) or m.group(2)) if m.group(3) is None else int(m.group(3)) * 5
    applicant = "enterprise" if key == "enterprise" else "individual"
    who = "企业贷款" if applicant == "enterprise" else "个人贷款"
    steps = [
        s
        for s in policy.procedure(applicant).steps
        if any(w in text for w in _STEP_WORDS.get(s.stage, ()))
    ]
    if steps:  # 担保中心审核是6个工作日吗: the limit of the step named, not of the whole
        ok = all(s.days == asked if statement else s.days <= asked for s in steps)
        limits = "，".join(f"{s.name}{s.days}个工作日" for s in steps)
        answer = answers[0] if ok else answers[1]
        return str(texts["days_step"]).format(answer=answer, steps=limits, who=who)
    days = policy.total_days(applicant)
    answer = answers[0] if (asked == days if statement else asked >= days) else answers[1]
    return str(texts["days"]).format(answer=answer, who=who, days=days)


#: a firm's staff as the question names it (120个工人, 200名职工, 80多人; 一百多人, 上百人, 几百人)
_STAFF_RE = re.compile(r"(\d+)\s*(多)?\s*[个名号]?\s*(?:人|工人|员工|职工)")
_HUNDREDS_RE = re.compile(r"(?:一百|百)多\s*[个名号]?\s*(?:人|工人|员工|职工)|上百|几百")
#: the fewest people each hundreds phrase means (一百多: more than 100)
_HUNDREDS_FLOOR = {"上百": 100, "几百": 200}
#: a share said in words (占到一半: 50%)
_SHARE_WORDS = {"一半": "50%", "三成": "30%", "一成半": "15%"}


def _ratio(
    policy: Any, texts: Any, text: str, answers: tuple[str, str], story: str = ""
) -> str | None:
    for word, percent in _SHARE_WORDS.items():
        text = text.replace(word, percent)
    m = _PERCENT_RE.search(text)
    if m is None:
        return None
    e = policy.enterprise
    large = _large_firm(f"{story} {text}", e.large_staff)
    if large is None:  # no size named: either share is the rule for some firm
        right = int(m.group(1)) in (e.hiring_ratio_percent, e.large_ratio_percent)
    else:  # 一百多人的厂也得招够30%吗: the larger firm's share
        right = int(m.group(1)) == (e.large_ratio_percent if large else e.hiring_ratio_percent)
    answer = answers[0] if right else answers[1]
    return str(texts["ratio"]).format(
        answer=answer, ratio=f"{e.hiring_ratio_percent}%", large=e.large_staff,
        ratio_large=f"{e.large_ratio_percent}%",
    )  # fmt: skip


def _large_firm(text: str, large_staff: int) -> bool | None:
    """Whether the firm the question names has more than `large_staff` people (the fewest its
    words allow: 100多人 is 101); None when it names no size."""
    hundreds = _HUNDREDS_RE.search(text)
    if hundreds is not None:
        fewest = _HUNDREDS_FLOOR.get(hundreds.group(0), 101)
    else:
        m = _STAFF_RE.search(text)
        if m is None:
            return None
        fewest = int(m.group(1)) + (m.group(2) is not None)
    return fewest > large_staff


#: words that ask for a kind of figure
_ASKS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("amount", re.compile(r"多少钱|几万|多少万|额度|贷多少|最多|最高")),
    ("term", re.compile(r"几年|期限|多长时间|最长")),
    ("days", re.compile(r"几天|多久|多少天|工作日")),
)


def asked_figures(question: str) -> set[str]:
    """The kinds of figure a question asks for (最多贷多少 → amount, 期限多长 → term)."""
    return {kind for kind, pattern in _ASKS if pattern.search(question)}


def stated_figures(entry_id: str) -> set[str]:
    """The kinds of figure an entry's answer states (FIGURES)."""
    return {kind for kind, _ in FIGURES.get(entry_id, ())}


def figure_kinds(question: str) -> set[str]:
    """The kinds of figure a question names: amount (8万), term (3年), days (10个工作日), ratio."""
    text = convert_numbers(question.replace("w", "万").replace("W", "万"))
    found = {
        kind
        for kind, pattern in (
            ("amount", _AMOUNT_RE),
            ("term", _YEARS_RE),
            ("days", _DAYS_RE),
            ("ratio", _PERCENT_RE),
        )
        if pattern.search(text)
    }
    return found


#: the FIGURES key of each subject and applicant group of understanding.yaml (企业 → enterprise)
_FIGURE_KEYS: dict[str, str] = {
    "企业": "enterprise",
    "合伙": "partnership",
    "失业人员": "unemployed",
    "退役军人": "veteran",
    "毕业生": "graduate",
    "妇女": "woman",
}
#: what a follow-up naming only whose figure it asks has besides that name (那企业的呢, 妇女也一样吗)
_NOTHING_ELSE_RE = re.compile(
    r"(?:那么?|要是|如果|还有|另外|我|的|呢|吗|也|都|是|行|可以|能|一样|这样|怎么样|咋样|啊|呀"
    r"|[那这](?:边|里|儿|块|一步|一关|一环|方面)"  # 银行那边呢: the step itself
    r"|[？?，,。!！\s])*"
)


def _without(text: str, words: list[str]) -> str:
    """`text` with every one of `words` taken out (longest first: 退伍军人 before 军人)."""
    for w in sorted(words, key=len, reverse=True):
        text = text.replace(w, "")
    return text


def _whose(kb: KnowledgeBase, text: str) -> tuple[set[str], list[str]]:
    """The FIGURES keys of the subjects and applicant groups `text` names (企业 → enterprise,
    我媳妇 → woman) and the words that named them."""
    und = kb.understanding
    keys: set[str] = set()
    said: list[str] = []
    for word, says in (*und.subjects, *und.facts):
        found = [w for w in says if w in text]
        if found and word in _FIGURE_KEYS:
            keys.add(_FIGURE_KEYS[word])
            said.extend(found)
    return keys, said


def same_figure_for(kb: KnowledgeBase, text: str, previous: str) -> str | None:
    """The entry stating the previous entry's figure for whoever a follow-up names, when it
    names one (a subject or applicant group of understanding.yaml, or a step of the procedure)
    and nothing else ("企业的呢" after the individual term: the enterprise entry, which states the
    enterprise's term; "我老婆也行吗" after the veteran's cap: the women's entry; "街道呢" after
    the working days: the same entry); else None."""
    figures = FIGURES.get(previous, ())
    if not figures or figure_kinds(text):
        return None
    steps = [w for words in _STEP_WORDS.values() for w in words if w in text]
    days = ("days", "individual") in figures
    if steps and days and _NOTHING_ELSE_RE.fullmatch(_without(text, steps)):
        return previous  # 社区审核要几天？街道呢？: each step's working days are in that entry
    named, said = _whose(kb, text)
    if len(named) != 1 or not _NOTHING_ELSE_RE.fullmatch(_without(text, said)):
        return None  # 每个人都要有失业证吗: a question of its own
    kind, key = figures[0][0], named.pop()
    return next((e for e in _stating(kb, kind, key) if e != previous), None)


def _stating(kb: KnowledgeBase, kind: str, key: str) -> list[str]:
    """The entries of the base stating a figure of `kind` for `key` (FIGURES), in FIGURES order;
    an entry a deployment's base does not have is none of them."""
    return [e for e, stated in FIGURES.items() if (kind, key) in stated and kb.entry(e) is not None]


#: the longest question whose figure is taken as the one asked about (figure_question_entry)
FIGURE_QUESTION_MAX_CHARS = 25
#: the words of a yes/no question asking about each kind of figure (能贷10万吗, 能贷3年吗, 要18个
#: 工作日吗)
_ASKS_FIGURE: dict[str, re.Pattern[str]] = {
    "amount": re.compile(r"贷|额度|最高|最多|上限"),
    "term": re.compile(r"期限|贷|还|最长"),
    "days": re.compile(
        r"审批|审核|放款|批下来|下来|办完|办下来|调查|一步|环节|时限|推荐|复核|社区|街道|乡镇|担保|银行"
    ),
}


def figure_question_entry(kb: KnowledgeBase, question: str) -> str | None:
    """The entry stating the figure a short yes/no question checks, for whoever it names
    (失业人员最高只能贷3万吗 → the unemployed's cap; 企业贷款能贷3年吗 → the enterprise entry; no one
    named → the individual figures), so that the policy's figure answers it; None when the
    question names no single kind of figure, or several groups."""
    if len(question) > FIGURE_QUESTION_MAX_CHARS or not _YESNO_RE.search(question):
        return None  # (in a longer message a figure is more often the story's: 去年贷了8万)
    kinds = [k for k in figure_kinds(question) if k in _ASKS_FIGURE]
    if len(kinds) != 1 or not _ASKS_FIGURE[kinds[0]].search(question):
        return None
    named, _ = _whose(kb, question)
    if len(named) > 1:
        return None
    kind = kinds[0]
    for key in (*named, "individual"):
        found = next(iter(_stating(kb, kind, key)), None)
        if found is not None:
            return found
    return None


def figure_entry(question: str, entry_id: str, candidates: list[str]) -> str | None:
    """An entry among `candidates` (the next best of the ranking, in order) that states the kind
    of figure the question names when `entry_id` states none of it ("企业贷款能批500万吗" ranked
    first on the approval-time entry: the amount entry answers it); else None."""
    kinds = figure_kinds(question)
    states = {kind for kind, _ in FIGURES.get(entry_id, ())}
    # only between entries that state figures; and the question may ask the entry's own kind
    # (10万能贷几年: a term question naming an amount)
    if not kinds or not states or kinds & states:
        return None
    if any(pattern.search(question) for kind, pattern in _ASKS if kind in states):
        return None
    for other in candidates:
        if kinds & {kind for kind, _ in FIGURES.get(other, ())}:
            return other
    return None


def asked_figure_entry(question: str, entry_id: str, candidates: list[str]) -> str | None:
    """An entry among `candidates` (the next likeliest, in order) stating the kind of figure the
    question asks for (下岗了能贷多少钱: an amount) when `entry_id` states no figure of it (who
    may borrow); else None."""
    asked = asked_figures(question)
    if not asked or asked & stated_figures(entry_id):
        return None
    return next((c for c in candidates if asked & stated_figures(c)), None)


#: the kinds of figure whose check moves a confident answer (:func:`checked_figure_entry`): a
#: number of working days is only ever a time question, while an amount is often a condition's
#: (贷五万也要担保人吗) or the policy's change (现在还是5万吗)
CHECKED_KINDS = frozenset({"days"})
_WORKING_DAYS_RE = re.compile(r"(?<!第)\d+\s*(?:个?工作日|天|个?星期|个?礼拜|周)")


def checked_figure_entry(kb: KnowledgeBase, question: str, entry_id: str) -> str | None:
    """The entry stating the working days a short yes/no question checks (社区调查要10个工作日吗),
    for whoever it names, when the answered entry `entry_id` does not state them for them (the
    site visits' entry: what is checked, not how long; the firm's time limits for an
    individual's question); else None."""
    if _WORKING_DAYS_RE.search(convert_numbers(question)) is None:
        return None  # (逾期第二天: a day of the story, not a time limit)
    found = figure_question_entry(kb, question)
    kinds = figure_kinds(question)
    if found is None or found == entry_id or not kinds <= CHECKED_KINDS:
        return None
    named, _ = _whose(kb, question)
    stated = FIGURES.get(entry_id, ())
    if any((kind, key) in stated for kind in kinds for key in named or {"individual"}):
        return None  # the answered entry states it for whoever the question names
    return found


#: a question whether a business may borrow (能不能贷, 算不算, 有没有戏, 行不行)
_MAY_BORROW_RE = re.compile(
    r"能不能[贷申办用]|能[贷申办用]|可以[贷申办用]|可不可以|行不行|算不算|算[^，,]{0,8}吗|有没有戏|有希望"
)


def excluded_business(kb: KnowledgeBase, query: str) -> str | None:
    """The excluded-industries entry, when a question whether a business may borrow names a
    business of an industry the policy excludes ("装修队这种算建筑业吗，能不能贷"), with the story
    clause naming the business when the question points at it; else None."""
    exclusions = getattr(kb.policy, "exclusions", None)
    if exclusions is None or not _MAY_BORROW_RE.search(query):
        return None
    if exclusions.match_industry(query) is None:
        return None
    return INDUSTRY_ENTRIES[0] if kb.entry(INDUSTRY_ENTRIES[0]) is not None else None


_ASKS_WHETHER_RE = re.compile(r"吗|能不能|可不可以|行不行|可以不|行不|会不会|能发现")


def excluded_use(kb: KnowledgeBase, query: str) -> str | None:
    """The forbidden-uses entry, when a question whether the loan may be used so names a use the
    policy excludes ("剩下两万想先把信用卡的欠款还了……这样用贷款的钱可以吗"); else None."""
    exclusions = getattr(kb.policy, "exclusions", None)
    if exclusions is None or not (MAY_USE_RE.search(query) and _ASKS_WHETHER_RE.search(query)):
        return None
    if exclusions.match_use(query) is None:
        return None
    return USE_ENTRIES[0] if kb.entry(USE_ENTRIES[0]) is not None else None


def condition_entry(
    kb: KnowledgeBase, question: str, entry_id: str, candidates: list[str]
) -> str | None:
    """An entry among `candidates` (the next best of the ranking, in order) that answers whether
    the excluded industry or use the question names is allowed ("开了个广告设计店…会影响我申请吗"
    ranked first on another entry: the industry entry answers it), when `entry_id` is none of
    those entries; else None."""
    exclusions = getattr(kb.policy, "exclusions", None)
    near = [c for c in candidates if c in POLICY_WORD_ENTRIES]
    if exclusions is None or entry_id in POLICY_WORD_ENTRIES or not near:
        return None  # (matching the exclusion lists is the costly part: only when it may help)
    wanted: tuple[str, ...] = ()
    if any(c in INDUSTRY_ENTRIES for c in near) and exclusions.match_industry(question):
        wanted = INDUSTRY_ENTRIES
    elif any(c in USE_ENTRIES for c in near) and exclusions.match_use(question):
        wanted = USE_ENTRIES
    return next((c for c in near if c in wanted), None)
