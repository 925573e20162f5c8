"""Replies of the dialogue engine as WeChat text: numbered options, 2,048-byte pieces.

WeChat has no inline buttons in passive replies, so options are numbered text ("回复 1 是 / 2 否",
the same rendering as the terminal); a text message carries at most 2,048 bytes of UTF-8, so long
answers are split at line ends, then sentence ends, then characters (never inside a character).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from core.dialogue.events import Reply, render_terminal

MAX_BYTES = 2048
_SENTENCE_END = re.compile(r"(?<=[。！？；!?;])")


def _size(text: str) -> int:
    return len(text.encode("utf-8"))


def reply_text(replies: Sequence[Reply]) -> str:
    """All replies of one message as one text (options numbered under each reply)."""
    return "\n\n".join(t for t in (render_terminal(r).strip() for r in replies) if t)


def _cut_line(line: str, limit: int) -> list[str]:
    if _size(line) <= limit:
        return [line]
    pieces: list[str] = []
    current = ""
    for sentence in (s for s in _SENTENCE_END.split(line) if s):
        if _size(current + sentence) <= limit:
            current += sentence
            continue
        if current:
            pieces.append(current)
            current = ""
        while _size(sentence) > limit:
            cut = limit
            while _size(sentence[:cut]) > limit:
                cut -= 1
            # characters, not bytes: sentence[:cut] never splits a character
            pieces.append(sentence[:cut])
            sentence = sentence[cut:]
        current = sentence
    if current:
        pieces.append(current)
    return pieces


def split_text(text: str, limit: int = MAX_BYTES) -> list[str]:
    """Pieces of at most `limit` UTF-8 bytes, split at line ends where possible."""
    text = text.strip()
    if not text:
        return []
    if _size(text) <= limit:
        return [text]
    pieces: list[str] = []
    current = ""
    for line in text.split("\n"):
        for part in _cut_line(line, limit):
            candidate = f"{current}\n{part}" if current else part
            if _size(candidate) <= limit:
                current = candidate
            else:
                if current.strip():
                    pieces.append(current.strip("\n"))
                current = part
    if current.strip():
        pieces.append(current.strip("\n"))
    return pieces
