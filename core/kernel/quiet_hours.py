"""Quiet hours: the daily window (Asia/Shanghai) in which no notice or broadcast is sent."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any

from core.kernel.timeutil import SHANGHAI


def parse_hhmm(value: Any, what: str) -> time:
    """Parse "21:00" into time(21, 0); a ValueError naming `what` otherwise."""
    try:
        hours, minutes = str(value).split(":")
        return time(int(hours), int(minutes))
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{what}: expected HH:MM, got {value!r}") from exc


@dataclass(frozen=True)
class QuietHours:
    """A daily window (Asia/Shanghai) in which notices are not sent; may wrap midnight."""

    start: time = time(21, 0)
    end: time = time(8, 0)

    @classmethod
    def parse(cls, start: str, end: str) -> QuietHours:
        return cls(parse_hhmm(start, "quiet hours start"), parse_hhmm(end, "quiet hours end"))

    def contains(self, at: datetime) -> bool:
        local = at.astimezone(SHANGHAI).time()
        if self.start == self.end:
            return False
        if self.start < self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end

    def next_allowed(self, at: datetime) -> datetime:
        """`at` itself outside quiet hours, else the end of the quiet window (aware UTC)."""
        if not self.contains(at):
            return at
        local = at.astimezone(SHANGHAI)
        end = datetime.combine(local.date(), self.end, tzinfo=SHANGHAI)
        if end <= local:
            end = datetime.combine(local.date() + timedelta(days=1), self.end, tzinfo=SHANGHAI)
        return end.astimezone(UTC)
