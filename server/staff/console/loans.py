"""/console/dashboard, /loans and /imports: the dashboard, loans, spreadsheet imports."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import Response

from core.kernel.labels import LABELS
from core.kernel.timeutil import local_today
from core.loans.importing import ImportReport
from core.loans.status import STATUS_LABELS
from core.staff import loan_actions, loans
from core.staff.imports import ImportRequest, UploadRefused
from core.staff.queries import districts
from server import staff_services as svc
from server import workers
from server.bootstrap import Container
from server.params import DbId, PageOffset
from server.staff.console.views import PAGE_SIZE, ViewsDep, page_args, qs
from server.staff.deps import ConsoleUser, ContainerDep, Officer, SessionDep

router = APIRouter(prefix="/console", include_in_schema=False)
Upload = Annotated[UploadFile | None, File()]


@router.get("/dashboard")
def dashboard_page(
    request: Request, s: SessionDep, views: ViewsDep, container: ContainerDep, user: ConsoleUser
) -> Response:
    board = svc.build_dashboard(s, container)
    return views.render(request, "dashboard.html", {"d": board}, user=user)


@router.get("/loans")
def list_page(
    request: Request,
    s: SessionDep,
    views: ViewsDep,
    user: ConsoleUser,
    status: str = "",
    district: str = "",
    q: str = "",
    overdue: bool = False,
    overdue_days: str = "",
    offset: PageOffset = 0,
) -> Response:
    page = loans.loans(
        s, actor=user.username, status=status or None, district=district or None, q=q or None,
        overdue_only=overdue, overdue_days=overdue_days or None, limit=PAGE_SIZE,
        offset=page_args(offset),
    )  # fmt: skip
    f = {
        "status": status,
        "district": district,
        "q": q,
        "overdue": overdue,
        "overdue_days": overdue_days,
    }
    context = {"page": page, "districts": districts(s), "f": f, "qs": qs(**f)}
    return views.render(request, "loans.html", context, user=user)


@router.get("/loans/{loan_id}")
def loan_page(
    request: Request, s: SessionDep, views: ViewsDep, loan_id: DbId, user: ConsoleUser
) -> Response:
    context = {
        "l": loans.loan(s, loan_id),
        "status_labels": STATUS_LABELS,
        "actions": loan_actions.history(s, loan_id),
        "A": LABELS,
        "today": local_today().isoformat(),
    }
    return views.render(request, "loan.html", context, user=user)


@router.get("/imports")
def imports_page(request: Request, views: ViewsDep, user: ConsoleUser) -> Response:
    return views.render(request, "imports.html", {"report": None}, user=user)


async def _import(
    container: Container,
    actor: str,
    kind: str,
    file: UploadFile,
    installments: UploadFile | None,
    skip_bad_rows: bool,
) -> ImportReport:
    limit = container.settings.max_import_mb * 1024 * 1024
    main = await svc.read_upload(file, "upload.csv", limit)
    inst = None
    if kind == "loans" and installments is not None and installments.filename:
        inst = await svc.read_upload(installments, "installments.csv", limit)
    request = ImportRequest(kind, main, inst, skip_bad_rows)
    return await workers.import_off_thread(container, actor, request)


@router.post("/imports")
async def imports_submit(
    request: Request,
    views: ViewsDep,
    container: ContainerDep,
    user: Officer,
    kind: Annotated[str, Form()] = "loans",
    file: Upload = None,
    installments: Upload = None,
    skip_bad_rows: Annotated[bool, Form()] = False,
) -> Response:
    kind = kind if kind in ("loans", "payments") else "loans"
    error: str | None = None
    report = None
    if file is None or not file.filename:
        error = "请选择要导入的文件"
    else:
        try:
            report = await _import(
                container, user.username, kind, file, installments, skip_bad_rows
            )
        except UploadRefused as exc:
            error = str(exc)
    status = 200 if report is not None and report.imported else 422
    context = {"report": report, "error": error, "kind": kind, "max_errors": 500}
    return views.render(request, "imports.html", context, user=user, status=status)
