"""The WeChat door: GET /wechat (server verification) and POST /wechat (messages and events).

Without WECHAT_APP_ID, WECHAT_APP_SECRET and WECHAT_TOKEN the server runs and /wechat answers 503
with a log line naming the missing settings. The sender for the outbox and the webhook handler
share one wechatpy client (wechat/client.py, built by server/bootstrap.py) whose access_token
lives in the database.
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, FastAPI, Request, Response

from server.bootstrap import Container, wechat_missing
from server.webhook_io import read_capped, respond

log = logging.getLogger(__name__)
PATH = "/wechat"
MAX_BODY = 64 * 1024  # a WeChat message is a few kB of XML


def mount(app: FastAPI, container: Container) -> None:
    """The routes over the container's handler (drained at shutdown by server/workers.py)."""
    missing = wechat_missing(container.settings)
    if missing:
        log.warning("WeChat is not configured (%s): %s answers 503", ", ".join(missing), PATH)
    webhooks = container.wechat_webhooks
    app.state.wechat = webhooks
    router = APIRouter(tags=["wechat"])

    @router.get(PATH)
    async def wechat_verify(request: Request) -> Response:
        """WeChat server verification: signature over token/timestamp/nonce → echostr."""
        return respond(webhooks.verify(dict(request.query_params)))

    @router.post(PATH)
    async def wechat_message(request: Request) -> Response:
        """Messages and events (plaintext or 安全模式), signature-checked, deduplicated."""
        body = await read_capped(request, MAX_BODY, "too large")
        if isinstance(body, Response):
            return body
        return respond(await webhooks.receive(dict(request.query_params), body))

    app.include_router(router)
