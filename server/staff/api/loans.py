"""/api/staff/dashboard, /loans and /imports: the dashboard, loans, spreadsheet imports."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, UploadFile
from fastapi.responses import JSONResponse

from core.kernel.identity import mask_phone
from core.staff import loans
from core.staff.imports import ImportRequest
from server import staff_services as svc
from server import workers
from server.params import DbId
from server.staff.deps import (
    ApiOfficer,
    ApiViewer,
    ContainerDep,
    Limit,
    Offset,
    OverdueDays,
    SearchQ,
    SessionDep,
)
from server.staff.schemas import LoanPage, Open
from server.staff.shapes import (
    import_response,
    installment_json,
    loan_item_json,
    loan_json,
    notice_json,
    page_json,
    payment_json,
    person_json,
)

router = APIRouter(prefix="/api/staff", tags=["staff"])
SkipBadRows = Annotated[bool, Form()]


@router.get("/dashboard", response_model=Open)
def dashboard(s: SessionDep, container: ContainerDep, user: ApiViewer) -> dict[str, Any]:
    """Applications by stage (late review steps), loans, overdue buckets, 5× fund limit."""
    return svc.build_dashboard(s, container).to_json()


@router.get("/loans", response_model=LoanPage)
def list_loans(
    s: SessionDep,
    user: ApiViewer,
    status: str | None = None,
    district: str | None = None,
    q: SearchQ = None,
    overdue: bool = False,
    overdue_days: OverdueDays = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> dict[str, Any]:
    """Loans, newest first; `overdue=true` keeps the active loans with an overdue instalment,
    `overdue_days=1-30|31-90|90+` those whose oldest overdue instalment is that many days late."""
    page = loans.loans(
        s, actor=user.username, status=status, district=district, q=q, overdue_only=overdue,
        overdue_days=overdue_days, limit=limit, offset=offset,
    )  # fmt: skip
    return page_json(page, [loan_item_json(i) for i in page.items])


@router.get("/loans/{loan_id}", response_model=Open)
def loan(s: SessionDep, loan_id: DbId, user: ApiViewer, container: ContainerDep) -> dict[str, Any]:
    """One loan: borrower, schedule, payments, counter-guarantors and every notice."""
    d = loans.loan(s, loan_id)
    full = user.can("officer")  # viewers read phones masked (138 **** 0012), as on the console
    return {
        **loan_json(d.loan, d.borrower.name if d.borrower else None),
        "borrower": person_json(d.borrower, full_phone=full),
        "outstanding_principal_fen": d.outstanding_principal_fen,
        "paid_fen": d.paid_fen,
        "installments": [installment_json(i, d.statuses.get(i.seq)) for i in d.installments],
        "payments": [payment_json(p) for p in d.payments],
        "counter_guarantors": [
            {
                "name": p.name,
                "phone": p.phone if full else mask_phone(p.phone),
                "employer": g.employer,
            }
            for g, p in d.guarantors
        ],
        "notices": [notice_json(n, container.quiet_hours) for n in d.notices],
    }


@router.post("/imports/loans")
async def import_loans(
    container: ContainerDep,
    user: ApiOfficer,
    file: Annotated[UploadFile, File(description="贷款文件（CSV 或 XLSX）")],
    installments: Annotated[UploadFile | None, File(description="还款计划（可选）")] = None,
    skip_bad_rows: SkipBadRows = False,
) -> JSONResponse:
    """Import loans like `chuangdai loans import` (422 with the row errors if nothing imported)."""
    limit = container.settings.max_import_mb * 1024 * 1024
    main = await svc.read_upload(file, "loans.csv", limit)
    inst = None
    if installments is not None and installments.filename:
        inst = await svc.read_upload(installments, "installments.csv", limit)
    request = ImportRequest("loans", main, inst, skip_bad_rows)
    return import_response(await workers.import_off_thread(container, user.username, request))


@router.post("/imports/payments")
async def import_payments(
    container: ContainerDep,
    user: ApiOfficer,
    file: Annotated[UploadFile, File(description="还款记录文件（CSV 或 XLSX）")],
    skip_bad_rows: SkipBadRows = False,
) -> JSONResponse:
    """Import payments like `chuangdai payments import` (422 with row errors on failure)."""
    limit = container.settings.max_import_mb * 1024 * 1024
    main = await svc.read_upload(file, "payments.csv", limit)
    request = ImportRequest("payments", main, None, skip_bad_rows)
    return import_response(await workers.import_off_thread(container, user.username, request))
