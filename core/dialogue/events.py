"""Channel-agnostic inbound events and outbound replies of the dialogue engine."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from core.kernel.filestore import safe_basename


@dataclass(frozen=True)
class Attachment:
    """A file that came with a message (photo, PDF). `data` is already downloaded by the adapter,
    which must refuse files above the size limit *before* downloading (set `too_large`)."""

    data: bytes = b""
    filename: str | None = None
    declared_type: str | None = None
    declared_size: int | None = None
    too_large: bool = False

    def __post_init__(self) -> None:
        if self.filename is not None:  # stored as sent: a safe base name only
            object.__setattr__(self, "filename", safe_basename(self.filename) or None)


@dataclass(frozen=True)
class InboundEvent:
    channel: str  # telegram | wechat | sms | terminal
    address: str  # chat id (telegram), openid (wechat), E.164 number (sms), "local" (terminal)
    message_id: str  # unique per channel: a repeat is answered once
    text: str = ""
    option: str | None = None  # key of a chosen option (inline button)
    attachments: tuple[Attachment, ...] = ()
    contact_phone: str | None = None  # a verified phone number shared by the user (Telegram)
    start_payload: str | None = None  # deep-link payload of /start
    display_name: str | None = None

    def __post_init__(self) -> None:
        # Text from JSON may hold lone surrogates ("\ud800"): not storable in any database.
        for name in ("text", "start_payload", "display_name", "contact_phone"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, storable_text(value))


def storable_text(value: str) -> str:
    """`value` with lone surrogates (and NUL) replaced, so it can be stored and logged."""
    if value.isascii() and "\x00" not in value:
        return value
    return _UNSTORABLE.sub("\ufffd", value)


_UNSTORABLE = re.compile("[\ud800-\udfff\x00]")


@dataclass(frozen=True)
class Option:
    key: str
    label: str


@dataclass(frozen=True)
class Reply:
    text: str
    options: tuple[Option, ...] = ()
    sms_text: str | None = None  # a shorter rendering for SMS; None means use `text`
    request_contact: bool = False  # Telegram: offer the "share my phone number" button

    def to_dict(self) -> dict[str, object]:
        return {
            "text": self.text,
            "options": [{"key": o.key, "label": o.label} for o in self.options],
            "sms_text": self.sms_text,
            "request_contact": self.request_contact,
        }

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> Reply:
        raw_options = data.get("options") or []
        assert isinstance(raw_options, list)
        sms = data.get("sms_text")
        return cls(
            text=str(data.get("text", "")),
            options=tuple(Option(str(o["key"]), str(o["label"])) for o in raw_options),
            sms_text=str(sms) if sms is not None else None,
            request_contact=bool(data.get("request_contact", False)),
        )


def render_options_numbered(options: tuple[Option, ...]) -> str:
    """Options as the SMS and terminal show them: '回复 1 是 / 2 否'."""
    if not options:
        return ""
    return "回复 " + " / ".join(f"{i} {o.label}" for i, o in enumerate(options, start=1))


def render_sms(reply: Reply) -> str:
    """The SMS text of a reply: the short rendering plus numbered options."""
    body = reply.sms_text if reply.sms_text is not None else reply.text
    numbered = render_options_numbered(reply.options)
    return f"{body}\n{numbered}" if numbered else body


def render_terminal(reply: Reply) -> str:
    numbered = render_options_numbered(reply.options)
    return f"{reply.text}\n{numbered}" if numbered else reply.text


@dataclass
class EngineResult:
    """Replies plus whether they were a repeat of an already answered message id."""

    replies: list[Reply] = field(default_factory=list)
    duplicate: bool = False
    response: str | None = None  # what the door's `finish` rendered (e.g. TwiML), kept for repeats
