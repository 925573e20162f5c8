"""The front page and the API docs without any CDN.

`GET /` opens the staff console. `/docs` (Swagger UI) and `/redoc` (ReDoc) load their scripts and
styles from this server — the files shipped in the `fastapi-offline` package, mounted at
/static-offline-docs by `FastAPIOffline` — since mainland networks block or slow the public CDNs
FastAPI's own pages use. A Content-Security-Policy keeps the browser from fetching anything from
another host (ReDoc's bundle would otherwise load its logo from cdn.redoc.ly)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse, RedirectResponse

STATIC = "/static-offline-docs"  # FastAPIOffline's default mount
CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; worker-src 'self' blob:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'self'"
)

router = APIRouter(include_in_schema=False)


@router.get("/")
def root() -> RedirectResponse:
    """The front page is the staff console."""
    return RedirectResponse("/console", status_code=307)


def _offline(
    request: Request, render: Callable[..., HTMLResponse], name: str, **assets: Any
) -> HTMLResponse:
    """FastAPI's docs page `render`ed for this app with `assets` from STATIC, under the CSP."""
    app = request.app
    page = render(openapi_url=app.openapi_url, title=f"{app.title} - {name}", **assets)
    page.headers["Content-Security-Policy"] = CSP
    return page


@router.get("/docs")
def swagger(request: Request) -> HTMLResponse:
    return _offline(
        request,
        get_swagger_ui_html,
        "Swagger UI",
        swagger_js_url=f"{STATIC}/swagger-ui-bundle.js",
        swagger_css_url=f"{STATIC}/swagger-ui.css",
        swagger_favicon_url=f"{STATIC}/favicon.png",
    )


@router.get("/redoc")
def redoc(request: Request) -> HTMLResponse:
    return _offline(
        request,
        get_redoc_html,
        "ReDoc",
        redoc_js_url=f"{STATIC}/redoc.standalone.js",
        redoc_favicon_url=f"{STATIC}/favicon.png",
        with_google_fonts=False,
    )
