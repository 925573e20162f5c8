"""The FastAPI application: webhooks, public API, staff API and console are mounted here."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi_offline import FastAPIOffline

from core.persistence.db import current_revision, head_revision, ping
from server import workers
from server.bodylimit import BodyLimitMiddleware, route_limits
from server.bootstrap import Container, configure_logging, get_container

log = logging.getLogger(__name__)


def create_app(
    container: Container | None = None, *, migrate: bool = True, background: bool = True
) -> FastAPI:
    """Build the app around a container (the tests pass their own)."""
    container = container or get_container()
    configure_logging(container.settings.log_level)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if migrate:
            container.migrate()
        for hook in app.state.startup_hooks:
            await hook(app)
        try:
            yield
        finally:
            for hook in reversed(app.state.shutdown_hooks):
                await hook(app)

    # Swagger UI / ReDoc assets from the fastapi-offline package (mounted at /static-offline-docs);
    # the /docs and /redoc pages themselves are server/routes_docs.py's (no CDN, with a CSP)
    app = FastAPIOffline(
        docs_url=None,
        redoc_url=None,
        title="创贷前台 chuangdai",
        description="创业担保贷款 front office: webhooks, pre-check, staff API and console.",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.container = container
    app.state.startup_hooks = []
    app.state.shutdown_hooks = []

    @app.get("/healthz", tags=["ops"])
    def healthz() -> JSONResponse:
        """Database reachability and schema version."""
        engine = container.engine
        ok = ping(engine)
        body: dict[str, Any] = {
            "status": "ok" if ok else "error",
            "database": "reachable" if ok else "unreachable",
            "dialect": engine.dialect.name,
            "schema_version": current_revision(engine) if ok else None,
            "schema_head": head_revision(),
        }
        if ok and body["schema_version"] != body["schema_head"]:
            body["status"] = "migrating"
        return JSONResponse(body, status_code=200 if ok else 503)

    from server.routes_public import validation_problem

    app.add_exception_handler(RequestValidationError, validation_problem)  # type: ignore[arg-type]

    @app.exception_handler(Exception)
    async def _unhandled(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s", request.url.path)
        return JSONResponse({"detail": "服务器内部错误，请稍后再试"}, status_code=500)

    limits, default = route_limits(container.settings.max_import_mb * 1024 * 1024)
    app.add_middleware(BodyLimitMiddleware, limits=limits, default=default)
    _mount_routers(app, container)
    workers.install(app, container, background=background)
    return app


def _mount_routers(app: FastAPI, container: Container) -> None:
    """Each front door adds its routes; kept in one place so the wiring is visible."""
    from server import (
        routes_aliyun_sms,
        routes_docs,
        routes_public,
        routes_sms,
        routes_telegram,
        routes_wechat,
        staff,
    )

    app.include_router(routes_docs.router)
    routes_public.mount(app, container)
    routes_telegram.mount(app, container)
    routes_sms.mount(app, container)
    routes_aliyun_sms.mount(app, container)
    routes_wechat.mount(app, container)
    staff.include(app, container)
