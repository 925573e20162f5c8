"""Working-day calendar: official holidays, 调休 make-up days, the 2026→2027 boundary, overrides."""

from __future__ import annotations

import logging
from datetime import date, timedelta
from pathlib import Path

import pytest

from core.kernel.workdays import CalendarError, WorkCalendar, load_override

KNOWLEDGE_CALENDAR = Path(__file__).resolve().parents[2] / "knowledge" / "calendar"


@pytest.fixture(scope="module")
def cal() -> WorkCalendar:
    return WorkCalendar()


# --- is_workday ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        # 春节 2026: 2/15–2/23 off; Saturdays 2/14 and 2/28 are make-up working days
        (date(2026, 2, 13), True),
        (date(2026, 2, 14), True),  # Saturday, 调休上班
        (date(2026, 2, 15), False),
        (date(2026, 2, 16), False),  # Monday, 春节
        (date(2026, 2, 23), False),  # Monday, still 春节
        (date(2026, 2, 24), True),
        (date(2026, 2, 28), True),  # Saturday, 调休上班
        (date(2026, 3, 1), False),  # ordinary Sunday
        # 国庆 2025 (with 中秋): 10/1–10/8 off; Sunday 9/28 and Saturday 10/11 worked
        (date(2025, 9, 28), True),
        (date(2025, 10, 1), False),
        (date(2025, 10, 8), False),  # Wednesday, holiday
        (date(2025, 10, 9), True),
        (date(2025, 10, 11), True),  # Saturday, 调休上班
        # 国庆 2026: 10/1–10/7 off; Sunday 9/20 and Saturday 10/10 worked
        (date(2026, 9, 20), True),
        (date(2026, 10, 7), False),
        (date(2026, 10, 8), True),
        (date(2026, 10, 10), True),
        # ordinary days
        (date(2026, 3, 31), True),
        (date(2026, 1, 31), False),  # Saturday, month end
    ],
)
def test_is_workday(cal: WorkCalendar, day: date, expected: bool) -> None:
    assert cal.is_workday(day) is expected


# --- add_workdays --------------------------------------------------------------------------------


def test_add_zero_returns_start_or_next_workday(cal: WorkCalendar) -> None:
    assert cal.add_workdays(date(2026, 3, 2), 0) == date(2026, 3, 2)  # Monday
    assert cal.add_workdays(date(2026, 2, 15), 0) == date(2026, 2, 24)  # inside 春节
    assert cal.next_workday(date(2026, 2, 28)) == date(2026, 2, 28)  # make-up Saturday


def test_add_workdays_across_spring_festival_2026(cal: WorkCalendar) -> None:
    # Friday 2/13: next working day is the make-up Saturday 2/14, then 2/24 after the holiday.
    assert cal.add_workdays(date(2026, 2, 13), 1) == date(2026, 2, 14)
    assert cal.add_workdays(date(2026, 2, 13), 2) == date(2026, 2, 24)
    # 18 working days from 2/10: 2/11,12,13,14,24,25,26,27,28 (9), then 3/2..3/6 (14), 3/9..3/12
    assert cal.add_workdays(date(2026, 2, 10), 18) == date(2026, 3, 12)


def test_add_workdays_across_national_day(cal: WorkCalendar) -> None:
    # 2025: Tuesday 9/30 + 1 → Thursday 10/9 (10/1–10/8 holiday)
    assert cal.add_workdays(date(2025, 9, 30), 1) == date(2025, 10, 9)
    # 2025: Friday 9/26 + 1 → Sunday 9/28 (调休上班)
    assert cal.add_workdays(date(2025, 9, 26), 1) == date(2025, 9, 28)
    # 2026: Friday 9/18 + 1 → Sunday 9/20 (调休上班); Wednesday 9/30 + 1 → Thursday 10/8
    assert cal.add_workdays(date(2026, 9, 18), 1) == date(2026, 9, 20)
    assert cal.add_workdays(date(2026, 9, 30), 1) == date(2026, 10, 8)
    # 10/8 (Thu), 10/9 (Fri), 10/10 (Sat, 调休上班), 10/12 (Mon)
    assert cal.add_workdays(date(2026, 9, 30), 4) == date(2026, 10, 12)


def test_add_workdays_month_end(cal: WorkCalendar) -> None:
    assert cal.add_workdays(date(2026, 3, 31), 1) == date(2026, 4, 1)
    assert cal.add_workdays(date(2026, 1, 30), 1) == date(2026, 2, 2)  # Friday → Monday
    # 4/30 (Thu) + 1: 5/1–5/5 holiday → 5/6 (Wed)
    assert cal.add_workdays(date(2026, 4, 30), 1) == date(2026, 5, 6)


def test_add_workdays_negative(cal: WorkCalendar) -> None:
    assert cal.add_workdays(date(2026, 2, 24), -1) == date(2026, 2, 14)
    assert cal.add_workdays(date(2026, 10, 8), -1) == date(2026, 9, 30)
    assert cal.add_workdays(date(2026, 1, 5), -1) == date(2026, 1, 4)  # Sunday make-up day
    assert cal.add_workdays(date(2026, 1, 4), -1) == date(2025, 12, 31)  # over the year boundary


def test_add_then_between_roundtrip(cal: WorkCalendar) -> None:
    start = date(2025, 12, 1)
    for n in range(1, 60, 7):
        end = cal.add_workdays(start, n)
        assert cal.is_workday(end)
        assert cal.workdays_between(start, end) == n
        assert cal.workdays_between(end, start) == -n
        assert cal.add_workdays(end, -n) == start


def test_workdays_between(cal: WorkCalendar) -> None:
    assert cal.workdays_between(date(2026, 2, 13), date(2026, 2, 13)) == 0
    # 2/14 and 2/24 are the working days in (2/13, 2/24]
    assert cal.workdays_between(date(2026, 2, 13), date(2026, 2, 24)) == 2
    assert cal.workdays_between(date(2025, 9, 30), date(2025, 10, 8)) == 0


def test_matches_day_by_day_count(cal: WorkCalendar) -> None:
    start = date(2025, 12, 20)
    d, counted = start, 0
    while counted < 40:
        d += timedelta(days=1)
        counted += cal.is_workday(d)
    assert cal.add_workdays(start, 40) == d


# --- beyond the library: 2027 --------------------------------------------------------------------


def test_2027_fallback_knows_fixed_date_holidays_and_warns_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Without the State Council's 2027 arrangement the fallback still knows the fixed-date
    statutory holidays (元旦, 劳动节, 国庆 1-3 October) and marks dates as estimates."""
    cal = WorkCalendar()
    with caplog.at_level(logging.WARNING, logger="core.kernel.workdays"):
        assert cal.coverage(2026) == "library"
        assert cal.is_workday(date(2027, 1, 1)) is False  # 元旦, a Friday
        assert cal.is_workday(date(2027, 1, 2)) is False  # Saturday
        assert cal.is_workday(date(2027, 5, 3)) is True  # Monday after 劳动节 (a Saturday)
        assert cal.is_workday(date(2027, 10, 1)) is False  # 国庆, Friday
        assert cal.is_workday(date(2027, 10, 4)) is True  # lunar holidays/调休 unknown
        assert [cal.is_workday(date(2028, 5, 1))] == [False]  # 劳动节 2028, a Monday
        # 18 working days from 2026-12-15 crosses into 2027 (元旦 not counted)
        assert cal.add_workdays(date(2026, 12, 15), 18) == date(2027, 1, 11)
        assert cal.add_workdays(date(2026, 12, 31), 1) == date(2027, 1, 4)
        assert cal.workdays_between(date(2026, 12, 31), date(2027, 1, 4)) == 1
        assert cal.coverage(2027) == "estimate"
        assert cal.is_estimate(date(2026, 12, 15), date(2027, 1, 11))
        assert not cal.is_estimate(date(2026, 3, 2), date(2026, 3, 26))
    warnings = [r for r in caplog.records if "2027" in r.getMessage()]
    assert len(warnings) == 1
    # 2026 side of the boundary still uses the library: 2026-01-01..03 off, Sunday 01-04 worked
    assert cal.is_workday(date(2026, 1, 2)) is False
    assert cal.is_workday(date(2026, 1, 4)) is True


def test_no_2027_calendar_file_is_shipped() -> None:
    """The 2027 arrangement is in neither the seeds nor the notes: none is invented."""
    assert not (KNOWLEDGE_CALENDAR / "2027.yaml").exists()
    assert WorkCalendar(KNOWLEDGE_CALENDAR).coverage(2027) == "estimate"


def test_shipped_calendar_folder_loads() -> None:
    cal = WorkCalendar(KNOWLEDGE_CALENDAR)
    assert cal.coverage(2026) == "library"
    assert (KNOWLEDGE_CALENDAR / "README.md").is_file()


# --- overrides -----------------------------------------------------------------------------------


def test_override_file_wins(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / "2027.yaml").write_text(
        "year: 2027\nsource: test\nholidays: [2027-01-01, 2027-02-08]\nworkdays: [2027-02-06]\n",
        encoding="utf-8",
    )
    # An override for a library year replaces the library for that year.
    (tmp_path / "2026.yaml").write_text("holidays: [2026-03-02]\n", encoding="utf-8")
    cal = WorkCalendar(tmp_path)
    with caplog.at_level(logging.WARNING, logger="core.kernel.workdays"):
        assert cal.coverage(2027) == "override"
        assert cal.is_workday(date(2027, 1, 1)) is False
        assert cal.is_workday(date(2027, 2, 6)) is True  # Saturday made a working day
        assert cal.is_workday(date(2027, 2, 8)) is False
        assert cal.add_workdays(date(2026, 12, 31), 1) == date(2027, 1, 4)
    assert not [r for r in caplog.records if "2027" in r.getMessage()]
    assert cal.coverage(2026) == "override"
    assert cal.is_workday(date(2026, 3, 2)) is False
    assert cal.is_workday(date(2026, 2, 16)) is True  # library's 春节 no longer applies


def test_disabled_example_is_not_loaded(tmp_path: Path) -> None:
    (tmp_path / "example-2027.yaml.disabled").write_text("holidays: [2027-01-04]\n")
    cal = WorkCalendar(tmp_path)
    assert cal.coverage(2027) == "estimate"
    assert cal.is_workday(date(2027, 1, 4)) is True


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("holidays: [2026-01-05]\n", "不属于 2027 年"),
        ("holidays: [2027-01-05]\nworkdays: [2027-01-05]\n", "同时列在"),
        ("holidays: [notadate]\n", "holidays[0]"),
        ("year: 2026\n", "year=2026"),
        ("holiday: []\n", "未知字段"),
        ("holidays: 2027-01-01\n", "日期列表"),
    ],
)
def test_bad_override_names_file_and_field(tmp_path: Path, text: str, fragment: str) -> None:
    path = tmp_path / "2027.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CalendarError) as err:
        load_override(path)
    assert "2027.yaml" in str(err.value)
    assert fragment in str(err.value)


def test_speed(cal: WorkCalendar) -> None:
    import time

    t0 = time.perf_counter()
    d = date(2025, 1, 1)
    for i in range(20000):
        cal.add_workdays(d + timedelta(days=i % 700), 18)
    assert time.perf_counter() - t0 < 2.0
