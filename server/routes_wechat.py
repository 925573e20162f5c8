"""The WeChat door: GET /wechat (server verification) and POST /wechat (messages and events).

Without WECHAT_APP_ID, WECHAT_APP_SECRET and WECHAT_TOKEN the server runs and /wechat answers 503
with a log line naming the missing settings. The sender for the outbox and the webhook handler
share one wechatpy client (wechat/client.py) whose access_token lives in the database.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, FastAPI, Request, Response

from core.kernel.settings import Settings
from core.outbox.senders import ConsoleSender, Sender
from server.bootstrap import Container
from wechat.client import DbTokenStore, WechatApiClient, install_log_scrubbing
from wechat.inbound import Authenticator
from wechat.media import MediaFetcher
from wechat.sender import WechatSender
from wechat.texts import WechatData, load_wechat_data
from wechat.webhooks import Dialogue, WebhookResponse, WechatWebhooks

log = logging.getLogger(__name__)
PATH = "/wechat"
MAX_BODY = 64 * 1024  # a WeChat message is a few kB of XML


def missing_settings(settings: Settings) -> list[str]:
    wanted = {
        "WECHAT_APP_ID": settings.wechat_app_id,
        "WECHAT_APP_SECRET": settings.wechat_app_secret,
        "WECHAT_TOKEN": settings.wechat_token,
    }
    missing = [name for name, value in wanted.items() if not value]
    key = settings.wechat_encoding_aes_key
    if key and len(key) != 43:
        missing.append("WECHAT_ENCODING_AES_KEY (must be 43 characters)")
    return missing


def wechat_data(container: Container) -> WechatData:
    return load_wechat_data(container.knowledge_path / "templates" / "wechat.yaml")


def wechat_client(container: Container) -> WechatApiClient | None:
    """The process's wechatpy client, cached on the container (None when not configured)."""
    cache = vars(container)
    if "wechat_client" not in cache:
        s = container.settings
        client = None
        if not missing_settings(s):
            install_log_scrubbing()
            assert s.wechat_app_id and s.wechat_app_secret
            client = WechatApiClient(
                s.wechat_app_id,
                s.wechat_app_secret,
                DbTokenStore(container.engine, s.wechat_app_id),
                api_base_url=s.wechat_api_base_url,
            )
        cache["wechat_client"] = client
    found: WechatApiClient | None = cache["wechat_client"]
    return found


def build_wechat_sender(container: Container) -> Sender:
    """The "wechat" sender of the outbox (a console sender that logs when not configured)."""
    client = wechat_client(container)
    if client is None:
        return ConsoleSender("wechat")
    return WechatSender(
        client,
        container.engine,
        wechat_data(container),
        rate_per_second=container.settings.wechat_rate_per_second,
    )


def build_webhooks(container: Container) -> WechatWebhooks:
    s = container.settings
    client = wechat_client(container)
    auth = None
    media = None
    if client is not None:
        assert s.wechat_token and s.wechat_app_id
        auth = Authenticator(
            token=s.wechat_token, app_id=s.wechat_app_id, aes_key=s.wechat_encoding_aes_key
        )
        media = MediaFetcher(client, max_bytes=s.max_upload_mb * 1024 * 1024)

    def dialogue() -> Dialogue:
        holder: Any = container  # `.dialogue`: the Container's DialogueEngine, built on first use
        engine: Dialogue = holder.dialogue
        return engine

    return WechatWebhooks(
        db=container.engine, dialogue=dialogue, auth=auth, media=media, data=wechat_data(container)
    )


def _respond(result: WebhookResponse) -> Response:
    return Response(result.body, status_code=result.status_code, media_type=result.media_type)


def mount(app: FastAPI, container: Container) -> None:
    missing = missing_settings(container.settings)
    if missing:
        log.warning("WeChat is not configured (%s): %s answers 503", ", ".join(missing), PATH)
    webhooks = build_webhooks(container)
    app.state.wechat = webhooks
    if hasattr(app.state, "shutdown_hooks"):

        async def stop(_app: FastAPI) -> None:
            await webhooks.drain()

        app.state.shutdown_hooks.append(stop)
    router = APIRouter(tags=["wechat"])

    @router.get(PATH)
    async def wechat_verify(request: Request) -> Response:
        """WeChat server verification: signature over token/timestamp/nonce → echostr."""
        return _respond(webhooks.verify(dict(request.query_params)))

    @router.post(PATH)
    async def wechat_message(request: Request) -> Response:
        """Messages and events (plaintext or 安全模式), signature-checked, deduplicated."""
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > MAX_BODY:
            return Response("too large", status_code=413)
        body = bytearray()
        async for chunk in request.stream():
            body.extend(chunk)
            if len(body) > MAX_BODY:
                return Response("too large", status_code=413)
        return _respond(await webhooks.receive(dict(request.query_params), bytes(body)))

    app.include_router(router)
