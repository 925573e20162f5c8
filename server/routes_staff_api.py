"""The staff API under /api/staff: the console's operations as JSON for scripts.

Authentication: `Authorization: Bearer <token>` (`chuangdai staff token USERNAME`); 401 without a
valid token, 403 when the role is too low (viewer: reads only; officer: reviews, replies,
broadcasts, imports, knowledge; admin: also staff accounts and the audit log). Errors are
`{"detail": "<Chinese message>"}`. Money is integer fen (`*_fen`), times ISO 8601 in UTC.

Also here: the broadcast worker (every 15 s, in processes with SCHEDULER_ENABLED) that fans out
scheduled broadcasts when their time comes and resumes a fan-out a crashed process left behind.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import (
    APIRouter,
    FastAPI,
    File,
    Form,
    HTTPException,
    Query,
    UploadFile,
)
from fastapi.responses import JSONResponse

from core import backoffice as bo
from core.db import session_scope
from server import staff_services as svc
from server.auth import ApiOfficer, ApiViewer
from server.bootstrap import Container
from server.params import DbId, PageOffset

log = logging.getLogger(__name__)
WORKER_EVERY_SECONDS = 15.0
DOMAIN_ERRORS = svc.DOMAIN_ERRORS

Limit = Annotated[int, Query(ge=1, le=500)]
Offset = PageOffset


from server.staff.shapes import (  # noqa: E402
    import_response,
    installment_json,
    loan_json,
    notice_json,
    page_json,
    payment_json,
    person_json,
)

# --- routes ---------------------------------------------------------------------------------------


def mount(app: FastAPI, container: Container) -> None:
    """Add /api/staff/… and the broadcast worker to the app."""
    engine = container.engine
    r = APIRouter(prefix="/api/staff", tags=["staff"])

    @r.get("/dashboard")
    def dashboard(user: ApiViewer) -> dict[str, Any]:
        """Applications by stage (late review steps), loans, overdue buckets, 5× fund limit."""
        return svc.build_dashboard(container).to_json()

    # loans and imports
    @r.get("/loans")
    def loans(
        user: ApiViewer,
        status: str | None = None,
        district: str | None = None,
        q: str | None = Query(default=None, description="贷款编号或借款人姓名（部分匹配）"),
        overdue: bool = False,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> dict[str, Any]:
        """Loans, newest first; `overdue=true` keeps the active loans with an overdue instalment."""
        with session_scope(engine) as s:
            page = bo.list_loans(
                s,
                status=status,
                district=district,
                q=q,
                overdue_only=overdue,
                limit=limit,
                offset=offset,
            )
            return page_json(
                page,
                [
                    {
                        **loan_json(i.loan, i.borrower_name),
                        "overdue_since": i.overdue_since.isoformat() if i.overdue_since else None,
                    }
                    for i in page.items
                ],
            )

    @r.get("/loans/{loan_id}")
    def loan(loan_id: DbId, user: ApiViewer) -> dict[str, Any]:
        """One loan: borrower, schedule, payments, counter-guarantors and every notice."""
        with session_scope(engine) as s:
            try:
                d = bo.loan_detail(s, loan_id)
            except bo.BackofficeError:
                raise
            return {
                **loan_json(d.loan, d.borrower.name if d.borrower else None),
                "borrower": person_json(d.borrower),
                "outstanding_principal_fen": d.outstanding_principal_fen,
                "paid_fen": d.paid_fen,
                "installments": [
                    installment_json(i, d.statuses.get(i.seq)) for i in d.installments
                ],
                "payments": [payment_json(p) for p in d.payments],
                "counter_guarantors": [
                    {"name": p.name, "phone": p.phone, "employer": g.employer}
                    for g, p in d.guarantors
                ],
                "notices": [notice_json(n) for n in d.notices],
            }

    @r.post("/imports/loans")
    async def import_loans(
        user: ApiOfficer,
        file: Annotated[UploadFile, File(description="贷款文件（CSV 或 XLSX）")],
        installments: Annotated[UploadFile | None, File(description="还款计划（可选）")] = None,
        skip_bad_rows: Annotated[bool, Form()] = False,
    ) -> JSONResponse:
        """Import loans like `chuangdai loans import` (422 with the row errors if nothing imported)."""
        limit = container.settings.max_import_mb * 1024 * 1024
        try:
            main = await svc.read_upload(file, "loans.csv", limit)
            inst = None
            if installments is not None and installments.filename:
                inst = await svc.read_upload(installments, "installments.csv", limit)
            report = await svc.run_import_off_thread(
                container,
                "loans",
                main,
                installments=inst,
                skip_bad_rows=skip_bad_rows,
                actor=user.username,
            )
        except svc.UploadRefused as exc:
            raise HTTPException(422, str(exc)) from exc
        return import_response(report)

    @r.post("/imports/payments")
    async def import_payments(
        user: ApiOfficer,
        file: Annotated[UploadFile, File(description="还款记录文件（CSV 或 XLSX）")],
        skip_bad_rows: Annotated[bool, Form()] = False,
    ) -> JSONResponse:
        """Import payments like `chuangdai payments import` (422 with row errors on failure)."""
        limit = container.settings.max_import_mb * 1024 * 1024
        try:
            main = await svc.read_upload(file, "payments.csv", limit)
            report = await svc.run_import_off_thread(
                container,
                "payments",
                main,
                skip_bad_rows=skip_bad_rows,
                actor=user.username,
            )
        except svc.UploadRefused as exc:
            raise HTTPException(422, str(exc)) from exc
        return import_response(report)

    app.include_router(r)
