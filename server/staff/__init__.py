"""The staff side's web doors: the API under /api/staff and the console under /console.

`include` wires them once: the shared StaffAuth, the console renderer, the error handlers
(server/staff/errors.py) and one module-level router per resource in api/ and console/, each
route a few lines calling one command of core/staff."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.responses import Response

from server import auth
from server.bootstrap import Container
from server.staff import errors
from server.staff.api import applications as api_applications
from server.staff.api import broadcasts as api_broadcasts
from server.staff.api import exports as api_exports
from server.staff.api import handoff as api_handoff
from server.staff.api import knowledge as api_knowledge
from server.staff.api import loan_actions as api_loan_actions
from server.staff.api import loans as api_loans
from server.staff.api import notices as api_notices
from server.staff.api import users as api_users
from server.staff.console import applications as console_applications
from server.staff.console import broadcasts as console_broadcasts
from server.staff.console import exports as console_exports
from server.staff.console import handoff as console_handoff
from server.staff.console import knowledge as console_knowledge
from server.staff.console import loan_actions as console_loan_actions
from server.staff.console import loans as console_loans
from server.staff.console import login as console_login
from server.staff.console import notices as console_notices
from server.staff.console import users as console_users
from server.staff.console.views import STATIC, Views, error_page, qs, views_of

ROUTERS = [
    api_exports.router,  # before the resources: /loans/export.xlsx is no loan id
    console_exports.router,
    api_loans.router,
    api_loan_actions.router,
    console_login.router,
    console_loans.router,
    console_loan_actions.router,
    api_applications.router,
    console_applications.router,
    api_users.router,
    api_notices.router,
    api_broadcasts.router,
    console_notices.router,
    api_handoff.router,
    console_handoff.router,
    api_knowledge.router,
    console_knowledge.router,
    console_users.router,
    console_broadcasts.router,
]


async def _login_required(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, auth.LoginRequired)
    return RedirectResponse("/console/login" + qs(next=exc.next_path), status_code=303)


async def _console_forbidden(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, auth.ConsoleForbidden)
    user = getattr(request.state, "staff", None)
    return views_of(request).render(
        request, "error.html", {"message": exc.message, "title": "无法操作"}, user=user, status=403
    )


def include(app: FastAPI, container: Container) -> None:
    """Add the staff API, the console, their static files and error handlers to the app."""
    auth.install(app, container)
    app.state.console_views = Views(container)
    app.mount("/console/static", StaticFiles(directory=str(STATIC)), name="console-static")
    app.add_exception_handler(auth.LoginRequired, _login_required)
    app.add_exception_handler(auth.ConsoleForbidden, _console_forbidden)
    errors.install(app, error_page)
    for router in ROUTERS:
        app.include_router(router)
