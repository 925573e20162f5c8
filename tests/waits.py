"""How a test waits: for a positive signal, polled with a deadline — never a fixed sleep. A test
that asserts that something did not happen first waits here for the sign that the work which
would have done it is finished (a queue drained, a handler done, a later reply sent)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

TIMEOUT = 10.0
_INTERVAL = 0.02


def _poll(check: Callable[[], Any], deadline: float, timeout: float) -> Any:
    """`check`'s value; an AssertionError once it is still falsy after the deadline."""
    value = check()
    if not value and time.monotonic() > deadline:
        raise AssertionError(f"condition not reached in {timeout} s")
    return value


def wait_until(
    check: Callable[[], Any], timeout: float = TIMEOUT, interval: float = _INTERVAL
) -> Any:
    """Poll `check` (every `interval` s) until it returns something truthy, and return that;
    fail after `timeout` s."""
    deadline = time.monotonic() + timeout
    while not (value := _poll(check, deadline, timeout)):
        time.sleep(interval)
    return value


async def until(check: Callable[[], Any], timeout: float = TIMEOUT) -> Any:
    """`wait_until` inside an event loop: the loop keeps running while the test waits."""
    deadline = time.monotonic() + timeout
    while not (value := _poll(check, deadline, timeout)):
        await asyncio.sleep(_INTERVAL)
    return value
