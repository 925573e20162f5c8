"""The length policy of automatic SMS replies (kept out of the dialogue engine).

The engine's replies, rendered for SMS (short answer, numbered options), are packed line by line
into at most `MAX_MESSAGES` messages of at most `MAX_SEGMENTS` segments each, signature included.
A line too long for one message is cut at sentence ends, then by characters. What does not fit is
dropped and the last message ends with a pointer to Telegram / 回复“人工” instead, so one inbound
SMS never costs more than MAX_MESSAGES × MAX_SEGMENTS segments.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from sms.segments import count_segments
from sms.templates import REPLY_OVERFLOW, render_sms, with_signature

MAX_SEGMENTS = 3
MAX_MESSAGES = 2

_SENTENCE_END = re.compile(r"(?<=[。！？；!?;])")


def _fits(text: str, signature: str, max_segments: int) -> bool:
    return count_segments(with_signature(text, signature)) <= max_segments


def _cut(line: str, room: str, signature: str, max_segments: int) -> list[str]:
    """Split one line into pieces that each fit in a message next to `room` (the overflow note)."""

    def fits(piece: str) -> bool:
        return _fits(f"{piece}\n{room}", signature, max_segments)

    if fits(line):
        return [line]
    pieces: list[str] = []
    for sentence in (s for s in _SENTENCE_END.split(line) if s):
        if fits(sentence):
            if pieces and fits(pieces[-1] + sentence):
                pieces[-1] += sentence
            else:
                pieces.append(sentence)
            continue
        chunk = ""
        for ch in sentence:
            if chunk and not fits(chunk + ch):
                pieces.append(chunk)
                chunk = ""
            chunk += ch
        if chunk:
            pieces.append(chunk)
    return pieces


def plan_reply(
    texts: Sequence[str],
    *,
    signature: str = "",
    max_segments: int = MAX_SEGMENTS,
    max_messages: int = MAX_MESSAGES,
) -> list[str]:
    """The SMS messages (signature included) that answer one inbound message."""
    note = render_sms(REPLY_OVERFLOW, {})
    pieces = [
        piece
        for text in texts
        for line in text.strip().split("\n")
        if line.strip()
        for piece in _cut(line.strip(), note, signature, max_segments)
    ]
    messages: list[list[str]] = []
    current: list[str] = []
    for piece in pieces:
        if not current or _fits("\n".join([*current, piece]), signature, max_segments):
            current.append(piece)
            continue
        if len(messages) + 1 < max_messages:
            messages.append(current)
            current = [piece]
            continue
        # Out of budget: end the last message with the pointer, dropping lines to make room.
        while len(current) > 1 and not _fits("\n".join([*current, note]), signature, max_segments):
            current.pop()
        current.append(note)
        break
    if current:
        messages.append(current)
    return [with_signature("\n".join(m), signature) for m in messages]
