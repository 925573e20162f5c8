"""The typed staff errors as HTTP answers, registered once for the whole app.

NotFound → 404, Conflict → 409, Forbidden → 403, Invalid → 422, the body `{"detail": "<Chinese>"}`
on the API; on /console the same status with the console's error page (the console routes that
redirect with a flash message catch the error themselves)."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.responses import Response

from core.staff.errors import Conflict, Forbidden, Invalid, NotFound, StaffCommandError

STATUS: dict[type[StaffCommandError], int] = {
    NotFound: 404,
    Conflict: 409,
    Forbidden: 403,
    Invalid: 422,
}

ErrorPage = Callable[[Request, str, int], Response]


def status_of(error: StaffCommandError) -> int:
    """The HTTP status of a typed error (by class, first match along the MRO)."""
    for cls in type(error).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 409


def install(app: FastAPI, console_page: ErrorPage) -> None:
    """Register the handlers (once; `console_page` renders the console's error page)."""

    async def handle(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StaffCommandError)
        status = status_of(exc)
        if request.url.path.startswith("/console"):
            return console_page(request, str(exc), status)
        return JSONResponse({"detail": str(exc)}, status_code=status)

    for error in STATUS:
        app.add_exception_handler(error, handle)
