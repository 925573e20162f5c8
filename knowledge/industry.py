"""The FAQ and the pre-check never disagree about an industry or a use (兰州 第二条).

An answer from an industry or use entry (tags 行业 / 用途: "一般可以", "哪些行业不能申请" …) to a
question that names an excluded industry or use is replaced by the refusal the pre-check gives,
and one that names a doubtful industry (酒吧, 澡堂, 推拿 …) by the caution "须担保机构认定" — both
from the same policy data (`exclusions` of the policy file) and the same matching
(knowledge.policy: plain equivalents, masks, negation). A refusal is the refusing entry's reply
(excluded industries, forbidden uses: its id and source go with the text), and a question how the
money may be used (这钱能拿去盖房子不) is judged on the use before the industry.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from typing import Any

INDUSTRY_TAGS = frozenset({"行业", "用途"})
#: the entries that answer whether an industry or a use is allowed (the policy's exclusion
#: lists), the refusing one first
INDUSTRY_ENTRIES = ("excluded_industries", "industry_ok")
USE_ENTRIES = ("forbidden_uses", "allowed_uses")

#: a question whether the money may be used so (用来…吗, 拿去…行不行, 这样用…可以吗)
MAY_USE_RE = re.compile(
    r"(?:用来|用于|用在|拿来|拿去|拿贷款|这样用|混着用|花在|去还|来还|先还|用(?:这个|这笔)?(?:贷款|钱))"
)

#: tags of the entries that judge kinds of business: the industry and use entries, 微利项目
BUSINESS_KIND_TAGS = INDUSTRY_TAGS | {"微利项目"}


def verdict_text(question: str, policy: Any, channel: str) -> str | None:
    """The refusal or caution for `question` under `policy`, or None when it names neither."""
    found = verdict(question, policy, channel)
    return found[0] if found is not None else None


def verdict(question: str, policy: Any, channel: str) -> tuple[str, str | None] | None:
    """The refusal or caution for `question` under `policy` and the entry that refuses so (the
    excluded industries', the forbidden uses'; None for a caution), or None when it names
    neither."""
    ex = getattr(policy, "exclusions", None)
    if ex is None:
        return None
    sms = channel == "sms"
    # a question how the money may be used (这钱能拿去盖房子不) is answered on the use first
    used = ex.match_use(question) if MAY_USE_RE.search(question) else None
    owner: str | None = INDUSTRY_ENTRIES[0]
    m = ex.match_industry(question) if used is None else None
    if m is not None:
        text = ex.texts.refuse_sms if sms else ex.texts.refuse
    else:
        owner = USE_ENTRIES[0]
        m = used or ex.match_use(question)
        if m is not None:
            text = ex.texts.refuse_use_sms if sms else ex.texts.refuse_use
        else:
            owner = None
            m = ex.caution_industry(question)
            if m is None:
                return None
            text = ex.texts.caution_sms if sms else ex.texts.caution
    article = ex.article if not sms else ex.article.split()[-1]
    said = str(text.format(word=m.word, name=m.name, article=article))
    if m.word == m.name:  # 氧吧 is the class's own name: "您说的“氧吧”属于氧吧" says nothing
        said = said.replace(f"您说的“{m.word}”属于{m.name}。", "")
        said = said.replace(f"“{m.word}”属于{m.name}，", f"{m.name}")
    return said, owner


def agree_with_precheck(
    answer: Any,
    tags: tuple[str, ...],
    policy: Any,
    channel: str,
    source_of: Callable[[str], str | None] | None = None,
) -> Any:
    """`answer` (a knowledge.answers.Answer) with the pre-check's verdict when the entry is an
    industry/use entry and the question names an excluded or doubtful industry or use. A refusal
    is the refusing entry's answer (贷下来的钱能买个小轿车不, first answered by the allowed uses:
    the forbidden uses, with its source) when `source_of` (an entry id → its source, None when
    the base lacks it) finds that entry."""
    if not answer.matched or not INDUSTRY_TAGS & set(tags):
        return answer
    found = verdict(answer.question, policy, channel)
    if found is None:
        return answer
    text, owner = found
    if owner is not None and owner != answer.entry_id and source_of is not None:
        source = source_of(owner)
        if source is not None:
            return replace(answer, entry_id=owner, answer=text, source=source)
    return replace(answer, answer=text)
