"""SLA timers: each step's deadline in working days, and a scanner that flags breaches.

Deadlines
    The catalogue gives each service an SLA in *working days* (``Service.sla_working_days``).
    A ``WorkingCalendar`` turns that into an instant, in the MPP's local time zone
    (WIB, ``Asia/Jakarta``, by default; Indonesia has no daylight saving time):

    * Working days are the days that are neither weekend days (Saturday and Sunday by
      default) nor holidays: Indonesia's national holidays and cuti bersama
      (collective leave days), from ``schemas/holidays.toml``.
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

Breaches (``hub/runtime/sla_scanner.py``)
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

import logging
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from schemas.calendar import (
    DEFAULT_HOLIDAYS_PATH,
    HOLIDAY_KINDS,
    WorkingCalendar,
    load_holidays,
    timezone_named,
)

if TYPE_CHECKING:
    from hub.config import SlaSettings

log = logging.getLogger(__name__)

__all__ = ["WorkingCalendar", "calendar_from_settings", "deadline_for"]


def deadline_for(calendar: WorkingCalendar, start: datetime, sla_working_days: float) -> datetime:
    """When a step started at ``start`` is due under an SLA of ``sla_working_days``."""
    return calendar.add_working_days(start, sla_working_days)


def calendar_from_settings(settings: SlaSettings) -> WorkingCalendar:
    """The calendar the hub's settings describe (the shipped holidays plus extra ones)."""
    tz = timezone_named(settings.timezone)
    path = settings.holidays_path or DEFAULT_HOLIDAYS_PATH
    kinds = HOLIDAY_KINDS if settings.include_cuti_bersama else {"libur_nasional"}
    holidays = load_holidays(Path(path), kinds=kinds) | frozenset(settings.extra_holidays)
    this_year = datetime.now(tz).year
    if not any(h.year == this_year for h in holidays):
        log.warning(
            "the holiday list %s has no dates in %d: SLA deadlines count every weekday this year; add the year's SKB", path, this_year
        )
    return WorkingCalendar(weekend=settings.weekend_days, holidays=holidays, tz=tz)
