"""Annotated dependencies of the staff routes (API and console): the container, a unit of work,
the acting staff member with a role check, the console's page renderer.

A route takes `s: SessionDep` and gets one transaction: committed when the route returns,
rolled back when it raises (a typed error then becomes its 4xx in server/staff/errors.py)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Literal

from fastapi import BackgroundTasks, Depends, Query, Request
from sqlmodel import Session

from core.persistence.db import session_scope
from core.staff.broadcasts import FanOutStarter
from core.staff.knowledge import FaqFolder
from server.auth import (
    ApiAdmin,
    ApiOfficer,
    ApiViewer,
    ConsoleUser,
    StaffPrincipal,
    console_action,
    console_page,
)
from server.bootstrap import Container
from server.params import PageOffset

__all__ = [
    "Admin",
    "AdminPage",
    "ApiAdmin",
    "ApiOfficer",
    "ApiViewer",
    "ConsoleUser",
    "ContainerDep",
    "FanOutDep",
    "FaqFolderDep",
    "Limit",
    "Officer",
    "Offset",
    "SearchQ",
    "SessionDep",
]


def container_of(request: Request) -> Container:
    """The app's container (set once by server.app.create_app)."""
    container: Container = request.app.state.container
    return container


ContainerDep = Annotated[Container, Depends(container_of)]


def unit_of_work(container: ContainerDep) -> Iterator[Session]:
    """One transaction per request, closed before the response is sent."""
    with session_scope(container.engine) as session:
        yield session


SessionDep = Annotated[Session, Depends(unit_of_work, scope="function")]

# Console POST routes: session + CSRF token + role; console pages of admins only.
Officer = Annotated[StaffPrincipal, Depends(console_action("officer"))]
Admin = Annotated[StaffPrincipal, Depends(console_action("admin"))]
AdminPage = Annotated[StaffPrincipal, Depends(console_page("admin"))]

Limit = Annotated[int, Query(ge=1, le=500)]
SEARCH_HELP = "姓名、手机号（任意格式或后4位）、身份证号（或后4–6位）、贷款编号、反担保人"
SearchQ = Annotated[str | None, Query(description=SEARCH_HELP)]
OverdueDays = Annotated[
    Literal["1-30", "31-90", "90+"] | None,
    Query(description="逾期天数：1-30、31-90 或 90+（与概览的逾期分段相同）"),
]
Offset = PageOffset


def fan_out_starter(container: ContainerDep, background: BackgroundTasks) -> FanOutStarter:
    """How a broadcast's fan-out runs from a web door: after the response (the periodic worker
    in server/workers.py resumes it if this process dies first)."""
    from server import workers

    def start(broadcast_id: int) -> None:
        background.add_task(workers.run_fan_out, container, broadcast_id)

    return start


FanOutDep = Annotated[FanOutStarter, Depends(fan_out_starter)]


def faq_folder(container: ContainerDep) -> FaqFolder:
    """Where staff FAQ additions go (the deployment's knowledge folder) and their placeholders."""
    return FaqFolder(container.knowledge_path, container.policy.placeholders())


FaqFolderDep = Annotated[FaqFolder, Depends(faq_folder)]
