"""A fake Telegram Bot API server: real HTTP on 127.0.0.1 (uvicorn in a thread), for PTB tests.

Implements getMe, sendMessage, answerCallbackQuery, editMessageReplyMarkup, getFile + file
download, setMyCommands, setWebhook, deleteWebhook, getWebhookInfo and getUpdates. Records every
call; can be told that a chat blocked the bot (403) or to answer 429 with retry_after for a chat.
PTB posts form fields; nested values (reply_markup, commands, scope) arrive as JSON strings.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from tests.fakes.local_server import FakeService

BOT_USER = {
    "id": 4242,
    "is_bot": True,
    "first_name": "创贷助手",
    "username": "chuangdai_test_bot",
    "can_join_groups": True,
    "can_read_all_group_messages": False,
    "supports_inline_queries": False,
}
_JSON_FIELDS = ("reply_markup", "commands", "scope", "allowed_updates")


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    status: int
    at: float = field(default_factory=time.monotonic)


class FakeBotApi(FakeService):
    def __init__(self, token: str = "123456:TEST-TOKEN") -> None:
        self.token = token
        self.calls: list[Call] = []
        self.downloads: list[str] = []
        self.files: dict[str, tuple[str, bytes]] = {}
        self.blocked: set[int] = set()
        self.flood: dict[int, list[int]] = {}
        self.updates: list[dict[str, Any]] = []
        self.streamed: set[str] = set()  # file paths served chunked, without any declared size
        self.served: dict[str, int] = {}  # bytes handed out per streamed path
        self._message_id = 1000
        app = Starlette(
            routes=[
                Route("/bot{token}/{method}", self._api, methods=["POST", "GET"]),
                Route("/file/bot{token}/{path:path}", self._file, methods=["GET"]),
            ]
        )
        super().__init__(app, "fake Bot API")

    # --- control -----------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    def add_file(self, file_id: str, data: bytes, path: str) -> None:
        self.files[file_id] = (path, data)

    def sent(self, chat_id: int | None = None) -> list[Call]:
        """Successful sendMessage calls (to one chat if given)."""
        return [
            c
            for c in list(self.calls)
            if c.method == "sendMessage"
            and c.status == 200
            and (chat_id is None or int(c.params["chat_id"]) == chat_id)
        ]

    def of(self, method: str) -> list[Call]:
        return [c for c in list(self.calls) if c.method == method]

    # --- the API -----------------------------------------------------------------------------

    async def _api(self, request: Request) -> Response:
        if request.path_params["token"] != self.token:
            return self._error(401, "Unauthorized")
        method = request.path_params["method"]
        params: dict[str, Any] = {}
        if request.headers.get("content-type", "").startswith("application/json"):
            params = await request.json()
        else:
            for key, value in (await request.form()).items():
                if key in _JSON_FIELDS and isinstance(value, str):
                    params[key] = json.loads(value)
                else:
                    params[key] = value
        handler = getattr(self, f"_m_{method}", None)
        if handler is None:
            return self._error(404, "Not Found: method not found")
        status, result = await handler(params)
        with self._lock:
            self.calls.append(Call(method, params, status))
        if status != 200:
            return JSONResponse(result, status_code=status)
        return JSONResponse({"ok": True, "result": result})

    async def _file(self, request: Request) -> Response:
        path = request.path_params["path"]
        for stored_path, data in self.files.values():
            if stored_path == path:
                self.downloads.append(path)
                if path not in self.streamed:
                    return Response(data, media_type="application/octet-stream")
                return StreamingResponse(self._chunks(path, data))  # no Content-Length
        return Response(status_code=404)

    async def _chunks(self, path: str, data: bytes) -> Any:
        for start in range(0, len(data), 64 * 1024):
            self.served[path] = start + 64 * 1024
            yield data[start : start + 64 * 1024]
            await asyncio.sleep(0)

    @staticmethod
    def _error(code: int, description: str, **parameters: Any) -> JSONResponse:
        body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
        if parameters:
            body["parameters"] = parameters
        return JSONResponse(body, status_code=code)

    async def _m_getMe(self, params: dict[str, Any]) -> tuple[int, Any]:
        return 200, BOT_USER

    async def _m_sendMessage(self, params: dict[str, Any]) -> tuple[int, Any]:
        chat_id = int(params["chat_id"])
        if chat_id in self.blocked:
            body = {
                "ok": False,
                "error_code": 403,
                "description": "Forbidden: bot was blocked by the user",
            }
            return 403, body
        waits = self.flood.get(chat_id)
        if waits:
            after = waits.pop(0)
            body = {
                "ok": False,
                "error_code": 429,
                "description": f"Too Many Requests: retry after {after}",
                "parameters": {"retry_after": after},
            }
            return 429, body
        with self._lock:
            self._message_id += 1
            message_id = self._message_id
        chat_type = "private" if chat_id > 0 else "supergroup"
        message: dict[str, Any] = {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": chat_type},
            "from": BOT_USER,
            "text": params.get("text", ""),
        }
        if "reply_markup" in params:
            markup = params["reply_markup"]
            if "inline_keyboard" in markup:
                message["reply_markup"] = markup
        return 200, message

    async def _m_answerCallbackQuery(self, params: dict[str, Any]) -> tuple[int, Any]:
        return 200, True

    async def _m_editMessageReplyMarkup(self, params: dict[str, Any]) -> tuple[int, Any]:
        return 200, True

    async def _m_getFile(self, params: dict[str, Any]) -> tuple[int, Any]:
        file_id = params["file_id"]
        if file_id not in self.files:
            return 400, {
                "ok": False,
                "error_code": 400,
                "description": "Bad Request: invalid file_id",
            }
        path, data = self.files[file_id]
        result: dict[str, Any] = {
            "file_id": file_id,
            "file_unique_id": f"u-{file_id}",
            "file_size": len(data),
            "file_path": path,
        }
        if path in self.streamed:
            del result["file_size"]  # as the Bot API does for some documents
        return 200, result

    async def _m_setMyCommands(self, params: dict[str, Any]) -> tuple[int, Any]:
        return 200, True

    async def _m_setWebhook(self, params: dict[str, Any]) -> tuple[int, Any]:
        return 200, True

    async def _m_deleteWebhook(self, params: dict[str, Any]) -> tuple[int, Any]:
        return 200, True

    async def _m_getWebhookInfo(self, params: dict[str, Any]) -> tuple[int, Any]:
        return 200, {"url": "", "has_custom_certificate": False, "pending_update_count": 0}

    async def _m_getUpdates(self, params: dict[str, Any]) -> tuple[int, Any]:
        offset = int(params.get("offset") or 0)
        deadline = time.monotonic() + min(float(params.get("timeout") or 0), 1.0)
        while True:
            with self._lock:
                self.updates = [u for u in self.updates if u["update_id"] >= offset]
                ready = list(self.updates)
            if ready or time.monotonic() >= deadline:
                return 200, ready
            await asyncio.sleep(0.05)
