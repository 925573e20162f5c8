"""/console/knowledge: the unanswered queue → paraphrase or new entry, ignore, reload."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from core.staff import knowledge
from core.staff.errors import StaffCommandError
from server.params import PageOffset
from server.staff.console.views import PAGE_SIZE, ViewsDep, page_args, qs
from server.staff.deps import ConsoleUser, ContainerDep, FaqFolderDep, Officer, SessionDep

router = APIRouter(prefix="/console", include_in_schema=False)
PAGE = "/console/knowledge"
Text = Annotated[str, Form()]


@router.get("/knowledge")
def knowledge_page(
    request: Request,
    s: SessionDep,
    views: ViewsDep,
    container: ContainerDep,
    user: ConsoleUser,
    status: str = "new",
    offset: PageOffset = 0,
) -> Response:
    if status not in ("new", "resolved", "ignored"):
        status = "new"
    page = knowledge.unanswered(s, status=status, limit=PAGE_SIZE, offset=page_args(offset))
    entries = sorted(
        ((e.id, e.question, e.file) for e in container.kb.entries), key=lambda x: (x[2], x[0])
    )
    context = {
        "page": page,
        "entries": entries,
        "entry_questions": {e[0]: e[1] for e in entries},
        "status": status,
        "qs": qs(status=status),
    }
    return views.render(request, "knowledge.html", context, user=user)


@router.post("/knowledge/paraphrase")
def paraphrase(
    s: SessionDep,
    views: ViewsDep,
    faq: FaqFolderDep,
    user: Officer,
    normalized: Text = "",
    entry_id: Text = "",
    text: Text = "",
) -> Response:
    try:
        written = knowledge.add_paraphrase(
            s, user.username, faq, entry_id=entry_id, text=text, normalized=normalized
        )
    except StaffCommandError as exc:
        return views.refused(s, PAGE, exc)
    note = f"已作为相似问加入条目 {written}；点击“重新加载知识库”后生效"
    return views.redirect(PAGE, note)


@router.post("/knowledge/entry")
def new_entry(
    s: SessionDep,
    views: ViewsDep,
    faq: FaqFolderDep,
    user: Officer,
    normalized: Text = "",
    question: Text = "",
    paraphrases: Text = "",
    answer: Text = "",
    short: Text = "",
    source: Text = "",
    tags: Text = "",
    handoff: Annotated[bool, Form()] = False,
) -> Response:
    entry = knowledge.NewEntry(
        question=question, answer=answer, short=short, source=source,
        paraphrases=[p for p in paraphrases.splitlines() if p.strip()],
        tags=[t for t in tags.replace("，", ",").split(",") if t.strip()],
        handoff=handoff,
    )  # fmt: skip
    try:
        written = knowledge.add_entry(s, user.username, faq, entry, normalized=normalized)
    except StaffCommandError as exc:
        return views.refused(s, PAGE, exc)
    return views.redirect(PAGE, f"已新建条目 {written}；点击“重新加载知识库”后生效")


@router.post("/knowledge/ignore")
def ignore(s: SessionDep, views: ViewsDep, user: Officer, normalized: Text = "") -> Response:
    n = knowledge.ignore(s, user.username, normalized)
    return views.redirect(PAGE, f"已忽略 {n} 条提问")


@router.post("/knowledge/reload")
def reload(s: SessionDep, views: ViewsDep, container: ContainerDep, user: Officer) -> Response:
    try:
        changed, count = knowledge.reload(s, user.username, container.kb)
    except StaffCommandError as exc:
        return views.refused(s, PAGE, exc)
    text = f"知识库已重新加载（{count} 条）" if changed else f"知识库没有变化（{count} 条）"
    return views.redirect(PAGE, text)
