"""Per-chat ordering inside one process."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator


class ChatLocks:
    """One lock per chat, so a chat's messages are answered in order while other chats run
    concurrently (the engine stays correct either way; this keeps the replies in order)."""

    def __init__(self) -> None:
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}

    @contextlib.asynccontextmanager
    async def hold(self, chat: str) -> AsyncIterator[None]:
        lock, users = self._locks.get(chat, (asyncio.Lock(), 0))
        self._locks[chat] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[chat]
            if users <= 1:
                del self._locks[chat]
            else:
                self._locks[chat] = (lock, users - 1)
