"""Intake fields of an application: which questions apply, reading the answers, the summary.

The answers live on the draft application and its person (name, verified mobile, ID number,
district, business, amount and term, partners or company); this module knows where each field is
stored and how it reads and shows.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from core.dialogue import prompts_intake as T
from core.dialogue.commands import squash
from core.kernel.identity import mask_id_number, mask_phone
from core.kernel.numbers import _to_arabic
from core.persistence.models import ApplicationRow, PersonRow
from knowledge.policy import Policy, format_yuan_wan

BASE_FIELDS = (
    "name",
    "phone",
    "id_number",
    "district",
    "business_type",
    "business_address",
    "planned_start",
    "amount",
    "term_months",
)


def fields_for(app: ApplicationRow) -> tuple[str, ...]:
    extra = {"partnership": ("members",), "enterprise": ("company_name",)}
    return BASE_FIELDS + extra.get(app.applicant_type, ())


def value_of(app: ApplicationRow, person: PersonRow | None, name: str) -> Any:
    """The stored answer of a field (None when not given yet)."""
    profile = app.profile or {}
    if name == "name":
        return profile.get("applicant_name")
    if name == "phone":
        return person.phone if person else None
    if name == "id_number":
        return person.id_number if person else None
    if name == "amount":
        return app.requested_amount_fen // 100 if app.requested_amount_fen else None
    if name == "term_months":
        return app.requested_term_months
    if name == "members":
        return profile.get("member_names") or None
    return getattr(app, name)


def missing(
    app: ApplicationRow, person: PersonRow | None, policy: Policy, skipped: list[str]
) -> list[str]:
    """Fields still to ask, in order (optional ones the applicant skipped are left out)."""
    out = []
    for name in fields_for(app):
        if value_of(app, person, name) in (None, "", []):
            if name in policy.intake_optional and name in skipped:
                continue
            out.append(name)
    return out


def required_missing(app: ApplicationRow, person: PersonRow | None, policy: Policy) -> list[str]:
    return [
        f
        for f in fields_for(app)
        if f not in policy.intake_optional and value_of(app, person, f) in (None, "", [])
    ]


def field_from_edit(text: str) -> tuple[bool, str | None]:
    """("修改 手机号") -> (True, "phone"); ("修改") -> (True, None); not an edit -> (False, None)."""
    t = squash(text)
    prefix = next((p for p in T.EDIT_PREFIXES if t.startswith(p)), None)
    if prefix is None:
        return False, None
    rest = t[len(prefix) :]
    for filler in ("一下", "我的", "下"):
        rest = rest.removeprefix(filler)
    if not rest:
        return True, None
    for name, words in T.FIELD_WORDS.items():
        if rest in words:
            return True, name
    return False, None  # "改行业可以吗" is a question, not a command


_MONTH = re.compile(r"(\d{4})\s*[年\-./]\s*(\d{1,2})")
_ONLY_MONTH = re.compile(r"(\d{1,2})\s*月")
_IN_MONTHS = re.compile(r"(\d{1,2})\s*个?月(以)?后")


def _add_months(d: date, n: int) -> tuple[int, int]:
    total = d.year * 12 + d.month - 1 + n
    return total // 12, total % 12 + 1


def parse_planned_start(text: str, today: date) -> str | None:
    """'已开业', or 'YYYY-MM' from "2027年3月", "三月", "下个月", "3个月后", "明年5月"."""
    t = squash(text)
    if any(w in t for w in ("已开业", "已经开业", "开业了", "已经开了", "正在营业", "已经营业")):
        return T.START_OPEN
    a = _to_arabic(t)
    if m := _MONTH.search(a):
        year, month = int(m.group(1)), int(m.group(2))
    elif m := _IN_MONTHS.search(a):
        year, month = _add_months(today, int(m.group(1)))
    elif "下下个月" in t:
        year, month = _add_months(today, 2)
    elif "下个月" in t or "下月" in t:
        year, month = _add_months(today, 1)
    elif any(w in t for w in ("这个月", "本月", "马上", "现在", "最近")):
        year, month = today.year, today.month
    elif m := _ONLY_MONTH.search(a):
        month = int(m.group(1))
        year = today.year + (1 if "明年" in t or month < today.month else 0)
    elif "年底" in t:
        year, month = today.year, 12
    else:
        return None
    if not 1 <= month <= 12 or not today.year - 30 <= year <= today.year + 5:
        return None
    return f"{year:04d}-{month:02d}"


def show_start(value: str) -> str:
    if value == T.START_OPEN:
        return value
    year, month = value.split("-")
    return T.START_MONTH.format(year=int(year), month=int(month))


def parse_members(text: str) -> list[str] | None:
    names = [n for n in re.split(r"[\s、,，;；和及与/]+", text.strip()) if n]
    if not names or any(not 2 <= len(n) <= 20 or any(c.isdigit() for c in n) for n in names):
        return None
    return names[:20]


def _shown(app: ApplicationRow, person: PersonRow | None, name: str) -> str:
    value = value_of(app, person, name)
    if value in (None, "", []):
        return T.NOT_GIVEN
    decision = app.precheck or {}
    if name == "phone":
        return mask_phone(str(value)) + T.VERIFIED
    if name == "id_number":
        return mask_id_number(str(value))
    if name == "planned_start":
        return show_start(str(value))
    if name == "amount":
        text = format_yuan_wan(int(value))
        cap = decision.get("max_amount")
        return text + (
            T.OVER_CAP_FLAG.format(cap=format_yuan_wan(int(cap or 0))) if over(value, cap) else ""
        )
    if name == "term_months":
        cap = decision.get("max_term_months")
        return T.MONTHS.format(months=value) + (
            T.OVER_CAP_FLAG.format(cap=T.MONTHS.format(months=cap)) if over(value, cap) else ""
        )
    if name == "members":
        return "、".join(value)
    return str(value)


def over(value: Any, cap: Any) -> bool:
    return isinstance(value, int) and isinstance(cap, int) and value > cap > 0


def summary(app: ApplicationRow, person: PersonRow | None) -> str:
    lines = [T.SUMMARY_HEAD.format(app_id=app.id)]
    for name in fields_for(app):
        lines.append(T.SUMMARY_LINE.format(label=T.LABELS[name], value=_shown(app, person, name)))
    profile = app.profile or {}
    if app.applicant_type == "partnership" and profile.get("members"):
        lines.append(T.MEMBERS_FACT.format(members=profile["members"]))
    if app.applicant_type == "enterprise" and profile.get("employees") is not None:
        facts = T.COMPANY_FACTS.format(
            employees=profile.get("employees"),
            new_hires=profile.get("new_hires"),
            contract=profile.get("contract_months"),
        )
        lines.append(T.SUMMARY_LINE.format(label=T.COMPANY_LABEL, value=facts))
    lines.append(T.SUMMARY_FOOT)
    return "\n".join(lines)
