"""The staff console's one search box (`q=`) over loans, applications, hand-off tickets and notices.

A query is read once (`parse`): a mainland mobile in any common format becomes its E.164 number, a
short run of digits is the end of a phone or ID number, an ID number (whole or its last 4–6
characters, x or X) is matched upper-cased; any query also matches names and loan numbers
(contains). People are found first (borrowers, counter-guarantors, applicants) and each list joins
them its own way. Looking someone up by phone or ID number is audited (who, which list, the query
masked, whom it found). Works on SQLite and PostgreSQL (LIKE with escaped wildcards)."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from core.kernel.errors import Invalid
from core.kernel.identity import id_fragment, mask_id_number, mask_phone, mobile_or_none
from core.kernel.identity import search_digits as _digits
from core.persistence.audit import audit
from core.persistence.models import (
    ApplicationRow,
    ChannelIdentityRow,
    CounterGuarantorRow,
    HandoffTicketRow,
    LoanRow,
    NoticeRow,
    PersonRow,
)
from core.persistence.sql import table as _t

MAX_QUERY = 50
_PEOPLE_AUDITED = 20


@dataclass(frozen=True)
class Search:
    text: str
    phone: str | None = None  # E.164: the query is a whole mobile number
    digits: str | None = None  # the query is only digits (separators dropped)
    id_part: str | None = None  # the query can be (the end of) an ID number

    @property
    def sensitive(self) -> bool:
        """Whether this looks someone up by phone or ID number (audited)."""
        return bool(self.phone or self.id_part or (self.digits and len(self.digits) >= 4))

    def masked(self) -> str:
        if self.phone:
            return mask_phone(self.phone)
        if self.id_part and len(self.id_part) > 8:
            return mask_id_number(self.id_part)
        if self.sensitive:
            return "*" * max(len(self.text) - 4, 0) + self.text[-4:]
        return self.text


def parse(q: str | None) -> Search | None:
    """The query of a search box; None when empty. Invalid (Chinese) for a query too long or with
    control characters."""
    if q is None or not q.strip():
        return None
    text = q.strip()
    if len(text) > MAX_QUERY:
        raise Invalid(f"搜索内容过长：最多{MAX_QUERY}个字符")
    if any(unicodedata.category(c) in ("Cc", "Cf", "Cs", "Co") for c in text):
        raise Invalid("搜索内容含有控制字符，请重新输入")
    digits = _digits(text)
    return Search(text, mobile_or_none(text), digits, id_fragment(text))


# --- who the query names ---------------------------------------------------------------------------


def person_clause(s: Search) -> Any:
    p = _t(PersonRow)
    conds: list[Any] = [p.c.name.icontains(s.text, autoescape=True)]
    if s.phone:
        conds.append(p.c.phone == s.phone)
    elif s.digits and 4 <= len(s.digits) <= 6:
        conds.append(p.c.phone.endswith(s.digits, autoescape=True))
    elif s.digits and 7 <= len(s.digits) <= 10:
        conds.append(p.c.phone.contains(s.digits, autoescape=True))
    if s.id_part:
        if len(s.id_part) == 18:
            conds.append(p.c.id_number == s.id_part)
        elif len(s.id_part) <= 6:
            conds.append(p.c.id_number.endswith(s.id_part, autoescape=True))
    return sa.or_(*conds)


def person_ids(s: Search) -> Any:
    p = _t(PersonRow)
    return sa.select(p.c.id).where(person_clause(s))


def _loans_of_people(s: Search) -> Any:
    """Loans whose borrower or counter-guarantor the query names, or whose number contains it."""
    ln, g = _t(LoanRow), _t(CounterGuarantorRow)
    people = person_ids(s)
    return sa.select(ln.c.id).where(
        sa.or_(
            ln.c.borrower_id.in_(people),
            ln.c.loan_no.icontains(s.text, autoescape=True),
            ln.c.id.in_(sa.select(g.c.loan_id).where(g.c.person_id.in_(people))),
        )
    )


def loan_clause(s: Search) -> Any:
    return _t(LoanRow).c.id.in_(_loans_of_people(s))


def application_clause(s: Search) -> Any:
    a = _t(ApplicationRow)
    return sa.or_(
        a.c.person_id.in_(person_ids(s)),
        a.c.company_name.icontains(s.text, autoescape=True),
    )


def _identities(s: Search) -> Any:
    c = _t(ChannelIdentityRow)
    conds: list[Any] = [c.c.person_id.in_(person_ids(s))]
    if s.phone:
        conds.append(c.c.address == s.phone)
    return sa.select(c.c.id).where(sa.or_(*conds))


def ticket_clause(s: Search) -> Any:
    t = _t(HandoffTicketRow)
    conds: list[Any] = [
        t.c.identity_id.in_(_identities(s)),
        t.c.question.icontains(s.text, autoescape=True),
    ]
    if s.phone:
        conds.append(t.c.address == s.phone)
    return sa.or_(*conds)


def notice_clause(s: Search) -> Any:
    n = _t(NoticeRow)
    conds: list[Any] = [n.c.person_id.in_(person_ids(s)), n.c.loan_id.in_(_loans_of_people(s))]
    if s.phone:
        conds.append(n.c.address == s.phone)
    return sa.or_(*conds)


def audit_lookup(session: Session, actor: str | None, where: str, s: Search | None) -> None:
    """Record who looked up whom by phone or ID number (the query masked); other searches are not
    personal lookups and leave no row."""
    if s is None or not s.sensitive or actor is None:
        return
    found = [
        int(i) for (i,) in session.execute(person_ids(s).order_by("id").limit(_PEOPLE_AUDITED))
    ]
    audit(
        session,
        actor,
        "search.person",
        "person",
        found[0] if len(found) == 1 else None,
        after={"list": where, "q": s.masked(), "people": found},
    )
