"""A Starlette app served by uvicorn on a free loopback port in a thread: the fakes of outside
HTTP services (Telegram Bot API, WeChat API) run on it."""

from __future__ import annotations

import socket
import threading
from typing import Self

import uvicorn
from starlette.applications import Starlette

from tests.waits import wait_until


class LocalServer:
    def __init__(self, app: Starlette, name: str) -> None:
        self.name = name
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.bind(("127.0.0.1", 0))
        self.port: int = self._sock.getsockname()[1]
        self._server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
        self._thread = threading.Thread(target=self._server.run, args=([self._sock],), daemon=True)

    def start(self) -> None:
        self._thread.start()
        wait_until(lambda: self._server.started)  # serving

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=5)


class FakeService:
    """The shared part of the fakes of outside HTTP services: a Starlette app on a LocalServer,
    a lock for the state the handlers record, and `reset()`, which empties that state (every
    public list, set and dict attribute) between tests."""

    def __init__(self, app: Starlette, name: str) -> None:
        self._lock = threading.Lock()
        self._http = LocalServer(app, name)
        self.port = self._http.port

    def start(self) -> Self:
        self._http.start()
        return self

    def stop(self) -> None:
        self._http.stop()

    def reset(self) -> None:
        with self._lock:
            for name, value in vars(self).items():
                if not name.startswith("_") and isinstance(value, list | set | dict):
                    value.clear()
