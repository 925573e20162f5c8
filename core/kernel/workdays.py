"""Working days (工作日) under China's official holiday arrangement, including 调休 make-up days.

The `chinese-calendar` package knows each year's official holidays and make-up working days up to
the last year it was released for (2026 for 1.11.0) and raises NotImplementedError beyond. This
wrapper:

- uses a deployment's own arrangement from ``<overrides_dir>/<year>.yaml`` when present (it wins
  over the library for that whole year; format in knowledge/calendar/README.md);
- else the library;
- else (years the library does not cover) an *estimate*: Monday–Friday less the fixed-date
  statutory holidays (全体公民放假的节日 by date: 元旦 1 January, 劳动节 1 May, 国庆节 1–3 October;
  the lunar holidays and the State Council's 调休 cannot be known in advance), logging a warning
  once per year per calendar (to the log only, never to an applicant). Dates computed in such a
  year are marked as estimates (`is_estimate`) and the applicant is told so.

No arrangement is invented for a year the State Council has not published: add it as
``knowledge/calendar/<year>.yaml`` once it is (see knowledge/calendar/README.md).

Each year is turned into sets and a sorted list of working days once, so the pre-check and the
reminder sweeps can call this as often as they like.
"""

from __future__ import annotations

import logging
import re
import threading
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Literal

import chinese_calendar
import yaml
from chinese_calendar import constants as _cc

log = logging.getLogger(__name__)

Source = Literal["override", "library", "estimate"]

# Fixed-date statutory holidays (month, day) that fall on the same date every year: 元旦, 劳动节,
# 国庆节 (1–3 October). Used only for years without an official arrangement.
FIXED_HOLIDAYS: tuple[tuple[int, int], ...] = ((1, 1), (5, 1), (10, 1), (10, 2), (10, 3))
_YEAR_FILE = re.compile(r"^(\d{4})\.ya?ml$")


class CalendarError(ValueError):
    """An override file that cannot be used; the message names the file and the field."""


@dataclass(frozen=True)
class YearArrangement:
    """One year's exceptions to the Monday–Friday rule."""

    year: int
    source: Source
    holidays: frozenset[date]  # weekdays (and weekend days) that are days off
    workdays: frozenset[date]  # weekend days that are working days (调休上班)
    ordinals: tuple[int, ...]  # every working day of the year, as date ordinals, sorted

    def is_workday(self, d: date) -> bool:
        if d in self.workdays:
            return True
        if d in self.holidays:
            return False
        return d.weekday() < 5


def _build(year: int, source: Source, holidays: set[date], workdays: set[date]) -> YearArrangement:
    hol, wd = frozenset(holidays), frozenset(workdays)
    first, last = date(year, 1, 1).toordinal(), date(year, 12, 31).toordinal()
    ordinals = []
    for o in range(first, last + 1):
        d = date.fromordinal(o)
        if d in wd or (d not in hol and d.weekday() < 5):
            ordinals.append(o)
    return YearArrangement(year, source, hol, wd, tuple(ordinals))


def _library_covers(year: int) -> bool:
    try:
        chinese_calendar.is_workday(date(year, 6, 1))
    except NotImplementedError:
        return False
    return True


def _parse_dates(path: Path, year: int, data: dict[str, Any], key: str) -> set[date]:
    raw = data.get(key) or []
    if not isinstance(raw, list):
        raise CalendarError(f"{path}: 字段 {key} 必须是日期列表")
    out: set[date] = set()
    for i, item in enumerate(raw):
        if isinstance(item, str):
            try:
                item = date.fromisoformat(item)
            except ValueError as exc:
                raise CalendarError(f"{path}: 字段 {key}[{i}] 不是日期：{item!r}") from exc
        if not isinstance(item, date):
            raise CalendarError(f"{path}: 字段 {key}[{i}] 不是日期：{item!r}")
        if item.year != year:
            raise CalendarError(f"{path}: 字段 {key}[{i}] {item} 不属于 {year} 年")
        out.add(item)
    return out


def load_override(path: Path) -> YearArrangement:
    """Parse one ``<year>.yaml`` override file (``holidays:`` and ``workdays:`` date lists)."""
    m = _YEAR_FILE.match(path.name)
    if not m:
        raise CalendarError(f"{path}: 文件名必须是 <年份>.yaml")
    year = int(m.group(1))
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise CalendarError(f"{path}: YAML 格式错误：{exc}") from exc
    if not isinstance(data, dict):
        raise CalendarError(f"{path}: 顶层必须是映射（holidays:/workdays:）")
    if "year" in data and data["year"] != year:
        raise CalendarError(f"{path}: 字段 year={data['year']} 与文件名年份 {year} 不一致")
    unknown = set(data) - {"year", "source", "holidays", "workdays"}
    if unknown:
        raise CalendarError(f"{path}: 未知字段：{', '.join(sorted(map(str, unknown)))}")
    holidays = _parse_dates(path, year, data, "holidays")
    workdays = _parse_dates(path, year, data, "workdays")
    both = holidays & workdays
    if both:
        listed = ", ".join(d.isoformat() for d in sorted(both))
        raise CalendarError(f"{path}: 同一日期同时列在 holidays 和 workdays：{listed}")
    return _build(year, "override", holidays, workdays)


class WorkCalendar:
    """Official working days, with per-deployment overrides and an estimated fallback."""

    def __init__(self, overrides_dir: Path | None = None) -> None:
        self.overrides_dir = overrides_dir
        self._years: dict[int, YearArrangement] = {}
        self._overrides: dict[int, YearArrangement] = {}
        self._warned: set[int] = set()
        self._lock = threading.Lock()
        if overrides_dir is not None and overrides_dir.is_dir():
            for path in sorted(overrides_dir.iterdir()):
                if path.is_file() and _YEAR_FILE.match(path.name):
                    arrangement = load_override(path)
                    self._overrides[arrangement.year] = arrangement

    # --- per-year data -------------------------------------------------------------------------

    def year(self, year: int) -> YearArrangement:
        """The arrangement used for `year` (built once, then cached)."""
        hit = self._years.get(year)
        if hit is not None:
            return hit
        with self._lock:
            hit = self._years.get(year)
            if hit is not None:
                return hit
            if year in self._overrides:
                arrangement = self._overrides[year]
            elif _library_covers(year):
                holidays = {d for d in _cc.holidays if d.year == year}
                workdays = {d for d in _cc.workdays if d.year == year}
                arrangement = _build(year, "library", holidays, workdays)
            else:
                fixed = {date(year, m, d) for m, d in FIXED_HOLIDAYS}
                arrangement = _build(year, "estimate", fixed, set())
            self._years[year] = arrangement
        if arrangement.source == "estimate" and year not in self._warned:
            self._warned.add(year)
            log.warning(
                "No official holiday arrangement for %d (chinese-calendar covers up to its release "
                "year and no %d.yaml in %s): counting Monday-Friday less 1 Jan, 1 May and 1-3 Oct "
                "(dates are estimates); add the State Council schedule as a calendar file",
                year,
                year,
                self.overrides_dir or "the calendar folder",
            )
        return arrangement

    def coverage(self, year: int) -> Source:
        """Where `year`'s arrangement comes from: override, library or estimate."""
        return self.year(year).source

    def is_estimate(self, *days: date) -> bool:
        """True when any of `days` (or the span between two of them) falls in a year without an
        official arrangement, so a date computed over it is only an estimate."""
        if not days:
            return False
        years = range(min(d.year for d in days), max(d.year for d in days) + 1)
        return any(self.year(y).source == "estimate" for y in years)

    # --- queries -------------------------------------------------------------------------------

    def is_workday(self, d: date) -> bool:
        """True on working days: Monday–Friday except holidays, plus 调休 make-up weekend days."""
        return self.year(d.year).is_workday(d)

    def next_workday(self, d: date) -> date:
        """`d` itself when it is a working day, else the first working day after it."""
        return self.add_workdays(d, 0)

    def add_workdays(self, start: date, n: int) -> date:
        """The n-th working day after `start` (`start` itself is not counted).

        n = 0 returns `start` when it is a working day, else the next working day.
        n < 0 counts backwards: the |n|-th working day before `start`.
        Example: add_workdays(Friday, 1) is the next Monday (if neither is a holiday).
        """
        year = start.year
        days = self.year(year).ordinals
        o = start.toordinal()
        if n >= 0:
            i = bisect_left(days, o) if n == 0 else bisect_right(days, o) + n - 1
            while i >= len(days):
                i -= len(days)
                year += 1
                days = self.year(year).ordinals
            return date.fromordinal(days[i])
        i = bisect_left(days, o) + n  # index of the |n|-th working day strictly before start
        while i < 0:
            year -= 1
            days = self.year(year).ordinals
            i += len(days)
        return date.fromordinal(days[i])

    def workdays_between(self, a: date, b: date) -> int:
        """Working days d with a < d <= b (negative when b is before a).

        So ``workdays_between(start, add_workdays(start, n)) == n`` for n > 0, and the figure
        answers "how many working days have passed since `a`" on day `b`.
        """
        if b < a:
            return -self.workdays_between(b, a)
        whole_years = sum(len(self.year(y).ordinals) for y in range(a.year, b.year))
        return whole_years + self._count_upto(b) - self._count_upto(a)

    def _count_upto(self, d: date) -> int:
        """Working days from 1 January of d's year up to and including d."""
        return bisect_right(self.year(d.year).ordinals, d.toordinal())
