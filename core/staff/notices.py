"""Staff commands on the outbox: list notices, requeue failed ones (audited once, one payload)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlmodel import Session

from core.outbox.dispatch import requeue_notices
from core.persistence.audit import audit
from core.staff import queries as bo
from core.staff import search as find


@dataclass(frozen=True)
class NoticeList:
    page: bo.Page
    counts: dict[str, dict[str, int]]  # kind → status → count

    def totals(self) -> dict[str, int]:
        """status → count over every kind."""
        out: dict[str, int] = {}
        for per in self.counts.values():
            for status, n in per.items():
                out[status] = out.get(status, 0) + n
        return out


def list_notices(
    session: Session, *, actor: str | None = None, q: str | None = None, **filters: Any
) -> NoticeList:
    """Outbox notices, newest first (filters as core.staff.queries.list_notices), with counts per
    kind and status; `q` is the search box (a lookup by phone or ID number is audited)."""
    search = find.parse(q)
    page = bo.list_notices(session, search=search, **filters)
    find.audit_lookup(session, actor, "notices", search)
    return NoticeList(page, bo.notice_counts_by_kind(session))


def requeue(session: Session, actor: str, ids: list[int]) -> int:
    """Give failed notices another round of attempts; returns how many were requeued."""
    n = requeue_notices(session, ids)
    object_id = ids[0] if len(ids) == 1 else None
    audit(
        session, actor, "notice.requeue", "notice", object_id,
        after={"ids": ids[:100], "requeued": n},
    )  # fmt: skip
    return n
