"""A fake WeChat Official Account API: real HTTP on 127.0.0.1 (uvicorn in a thread).

Serves, under /cgi-bin/: token (client_credential), message/custom/send (客服消息),
message/template/send (模板消息), media/get (temporary media download) and menu/create. Tokens are
checked like WeChat does: an unknown token → 40001, an expired one → 42001. Every call is recorded;
tests can script errcodes (per endpoint, answered first, in order), mark openids unsubscribed
(43004) or outside the 48-hour window (45015), expire every issued token, or hold token requests.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.fakes.local_server import FakeService

APP_ID = "wx1234567890abcdef"
APP_SECRET = "s3cr3t-app-secret-0123456789abcdef"
ERRMSG = {
    40001: "invalid credential, access_token is invalid or not latest",
    40007: "invalid media_id",
    40125: "invalid appsecret",
    42001: "access_token expired",
    43004: "require subscribe",
    45009: "reach max api daily quota limit",
    45015: "response out of time limit or subscription is canceled",
    45047: "out of response count limit",
}


@dataclass
class Call:
    endpoint: str
    params: dict[str, Any]
    body: dict[str, Any]
    errcode: int
    at: float = field(default_factory=time.monotonic)


class FakeWechatApi(FakeService):
    def __init__(self, app_id: str = APP_ID, secret: str = APP_SECRET) -> None:
        self.app_id = app_id
        self.secret = secret
        self.calls: list[Call] = []
        self.valid: set[str] = set()
        self.expired: set[str] = set()
        self.unsubscribed: set[str] = set()
        self.out_of_window: set[str] = set()
        self.media: dict[str, tuple[bytes, str]] = {}
        self.script: dict[str, list[int]] = {}
        self.token_delay = 0.0
        self.menus: list[dict[str, Any]] = []
        self._ids = itertools.count(1)
        app = Starlette(
            routes=[Route("/cgi-bin/{endpoint:path}", self._api, methods=["GET", "POST"])]
        )
        super().__init__(app, "fake WeChat API")

    # --- control -----------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/cgi-bin/"

    def reset(self) -> None:
        super().reset()
        self.token_delay = 0.0

    def expire_tokens(self) -> None:
        """Every token issued so far expires (42001 from now on)."""
        with self._lock:
            self.expired |= self.valid
            self.valid.clear()

    def fail(self, endpoint: str, *codes: int) -> None:
        """Answer the next calls of `endpoint` with these errcodes, in order."""
        with self._lock:
            self.script.setdefault(endpoint, []).extend(codes)

    def of(self, endpoint: str, ok: bool | None = None) -> list[Call]:
        return [
            c
            for c in list(self.calls)
            if c.endpoint == endpoint and (ok is None or (c.errcode == 0) == ok)
        ]

    def texts(self, openid: str | None = None) -> list[str]:
        """Contents of the successful 客服消息 (to one openid if given), in order."""
        return [
            str(c.body["text"]["content"])
            for c in self.of("message/custom/send", ok=True)
            if openid is None or c.body.get("touser") == openid
        ]

    # --- the API -----------------------------------------------------------------------------

    async def _api(self, request: Request) -> Response:
        endpoint = request.path_params["endpoint"].strip("/")
        params = dict(request.query_params)
        raw = await request.body()
        try:
            body = json.loads(raw.decode("utf-8")) if raw else {}
        except ValueError:
            body = {"_raw": raw[:100].decode("utf-8", "replace")}
        if endpoint == "token":
            return await self._token(params)
        code = self._auth(params.get("access_token", ""))
        with self._lock:
            if code == 0 and self.script.get(endpoint):
                code = self.script[endpoint].pop(0)
            touser = str(body.get("touser") or "")
            if code == 0 and endpoint.startswith("message/") and touser in self.unsubscribed:
                code = 43004
            if code == 0 and endpoint == "message/custom/send" and touser in self.out_of_window:
                code = 45015
            if code == 0 and endpoint == "media/get" and params.get("media_id") not in self.media:
                code = 40007
            self.calls.append(Call(endpoint, params, body, code))
        if code != 0:
            return self._error(code)
        if endpoint == "media/get":
            data, ctype = self.media[params["media_id"]]
            return Response(data, media_type=ctype)
        if endpoint == "menu/create":
            self.menus.append(body)
            return JSONResponse({"errcode": 0, "errmsg": "ok"})
        if endpoint in ("message/custom/send", "message/template/send"):
            result: dict[str, Any] = {"errcode": 0, "errmsg": "ok"}
            if endpoint == "message/template/send":
                result["msgid"] = next(self._ids)
            return JSONResponse(result)
        return self._error(40066)  # invalid url

    async def _token(self, params: dict[str, str]) -> Response:
        if self.token_delay:
            await asyncio.sleep(self.token_delay)
        ok = params.get("appid") == self.app_id and params.get("secret") == self.secret
        with self._lock:
            code = 0 if ok else 40125
            if ok and self.script.get("token"):
                code = self.script["token"].pop(0)
            self.calls.append(Call("token", {"appid": params.get("appid", "")}, {}, code))
            if code != 0:
                return self._error(code)
            token = f"TOKEN-{next(self._ids)}-{time.time_ns()}"
            self.valid.add(token)
        return JSONResponse({"access_token": token, "expires_in": 7200})

    def _auth(self, token: str) -> int:
        with self._lock:
            if token in self.valid:
                return 0
            return 42001 if token in self.expired else 40001

    @staticmethod
    def _error(code: int) -> JSONResponse:
        return JSONResponse({"errcode": code, "errmsg": ERRMSG.get(code, "error")})
