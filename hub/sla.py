"""SLA timers: each step's deadline in working days, and a scanner that flags breaches.

Deadlines
    The catalogue gives each service an SLA in *working days* (``Service.sla_working_days``).
    A ``WorkingCalendar`` turns that into an instant, in the MPP's local time zone
    (WIB, ``Asia/Jakarta``, by default; Indonesia has no daylight saving time):

    * Working days are the days that are neither weekend days (Saturday and Sunday by
      default) nor holidays: Indonesia's national holidays and cuti bersama
      (collective leave days), from ``hub/calendar/holidays.toml``.
    * A start on a non-working day counts from the next working day's opening of the
      counters, 08:00 local.
    * Each whole day moves to the same local time on the next working day: a request
      taken on Friday 10:00 with a 1-day SLA is due on Monday 10:00.
    * A fraction of a day adds that fraction of 24 hours, counting only hours that fall
      on working days (so tests can use tiny SLAs such as 0.0001 days = 8.64 s). Whole
      days are the same measure: one working day is 24 hours of working-day time.
    * An SLA of exactly 0 days ("same day", e.g. the hajj registration) is due when the
      counters close, 16:00 local, on the working day the request is taken in; a
      request taken after 16:00 or on a non-working day is taken in on the next working
      day. MPP counters commonly serve until about 15:00-16:00 WIB and civil servants'
      working day ends around 16:00 [I]; the closing time is a parameter.

    Deadlines are timezone-aware UTC, like every timestamp in the database.

Breaches
    ``SlaScanner`` runs beside the router and the poller. Each round it finds the live
    steps past their deadline that are not flagged yet, and in one transaction per round
    sets ``Step.sla_breached_at`` (and ``Case.sla_breached_at`` at the case's first
    breach), appends a history row (a flag, not a status change: from = to = the current
    status) and stages a ``case.sla_breached`` event for ``mpp.case-events`` through the
    outbox. Rows are locked with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, steps and
    their cases in one statement, so concurrent scanners flag each breach once and a
    scanner never waits on the router (no lock-order deadlock): what is locked now is
    flagged in a later round.
"""

from __future__ import annotations

import asyncio
import logging
import math
import tomllib
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub.db.models import Case, HistoryRecord, Step
from hub.outbox import enqueue
from schemas import topics
from schemas.envelope import Envelope, MessageType, new_traceparent
from schemas.lifecycle import TERMINAL

log = logging.getLogger(__name__)

#: The holiday list shipped with the hub.
DEFAULT_HOLIDAYS_PATH = Path(__file__).parent / "calendar" / "holidays.toml"
DEFAULT_TIMEZONE = "Asia/Jakarta"
#: Monday = 0 ... Sunday = 6 (``date.weekday()``).
DEFAULT_WEEKEND: frozenset[int] = frozenset({5, 6})
#: Counters open (a start on a non-working day counts from here) and close (0-day SLAs).
OPENS = time(8, 0)
CLOSES = time(16, 0)

HOLIDAY_KINDS = frozenset({"libur_nasional", "cuti_bersama"})

SOURCE = "sla-scanner"
#: Namespace of the breach events' message ids: one id per step, so a breach event can
#: never be staged twice (the outbox's message id is unique) and consumers dedup on it.
_BREACH_NAMESPACE = uuid.UUID("6f1d3c52-9a57-4e8e-8b0f-5a1c0e7d2b61")


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


def deadline_for(calendar: WorkingCalendar, start: datetime, sla_working_days: float) -> datetime:
    """When a step started at ``start`` is due under an SLA of ``sla_working_days``."""
    return calendar.add_working_days(start, sla_working_days)


def calendar_from_settings(settings: Any) -> WorkingCalendar:
    """The calendar the hub's settings describe (the shipped holidays plus extra ones).

    Reads ``sla_timezone``, ``sla_weekend_days``, ``holidays_path``,
    ``sla_include_cuti_bersama`` and ``extra_holidays``, each with its default when the
    settings object lacks it.
    """
    tz = timezone_named(getattr(settings, "sla_timezone", None) or DEFAULT_TIMEZONE)
    weekend = getattr(settings, "sla_weekend_days", None)
    path = getattr(settings, "holidays_path", None) or DEFAULT_HOLIDAYS_PATH
    kinds = HOLIDAY_KINDS if getattr(settings, "sla_include_cuti_bersama", True) else {"libur_nasional"}
    holidays = load_holidays(Path(path), kinds=kinds) | frozenset(getattr(settings, "extra_holidays", None) or ())
    this_year = datetime.now(tz).year
    if not any(h.year == this_year for h in holidays):
        log.warning("the holiday list %s has no dates in %d: SLA deadlines count every weekday this year; add the year's SKB", path, this_year)
    return WorkingCalendar(weekend=DEFAULT_WEEKEND if weekend is None else weekend, holidays=holidays, tz=tz)


# --------------------------------------------------------------------------- scanner

_TERMINAL_VALUES = sorted(s.value for s in TERMINAL)


def breach_message_id(step_id: uuid.UUID) -> uuid.UUID:
    return uuid.uuid5(_BREACH_NAMESPACE, f"sla-breached:{step_id}")


class SlaScanner:
    """Flags live steps past their SLA deadline, once each, with history and an event."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        calendar: WorkingCalendar,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        *,
        batch_size: int = 100,
    ) -> None:
        self._sessions = sessions
        self._calendar = calendar
        self._clock = clock
        self._batch_size = batch_size
        self.flagged = 0

    async def scan(self) -> int:
        """One round: flag every overdue step found (up to ``batch_size``); returns how many."""
        now = self._clock()
        if now.tzinfo is None:
            raise ValueError("the scanner's clock must return timezone-aware datetimes")
        async with self._sessions.begin() as session:
            rows = (
                await session.execute(
                    select(Step, Case)
                    .join(Case, Case.id == Step.case_id)
                    .where(
                        Step.sla_due_at.is_not(None),
                        Step.sla_due_at < now,
                        Step.sla_breached_at.is_(None),
                        Step.superseded_by.is_(None),
                        Step.status.not_in(_TERMINAL_VALUES),
                        # A finished case's leftover steps are not the citizen's wait any more.
                        Case.status.not_in(_TERMINAL_VALUES),
                    )
                    .order_by(Step.sla_due_at, Step.id)
                    .limit(self._batch_size)
                    # Locks the steps and their cases; skips what the router holds now.
                    .with_for_update(skip_locked=True)
                )
            ).all()
            for step, case in rows:
                self._flag(session, step, case, now)
        self.flagged += len(rows)
        return len(rows)

    def _flag(self, session: AsyncSession, step: Step, case: Case, now: datetime) -> None:
        assert step.sla_due_at is not None
        step.sla_breached_at = now
        if case.sla_breached_at is None:
            case.sla_breached_at = now
        due_local = step.sla_due_at.astimezone(self._calendar.tz)
        session.add(
            HistoryRecord(
                case_id=case.id,
                step_id=step.id,
                from_status=step.status,
                to_status=step.status,
                note=f"SLA breached: due {due_local.isoformat()}, {step.service} at {step.agency}",
            )
        )
        # Ids, service and agency only: no personal data leaves on this topic.
        payload = {
            "case_id": str(case.id),
            "step_id": str(step.id),
            "service": step.service,
            "agency": step.agency,
            "due_at": step.sla_due_at.astimezone(UTC).isoformat(),
            "breached_at": now.astimezone(UTC).isoformat(),
        }
        enqueue(
            session,
            topics.CASE_EVENTS,
            Envelope(
                message_id=breach_message_id(step.id),
                request_id=case.id,
                step_id=step.id,
                type=MessageType.SLA_BREACHED,
                occurred_at=now,
                source=SOURCE,
                payload=payload,
            ),
            correlation_id=str(case.id),
            traceparent=new_traceparent(),
        )
        log.info("SLA breached: step %s of case %s (%s at %s) was due %s", step.id, case.id, step.service, step.agency, due_local.isoformat())

    async def run(self, stop: asyncio.Event, interval_seconds: float = 1.0) -> None:
        while not stop.is_set():
            flagged = 0
            try:
                flagged = await self.scan()
            except Exception:
                log.exception("SLA scanner: round failed; trying again")
            if flagged >= self._batch_size:
                continue  # a backlog: take the next batch at once
            try:
                await asyncio.wait_for(stop.wait(), timeout=interval_seconds)
            except TimeoutError:
                pass
