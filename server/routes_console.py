"""The staff web console under /console: server-rendered Jinja2 pages in Simplified Chinese.

Pages: login/logout, dashboard, applications (filters, detail with the pre-check, documents
viewed through an authorised route, accept/reject, next stage), loans (schedule, payments,
notices) with spreadsheet import, notices, the hand-off inbox, knowledge (unanswered questions →
paraphrase or new entry, reload), broadcasts (compose → preview → send/schedule → second-person
confirmation → progress → cancel), staff accounts and the audit log (admins).

Every POST goes through `server.auth.console_action` (session + CSRF token + role) and then
Post/Redirect/Get with a one-time flash message. Responses carry a strict Content-Security-Policy
with a per-response nonce for the little inline JavaScript there is (progress polling).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, File, Form, Request, UploadFile
from fastapi.responses import RedirectResponse, Response

from core import backoffice as bo
from core.db import session_scope
from core.loan_status import STATUS_LABELS
from server import staff_services as svc
from server.auth import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    ConsoleForbidden,
    ConsoleUser,
    LoginError,
    StaffPrincipal,
    auth_of,
    console_action,
)
from server.bootstrap import Container
from server.params import DbId, PageOffset
from server.staff.console.views import (
    PAGE_SIZE,
    Views,
)
from server.staff.console.views import page_args as _page_args
from server.staff.console.views import qs as _qs
from server.staff.deps import Officer

DOMAIN_ERRORS = svc.DOMAIN_ERRORS


# --- mounting -------------------------------------------------------------------------------------


def mount(app: FastAPI, container: Container) -> None:
    """Add the console pages, its static files and its error pages to the app."""
    views: Views = app.state.console_views
    engine = container.engine
    router = APIRouter(prefix="/console", include_in_schema=False)
    # --- login -------------------------------------------------------------------------------

    @router.get("")
    def root(request: Request) -> Response:
        return RedirectResponse("/console/dashboard", status_code=303)

    @router.get("/login")
    def login_page(request: Request, next: str = "/console/dashboard") -> Response:
        auth = auth_of(request)
        token, cookie = auth.new_login_csrf()
        response = views.render(request, "login.html", {"login_csrf": token, "next": next})
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
            principal, cookie = auth.login(
                username, password, ip, request.headers.get("user-agent")
            )
        except LoginError as exc:
            token, login_cookie = auth.new_login_csrf()
            response = views.render(
                request,
                "login.html",
                {"login_csrf": token, "next": next, "error": str(exc), "username": username},
                status=401,
            )
            response.set_cookie(
                LOGIN_CSRF_COOKIE,
                login_cookie,
                max_age=3600,
                path="/console",
                httponly=True,
                samesite="strict",
                secure=auth.secure,
            )
            return response
        target = next if next.startswith("/console") and not next.startswith("//") else "/console"
        if target.startswith("/console/login"):
            target = "/console/dashboard"
        done = views.redirect(target, f"欢迎，{principal.display_name}")
        auth.set_session_cookie(done, cookie)
        done.delete_cookie(LOGIN_CSRF_COOKIE, path="/console")
        return done

    @router.post("/logout")
    def logout(
        request: Request, user: Annotated[StaffPrincipal, Depends(console_action("viewer"))]
    ) -> Response:
        auth = auth_of(request)
        auth.logout(request.cookies.get(SESSION_COOKIE))
        response = views.redirect("/console/login", "已退出登录")
        auth.clear_session_cookie(response)
        return response

    # --- dashboard ---------------------------------------------------------------------------

    @router.get("/dashboard")
    def dashboard_page(request: Request, user: ConsoleUser) -> Response:
        board = svc.build_dashboard(container)
        return views.render(request, "dashboard.html", {"d": board}, user=user)

    # --- loans and imports -------------------------------------------------------------------

    @router.get("/loans")
    def loans(
        request: Request,
        user: ConsoleUser,
        status: str = "",
        district: str = "",
        q: str = "",
        overdue: bool = False,
        offset: PageOffset = 0,
    ) -> Response:
        with session_scope(engine) as s:
            page = bo.list_loans(
                s,
                status=status or None,
                district=district or None,
                q=q or None,
                overdue_only=overdue,
                limit=PAGE_SIZE,
                offset=_page_args(offset),
            )
            names = bo.districts(s)
        return views.render(
            request,
            "loans.html",
            {
                "page": page,
                "districts": names,
                "f": {"status": status, "district": district, "q": q, "overdue": overdue},
                "qs": _qs(status=status, district=district, q=q, overdue=overdue),
            },
            user=user,
        )

    @router.get("/loans/{loan_id}")
    def loan_page(request: Request, loan_id: DbId, user: ConsoleUser) -> Response:
        with session_scope(engine) as s:
            try:
                detail = bo.loan_detail(s, loan_id)
            except bo.BackofficeError as exc:
                return views.render(
                    request, "error.html", {"message": str(exc)}, user=user, status=404
                )
        return views.render(
            request, "loan.html", {"l": detail, "status_labels": STATUS_LABELS}, user=user
        )

    @router.get("/imports")
    def imports_page(request: Request, user: ConsoleUser) -> Response:
        return views.render(request, "imports.html", {"report": None}, user=user)

    @router.post("/imports")
    async def imports_submit(
        request: Request,
        user: Officer,
        kind: Annotated[str, Form()] = "loans",
        file: Annotated[UploadFile | None, File()] = None,
        installments: Annotated[UploadFile | None, File()] = None,
        skip_bad_rows: Annotated[bool, Form()] = False,
    ) -> Response:
        if kind not in ("loans", "payments"):
            kind = "loans"
        error: str | None = None
        report = None
        if file is None or not file.filename:
            error = "请选择要导入的文件"
        else:
            limit = container.settings.max_import_mb * 1024 * 1024
            try:
                main = await svc.read_upload(file, "upload.csv", limit)
                inst = None
                if kind == "loans" and installments is not None and installments.filename:
                    inst = await svc.read_upload(installments, "installments.csv", limit)
                report = await svc.run_import_off_thread(
                    container,
                    kind,
                    main,
                    installments=inst,
                    skip_bad_rows=skip_bad_rows,
                    actor=user.username,
                )
            except svc.UploadRefused as exc:
                error = str(exc)
        status = 200 if report is not None and report.imported else 422
        return views.render(
            request,
            "imports.html",
            {"report": report, "error": error, "kind": kind, "max_errors": 500},
            user=user,
            status=status,
        )

    app.include_router(router)
