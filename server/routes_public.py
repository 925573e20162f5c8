"""Public (unauthenticated) API: the eligibility pre-check.

The body is validated twice: by `PrecheckRequest` (every field's JSON type and bounds, in the
OpenAPI schema) and then by `core.applications.precheck_input.parse_precheck_input` (what each applicant type
needs). Both answer 422 with the documented Chinese body `{"detail": …, "field": …}`.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from core.applications.eligibility import precheck
from core.applications.precheck_input import PrecheckInputError, parse_precheck_input
from core.kernel.timeutil import local_today
from server.bootstrap import Container

PRECHECK_PATH = "/api/precheck"
MAX_INT = 10**9  # people and months; far above any real answer, far below 64 bits

Flag = bool | Literal[0, 1] | Annotated[str, Field(max_length=10)]
Count = Annotated[int, Field(ge=0, le=MAX_INT)] | Annotated[str, Field(max_length=12)]
Text = Annotated[str, Field(max_length=500)]


class PrecheckRequest(BaseModel):
    """资格预审 input (README "Pre-check JSON contract"); unknown keys are ignored."""

    model_config = ConfigDict(extra="ignore")

    applicant_type: Literal["individual", "partnership", "enterprise"] | None = None
    category: Literal["unemployed", "veteran", "graduate", "returnee", "woman"] | None = None
    has_certificate: Flag | None = None
    industry: Text | None = None
    purpose: Text | None = None
    bad_credit: Flag | None = None
    amount: (
        Annotated[Decimal, Field(ge=0, le=Decimal(10**12), allow_inf_nan=False)]
        | Annotated[str, Field(max_length=40)]
        | None
    ) = Field(default=None, description="yuan; numbers or as people write them (30万, 五万)")
    term_months: Count | None = None
    members: Count | None = None
    employees: Count | None = None
    new_hires: Count | None = None
    contract_months: Count | None = None


class PrecheckProblem(BaseModel):
    """The 422 body: a Chinese message naming the field."""

    detail: str
    field: str


def problem(field: str, detail: str) -> JSONResponse:
    return JSONResponse({"detail": detail, "field": field}, status_code=422)


def problem_from(exc: RequestValidationError) -> JSONResponse:
    """The first pydantic error as the documented Chinese body."""
    errors = exc.errors()
    first = errors[0] if errors else {}
    loc = [str(p) for p in first.get("loc", ()) if p != "body"]
    if not loc:
        return problem("applicant_type", "输入格式不正确：须为 JSON 对象（字段名: 值）")
    return problem(loc[0], f"字段 {loc[0]} 格式或取值不正确，请对照接口说明填写")


def mount(app: FastAPI, container: Container) -> None:
    router = APIRouter(prefix="/api", tags=["public"])

    @router.post(
        "/precheck",
        responses={422: {"model": PrecheckProblem, "description": "中文错误说明，指明字段"}},
    )
    def post_precheck(payload: PrecheckRequest) -> JSONResponse:
        """资格预审: profile JSON in, decision JSON out (422 with a Chinese message on bad input)."""
        try:
            inp = parse_precheck_input(payload.model_dump(exclude_none=True))
        except PrecheckInputError as exc:
            return problem(exc.field, exc.message)
        decision = precheck(inp, container.policy, local_today(), container.calendar)
        return JSONResponse(decision.to_json_dict())

    app.include_router(router)


async def validation_problem(request: Request, exc: RequestValidationError) -> JSONResponse:
    """422 bodies: the pre-check's documented Chinese shape, FastAPI's default elsewhere."""
    if request.url.path == PRECHECK_PATH:
        return problem_from(exc)
    from fastapi.exception_handlers import request_validation_exception_handler

    return await request_validation_exception_handler(request, exc)


__all__ = ["PrecheckProblem", "PrecheckRequest", "mount", "validation_problem"]
