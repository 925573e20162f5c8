"""/console/staff and /console/audit: staff accounts and the audit log (admins)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from core.staff import ROLES, users
from core.staff.accounts import DEFAULT_ROLE
from core.staff.errors import NotFound, StaffCommandError
from server.params import DbId, PageOffset
from server.staff.console.views import ViewsDep, page_args, qs
from server.staff.deps import Admin, AdminPage, ContainerDep, SessionDep

router = APIRouter(prefix="/console", include_in_schema=False)
PAGE = "/console/staff"
Text = Annotated[str, Form()]


@router.get("/staff")
def staff_page(request: Request, s: SessionDep, views: ViewsDep, user: AdminPage) -> Response:
    context = {"users": users.users(s), "roles": ROLES, "new_token": None}
    return views.render(request, "staff.html", context, user=user)


@router.post("/staff")
def create(
    s: SessionDep,
    views: ViewsDep,
    user: Admin,
    container: ContainerDep,
    username: Text = "",
    display_name: Text = "",
    role: Text = DEFAULT_ROLE,
    password: Text = "",
) -> Response:
    try:
        users.create(
            s, user.username, username=username, password=password, role=role,
            display_name=display_name or None, hasher=container.hasher,
        )  # fmt: skip
    except StaffCommandError as exc:
        return views.refused(s, PAGE, exc)
    return views.redirect(PAGE, f"已创建用户 {username.strip()}")


@router.post("/staff/{user_id}")
def update(
    s: SessionDep,
    views: ViewsDep,
    user_id: DbId,
    user: Admin,
    container: ContainerDep,
    role: Text = "",
    active: Text = "",
    password: Text = "",
) -> Response:
    change = users.Change(
        role=role or None, active=None if active == "" else active == "1", password=password
    )
    try:
        users.update(s, user.username, user_id, change, hasher=container.hasher)
    except StaffCommandError as exc:
        return views.refused(s, PAGE, exc)
    return views.redirect(PAGE, "已保存")


@router.post("/staff/{user_id}/token")
def new_token(
    request: Request, s: SessionDep, views: ViewsDep, user_id: DbId, user: Admin
) -> Response:
    try:
        target, token = users.new_token(s, user.username, user_id)
    except NotFound:
        return views.redirect(PAGE, "用户不存在", "error")
    context = {"users": users.users(s), "roles": ROLES, "new_token": (target.username, token)}
    return views.render(request, "staff.html", context, user=user)


@router.get("/audit")
def audit_page(
    request: Request,
    s: SessionDep,
    views: ViewsDep,
    user: AdminPage,
    actor: str = "",
    action: str = "",
    offset: PageOffset = 0,
) -> Response:
    page = users.audit_log(
        s, actor=actor or None, action=action or None, limit=100, offset=page_args(offset)
    )
    context = {
        "page": page,
        "f": {"actor": actor, "action": action},
        "qs": qs(actor=actor, action=action),
    }
    return views.render(request, "audit.html", context, user=user)
