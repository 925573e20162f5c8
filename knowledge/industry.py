"""The FAQ and the pre-check never disagree about an industry or a use (兰州 第二条).

An answer from an industry or use entry (tags 行业 / 用途: "一般可以", "哪些行业不能申请" …) to a
question that names an excluded industry or use is replaced by the refusal the pre-check gives,
and one that names a doubtful industry (酒吧, 澡堂, 推拿 …) by the caution "须担保机构认定" — both
from the same policy data (`exclusions` of the policy file) and the same matching
(knowledge.policy: plain equivalents, masks, negation).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

INDUSTRY_TAGS = frozenset({"行业", "用途"})
#: tags of the entries that judge kinds of business: the industry and use entries, 微利项目
BUSINESS_KIND_TAGS = INDUSTRY_TAGS | {"微利项目"}


def verdict_text(question: str, policy: Any, channel: str) -> str | None:
    """The refusal or caution for `question` under `policy`, or None when it names neither."""
    ex = getattr(policy, "exclusions", None)
    if ex is None:
        return None
    sms = channel == "sms"
    m = ex.match_industry(question)
    if m is not None:
        text = ex.texts.refuse_sms if sms else ex.texts.refuse
    else:
        m = ex.match_use(question)
        if m is not None:
            text = ex.texts.refuse_use_sms if sms else ex.texts.refuse_use
        else:
            m = ex.caution_industry(question)
            if m is None:
                return None
            text = ex.texts.caution_sms if sms else ex.texts.caution
    article = ex.article if not sms else ex.article.split()[-1]
    said = str(text.format(word=m.word, name=m.name, article=article))
    if m.word == m.name:  # 氧吧 is the class's own name: "您说的“氧吧”属于氧吧" says nothing
        said = said.replace(f"您说的“{m.word}”属于{m.name}。", "")
        said = said.replace(f"“{m.word}”属于{m.name}，", f"{m.name}")
    return said


def agree_with_precheck(answer: Any, tags: tuple[str, ...], policy: Any, channel: str) -> Any:
    """`answer` (a knowledge.answers.Answer) with the pre-check's verdict when the entry is an
    industry/use entry and the question names an excluded or doubtful industry or use."""
    if not answer.matched or not INDUSTRY_TAGS & set(tags):
        return answer
    text = verdict_text(answer.question, policy, channel)
    if text is None:
        return answer
    return replace(answer, answer=text)
