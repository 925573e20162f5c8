"""Shared helpers of the dialogue tests: a user talking to the real engine, tiny valid files."""

from __future__ import annotations

import io
import uuid
import zlib
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path

from sqlalchemy.engine import Engine

import knowledge
from core.dialogue.engine import DialogueEngine
from core.dialogue.events import InboundEvent, Reply
from core.dialogue.otp import OneTimeCodes
from core.kernel.filestore import LocalFileStore
from core.kernel.timeutil import utcnow
from core.kernel.workdays import WorkCalendar
from knowledge.policy import Policy

TODAY = date(2026, 11, 24)
KNOWLEDGE = Path(knowledge.__file__).resolve().parent


class FixedCodes:
    """The code generator of the tests: every code sent is remembered (as the SMS would carry it)."""

    def __init__(self) -> None:
        self.sent: list[str] = []
        self._n = 0

    def __call__(self) -> str:
        self._n += 1
        code = f"{123450 + self._n:06d}"
        self.sent.append(code)
        return code


def make_engine(
    engine: Engine,
    kb: knowledge.KnowledgeBase,
    policy: Policy,
    tmp_path: Path,
    codes: FixedCodes | None = None,
    *,
    today: date = TODAY,
    now: Callable[[], datetime] = utcnow,
    max_upload_bytes: int = 2 * 1024 * 1024,
) -> DialogueEngine:
    """The real dialogue engine of the tests, on `engine` and the given knowledge; one-time codes
    come from `codes` (and are checked against `now`) when given, else at random."""
    return DialogueEngine(
        engine,
        faq=kb,
        policy=policy,
        calendar=WorkCalendar(KNOWLEDGE / "calendar"),
        files=LocalFileStore(tmp_path / "docs"),
        max_upload_bytes=max_upload_bytes,
        today=lambda: today,
        codes=None if codes is None else OneTimeCodes("test-pepper", generate=codes, now=now),
    )


class User:
    """Talks to the engine like a person on one channel."""

    def __init__(self, engine: DialogueEngine, channel: str = "telegram", address: str = "2001"):
        self.engine, self.channel, self.address = engine, channel, address

    def say(self, text: str = "", **kw: object) -> list[Reply]:
        event = InboundEvent(
            channel=self.channel,
            address=self.address,
            message_id=str(kw.pop("message_id", uuid.uuid4().hex)),
            text=text,
            **kw,  # type: ignore[arg-type]
        )
        return self.engine.handle(event).replies

    def text(self, text: str = "", **kw: object) -> str:
        return "\n".join(r.text for r in self.say(text, **kw))

    def as_(self, channel: str, address: str) -> User:
        return User(self.engine, channel, address)


def png(seed: int = 0) -> bytes:
    """A tiny valid PNG, different per seed."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return len(data).to_bytes(4, "big") + body + zlib.crc32(body).to_bytes(4, "big")

    ihdr = (1).to_bytes(4, "big") * 2 + bytes([8, 0, 0, 0, 0])
    raw = zlib.compress(bytes([0, seed % 256]))
    out = io.BytesIO()
    out.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", raw))
    out.write(chunk(b"IEND", b""))
    return out.getvalue()


def id_number(first17: str) -> str:
    from core.kernel.identity import id_check_digit

    return first17 + id_check_digit(first17)
