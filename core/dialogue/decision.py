"""The pre-check decision as the applicant reads it: in full (chat) and in about two SMS segments."""

from __future__ import annotations

from datetime import date
from typing import Any

from core.dialogue import prompts as P
from core.kernel.money import format_yuan
from core.kernel.timeutil import format_date_cn
from knowledge.policy import format_yuan_wan


def text(d: dict[str, Any]) -> str:
    lines = [P.PC_RESULT_OK if d["eligible"] else P.PC_RESULT_NO]
    if d["eligible"]:
        if d.get("max_amount"):
            lines.append(P.PC_LINE_AMOUNT.format(amount=format_yuan(int(d["max_amount"]) * 100)))
        if d.get("max_term_months"):
            lines.append(P.PC_LINE_TERM.format(months=d["max_term_months"]))
    lines.append(P.PC_LINE_BASIS)
    for r in d.get("reasons", []):
        lines.append(P.PC_LINE_REASON.format(message=r["message"], article=r["article"]))
    if d["eligible"]:
        if d.get("subsidy"):
            lines.append(P.PC_LINE_SUBSIDY.format(subsidy=d["subsidy"]))
        docs = d.get("documents") or []
        if docs:
            lines.append(P.PC_LINE_DOCS.format(count=len(docs)))
            lines.extend(f"{i}. {doc}" for i, doc in enumerate(docs, start=1))
        if d.get("expected_by"):
            exp = date.fromisoformat(d["expected_by"])
            lines.append(
                P.PC_EXPECTED.format(
                    days=d.get("expected_workdays") or "",
                    date=format_date_cn(exp),
                    estimate=P.ESTIMATE_NOTE if d.get("expected_is_estimate") else "",
                )
            )
    if d.get("next_steps"):
        lines.append(P.PC_LINE_NEXT.format(next_steps=d["next_steps"]))
    lines.append(P.PC_RESULT_FOOT)
    return "\n".join(lines)


def _articles(d: dict[str, Any], code_prefixes: tuple[str, ...]) -> str:
    arts: list[str] = []
    for r in d.get("reasons", []):
        if str(r.get("code", "")).startswith(code_prefixes):
            short = str(r.get("article", "")).split()[-1] if r.get("article") else ""
            if short and short not in arts:
                arts.append(short)
    return "、".join(arts[:2])


def sms(d: dict[str, Any]) -> str:
    """The decision in about two SMS segments, still citing the articles it rests on."""
    if d["eligible"]:
        parts = [P.PC_SMS_OK]
        if d.get("max_amount"):
            parts.append(P.PC_SMS_AMOUNT.format(amount=format_yuan_wan(int(d["max_amount"]))))
        if d.get("max_term_months"):
            parts.append(P.PC_SMS_TERM.format(months=d["max_term_months"]))
        cited = _articles(d, ("category_ok", "certificate_ok", "enterprise_cap", "partnership"))
        parts.append(P.PC_SMS_CITED.format(articles=cited) if cited else "。")
        if d.get("expected_by"):
            exp = date.fromisoformat(d["expected_by"])
            parts.append(
                P.PC_EXPECTED_SMS.format(
                    days=d.get("expected_workdays") or "",
                    month=exp.month,
                    day=exp.day,
                    estimate=P.ESTIMATE_NOTE_SMS if d.get("expected_is_estimate") else "",
                )
            )
        return "".join(parts)
    first = next((r for r in d.get("reasons", []) if r.get("code") != "category_ok"), None)
    if first is None:
        return P.PC_SMS_NO
    cited = str(first.get("article", "")).split()[-1] if first.get("article") else ""
    why = str(first["message"])[:90]
    return P.PC_SMS_NO_WHY.format(why=why, article=cited) if cited else P.PC_SMS_NO + why
