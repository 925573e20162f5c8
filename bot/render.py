"""Replies of the dialogue engine as Telegram messages: text chunks plus one keyboard."""

from __future__ import annotations

from dataclasses import dataclass

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
)
from telegram.constants import MessageLimit

from bot import texts as T
from core.dialogue.events import Reply

Markup = InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove
MAX_TEXT = int(MessageLimit.MAX_TEXT_LENGTH)
MAX_CALLBACK_BYTES = 64  # Telegram's limit for callback_data


@dataclass(frozen=True)
class OutMessage:
    text: str
    markup: Markup | None = None


def inline_keyboard(options: tuple[tuple[str, str], ...]) -> InlineKeyboardMarkup | None:
    """One button per row (Chinese labels are long); callback_data is the option key."""
    rows = [
        [InlineKeyboardButton(label, callback_data=key)]
        for key, label in options
        if len(key.encode()) <= MAX_CALLBACK_BYTES
    ]
    return InlineKeyboardMarkup(rows) if rows else None


def contact_keyboard() -> ReplyKeyboardMarkup:
    return ReplyKeyboardMarkup(
        [[KeyboardButton(T.CONTACT_BUTTON, request_contact=True)]],
        one_time_keyboard=True,
        resize_keyboard=True,
    )


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Split at line breaks into pieces Telegram accepts (hard cut for an over-long line)."""
    if len(text) <= limit:
        return [text]
    pieces: list[str] = []
    current = ""
    for line in text.split("\n"):
        while len(line) > limit:
            if current:
                pieces.append(current)
                current = ""
            pieces.append(line[:limit])
            line = line[limit:]
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > limit:
            pieces.append(current)
            current = line
        else:
            current = candidate
    if current:
        pieces.append(current)
    return pieces


def to_messages(reply: Reply, remove_keyboard: bool = False) -> list[OutMessage]:
    """The messages of one reply; the keyboard goes on the last piece."""
    markup: Markup | None = None
    if reply.request_contact:
        markup = contact_keyboard()
    elif reply.options:
        markup = inline_keyboard(tuple((o.key, o.label) for o in reply.options))
    elif remove_keyboard:
        markup = ReplyKeyboardRemove()
    pieces = split_text(reply.text)
    return [OutMessage(p, markup if i == len(pieces) - 1 else None) for i, p in enumerate(pieces)]
