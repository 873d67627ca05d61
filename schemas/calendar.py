"""Indonesian working days: weekends, national holidays and cuti bersama (collective
leave), in one local time zone.

Shared by the hub (SLA deadlines, ``hub/domain/sla.py``) and the agency simulators
(billing expiries, processing days), so both count days the same way. The holiday
list ships with the package (``schemas/holidays.toml``, with its sources).
"""

from __future__ import annotations

import logging
import math
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

log = logging.getLogger(__name__)

#: The holiday list shipped with the package.
DEFAULT_HOLIDAYS_PATH = Path(__file__).with_name("holidays.toml")
DEFAULT_TIMEZONE = "Asia/Jakarta"
#: Monday = 0 ... Sunday = 6 (``date.weekday()``).
DEFAULT_WEEKEND: frozenset[int] = frozenset({5, 6})
#: Counters open (a start on a non-working day counts from here) and close (0-day SLAs).
OPENS = time(8, 0)
CLOSES = time(16, 0)

HOLIDAY_KINDS = frozenset({"libur_nasional", "cuti_bersama"})


def timezone_named(name: str) -> tzinfo:
    """The IANA zone ``name``; WIB as a fixed UTC+7 if the system has no tz database
    (Indonesia's three zones have had fixed offsets since 1988)."""
    try:
        return ZoneInfo(name)
    except ZoneInfoNotFoundError:
        fixed = {"Asia/Jakarta": (7, "WIB"), "Asia/Pontianak": (7, "WIB"), "Asia/Makassar": (8, "WITA"), "Asia/Jayapura": (9, "WIT")}
        if name not in fixed:
            raise
        hours, label = fixed[name]
        log.warning("no time zone database here; using %s as a fixed UTC+%d", label, hours)
        return timezone(timedelta(hours=hours), label)


# --------------------------------------------------------------------------- holidays


class HolidayFileError(ValueError):
    pass


@dataclass(frozen=True)
class Holiday:
    date: date
    name: str
    kind: str  # libur_nasional | cuti_bersama
    verified: bool = True


def read_holidays(path: Path = DEFAULT_HOLIDAYS_PATH) -> list[Holiday]:
    """Every entry of a holiday file, checked, in file order."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise HolidayFileError(f"{path}: cannot read the holiday list: {exc}") from exc
    entries = raw.get("holidays", [])
    if not isinstance(entries, list):
        raise HolidayFileError(f"{path}: 'holidays' must be an array of tables ([[holidays]])")
    holidays: list[Holiday] = []
    for number, entry in enumerate(entries, start=1):
        where = f"{path}: holiday #{number}"
        if not isinstance(entry, dict):
            raise HolidayFileError(f"{where}: not a table")
        unknown = set(entry) - {"date", "name", "kind", "verified"}
        if unknown:
            raise HolidayFileError(f"{where}: unknown keys {sorted(unknown)}")
        day = entry.get("date")
        # TOML local dates parse to date; a datetime (also a date subclass) is a mistake here.
        if type(day) is not date:
            raise HolidayFileError(f"{where}: 'date' must be a TOML local date such as 2026-08-17, not {day!r}")
        name = entry.get("name")
        if not isinstance(name, str) or not name.strip():
            raise HolidayFileError(f"{where} ({day}): 'name' is required")
        kind = entry.get("kind")
        if kind not in HOLIDAY_KINDS:
            raise HolidayFileError(f"{where} ({day}): 'kind' must be one of {sorted(HOLIDAY_KINDS)}, not {kind!r}")
        verified = entry.get("verified", True)
        if not isinstance(verified, bool):
            raise HolidayFileError(f"{where} ({day}): 'verified' must be true or false")
        holidays.append(Holiday(date=day, name=name, kind=kind, verified=verified))
    return holidays


def load_holidays(path: Path = DEFAULT_HOLIDAYS_PATH, *, kinds: Iterable[str] = HOLIDAY_KINDS) -> frozenset[date]:
    """The non-working dates of a holiday file (by default national holidays and cuti bersama)."""
    wanted = frozenset(kinds)
    if not wanted <= HOLIDAY_KINDS:
        raise ValueError(f"unknown holiday kinds {sorted(wanted - HOLIDAY_KINDS)}")
    return frozenset(h.date for h in read_holidays(path) if h.kind in wanted)


_shipped: frozenset[date] | None = None


def _shipped_holidays() -> frozenset[date]:
    global _shipped
    if _shipped is None:
        _shipped = load_holidays(DEFAULT_HOLIDAYS_PATH)
    return _shipped


# --------------------------------------------------------------------------- calendar


class WorkingCalendar:
    """Working days and deadlines in one local time zone. Immutable; safe to share."""

    def __init__(
        self,
        weekend: Iterable[int] = DEFAULT_WEEKEND,
        holidays: Iterable[date] | None = None,
        tz: tzinfo | None = None,
        *,
        opens: time = OPENS,
        closes: time = CLOSES,
    ) -> None:
        """``holidays=None`` takes the shipped list; pass an empty set for none at all."""
        self.weekend = frozenset(weekend)
        if not self.weekend <= set(range(7)):
            raise ValueError(f"weekend days are 0 (Monday) to 6 (Sunday), not {sorted(self.weekend)}")
        if len(self.weekend) == 7:
            raise ValueError("a week needs at least one working day")
        self.holidays = frozenset(holidays) if holidays is not None else _shipped_holidays()
        self.tz = tz if tz is not None else timezone_named(DEFAULT_TIMEZONE)
        if opens.tzinfo is not None or closes.tzinfo is not None or not opens < closes:
            raise ValueError("opening and closing times are naive local times, opening first")
        self.opens = opens
        self.closes = closes

    def __repr__(self) -> str:
        return f"WorkingCalendar(weekend={sorted(self.weekend)}, holidays={len(self.holidays)} dates, tz={self.tz}, {self.opens:%H:%M}-{self.closes:%H:%M})"

    def is_working_day(self, d: date) -> bool:
        if isinstance(d, datetime):
            raise TypeError("is_working_day takes a date; convert a datetime with .astimezone(calendar.tz).date()")
        return d.weekday() not in self.weekend and d not in self.holidays

    def next_working_day(self, d: date) -> date:
        """The first working day after ``d``."""
        d += timedelta(days=1)
        while not self.is_working_day(d):
            d += timedelta(days=1)
        return d

    def _local(self, moment: datetime) -> datetime:
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise ValueError("naive datetime given to the working calendar; pass a timezone-aware one")
        return moment.astimezone(self.tz)

    def _at(self, d: date, t: time) -> datetime:
        return datetime.combine(d, t, tzinfo=self.tz)

    def add_working_days(self, start: datetime, days: float) -> datetime:
        """``start`` plus ``days`` working days (see the module docstring); aware UTC."""
        if isinstance(days, bool) or not isinstance(days, (int, float)) or not math.isfinite(days) or days < 0:
            raise ValueError(f"working days must be a finite number >= 0, not {days!r}")
        local = self._local(start)
        if days == 0:
            day = local.date()
            if not self.is_working_day(day) or local.time() >= self.closes:
                day = self.next_working_day(day)
            return self._at(day, self.closes).astimezone(UTC)
        if not self.is_working_day(local.date()):
            local = self._at(self.next_working_day(local.date()), self.opens)
        whole = int(days)
        day = local.date()
        for _ in range(whole):
            day = self.next_working_day(day)
        moment = self._at(day, local.time())
        # The fraction: that share of 24 h, counting only time on working days. Local
        # wall-clock arithmetic; Indonesian zones have no DST, so it is elapsed time too.
        remaining = timedelta(days=days - whole)
        while remaining > timedelta(0):
            midnight = self._at(moment.date() + timedelta(days=1), time(0))
            left_today = midnight - moment
            if remaining <= left_today:
                moment += remaining
                break
            remaining -= left_today
            moment = self._at(self.next_working_day(moment.date()), time(0))
        return moment.astimezone(UTC)
