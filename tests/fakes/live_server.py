"""A real server process for drills and benchmarks: `uvicorn server.app:create_app` in a
subprocess on a SQLite file (or any DATABASE_URL), with helpers to sign Twilio forms and build
Telegram updates. Used by the kill -9 tests and bench/webhook_bench.py.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from twilio.request_validator import RequestValidator

ROOT = Path(__file__).resolve().parents[2]
TWILIO_TOKEN = "live-auth-token"
TELEGRAM_SECRET = "live-webhook-secret"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class LiveServer:
    """One uvicorn worker serving the whole app; `kill()` is SIGKILL, `start()` starts again."""

    workdir: Path
    database_url: str = ""
    telegram_api: str | None = None
    telegram_token: str = "123456:TEST-TOKEN"
    extra_env: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "TWILIO_"))}
        env.update(
            DATABASE_URL=self.database_url or f"sqlite:///{self.workdir / 'live.db'}",
            DATA_DIR=str(self.workdir),
            PUBLIC_BASE_URL=self.url,
            TWILIO_AUTH_TOKEN=TWILIO_TOKEN,
            SCHEDULER_ENABLED="false",
            SMS_REPLIES_PER_HOUR="1000",
            PYTHONPATH=str(ROOT),
        )
        if self.telegram_api:
            env.update(
                TELEGRAM_BOT_TOKEN=self.telegram_token,
                TELEGRAM_WEBHOOK_SECRET=TELEGRAM_SECRET,
                TELEGRAM_API_BASE_URL=self.telegram_api,
            )
        env.update(self.extra_env)
        return env

    def start(self, timeout: float = 90.0) -> LiveServer:
        self.log_path = self.workdir / "server.log"
        with self.log_path.open("ab") as log:  # the child keeps its own descriptor
            self.proc = subprocess.Popen(
                [
                    sys.executable, "-m", "uvicorn", "server.app:create_app", "--factory",
                    "--host", "127.0.0.1", "--port", str(self.port), "--workers", "1",
                ],
                cwd=ROOT, env=self.env(), stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.log_path.read_text()[-3000:]}")
            try:
                if httpx.get(self.url + "/healthz", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError("server did not start")

    def kill(self) -> None:
        """SIGKILL: no shutdown hook runs."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path else ""


def signed_sms(url: str, form: dict[str, str]) -> dict[str, str]:
    """The X-Twilio-Signature header for `form` posted to `url` (twilio's own validator)."""
    signature = RequestValidator(TWILIO_TOKEN).compute_signature(url, form)
    return {"X-Twilio-Signature": signature}


def sms_form(message_sid: str, sender: str, body: str) -> dict[str, str]:
    return {
        "MessageSid": message_sid,
        "AccountSid": "AC" + "1" * 32,
        "From": sender,
        "To": "+15005550006",
        "Body": body,
        "NumMedia": "0",
    }


def telegram_update(update_id: int, chat_id: int, text: str, message_id: int) -> dict[str, Any]:
    user = {"id": chat_id, "is_bot": False, "first_name": "测试"}
    return {
        "update_id": update_id,
        "message": {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private", "first_name": "测试"},
            "from": user,
            "text": text,
        },
    }


TELEGRAM_HEADERS = {"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET}
