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

import json
import secrets
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, BackgroundTasks, Depends, FastAPI, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from itsdangerous import BadSignature, URLSafeTimedSerializer
from jinja2 import Environment, FileSystemLoader, select_autoescape
from pydantic import BaseModel
from starlette.responses import Response as StarletteResponse

from core import backoffice as bo
from core import broadcast as bc
from core.applications import STAGE_LABELS, cap_check
from core.audit import audit
from core.db import session_scope
from core.dispatch import requeue_notices
from core.handoff import close_ticket, staff_reply
from core.identity import is_mobile, mask_id_number, mask_phone
from core.loan_status import STATUS_LABELS
from core.models import BroadcastRow, StaffUserRow, Stage
from core.money import format_yuan
from core.review import advance, review_document
from core.staff import ROLE_LABELS, ROLES, StaffError, create_staff, issue_api_token
from core.timeutil import SHANGHAI, to_local
from server import staff_services as svc
from server.auth import (
    CSRF_FIELD,
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    ConsoleForbidden,
    ConsoleUser,
    LoginError,
    LoginRequired,
    StaffPrincipal,
    auth_of,
    console_action,
    console_page,
    install,
)
from server.bootstrap import Container
from server.params import DbId, PageOffset

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"
FLASH_COOKIE = "cd_flash"
STAGE_SHORT = {
    "draft": "草稿",
    "submitted": "已提交",
    "community_review": "社区推荐",
    "street_review": "街道复核",
    "guarantee_review": "担保审核",
    "bank_review": "银行核贷",
    "approved": "已批准",
    "disbursed": "已放款",
    "rejected": "未通过",
    "withdrawn": "已撤回",
}
PAGE_SIZE = 50

Officer = Annotated[StaffPrincipal, Depends(console_action("officer"))]
Admin = Annotated[StaffPrincipal, Depends(console_action("admin"))]
AdminPage = Annotated[StaffPrincipal, Depends(console_page("admin"))]
DOMAIN_ERRORS = svc.DOMAIN_ERRORS


# --- rendering ------------------------------------------------------------------------------------


def _landline(phone: str | None) -> str:
    """A note after a fixed-line number: it is kept for staff to call, never sent SMS."""
    return "（固定电话，不发短信）" if phone and not is_mobile(phone) else ""


def _dt(value: datetime | None) -> str:
    return "" if value is None else to_local(value).strftime("%Y-%m-%d %H:%M")


def _yuan(fen: int | None) -> str:
    return "" if fen is None else format_yuan(int(fen))


def _pretty_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2, sort_keys=False, default=str)


def make_env() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=select_autoescape(["html"], default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        dt=_dt,
        yuan=_yuan,
        mask_phone=mask_phone,
        mask_id=mask_id_number,
        pretty_json=_pretty_json,
        landline=_landline,
    )
    env.globals.update(
        STAGE_LABELS=STAGE_LABELS,
        STAGE_SHORT=STAGE_SHORT,
        APPLICANT_TYPES={"individual": "个人", "partnership": "合伙", "enterprise": "小微企业"},
        ROLE_LABELS=ROLE_LABELS,
        NOTICE_STATUS_LABELS=bo.NOTICE_STATUS_LABELS,
        NOTICE_KIND_LABELS=bo.NOTICE_KIND_LABELS,
        DOCUMENT_STATUS_LABELS=bo.DOCUMENT_STATUS_LABELS,
        BROADCAST_STATUS=bc.STATUS_LABELS,
        CHANNEL_LABELS={**bc.CHANNEL_LABELS, "none": "无", "terminal": "终端"},
        GROUPS=bc.GROUPS,
        CSRF_FIELD=CSRF_FIELD,
    )
    return env


class Views:
    def __init__(self, container: Container) -> None:
        self.container = container
        self.env = make_env()
        self.flash = URLSafeTimedSerializer(container.settings.secret_key, salt="console.flash")
        self.secure = container.settings.public_base_url.startswith("https://")  # as the session

    def render(
        self,
        request: Request,
        name: str,
        context: dict[str, Any] | None = None,
        *,
        user: StaffPrincipal | None = None,
        status: int = 200,
    ) -> HTMLResponse:
        nonce = secrets.token_urlsafe(16)
        flash = self._read_flash(request)
        ctx = {
            "request": request,
            "user": user,
            "csrf": user.csrf_token if user else "",
            "nonce": nonce,
            "flash": flash,
            "path": request.url.path,
            **(context or {}),
        }
        html = self.env.get_template(name).render(ctx)
        response = HTMLResponse(html, status_code=status)
        response.headers["Content-Security-Policy"] = (
            "default-src 'self'; img-src 'self' data:; style-src 'self'; "
            f"script-src 'nonce-{nonce}'; frame-src 'self'; object-src 'none'; "
            "frame-ancestors 'self'; base-uri 'none'; form-action 'self'"
        )
        response.headers["X-Frame-Options"] = "SAMEORIGIN"
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "same-origin"
        response.headers["Cache-Control"] = "no-store"
        if flash is not None:
            response.delete_cookie(FLASH_COOKIE, path="/console")
        return response

    def _read_flash(self, request: Request) -> dict[str, str] | None:
        raw = request.cookies.get(FLASH_COOKIE)
        if not raw:
            return None
        try:
            data = self.flash.loads(raw, max_age=120)
        except BadSignature:
            return None
        return data if isinstance(data, dict) else None

    def redirect(self, url: str, message: str | None = None, kind: str = "ok") -> RedirectResponse:
        response = RedirectResponse(url, status_code=303)
        if message:
            response.set_cookie(
                FLASH_COOKIE,
                self.flash.dumps({"kind": kind, "text": message}),
                max_age=120,
                path="/console",
                httponly=True,
                samesite="lax",
                secure=self.secure,
            )
        return response


def _page_args(offset: int) -> int:
    return max(offset, 0)


def _qs(**params: Any) -> str:
    clean = {k: v for k, v in params.items() if v not in (None, "", False)}
    return ("?" + urlencode(clean)) if clean else ""


def _parse_local(value: str) -> datetime | None:
    """A datetime-local field (Asia/Shanghai) as aware UTC; empty → None."""
    value = value.strip()
    if not value:
        return None
    try:
        local = datetime.fromisoformat(value)
    except ValueError as exc:
        raise bc.BroadcastError("定时时间格式不正确") from exc
    if local.tzinfo is None:
        local = local.replace(tzinfo=SHANGHAI)
    return local


class BroadcastForm(BaseModel):
    """The broadcast composer's fields (create and edit post the same form)."""

    title: str = ""
    body: str = ""
    sms_body: str = ""
    group: str = "all"
    stages: list[str] = []
    districts: str = ""
    channels: list[str] = []
    min_overdue_days: str = "1"

    def audience(self) -> Any:
        return _audience_from_form(
            self.group, self.stages, self.districts, self.channels, self.min_overdue_days
        )


def _audience_from_form(
    group: str, stages: list[str], districts: str, channels: list[str], min_overdue_days: str
) -> bc.Audience:
    names = [d for d in districts.replace("，", ",").replace("、", ",").split(",") if d.strip()]
    return bc.Audience.from_json(
        {
            "group": group,
            "stages": stages,
            "districts": names,
            "channels": channels,
            "min_overdue_days": min_overdue_days or 1,
        }
    )


# --- mounting -------------------------------------------------------------------------------------


def mount(app: FastAPI, container: Container) -> None:
    """Add the console pages, its static files and its error pages to the app."""
    install(app, container)
    views = Views(container)
    engine = container.engine
    app.mount("/console/static", StaticFiles(directory=str(STATIC)), name="console-static")

    async def login_required(request: Request, exc: Exception) -> StarletteResponse:
        assert isinstance(exc, LoginRequired)
        return RedirectResponse("/console/login" + _qs(next=exc.next_path), status_code=303)

    async def forbidden(request: Request, exc: Exception) -> StarletteResponse:
        assert isinstance(exc, ConsoleForbidden)
        user = getattr(request.state, "staff", None)
        return views.render(
            request,
            "error.html",
            {"message": exc.message, "title": "无法操作"},
            user=user,
            status=403,
        )

    async def domain_error(request: Request, exc: Exception) -> StarletteResponse:
        """A Chinese domain error nobody caught: a page on the console, JSON elsewhere."""
        status = 404 if "不存在" in str(exc) else 409
        if not request.url.path.startswith("/console"):
            return JSONResponse({"detail": str(exc)}, status_code=status)
        user = getattr(request.state, "staff", None)
        return views.render(request, "error.html", {"message": str(exc)}, user=user, status=status)

    app.add_exception_handler(LoginRequired, login_required)
    app.add_exception_handler(ConsoleForbidden, forbidden)
    for error in DOMAIN_ERRORS:
        app.add_exception_handler(error, domain_error)
    router = APIRouter(prefix="/console", include_in_schema=False)

    def back(request: Request, fallback: str) -> str:
        ref = request.headers.get("referer") or ""
        base = str(request.base_url).rstrip("/")
        if ref.startswith(base + "/console"):
            return ref[len(base) :]
        return fallback

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

    # --- applications ------------------------------------------------------------------------

    @router.get("/applications")
    def applications(
        request: Request,
        user: ConsoleUser,
        stage: str = "",
        district: str = "",
        applicant_type: str = "",
        offset: PageOffset = 0,
    ) -> Response:
        with session_scope(engine) as s:
            page = bo.list_applications(
                s,
                stage=stage or None,
                district=district or None,
                applicant_type=applicant_type or None,
                limit=PAGE_SIZE,
                offset=_page_args(offset),
            )
            names = bo.districts(s)
        return views.render(
            request,
            "applications.html",
            {
                "page": page,
                "stages": [x.value for x in Stage],
                "districts": names,
                "f": {"stage": stage, "district": district, "applicant_type": applicant_type},
                "qs": _qs(stage=stage, district=district, applicant_type=applicant_type),
            },
            user=user,
        )

    @router.get("/applications/{app_id}")
    def application_page(request: Request, app_id: DbId, user: ConsoleUser) -> Response:
        with session_scope(engine) as s:
            try:
                detail = bo.application_detail(s, app_id)
            except bo.BackofficeError as exc:
                return views.render(
                    request, "error.html", {"message": str(exc)}, user=user, status=404
                )
        categories = {k: c.label for k, c in svc.policy_of(container).categories.items()}
        caps = cap_check(detail.app)
        return views.render(
            request,
            "application.html",
            {"a": detail, "categories": categories, "caps": caps},
            user=user,
        )

    @router.get("/applications/{app_id}/documents/{item_id}/file")
    def document_file(request: Request, app_id: DbId, item_id: DbId, user: ConsoleUser) -> Response:
        return svc.document_response(container, app_id, item_id, user)

    @router.post("/applications/{app_id}/documents/{item_id}/review")
    def review(
        request: Request,
        app_id: DbId,
        item_id: DbId,
        user: Officer,
        decision: Annotated[str, Form()] = "",
        reason: Annotated[str, Form()] = "",
    ) -> Response:
        url = f"/console/applications/{app_id}"
        if decision not in ("accept", "reject"):
            return views.redirect(url, "请选择通过或退回", "error")
        try:
            with session_scope(engine) as s:
                result = review_document(
                    s,
                    app_id,
                    item_id,
                    accept=decision == "accept",
                    reason=reason,
                    actor=user.username,
                )
                label = result.item.label
        except DOMAIN_ERRORS as exc:
            return views.redirect(url, str(exc), "error")
        verb = "已通过" if decision == "accept" else "已退回"
        tail = "，已通知申请人" if result.notified else "（申请人没有可用的联系渠道，未能通知）"
        return views.redirect(url, f"材料《{label}》{verb}{tail}")

    @router.post("/applications/{app_id}/advance")
    def advance_stage(
        request: Request,
        app_id: DbId,
        user: Officer,
        to_stage: Annotated[str, Form()] = "",
        note: Annotated[str, Form()] = "",
    ) -> Response:
        url = f"/console/applications/{app_id}"
        try:
            with session_scope(engine) as s:
                result = advance(
                    s, app_id, actor=user.username, to_stage=to_stage or None, note=note
                )
        except DOMAIN_ERRORS as exc:
            return views.redirect(url, str(exc), "error")
        tail = "，已通知申请人" if result.notified else "（申请人没有可用的联系渠道，未能通知）"
        return views.redirect(url, f"已进入「{STAGE_LABELS[result.to_stage]}」{tail}")

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

    # --- notices -----------------------------------------------------------------------------

    @router.get("/notices")
    def notices(
        request: Request,
        user: ConsoleUser,
        status: str = "",
        kind: str = "",
        channel: str = "",
        offset: PageOffset = 0,
    ) -> Response:
        with session_scope(engine) as s:
            page = bo.list_notices(
                s,
                status=status or None,
                kind=kind or None,
                channel=channel or None,
                limit=PAGE_SIZE,
                offset=_page_args(offset),
            )
            counts = bo.notice_counts_by_kind(s)
        totals: dict[str, int] = {}
        for per in counts.values():
            for st, n in per.items():
                totals[st] = totals.get(st, 0) + n
        return views.render(
            request,
            "notices.html",
            {
                "page": page,
                "counts": counts,
                "totals": totals,
                "statuses": bo.NOTICE_STATUSES,
                "f": {"status": status, "kind": kind, "channel": channel},
                "qs": _qs(status=status, kind=kind, channel=channel),
            },
            user=user,
        )

    @router.post("/notices/{notice_id}/requeue")
    def requeue(request: Request, notice_id: DbId, user: Officer) -> Response:
        with session_scope(engine) as s:
            n = requeue_notices(s, [notice_id])
            audit(s, user.username, "notice.requeue", "notice", notice_id, after={"requeued": n})
        text = "已重新排队发送" if n else "只有失败的通知可以重新发送"
        return views.redirect(back(request, "/console/notices"), text, "ok" if n else "error")

    # --- hand-off ----------------------------------------------------------------------------

    @router.get("/handoff")
    def handoff(
        request: Request, user: ConsoleUser, status: str = "open", offset: PageOffset = 0
    ) -> Response:
        with session_scope(engine) as s:
            page = bo.list_tickets(
                s, status=status or None, limit=PAGE_SIZE, offset=_page_args(offset)
            )
        return views.render(
            request,
            "handoff.html",
            {"page": page, "status": status, "qs": _qs(status=status)},
            user=user,
        )

    @router.get("/handoff/{ticket_id}")
    def ticket_page(request: Request, ticket_id: DbId, user: ConsoleUser) -> Response:
        with session_scope(engine) as s:
            try:
                ticket, messages, relays = bo.ticket_detail(s, ticket_id)
            except bo.BackofficeError as exc:
                return views.render(
                    request, "error.html", {"message": str(exc)}, user=user, status=404
                )
        relay_status = {n.key: n for n in relays}
        return views.render(
            request,
            "ticket.html",
            {"t": ticket, "messages": messages, "relays": relay_status},
            user=user,
        )

    @router.post("/handoff/{ticket_id}/reply")
    def ticket_reply(
        request: Request, ticket_id: DbId, user: Officer, text: Annotated[str, Form()] = ""
    ) -> Response:
        url = f"/console/handoff/{ticket_id}"
        try:
            with session_scope(engine) as s:
                staff_reply(s, ticket_id, user.username, text)
        except DOMAIN_ERRORS as exc:
            return views.redirect(url, str(exc), "error")
        return views.redirect(url, "回复已排队发送给申请人")

    @router.post("/handoff/{ticket_id}/close")
    def ticket_close(request: Request, ticket_id: DbId, user: Officer) -> Response:
        try:
            with session_scope(engine) as s:
                close_ticket(s, ticket_id, user.username)
        except DOMAIN_ERRORS as exc:
            return views.redirect(f"/console/handoff/{ticket_id}", str(exc), "error")
        return views.redirect("/console/handoff", f"工单号 {ticket_id} 已关闭")

    # --- knowledge ---------------------------------------------------------------------------

    @router.get("/knowledge")
    def knowledge_page(
        request: Request, user: ConsoleUser, status: str = "new", offset: PageOffset = 0
    ) -> Response:
        if status not in ("new", "resolved", "ignored"):
            status = "new"
        with session_scope(engine) as s:
            page = bo.unanswered_groups(
                s, status=status, limit=PAGE_SIZE, offset=_page_args(offset)
            )
        kb = svc.kb_of(container)
        entries = sorted(
            ((e.id, e.question, e.file) for e in kb.entries), key=lambda x: (x[2], x[0])
        )
        return views.render(
            request,
            "knowledge.html",
            {"page": page, "entries": entries, "status": status, "qs": _qs(status=status)},
            user=user,
        )

    @router.post("/knowledge/paraphrase")
    def knowledge_paraphrase(
        request: Request,
        user: Officer,
        normalized: Annotated[str, Form()] = "",
        entry_id: Annotated[str, Form()] = "",
        text: Annotated[str, Form()] = "",
    ) -> Response:
        try:
            written = svc.add_paraphrase_for(container, normalized, entry_id, text, user.username)
        except DOMAIN_ERRORS as exc:
            return views.redirect("/console/knowledge", str(exc), "error")
        return views.redirect(
            "/console/knowledge",
            f"已作为相似问加入条目 {written}（staff_additions.yaml）；点击“重新加载知识库”后生效",
        )

    @router.post("/knowledge/entry")
    def knowledge_entry(
        request: Request,
        user: Officer,
        normalized: Annotated[str, Form()] = "",
        entry_id: Annotated[str, Form()] = "",
        question: Annotated[str, Form()] = "",
        paraphrases: Annotated[str, Form()] = "",
        answer: Annotated[str, Form()] = "",
        short: Annotated[str, Form()] = "",
        source: Annotated[str, Form()] = "",
        tags: Annotated[str, Form()] = "",
        handoff: Annotated[bool, Form()] = False,
    ) -> Response:
        fields = {
            "entry_id": entry_id,
            "question": question,
            "paraphrases": [p for p in paraphrases.splitlines() if p.strip()],
            "answer": answer,
            "short": short,
            "source": source,
            "tags": [t for t in tags.replace("，", ",").split(",") if t.strip()],
            "handoff": handoff,
        }
        try:
            written = svc.add_entry_for(container, normalized, fields, user.username)
        except DOMAIN_ERRORS as exc:
            return views.redirect("/console/knowledge", str(exc), "error")
        return views.redirect(
            "/console/knowledge", f"已新建条目 {written}；点击“重新加载知识库”后生效"
        )

    @router.post("/knowledge/ignore")
    def knowledge_ignore(
        request: Request, user: Officer, normalized: Annotated[str, Form()] = ""
    ) -> Response:
        with session_scope(engine) as s:
            n = bo.resolve_group(s, normalized, status="ignored", actor=user.username)
        return views.redirect("/console/knowledge", f"已忽略 {n} 条提问")

    @router.post("/knowledge/reload")
    def knowledge_reload(request: Request, user: Officer) -> Response:
        try:
            changed, count = svc.reload_kb(container, user.username)
        except Exception as exc:  # a broken file: the previous index stays in service
            return views.redirect(
                "/console/knowledge", f"重新加载失败，仍使用原知识库：{exc}", "error"
            )
        text = f"知识库已重新加载（{count} 条）" if changed else f"知识库没有变化（{count} 条）"
        return views.redirect("/console/knowledge", text)

    # --- broadcasts --------------------------------------------------------------------------

    @router.get("/broadcasts")
    def broadcasts(request: Request, user: ConsoleUser, offset: PageOffset = 0) -> Response:
        with session_scope(engine) as s:
            rows = bc.list_broadcasts(s, limit=PAGE_SIZE, offset=_page_args(offset))
            items = [(r, bc.display_status(r, bc.progress(s, r.id or 0))) for r in rows]
        return views.render(request, "broadcasts.html", {"items": items}, user=user)

    def composer(
        request: Request,
        user: StaffPrincipal,
        row: Any | None,
        form: dict[str, Any] | None = None,
        error: str | None = None,
    ) -> HTMLResponse:
        audience = bc.Audience.from_json(row.audience) if row is not None else bc.Audience()
        values = form or {
            "title": row.title if row else "",
            "body": row.body if row else "",
            "sms_body": (row.sms_body or "") if row else "",
            "group": audience.group,
            "stages": list(audience.stages),
            "districts": "，".join(audience.districts),
            "channels": list(audience.channels),
            "min_overdue_days": audience.min_overdue_days,
        }
        with session_scope(engine) as s:
            names = bo.districts(s)
        return views.render(
            request,
            "broadcast_form.html",
            {
                "row": row,
                "v": values,
                "error": error,
                "stages": [x.value for x in Stage],
                "districts": names,
                "threshold": svc.threshold(container),
            },
            user=user,
            status=422 if error else 200,
        )

    @router.get("/broadcasts/new")
    def broadcast_new(
        request: Request, user: Annotated[StaffPrincipal, Depends(console_page("officer"))]
    ) -> Response:
        return composer(request, user, None)

    @router.post("/broadcasts")
    def broadcast_create(
        request: Request,
        user: Officer,
        data: Annotated[BroadcastForm, Form()],
    ) -> Response:
        form = data.model_dump()
        try:
            audience = data.audience()
            with session_scope(engine) as s:
                row = bc.create_draft(
                    s,
                    title=data.title,
                    body=data.body,
                    sms_body=data.sms_body,
                    audience=audience,
                    actor=user.username,
                )
                new_id = row.id
        except bc.BroadcastError as exc:
            return composer(request, user, None, form, str(exc))
        return views.redirect(f"/console/broadcasts/{new_id}", "草稿已保存，请核对预览")

    @router.get("/broadcasts/{bid}")
    def broadcast_page(request: Request, bid: DbId, user: ConsoleUser) -> Response:
        with session_scope(engine) as s:
            try:
                row = bc.get(s, bid)
            except bc.BroadcastError as exc:
                return views.render(
                    request, "error.html", {"message": str(exc)}, user=user, status=404
                )
            prog = bc.progress(s, bid)
            pv = (
                bc.preview(s, row, svc.sms_cost(container), svc.threshold(container))
                if row.status in ("draft", "pending_confirm", "scheduled")
                else None
            )
            audience = bc.Audience.from_json(row.audience)
        return views.render(
            request,
            "broadcast.html",
            {
                "b": row,
                "p": prog,
                "pv": pv,
                "audience": audience.describe(),
                "status": bc.display_status(row, prog),
                "threshold": svc.threshold(container),
            },
            user=user,
        )

    @router.get("/broadcasts/{bid}/progress")
    def broadcast_progress(request: Request, bid: DbId, user: ConsoleUser) -> Response:
        with session_scope(engine) as s:
            try:
                row = bc.get(s, bid)
            except bc.BroadcastError as exc:
                return JSONResponse({"detail": str(exc)}, status_code=404)
            prog = bc.progress(s, bid)
        status = bc.display_status(row, prog)
        return JSONResponse(
            {
                **prog.to_json(),
                "status": status,
                "status_label": bc.STATUS_LABELS.get(status, status),
                "running": status in ("fanout", "queued", "scheduled"),
            },
            headers={"Cache-Control": "no-store"},
        )

    @router.get("/broadcasts/{bid}/edit")
    def broadcast_edit(
        request: Request,
        bid: DbId,
        user: Annotated[StaffPrincipal, Depends(console_page("officer"))],
    ) -> Response:
        with session_scope(engine) as s:
            row = bc.get(s, bid)
        if row.status != "draft":
            return views.redirect(f"/console/broadcasts/{bid}", "只有草稿可以修改", "error")
        return composer(request, user, row)

    @router.post("/broadcasts/{bid}/edit")
    def broadcast_update(
        request: Request,
        bid: DbId,
        user: Officer,
        data: Annotated[BroadcastForm, Form()],
    ) -> Response:
        form = data.model_dump()
        try:
            audience = data.audience()
            with session_scope(engine) as s:
                row = bc.update_draft(
                    s,
                    bid,
                    title=data.title,
                    body=data.body,
                    sms_body=data.sms_body,
                    audience=audience,
                    actor=user.username,
                )
        except bc.BroadcastError as exc:
            with session_scope(engine) as s:
                current = s.get(BroadcastRow, bid)
            return composer(request, user, current, form, str(exc))
        return views.redirect(f"/console/broadcasts/{row.id}", "草稿已更新")

    @router.post("/broadcasts/{bid}/send")
    def broadcast_send(
        request: Request,
        bid: DbId,
        user: Officer,
        background: BackgroundTasks,
        mode: Annotated[str, Form()] = "now",
        scheduled_at: Annotated[str, Form()] = "",
    ) -> Response:
        url = f"/console/broadcasts/{bid}"
        try:
            when = _parse_local(scheduled_at) if mode == "schedule" else None
            if mode == "schedule" and when is None:
                raise bc.BroadcastError("请选择定时发送的时间")
            with session_scope(engine) as s:
                row = bc.request_send(
                    s, bid, user.username, threshold=svc.threshold(container), scheduled_at=when
                )
                status = row.status
                size = row.audience_size
        except DOMAIN_ERRORS as exc:
            return views.redirect(url, str(exc), "error")
        if status == "fanout":
            background.add_task(svc.run_fan_out, engine, bid, svc.sms_cost(container))
            return views.redirect(url, f"已开始发送，共 {size} 位接收人")
        if status == "scheduled":
            return views.redirect(url, f"已定时发送，共 {size} 位接收人")
        return views.redirect(
            url,
            f"接收人 {size} 位，超过 {svc.threshold(container)} 位：需由另一位工作人员确认后才会发送",
            "warn",
        )

    @router.post("/broadcasts/{bid}/confirm")
    def broadcast_confirm(
        request: Request, bid: DbId, user: Officer, background: BackgroundTasks
    ) -> Response:
        url = f"/console/broadcasts/{bid}"
        try:
            with session_scope(engine) as s:
                row = bc.confirm(s, bid, user.username)
                status = row.status
        except DOMAIN_ERRORS as exc:
            return views.redirect(url, str(exc), "error")
        if status == "fanout":
            background.add_task(svc.run_fan_out, engine, bid, svc.sms_cost(container))
            return views.redirect(url, "已确认，开始发送")
        return views.redirect(url, "已确认，将在定时时间发送")

    @router.post("/broadcasts/{bid}/cancel")
    def broadcast_cancel(request: Request, bid: DbId, user: Officer) -> Response:
        url = f"/console/broadcasts/{bid}"
        try:
            with session_scope(engine) as s:
                n = bc.cancel(s, bid, user.username)
        except DOMAIN_ERRORS as exc:
            return views.redirect(url, str(exc), "error")
        return views.redirect(url, f"已取消；{n} 条尚未发送的消息不再发送")

    # --- staff and audit (admins) ------------------------------------------------------------

    @router.get("/staff")
    def staff_page(request: Request, user: AdminPage) -> Response:
        with session_scope(engine) as s:
            users = bo.list_staff(s)
        return views.render(
            request, "staff.html", {"users": users, "roles": ROLES, "new_token": None}, user=user
        )

    @router.post("/staff")
    def staff_create(
        request: Request,
        user: Admin,
        username: Annotated[str, Form()] = "",
        display_name: Annotated[str, Form()] = "",
        role: Annotated[str, Form()] = "viewer",
        password: Annotated[str, Form()] = "",
    ) -> Response:
        try:
            with session_scope(engine) as s:
                create_staff(
                    s,
                    username,
                    password,
                    role,
                    display_name or None,
                    actor=user.username,
                    hasher=container.hasher,
                )
        except StaffError as exc:
            return views.redirect("/console/staff", str(exc), "error")
        return views.redirect("/console/staff", f"已创建用户 {username.strip()}")

    @router.post("/staff/{user_id}")
    def staff_update(
        request: Request,
        user_id: DbId,
        user: Admin,
        role: Annotated[str, Form()] = "",
        active: Annotated[str, Form()] = "",
        password: Annotated[str, Form()] = "",
    ) -> Response:
        try:
            with session_scope(engine) as s:
                bo.update_staff(
                    s,
                    user_id,
                    actor=user.username,
                    role=role or None,
                    active=None if active == "" else active == "1",
                )
                if password:
                    bo.set_password(
                        s, user_id, password, actor=user.username, hasher=container.hasher
                    )
        except StaffError as exc:
            return views.redirect("/console/staff", str(exc), "error")
        return views.redirect("/console/staff", "已保存")

    @router.post("/staff/{user_id}/token")
    def staff_token(request: Request, user_id: DbId, user: Admin) -> Response:
        with session_scope(engine) as s:
            target = s.get(StaffUserRow, user_id)
            if target is None:
                return views.redirect("/console/staff", "用户不存在", "error")
            token = issue_api_token(s, target, actor=user.username)
            name = target.username
            users = bo.list_staff(s)
        return views.render(
            request,
            "staff.html",
            {"users": users, "roles": ROLES, "new_token": (name, token)},
            user=user,
        )

    @router.get("/audit")
    def audit_page(
        request: Request, user: AdminPage, actor: str = "", action: str = "", offset: PageOffset = 0
    ) -> Response:
        with session_scope(engine) as s:
            page = bo.list_audit(
                s, actor=actor or None, action=action or None, limit=100, offset=_page_args(offset)
            )
        return views.render(
            request,
            "audit.html",
            {
                "page": page,
                "f": {"actor": actor, "action": action},
                "qs": _qs(actor=actor, action=action),
            },
            user=user,
        )

    app.include_router(router)
