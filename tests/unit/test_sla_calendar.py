"""Working-day arithmetic for SLA deadlines, and the shipped holiday list."""

from __future__ import annotations

import random
import re
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from hub.catalogue import Catalogue
from hub.config import Settings, SlaSettings
from hub.domain.sla import calendar_from_settings, deadline_for
from schemas.calendar import DEFAULT_HOLIDAYS_PATH, HolidayFileError, WorkingCalendar, load_holidays, read_holidays

WIB = ZoneInfo("Asia/Jakarta")


def wib(y: int, mo: int, d: int, h: int = 0, mi: int = 0, s: int = 0, us: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, s, us, tzinfo=WIB)


@pytest.fixture(scope="module")
def plain() -> WorkingCalendar:
    """Weekends only, no holidays: the arithmetic on its own."""
    return WorkingCalendar(holidays=frozenset())


@pytest.fixture(scope="module")
def shipped() -> WorkingCalendar:
    return WorkingCalendar()  # the shipped holiday list


# ----------------------------------------------------------------------- working days


def test_weekends_are_not_working_days(plain: WorkingCalendar) -> None:
    assert [plain.is_working_day(date(2026, 11, d)) for d in range(23, 30)] == [True] * 5 + [False] * 2  # Mon..Sun


def test_holidays_and_cuti_bersama_are_not_working_days(shipped: WorkingCalendar) -> None:
    assert not shipped.is_working_day(date(2026, 8, 17))  # Monday, independence day
    assert not shipped.is_working_day(date(2026, 12, 24))  # Thursday, cuti bersama Natal
    assert shipped.is_working_day(date(2026, 8, 18))


def test_weekend_is_configurable() -> None:
    friday_saturday = WorkingCalendar(weekend={4, 5}, holidays=frozenset())
    assert friday_saturday.is_working_day(date(2026, 11, 29))  # Sunday
    assert not friday_saturday.is_working_day(date(2026, 11, 27))  # Friday


def test_calendar_refuses_nonsense() -> None:
    with pytest.raises(ValueError):
        WorkingCalendar(weekend=set(range(7)), holidays=frozenset())
    with pytest.raises(ValueError):
        WorkingCalendar(weekend={7}, holidays=frozenset())
    with pytest.raises(TypeError):
        WorkingCalendar(holidays=frozenset()).is_working_day(datetime(2026, 1, 5, tzinfo=UTC))  # type: ignore[arg-type]


# ----------------------------------------------------------------------- whole days


def test_whole_days_keep_the_local_time_and_skip_the_weekend(plain: WorkingCalendar) -> None:
    friday = wib(2026, 11, 27, 10, 15)
    assert plain.add_working_days(friday, 1) == wib(2026, 11, 30, 10, 15)  # Monday
    assert plain.add_working_days(friday, 5) == wib(2026, 12, 4, 10, 15)  # Friday next week
    assert plain.add_working_days(wib(2026, 11, 23, 9), 3) == wib(2026, 11, 26, 9)  # Mon -> Thu


def test_holidays_are_skipped(shipped: WorkingCalendar) -> None:
    # Wed 13 May 2026; Thu 14 is Ascension, Fri 15 its cuti bersama, then a weekend.
    assert shipped.add_working_days(wib(2026, 5, 13, 11), 1) == wib(2026, 5, 18, 11)
    # The 2026 Idul Fitri block: Wed 18 Mar (cuti) .. Tue 24 Mar (cuti).
    assert shipped.add_working_days(wib(2026, 3, 17, 9), 1) == wib(2026, 3, 25, 9)


def test_year_end(shipped: WorkingCalendar) -> None:
    # Wed 23 Dec 2026: 24 cuti bersama, 25 Christmas, weekend, then Mon 28, Tue 29.
    assert shipped.add_working_days(wib(2026, 12, 23, 9), 2) == wib(2026, 12, 29, 9)
    # Thu 31 Dec 2026 + 1: Fri 1 Jan 2027 is New Year, then a weekend.
    assert shipped.add_working_days(wib(2026, 12, 31, 14), 1) == wib(2027, 1, 4, 14)
    # 21 working days (halal certification) from 1 Dec 2026 lands in January.
    assert shipped.add_working_days(wib(2026, 12, 1, 10), 21) == wib(2027, 1, 4, 10)


def test_result_is_aware_utc(plain: WorkingCalendar) -> None:
    result = plain.add_working_days(wib(2026, 11, 27, 10), 1)
    assert result.tzinfo is UTC
    assert result == datetime(2026, 11, 30, 3, tzinfo=UTC)


# ----------------------------------------------------------------------- fractions


def test_fractional_days_count_hours_on_working_days(plain: WorkingCalendar) -> None:
    assert plain.add_working_days(wib(2026, 11, 23, 10), 0.5) == wib(2026, 11, 23, 22)  # same Monday
    assert plain.add_working_days(wib(2026, 11, 27, 20), 0.25) == wib(2026, 11, 30, 2)  # 4 h Fri + 2 h Mon
    assert plain.add_working_days(wib(2026, 11, 27, 16), 0.5) == wib(2026, 11, 30, 4)  # 8 h Fri + 4 h Mon
    assert plain.add_working_days(wib(2026, 11, 27, 10), 1.5) == wib(2026, 11, 30, 22)  # Mon 10:00 + 12 h
    assert plain.add_working_days(wib(2026, 11, 27, 12), 0.5) == wib(2026, 11, 28)  # exactly Friday midnight


def test_tiny_sla_for_tests(plain: WorkingCalendar) -> None:
    start = wib(2026, 11, 25, 9, 30)
    assert plain.add_working_days(start, 0.0001) == start + timedelta(seconds=8.64)


def test_fraction_across_a_holiday(shipped: WorkingCalendar) -> None:
    # Sun 16 Aug 2026 is a weekend, Mon 17 Aug independence day: Fri 14 Aug 18:00 + 0.5
    # uses 6 h of Friday and 6 h of Tuesday.
    assert shipped.add_working_days(wib(2026, 8, 14, 18), 0.5) == wib(2026, 8, 18, 6)


# ----------------------------------------------------------------------- odd starts


def test_start_on_a_weekend_counts_from_the_next_opening(plain: WorkingCalendar) -> None:
    saturday = wib(2026, 11, 28, 13, 45)
    assert plain.add_working_days(saturday, 1) == wib(2026, 12, 1, 8)  # Monday 08:00 + 1 = Tuesday 08:00
    assert plain.add_working_days(saturday, 0.0001) == wib(2026, 11, 30, 8) + timedelta(seconds=8.64)


def test_start_on_a_holiday_counts_from_the_next_opening(shipped: WorkingCalendar) -> None:
    assert shipped.add_working_days(wib(2026, 8, 17, 11), 1) == wib(2026, 8, 19, 8)


def test_the_local_date_decides_not_the_utc_date(plain: WorkingCalendar) -> None:
    # Friday 20:00 UTC is already Saturday 03:00 in Jakarta: counts from Monday 08:00.
    assert plain.add_working_days(datetime(2026, 11, 27, 20, tzinfo=UTC), 1) == wib(2026, 12, 1, 8)
    # Sunday 18:00 UTC is Monday 01:00 WIB, a working day: Tuesday 01:00.
    assert plain.add_working_days(datetime(2026, 11, 29, 18, tzinfo=UTC), 1) == wib(2026, 12, 1, 1)
    # Any aware tz in, the same instant out.
    same = datetime(2026, 11, 27, 12, tzinfo=timezone(timedelta(hours=9)))  # WIT
    assert plain.add_working_days(same, 1) == plain.add_working_days(same.astimezone(WIB), 1)


# ----------------------------------------------------------------------- zero days


def test_zero_days_is_the_close_of_the_working_day(shipped: WorkingCalendar) -> None:
    assert shipped.add_working_days(wib(2026, 11, 23, 10), 0) == wib(2026, 11, 23, 16)
    assert shipped.add_working_days(wib(2026, 11, 23, 6), 0) == wib(2026, 11, 23, 16)  # before opening
    assert shipped.add_working_days(wib(2026, 11, 23, 17), 0) == wib(2026, 11, 24, 16)  # after closing
    assert shipped.add_working_days(wib(2026, 11, 27, 16), 0) == wib(2026, 11, 30, 16)  # Friday at closing time
    assert shipped.add_working_days(wib(2026, 11, 28, 9), 0) == wib(2026, 11, 30, 16)  # Saturday
    assert shipped.add_working_days(wib(2026, 12, 23, 18), 0) == wib(2026, 12, 28, 16)  # before Christmas


def test_bad_inputs_are_refused(plain: WorkingCalendar) -> None:
    with pytest.raises(ValueError, match="naive"):
        plain.add_working_days(datetime(2026, 11, 23, 10), 1)
    for bad in (-1, float("nan"), float("inf"), True):
        with pytest.raises(ValueError):
            plain.add_working_days(wib(2026, 11, 23, 10), bad)


# ----------------------------------------------------------------------- no DST in WIB


def test_wib_has_no_daylight_saving_time() -> None:
    day = date(2025, 1, 1)
    while day < date(2028, 1, 1):
        assert datetime.combine(day, datetime.min.time(), tzinfo=WIB).utcoffset() == timedelta(hours=7), day
        day += timedelta(days=1)


def test_same_utc_time_across_other_countries_dst_changes(plain: WorkingCalendar) -> None:
    # Europe moves its clocks on Sun 29 Mar 2026 and Sun 25 Oct 2026, the US on 8 Mar
    # and 1 Nov 2026: nothing moves in Jakarta, opening stays 01:00 UTC.
    for friday in (date(2026, 3, 6), date(2026, 3, 27), date(2026, 10, 23), date(2026, 10, 30)):
        start = datetime.combine(friday, datetime.min.time(), tzinfo=UTC).replace(hour=3)  # 10:00 WIB
        due = plain.add_working_days(start, 1)
        assert due - start == timedelta(days=3)
        assert (
            plain.add_working_days(start + timedelta(days=1), 0.0001).time().replace(microsecond=0) == datetime(2000, 1, 1, 1, 0, 8).time()
        )


# ----------------------------------------------------------------------- properties


def test_deadlines_grow_with_the_sla_and_never_precede_the_start(shipped: WorkingCalendar) -> None:
    rng = random.Random(7)
    for _ in range(300):
        start = datetime(2025, 1, 1, tzinfo=UTC) + timedelta(seconds=rng.randrange(3 * 365 * 86400 - 60 * 86400))
        slas = sorted(rng.choice([0, 0.0001, 0.3, 1, 1.5, 2, 4, 21]) for _ in range(3))
        deadlines = [shipped.add_working_days(start, s) for s in slas]
        assert all(d > start for d in deadlines)
        durations = [d for d, s in zip(deadlines, slas, strict=True) if s > 0]  # 0 days is "close of day"
        assert durations == sorted(durations)
        for d, s in zip(deadlines, slas, strict=True):
            if s >= 1 and s == int(s):
                local = d.astimezone(WIB)
                assert shipped.is_working_day(local.date())


def test_deadline_for_uses_the_catalogue_sla(shipped: WorkingCalendar) -> None:
    service = Catalogue.load().get("imigrasi.passport_new")  # 4 working days after payment
    assert service is not None
    start = wib(2026, 11, 23, 10)  # Monday
    assert deadline_for(shipped, start, service.sla_working_days) == wib(2026, 11, 27, 10)
    for service in Catalogue.load():
        assert deadline_for(shipped, start, service.sla_working_days) > start


# ----------------------------------------------------------------------- holiday file


def test_the_shipped_holiday_file_loads() -> None:
    holidays = load_holidays(DEFAULT_HOLIDAYS_PATH)
    assert date(2026, 8, 17) in holidays
    assert date(2026, 12, 25) in holidays
    for year in (2025, 2026, 2027):
        for month, day in ((1, 1), (5, 1), (6, 1), (8, 17), (12, 25)):
            assert date(year, month, day) in holidays, (year, month, day)


def test_the_shipped_file_matches_the_published_decrees() -> None:
    entries = read_holidays()
    by_year = lambda year, kind: sorted(h.date for h in entries if h.date.year == year and h.kind == kind)  # noqa: E731
    # 2025: 17 holidays, 10 cuti bersama + 18 Aug added in Aug 2025; 2026: 17 + 8.
    assert (len(by_year(2025, "libur_nasional")), len(by_year(2025, "cuti_bersama"))) == (17, 11)
    assert (len(by_year(2026, "libur_nasional")), len(by_year(2026, "cuti_bersama"))) == (17, 8)
    assert date(2026, 3, 21) in by_year(2026, "libur_nasional")  # Idul Fitri 1447
    assert all(h.verified for h in entries if h.date.year < 2027)
    assert len({h.date for h in entries}) == len(entries)


def test_every_unverified_entry_is_marked_in_the_file() -> None:
    text = DEFAULT_HOLIDAYS_PATH.read_text(encoding="utf-8")
    marked = len(re.findall(r"^\[\[holidays\]\]\s+# \[I\] not verified$", text, flags=re.MULTILINE))
    assert marked == sum(not h.verified for h in read_holidays()) > 0


def test_cuti_bersama_can_be_left_out() -> None:
    national = load_holidays(DEFAULT_HOLIDAYS_PATH, kinds={"libur_nasional"})
    assert date(2026, 8, 17) in national and date(2026, 12, 24) not in national
    with pytest.raises(ValueError):
        load_holidays(DEFAULT_HOLIDAYS_PATH, kinds={"regional"})


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('[[holidays]]\ndate = 2026-08-17T00:00:00\nname = "x"\nkind = "libur_nasional"\n', "local date"),
        ('[[holidays]]\ndate = 2026-08-17\nname = "x"\nkind = "regional"\n', "kind"),
        ('[[holidays]]\ndate = 2026-08-17\nkind = "libur_nasional"\n', "name"),
        ('[[holidays]]\ndate = 2026-08-17\nname = "x"\nkind = "libur_nasional"\nnote = "?"\n', "unknown keys"),
        ("holidays = 3\n", "array"),
        ("[[holidays\n", "cannot read"),
    ],
)
def test_a_broken_holiday_file_is_refused_clearly(tmp_path: Path, body: str, message: str) -> None:
    path = tmp_path / "holidays.toml"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(HolidayFileError, match=message):
        load_holidays(path)


def test_a_missing_holiday_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(HolidayFileError):
        load_holidays(tmp_path / "nope.toml")


# ----------------------------------------------------------------------- settings


def test_calendar_from_settings_defaults() -> None:
    for settings in (SlaSettings(), Settings().sla):
        calendar = calendar_from_settings(settings)
        assert calendar.weekend == {5, 6}
        assert date(2026, 8, 17) in calendar.holidays and date(2026, 12, 24) in calendar.holidays
        assert calendar.add_working_days(wib(2026, 11, 27, 10), 1) == wib(2026, 11, 30, 10)


def test_calendar_from_settings_overrides(tmp_path: Path) -> None:
    path = tmp_path / "holidays.toml"
    path.write_text(
        '[[holidays]]\ndate = 2026-12-01\nname = "Hari X"\nkind = "libur_nasional"\n'
        '[[holidays]]\ndate = 2026-12-02\nname = "Cuti X"\nkind = "cuti_bersama"\n',
        encoding="utf-8",
    )
    settings = SlaSettings(
        timezone="Asia/Makassar",
        weekend_days=[6],
        holidays_path=path,
        extra_holidays=[date(2026, 12, 3)],
        include_cuti_bersama=False,
    )
    calendar = calendar_from_settings(settings)
    assert calendar.holidays == {date(2026, 12, 1), date(2026, 12, 3)}
    assert calendar.weekend == {6}
    assert calendar.is_working_day(date(2026, 12, 5))  # Saturday works here
    wita = ZoneInfo("Asia/Makassar")
    assert calendar.add_working_days(datetime(2026, 11, 30, 10, tzinfo=wita), 1) == datetime(2026, 12, 2, 10, tzinfo=wita)
