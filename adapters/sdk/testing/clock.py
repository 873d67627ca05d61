"""The simulators' one clock: local time at the counter, day boundaries, and the
working-day calendar the hub uses too (:mod:`schemas.calendar`).

Agency counters work on local days (WIB), so "today", a daily quota's reset and a
due date all come from here. Tests inject the source clock to pin a date or cross
midnight; the calendar is the hub's, so a simulator's "14 working days" skips the
same weekends, national holidays and cuti bersama as the hub's SLA deadlines.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Final

from schemas.calendar import WorkingCalendar

#: Western Indonesia Time, as a fixed offset (UTC+7, no DST since 1964), so a
#: simulator needs no tz database.
WIB: Final[timezone] = timezone(timedelta(hours=7), name="WIB")

#: A source of aware datetimes (the system clock, or a test's).
Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(UTC)


class SimClock:
    """One simulator's clock in WIB, with the shared working-day calendar."""

    def __init__(self, source: Clock | None = None, calendar: WorkingCalendar | None = None) -> None:
        self.source: Clock = source or system_clock
        self.calendar = calendar or WorkingCalendar(tz=WIB)

    def now(self) -> datetime:
        return self.source().astimezone(WIB)

    def today(self) -> date:
        return self.now().date()

    def seconds_until_midnight(self, moment: datetime | None = None) -> int:
        """Seconds until the next local midnight (when a daily quota resets); at least 1."""
        local = (moment or self.now()).astimezone(WIB)
        midnight = datetime.combine(local.date() + timedelta(days=1), time(0), tzinfo=WIB)
        return max(1, int((midnight - local).total_seconds()))

    def is_working_day(self, day: date) -> bool:
        return self.calendar.is_working_day(day)

    def add_working_days(self, day: date, n: int) -> date:
        """The working day ``n`` working days after ``day`` (before it when ``n`` < 0)."""
        step = 1 if n >= 0 else -1
        while n:
            day += timedelta(days=step)
            if self.calendar.is_working_day(day):
                n -= step
        return day

    def working_days_between(self, start: date, end: date) -> int:
        """Working days ``d`` with ``start <= d < end``."""
        return sum(1 for i in range((end - start).days) if self.calendar.is_working_day(start + timedelta(days=i)))


def add_years(day: date, years: int) -> date:
    """The same calendar day ``years`` later; 29 February becomes 28 February."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later, clamped to the end of a shorter month (31 Jan -> 28/29 Feb)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    next_month = date(year + month // 12, month % 12 + 1, 1)
    return date(year, month, min(day.day, (next_month - timedelta(days=1)).day))
