"""Public (unauthenticated) API: the eligibility pre-check."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, FastAPI
from fastapi.responses import JSONResponse

from core.eligibility import PrecheckInputError, parse_precheck_input, precheck
from core.timeutil import local_today
from server.bootstrap import Container


def mount(app: FastAPI, container: Container) -> None:
    router = APIRouter(prefix="/api", tags=["public"])

    @router.post("/precheck")
    def post_precheck(payload: Any = Body(...)) -> JSONResponse:
        """资格预审: profile JSON in, decision JSON out (422 with a Chinese message on bad input)."""
        try:
            inp = parse_precheck_input(payload)
        except PrecheckInputError as exc:
            return JSONResponse({"detail": exc.message, "field": exc.field}, status_code=422)
        decision = precheck(inp, container.policy, local_today(), container.calendar)
        return JSONResponse(decision.to_json_dict())

    app.include_router(router)
