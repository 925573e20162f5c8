"""/api/staff/knowledge: unanswered questions → paraphrase or new entry, ignore, reload."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter

from core.staff import knowledge
from server.staff.bodies import EntryIn, NormalizedIn, ParaphraseIn
from server.staff.deps import (
    ApiOfficer,
    ApiViewer,
    ContainerDep,
    FaqFolderDep,
    Limit,
    Offset,
    SessionDep,
)
from server.staff.schemas import EntryWritten, FaqEntry, Ignored, Reloaded, UnansweredPage
from server.staff.shapes import iso, page_json

router = APIRouter(prefix="/api/staff", tags=["staff"])


@router.get("/knowledge/unanswered", response_model=UnansweredPage)
def unanswered(
    s: SessionDep,
    user: ApiViewer,
    status: Literal["new", "resolved", "ignored"] = "new",
    limit: Limit = 100,
    offset: Offset = 0,
) -> dict[str, Any]:
    """Questions the bot could not answer, grouped by normalized text, most frequent first."""
    page = knowledge.unanswered(s, status=status, limit=limit, offset=offset)
    items = [
        {
            "normalized": g.normalized,
            "count": g.count,
            "sample": g.sample,
            "last_at": iso(g.last_at),
            "best_entry_id": g.best_entry_id,
            "channels": g.channels,
        }
        for g in page.items
    ]
    return page_json(page, items)


@router.get("/knowledge/entries", response_model=list[FaqEntry])
def entries(container: ContainerDep, user: ApiViewer) -> list[dict[str, Any]]:
    """FAQ entries in service (id, question, file, kind)."""
    return [
        {"id": e.id, "question": e.question, "file": e.file, "kind": e.kind}
        for e in container.kb.entries
    ]


@router.post("/knowledge/paraphrase", response_model=EntryWritten)
def paraphrase(
    s: SessionDep, faq: FaqFolderDep, body: ParaphraseIn, user: ApiOfficer
) -> dict[str, str]:
    """Add a paraphrase to an entry (stored in the database, validated); reload to apply."""
    written = knowledge.add_paraphrase(
        s, user.username, faq, entry_id=body.entry_id, text=body.text,
        normalized=body.normalized or "",
    )  # fmt: skip
    return {"entry_id": written}


@router.post("/knowledge/entries", response_model=EntryWritten)
def new_entry(s: SessionDep, faq: FaqFolderDep, body: EntryIn, user: ApiOfficer) -> dict[str, str]:
    """Add a new FAQ entry (id generated, stored in the database, validated); reload to apply."""
    entry = knowledge.NewEntry(**body.model_dump(exclude={"normalized"}))
    written = knowledge.add_entry(s, user.username, faq, entry, normalized=body.normalized or "")
    return {"entry_id": written}


@router.post("/knowledge/unanswered/ignore", response_model=Ignored)
def ignore(s: SessionDep, body: NormalizedIn, user: ApiOfficer) -> dict[str, int]:
    """Mark a group of unanswered questions as ignored."""
    return {"ignored": knowledge.ignore(s, user.username, body.normalized)}


@router.post("/knowledge/reload", response_model=Reloaded)
def reload(s: SessionDep, container: ContainerDep, user: ApiOfficer) -> dict[str, Any]:
    """Reload the knowledge base without restart (a broken file keeps the old one: 422)."""
    changed, count = knowledge.reload(s, user.username, container.kb)
    return {"reloaded": changed, "entries": count}
