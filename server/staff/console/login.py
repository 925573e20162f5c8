"""/console login and logout (sessions, login CSRF cookie, throttling in server.auth)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from server.auth import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    ConsoleForbidden,
    LoginError,
    StaffPrincipal,
    auth_of,
    console_action,
)
from server.staff.console.views import ViewsDep

router = APIRouter(prefix="/console", include_in_schema=False)


@router.get("")
def root(request: Request) -> Response:
    return RedirectResponse("/console/dashboard", status_code=303)


@router.get("/login")
def login_page(request: Request, views: ViewsDep, next: str = "/console/dashboard") -> Response:
    return _login_form(request, views, {"next": next})


def _login_form(
    request: Request, views: ViewsDep, context: dict[str, str], status: int = 200
) -> Response:
    """The login page with a fresh login CSRF token (its cookie set on the response)."""
    auth = auth_of(request)
    token, cookie = auth.new_login_csrf()
    response = views.render(request, "login.html", {"login_csrf": token, **context}, status=status)
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        cookie,
        max_age=3600,
        path="/console",
        httponly=True,
        samesite="strict",
        secure=auth.secure,
    )
    return response


@router.post("/login")
def login_submit(
    request: Request,
    views: ViewsDep,
    username: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/console/dashboard",
) -> Response:
    auth = auth_of(request)
    if not auth.check_login_csrf(csrf_token, request.cookies.get(LOGIN_CSRF_COOKIE)):
        raise ConsoleForbidden("登录页面已过期（CSRF 校验失败），请刷新页面后重新登录。")
    ip = request.client.host if request.client else None
    try:
        principal, cookie = auth.login(username, password, ip, request.headers.get("user-agent"))
    except LoginError as exc:
        context = {"next": next, "error": str(exc), "username": username}
        return _login_form(request, views, context, status=401)
    target = next if next.startswith("/console") and not next.startswith("//") else "/console"
    if target.startswith("/console/login"):
        target = "/console/dashboard"
    done = views.redirect(target, f"欢迎，{principal.display_name}")
    auth.set_session_cookie(done, cookie)
    done.delete_cookie(LOGIN_CSRF_COOKIE, path="/console")
    return done


@router.post("/logout")
def logout(
    request: Request,
    views: ViewsDep,
    user: Annotated[StaffPrincipal, Depends(console_action("viewer"))],
) -> Response:
    auth = auth_of(request)
    auth.logout(request.cookies.get(SESSION_COOKIE))
    response = views.redirect("/console/login", "已退出登录")
    auth.clear_session_cookie(response)
    return response
