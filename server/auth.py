"""Staff authentication and authorisation for the console and the staff API.

Console (`/console`): a login form creates a server-side session (`staff_session`, only the
SHA-256 of the token is stored); the browser holds the token in a cookie signed with
SECRET_KEY (itsdangerous, max age CONSOLE_SESSION_HOURS), HttpOnly, SameSite=Lax, Path=/console,
Secure when PUBLIC_BASE_URL is https. Every POST form carries a CSRF token (hidden field
`csrf_token` or header `X-CSRF-Token`): an HMAC of the session token under SECRET_KEY, checked in
constant time; the login form uses a signed double-submit cookie instead. A missing or wrong
token is refused with 403 and nothing changes. Logging out, deactivating a user or changing their
password ends their sessions at once. Failed logins are throttled by address, network and user
name with backoff (server/throttle.py: a user name's lock never refuses an address that has not
failed); failures are rows in the database, so every process agrees.

Staff API (`/api/staff`): `Authorization: Bearer <token>` (tokens from `chuangdai staff token`,
stored hashed); a missing or unknown token → 401, a role too low → 403. The API never accepts
the console cookie, so it needs no CSRF defence.

Roles: viewer (read only) < officer (reviews, replies, broadcasts, imports, knowledge) < admin
(also staff accounts and the audit log).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from core.kernel.timeutil import utcnow
from core.persistence.audit import audit
from core.persistence.db import session_scope
from core.persistence.models import StaffUserRow
from core.persistence.models_staff import StaffSessionRow
from core.persistence.sql import table
from core.staff import ROLE_LABELS, authenticate, role_at_least, user_by_token
from server import throttle
from server.bootstrap import Container

log = logging.getLogger(__name__)

SESSION_COOKIE = "cd_session"
LOGIN_CSRF_COOKIE = "cd_login_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
COOKIE_PATH = "/console"
DEFAULT_SESSION_HOURS = 12
TOUCH_EVERY = timedelta(minutes=5)

ROLE_NEEDED_TEXT = {
    "viewer": "需要登录",
    "officer": "需要经办人员或管理员权限（只读账号不能修改数据）",
    "admin": "需要管理员权限",
}


@dataclass(frozen=True)
class StaffPrincipal:
    """The staff user behind a request."""

    id: int
    username: str
    display_name: str
    role: str
    session_id: int | None = None
    csrf_token: str = ""

    def can(self, role: str) -> bool:
        return role_at_least(self.role, role)

    @property
    def role_label(self) -> str:
        return ROLE_LABELS.get(self.role, self.role)


class LoginRequired(Exception):
    """A console page was asked for without a valid session (→ redirect to the login page)."""

    def __init__(self, next_path: str) -> None:
        self.next_path = next_path


class ConsoleForbidden(Exception):
    """A console action refused (role too low, CSRF check failed) → a 403 page."""

    def __init__(self, message: str) -> None:
        self.message = message


class LoginError(Exception):
    """Login refused; the message is Chinese and does not tell which part was wrong."""


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


class StaffAuth:
    """Sessions, CSRF tokens and API tokens of one app."""

    def __init__(self, container: Container) -> None:
        s = container.settings
        self.engine: Engine = container.engine
        self.hasher = container.hasher
        self.secret = s.secret_key
        hours = int(getattr(s, "console_session_hours", DEFAULT_SESSION_HOURS))
        self.max_age = timedelta(hours=max(hours, 1))
        self.secure = s.public_base_url.startswith("https://")
        self.serializer = URLSafeTimedSerializer(self.secret, salt="chuangdai.console.session")
        self.login_serializer = URLSafeTimedSerializer(self.secret, salt="chuangdai.console.login")
        if self.secret == "dev-insecure-change-me":
            log.warning("SECRET_KEY is the development default: set a long random value")

    # --- console sessions ------------------------------------------------------------------

    def csrf_for(self, token: str) -> str:
        return hmac.new(self.secret.encode(), b"csrf:" + token.encode(), hashlib.sha256).hexdigest()

    def login(
        self, username: str, password: str, ip: str | None, user_agent: str | None
    ) -> tuple[StaffPrincipal, str]:
        """Check the password and open a session; returns (principal, signed cookie value)."""
        username = username.strip()[:64]
        refused: str | None = None
        token = secrets.token_urlsafe(32)
        principal: StaffPrincipal | None = None
        address = (ip or "-")[:64]
        with session_scope(self.engine) as s:  # failures are committed, then refused below
            user = None
            verdict = throttle.check(s, username, address)
            if verdict.wait_seconds > 0:
                audit(s, username or "-", "staff.login_throttled", "staff_user", username,
                      after={"ip": ip})  # fmt: skip
                refused = f"尝试过于频繁，请{verdict.wait_seconds}秒后再试"
            elif verdict.user_locked:
                audit(s, username or "-", "staff.login_locked", "staff_user", username,
                      after={"ip": ip})  # fmt: skip
                refused = "登录失败次数过多，请15分钟后再试"
            else:
                user = authenticate(s, username, password, hasher=self.hasher)
                if user is None or user.id is None:
                    audit(
                        s,
                        username or "-",
                        "staff.login_failed",
                        "staff_user",
                        username,
                        after={"ip": ip},
                    )
                    throttle.record_failure(s, username, address)
                    refused = "用户名或密码不正确"
            if user is not None and user.id is not None and refused is None:
                now = utcnow()
                row = StaffSessionRow(
                    token_hash=_sha(token),
                    user_id=user.id,
                    created_at=now,
                    expires_at=now + self.max_age,
                    last_seen_at=now,
                    ip=(ip or "")[:64] or None,
                    user_agent=(user_agent or "")[:200] or None,
                )
                s.add(row)
                s.flush()
                audit(s, user.username, "staff.login", "staff_user", user.id, after={"ip": ip})
                principal = StaffPrincipal(
                    user.id,
                    user.username,
                    user.display_name,
                    user.role,
                    row.id,
                    self.csrf_for(token),
                )
        if principal is None:
            raise LoginError(refused or "用户名或密码不正确")
        return principal, self.serializer.dumps(token)

    def _token_of(self, cookie: str | None) -> str | None:
        if not cookie:
            return None
        try:
            token = self.serializer.loads(cookie, max_age=int(self.max_age.total_seconds()))
        except BadSignature:
            return None
        return token if isinstance(token, str) else None

    def session_principal(self, cookie: str | None) -> StaffPrincipal | None:
        token = self._token_of(cookie)
        if token is None:
            return None
        now = utcnow()
        with session_scope(self.engine) as s:
            found = s.exec(
                select(StaffSessionRow, StaffUserRow)
                .join(StaffUserRow, col(StaffUserRow.id) == col(StaffSessionRow.user_id))
                .where(StaffSessionRow.token_hash == _sha(token))
            ).first()
            if found is None:
                return None
            sess, user = found
            if sess.revoked_at is not None or sess.expires_at <= now or not user.active:
                return None
            if now - sess.last_seen_at >= TOUCH_EVERY:
                t = table(StaffSessionRow)
                s.execute(sa.update(t).where(t.c.id == sess.id).values(last_seen_at=now))
            assert user.id is not None
            return StaffPrincipal(
                user.id, user.username, user.display_name, user.role, sess.id, self.csrf_for(token)
            )

    def logout(self, cookie: str | None) -> None:
        token = self._token_of(cookie)
        if token is None:
            return
        with session_scope(self.engine) as s:
            sess = s.exec(
                select(StaffSessionRow).where(StaffSessionRow.token_hash == _sha(token))
            ).first()
            if sess is not None and sess.revoked_at is None:
                sess.revoked_at = utcnow()
                s.add(sess)
                user = s.get(StaffUserRow, sess.user_id)
                audit(s, user.username if user else "-", "staff.logout", "staff_user", sess.user_id)

    # --- login form CSRF (double submit, signed) ---------------------------------------------

    def new_login_csrf(self) -> tuple[str, str]:
        """(form token, cookie value) for the login form."""
        token = secrets.token_urlsafe(24)
        return token, self.login_serializer.dumps(token)

    def check_login_csrf(self, form_token: str | None, cookie: str | None) -> bool:
        if not form_token or not cookie:
            return False
        try:
            expected = self.login_serializer.loads(cookie, max_age=3600)
        except BadSignature:
            return False
        return isinstance(expected, str) and hmac.compare_digest(expected, form_token)

    # --- API tokens ------------------------------------------------------------------------

    def token_principal(self, token: str) -> StaffPrincipal | None:
        with session_scope(self.engine) as s:
            user = user_by_token(s, token)
            if user is None or user.id is None:
                return None
            return StaffPrincipal(user.id, user.username, user.display_name, user.role)

    def set_session_cookie(self, response: Any, value: str) -> None:
        response.set_cookie(
            SESSION_COOKIE,
            value,
            max_age=int(self.max_age.total_seconds()),
            path=COOKIE_PATH,
            httponly=True,
            samesite="lax",
            secure=self.secure,
        )

    def clear_session_cookie(self, response: Any) -> None:
        response.delete_cookie(SESSION_COOKIE, path=COOKIE_PATH)


def install(app: FastAPI, container: Container) -> StaffAuth:
    """The app's StaffAuth (created once, shared by the console and the API)."""
    existing = getattr(app.state, "staff_auth", None)
    if isinstance(existing, StaffAuth):
        return existing
    auth = StaffAuth(container)
    app.state.staff_auth = auth
    return auth


def auth_of(request: Request) -> StaffAuth:
    auth: StaffAuth = request.app.state.staff_auth
    return auth


# --- console dependencies -------------------------------------------------------------------------


def console_user(request: Request) -> StaffPrincipal:
    """The logged-in staff user of a console request (else redirect to the login page)."""
    principal = auth_of(request).session_principal(request.cookies.get(SESSION_COOKIE))
    if principal is None:
        path = request.url.path
        if request.url.query:
            path += "?" + request.url.query
        raise LoginRequired(path if request.method == "GET" else "/console")
    request.state.staff = principal
    return principal


ConsoleUser = Annotated[StaffPrincipal, Depends(console_user)]


async def _checked_csrf(request: Request, principal: StaffPrincipal) -> None:
    submitted = request.headers.get(CSRF_HEADER)
    if not submitted:
        form = await request.form()
        value = form.get(CSRF_FIELD)
        submitted = value if isinstance(value, str) else None
    if not submitted or not hmac.compare_digest(submitted, principal.csrf_token):
        raise ConsoleForbidden("页面已过期或请求来源不明（CSRF 校验失败），请刷新页面后重试。")


def console_action(role: str = "officer") -> Callable[..., Awaitable[StaffPrincipal]]:
    """Dependency of console POST routes: logged in, CSRF token valid, role at least `role`."""

    async def dependency(
        request: Request, principal: StaffPrincipal = Depends(console_user)
    ) -> StaffPrincipal:
        await _checked_csrf(request, principal)
        if not principal.can(role):
            raise ConsoleForbidden(ROLE_NEEDED_TEXT[role])
        return principal

    return dependency


def console_page(role: str = "viewer") -> Callable[..., StaffPrincipal]:
    """Dependency of console GET pages needing more than a login (e.g. staff management)."""

    def dependency(principal: StaffPrincipal = Depends(console_user)) -> StaffPrincipal:
        if not principal.can(role):
            raise ConsoleForbidden(ROLE_NEEDED_TEXT[role])
        return principal

    return dependency


# --- API dependencies ------------------------------------------------------------------------------

_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="StaffToken",
    description="员工 API 令牌（`chuangdai staff token 用户名` 生成）：Authorization: Bearer cd_…",
)


def api_user(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> StaffPrincipal:
    """The staff user of an API request (401 without a valid Bearer token)."""
    if credentials is None or credentials.scheme.lower() != "bearer" or not credentials.credentials:
        raise HTTPException(
            401, "缺少 API 令牌（Authorization: Bearer …）", {"WWW-Authenticate": "Bearer"}
        )
    principal = auth_of(request).token_principal(credentials.credentials)
    if principal is None:
        raise HTTPException(
            401,
            "API 令牌无效或已停用",
            {"WWW-Authenticate": 'Bearer error="invalid_token"'},
        )
    request.state.staff = principal
    return principal


def api_role(role: str) -> Callable[..., StaffPrincipal]:
    """Dependency: a valid token of a user with at least `role` (403 otherwise)."""

    def dependency(principal: StaffPrincipal = Depends(api_user)) -> StaffPrincipal:
        if not principal.can(role):
            raise HTTPException(403, ROLE_NEEDED_TEXT[role])
        return principal

    return dependency


ApiViewer = Annotated[StaffPrincipal, Depends(api_role("viewer"))]
ApiOfficer = Annotated[StaffPrincipal, Depends(api_role("officer"))]
ApiAdmin = Annotated[StaffPrincipal, Depends(api_role("admin"))]
