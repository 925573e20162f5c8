"""`chuangdai chat`: the terminal door to the dialogue engine (the same engine as Telegram and SMS).

Interactive on a terminal; from a pipe it reads one message a line. `--json` prints one JSON
object per bot reply: {"text": ..., "options": [labels], "request_contact": bool}. A line
`/attach PATH` sends that file as a document (the engine checks type by content, size and
sha256 duplicates, as for Telegram and MMS). A one-time code the bot sends by SMS is shown on
standard error when no SMS provider is configured (as the console sender would log it).
"""

from __future__ import annotations

import json
import sys
import uuid
from pathlib import Path

import typer
from rich.console import Console
from sqlmodel import Session, col, select

from core.dialogue.engine import DialogueEngine
from core.dialogue.events import Attachment, InboundEvent, Reply, render_terminal
from core.dialogue.otp import OTP_KIND
from core.kernel.identity import mask_phone
from core.outbox.senders import ConsoleSender
from core.persistence.models import NoticeRow
from core.persistence.models_otp import OneTimeCodeRow
from server.bootstrap import Container, get_container
from server.cli import app

console = Console()
err = Console(stderr=True)
CHANNEL = "terminal"
EXIT_WORDS = ("exit", "quit")
BANNER = "创贷前台 终端对话（输入 exit 退出；回复数字选择选项；/attach 文件路径 发送材料）"


class ChatDoor:
    """One terminal conversation: lines in, replies out."""

    def __init__(self, container: Container, address: str, as_json: bool) -> None:
        self.container = container
        self.engine: DialogueEngine = container.dialogue
        self.address = address
        self.as_json = as_json
        self.max_bytes = container.settings.max_upload_mb * 1024 * 1024
        self.codes_shown: set[int] = set()

    def start(self) -> None:
        self._send(InboundEvent(CHANNEL, self.address, uuid.uuid4().hex, start_payload=""))

    def line(self, text: str) -> None:
        text = text.rstrip("\r\n")
        if text.startswith("/attach"):
            attachment = self._attachment(text[len("/attach") :].strip())
            if attachment is None:
                return
            event = InboundEvent(CHANNEL, self.address, uuid.uuid4().hex, attachments=(attachment,))
        else:
            event = InboundEvent(CHANNEL, self.address, uuid.uuid4().hex, text=text)
        self._send(event)

    def _attachment(self, raw: str) -> Attachment | None:
        path = Path(raw.strip("'\"")).expanduser()
        if not raw:
            err.print("用法：/attach 文件路径", markup=False)
            return None
        if not path.is_file():
            err.print(f"找不到文件：{path}", markup=False)
            return None
        size = path.stat().st_size
        if size > self.max_bytes:  # refused before reading, as the other doors do
            return Attachment(filename=path.name, declared_size=size, too_large=True)
        return Attachment(data=path.read_bytes(), filename=path.name, declared_size=size)

    def _send(self, event: InboundEvent) -> None:
        for reply in self.engine.handle(event).replies:
            self._print(reply)
        self._show_codes()

    def _print(self, reply: Reply) -> None:
        if self.as_json:
            body = {
                "text": reply.text,
                "options": [o.label for o in reply.options],
                "request_contact": reply.request_contact,
            }
            sys.stdout.write(json.dumps(body, ensure_ascii=False) + "\n")
            sys.stdout.flush()
        else:
            console.print(render_terminal(reply), markup=False, highlight=False)
            console.print()

    def _show_codes(self) -> None:
        """Codes sent for this chat: shown here when SMS goes to the console sender."""
        if not isinstance(self.container.sms_sender, ConsoleSender):
            return
        with Session(self.container.engine) as s:
            rows = s.exec(
                select(OneTimeCodeRow).where(
                    OneTimeCodeRow.channel == CHANNEL,
                    OneTimeCodeRow.address == self.address,
                    col(OneTimeCodeRow.used_at).is_(None),
                )
            ).all()
            for row in rows:
                if row.id in self.codes_shown:
                    continue
                self.codes_shown.add(int(row.id or 0))
                notice = s.exec(
                    select(NoticeRow).where(
                        NoticeRow.key == f"otp:{row.id}", NoticeRow.kind == OTP_KIND
                    )
                ).first()
                if notice is not None:
                    sys.stderr.write(f"[短信 → {mask_phone(notice.address)}] {notice.text}\n")


@app.command("chat")
def chat(
    address: str = typer.Option("local", help="Conversation address (one per trainee or script)"),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per bot reply"),
) -> None:
    """Talk to the bot in the terminal, or pipe messages in (one a line; /attach PATH sends a file)."""
    container = get_container()
    container.migrate()
    door = ChatDoor(container, address, as_json)
    if not sys.stdin.isatty():
        for text in sys.stdin:  # a script: the lines are the conversation
            if text.strip().lower() in EXIT_WORDS:
                break
            door.line(text)
        return
    console.print(BANNER, markup=False, highlight=False)
    door.start()
    while True:
        try:
            text = console.input("[bold green]您：[/bold green]")
        except (EOFError, KeyboardInterrupt):
            break
        if text.strip().lower() in EXIT_WORDS:
            break
        door.line(text)
