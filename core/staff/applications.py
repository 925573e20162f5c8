"""Staff commands on applications: the list, one application, a stored document (each view
audited), document review and stage moves (core.applications.review tells the applicant; audited there)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlmodel import Session

from core.applications.review import ReviewResult, StageResult, advance, review_document
from core.kernel.errors import NotFound
from core.kernel.filestore import FileStore
from core.persistence.audit import audit
from core.staff import queries as bo
from core.staff import search as find


@dataclass(frozen=True)
class StoredFile:
    data: bytes
    content_type: str | None
    filename: str | None


def applications(
    session: Session, *, actor: str | None = None, q: str | None = None, **filters: Any
) -> bo.Page:
    """Applications (filters as core.staff.queries.list_applications); `q` is the search box (a
    lookup by phone or ID number is audited)."""
    search = find.parse(q)
    page = bo.list_applications(session, search=search, **filters)
    find.audit_lookup(session, actor, "applications", search)
    return page


application = bo.application_detail


def document_file(
    session: Session, actor: str, files: FileStore, app_id: int, item_id: int
) -> StoredFile:
    """The stored file of a document, for an authorised staff member (the view is audited)."""
    item = bo.document(session, app_id, item_id)
    audit(session, actor, "document.view", "document_item", item.id)
    assert item.storage_key is not None
    try:
        data = files.get(item.storage_key)
    except (OSError, ValueError) as exc:
        raise NotFound("文件已丢失，请联系管理员") from exc
    return StoredFile(data, item.content_type, item.filename)


def review(
    session: Session, actor: str, app_id: int, item_id: int, *, accept: bool, reason: str | None
) -> ReviewResult:
    """Accept or reject (with a reason) a document; the applicant is told on their channel."""
    return review_document(session, app_id, item_id, accept=accept, reason=reason, actor=actor)


def move(
    session: Session, actor: str, app_id: int, *, to_stage: str | None, note: str | None
) -> StageResult:
    """The next stage (or rejected/withdrawn); the applicant is told."""
    return advance(session, app_id, actor=actor, to_stage=to_stage, note=note)
