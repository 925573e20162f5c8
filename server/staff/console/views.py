"""The console's rendering: the Jinja2 environment, one-time flash messages, the strict CSP with a
per-response nonce, and the small form helpers every console router shares."""

from __future__ import annotations

import json
import secrets
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from itsdangerous import BadSignature, URLSafeTimedSerializer
from jinja2 import Environment, FileSystemLoader, pass_context, select_autoescape
from jinja2.runtime import Context
from pydantic import BaseModel
from sqlmodel import Session

from core.applications.lifecycle import STAGE_LABELS
from core.broadcasts import audience as bc_audience
from core.broadcasts import common as bc_common
from core.kernel.identity import format_phone, is_mobile, mask_id_number, mask_phone
from core.kernel.labels import answer_text, label, labels, ticket_number
from core.kernel.money import format_yuan
from core.kernel.timeutil import SHANGHAI, to_local, utcnow
from core.outbox.held import held_reason, quiet_now
from core.staff import ROLE_LABELS
from core.staff import queries as bo
from core.staff.broadcasts import Draft
from server.auth import CSRF_FIELD, StaffPrincipal
from server.bootstrap import Container

HERE = Path(__file__).resolve().parents[2]
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"
FLASH_COOKIE = "cd_flash"
STAGE_SHORT = labels("stage_short")
PAGE_SIZE = 50


# --- rendering ------------------------------------------------------------------------------------


def _landline(phone: str | None) -> str:
    """A note after a fixed-line number: it is kept for staff to call, never sent SMS."""
    return "（固定电话，不发短信）" if phone and not is_mobile(phone) else ""


def _dt(value: datetime | None) -> str:
    return "" if value is None else to_local(value).strftime("%Y-%m-%d %H:%M")


def _yuan(fen: int | None) -> str:
    return "" if fen is None else format_yuan(int(fen))


@pass_context
def _phone(context: Context, value: str | None, masked: bool = False) -> str:
    """A phone as '138 9310 0012'; masked ('138 **** 0012') when asked or when the viewer's role
    does not see whole numbers (viewers)."""
    user = context.get("user")
    hide = masked or user is None or not user.can("officer")
    return format_phone(value, masked=hide)


def _answer(value: Any, key: str) -> str:
    return answer_text(key, value)


_CHANGE_CODES = {
    "stage": ("stage",),
    "status": ("document_status", "broadcast_status", "notice_status", "ticket_status"),
    "role": ("role",),
    "channel": ("channel",),
    "list": ("export_list",),
}


def _change_value(key: str, value: Any) -> str:
    for category in _CHANGE_CODES.get(key, ()):
        if isinstance(value, str) and value in labels(category):
            return label(category, value)
    if isinstance(value, dict):
        return "，".join(f"{_change_key(k)}：{_change_value(k, v)}" for k, v in value.items())
    return _answer(value, key)


def _change_key(key: str) -> str:
    return (
        label("audit_field", key) if key in labels("audit_field") else label("precheck_field", key)
    )


def _changes(value: dict[str, Any] | None) -> list[tuple[str, str]]:
    """An audit entry's before/after as (label, value) lines."""
    return [(_change_key(k), _change_value(k, v)) for k, v in (value or {}).items()]


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
        ticket_no=ticket_number,
        phone=_phone,
        answer=_answer,
        changes=_changes,
    )
    env.globals.update(
        STAGE_LABELS=STAGE_LABELS,
        STAGE_SHORT=STAGE_SHORT,
        APPLICANT_TYPES=labels("applicant_type"),
        ROLE_LABELS=ROLE_LABELS,
        NOTICE_STATUS_LABELS=bo.NOTICE_STATUS_LABELS,
        NOTICE_KIND_LABELS=bo.NOTICE_KIND_LABELS,
        DOCUMENT_STATUS_LABELS=bo.DOCUMENT_STATUS_LABELS,
        BROADCAST_STATUS=bc_common.STATUS_LABELS,
        CHANNEL_LABELS=labels("channel"),
        label=label,
        label_table=labels,
        GROUPS=bc_common.GROUPS,
        CSRF_FIELD=CSRF_FIELD,
    )
    return env


class Views:
    def __init__(self, container: Container) -> None:
        self.container = container
        self.env = make_env()
        quiet = container.quiet_hours
        self.env.globals.update(  # why a notice or a broadcast waits (core/outbox/held.py)
            held=lambda n: held_reason(n, utcnow(), quiet),
            quiet_held=lambda: quiet_now(quiet, utcnow()),
        )
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

    def refused(self, session: Session, url: str, error: Exception) -> RedirectResponse:
        """A command refused: undo its unit of work and show why on `url`."""
        session.rollback()
        return self.redirect(url, str(error), "error")

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


def page_args(offset: int) -> int:
    return max(offset, 0)


def qs(**params: Any) -> str:
    clean = {k: v for k, v in params.items() if v not in (None, "", False)}
    return ("?" + urlencode(clean)) if clean else ""


def parse_local(value: str) -> datetime | None:
    """A datetime-local field (Asia/Shanghai) as aware UTC; empty → None."""
    value = value.strip()
    if not value:
        return None
    try:
        local = datetime.fromisoformat(value)
    except ValueError as exc:
        raise bc_common.BroadcastInvalid("定时时间格式不正确") from exc
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

    def audience(self) -> bc_audience.Audience:
        return audience_from_form(
            self.group, self.stages, self.districts, self.channels, self.min_overdue_days
        )

    def draft(self) -> Draft:
        """The composer's fields as a draft (a bad audience raises BroadcastInvalid)."""
        return Draft(self.title, self.body, self.sms_body, self.audience())


def audience_from_form(
    group: str, stages: list[str], districts: str, channels: list[str], min_overdue_days: str
) -> bc_audience.Audience:
    names = [d for d in districts.replace("，", ",").replace("、", ",").split(",") if d.strip()]
    return bc_audience.Audience.from_json(
        {
            "group": group,
            "stages": stages,
            "districts": names,
            "channels": channels,
            "min_overdue_days": min_overdue_days or 1,
        }
    )


def back(request: Request, fallback: str) -> str:
    """The console page the request came from (same origin), else `fallback`."""
    ref = request.headers.get("referer") or ""
    base = str(request.base_url).rstrip("/")
    if ref.startswith(base + "/console"):
        return ref[len(base) :]
    return fallback


def views_of(request: Request) -> Views:
    """The app's console renderer (created once by server.staff.include)."""
    views: Views = request.app.state.console_views
    return views


ViewsDep = Annotated[Views, Depends(views_of)]


def error_page(request: Request, message: str, status: int) -> HTMLResponse:
    """The console's error page for a typed staff error nobody caught (server/staff/errors.py)."""
    user = getattr(request.state, "staff", None)
    return views_of(request).render(
        request, "error.html", {"message": message}, user=user, status=status
    )
