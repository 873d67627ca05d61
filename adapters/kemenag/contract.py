"""What the Kemenag adapter promises, for the SDK's contract kit.

Samples are built when :func:`contract` is called, because SIMKAH's rules depend on
"today" (10 working days of notice, ages on the ceremony day). The builders are
public so tests can make realistic requests the same way.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Any

from adapters.kemenag.adapter import KemenagSettings
from adapters.sdk.contract import CONTRACT_RUN_SETTINGS, AgencyContract, ContractSample, SimulatorOptions, step_command
from schemas.messages import StepCommand

WIB = timezone(timedelta(hours=7), name="WIB")

GROOM_NIK = "1375010101900003"  # man born 01-01-1990, first registered in Guguak Panjang
BRIDE_NIK = "1375015203950007"  # woman born 12-03-1995 (day + 40)


def today_wib() -> date:
    """SIMKAH counts days in the KUA's local time."""
    return datetime.now(WIB).date()


def working_day_after(days: int, *, start: date | None = None) -> date:
    """The first Monday-Friday on or after ``start + days`` (default start: today in WIB)."""
    day = (start or today_wib()) + timedelta(days=days)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


def nik_born(born: date, *, female: bool, serial: int = 1, district: str = "137501") -> str:
    """A synthetic NIK encoding ``born`` (women: day + 40), for age-dependent samples."""
    return f"{district}{born.day + (40 if female else 0):02d}{born.month:02d}{born.year % 100:02d}{serial:04d}"


def registration_data(**overrides: Any) -> dict[str, Any]:
    """Canonical input of kemenag.marriage_registration: adults, a ceremony at the KUA
    in office hours about a month ahead (well over 10 working days)."""
    data: dict[str, Any] = {
        "groom": {"nik": GROOM_NIK, "name": "Budi Santoso"},
        "bride": {"nik": BRIDE_NIK, "name": "Siti Rahmah"},
        "ceremony_date": working_day_after(30).isoformat(),
        "ceremony_time": "10:00",
        "ceremony_place": "kua_office_hours",
        "kua_code": "137501",
        "n1_number": "474.2/015/BPA/2026",
    }
    data.update(overrides)
    return data


def duplicate_data(**overrides: Any) -> dict[str, Any]:
    """Canonical input of kemenag.marriage_book_duplicate: a lost book, police report attached."""
    data: dict[str, Any] = {
        "marriage_certificate_number": "0123/137501/III/2019",
        "reason": "lost",
        "police_report_number": "STPLK/123/I/2026/SPKT",
    }
    data.update(overrides)
    return data


def registration_command(data: dict[str, Any], nik: str = GROOM_NIK, name: str = "Budi Santoso") -> StepCommand:
    return step_command("kemenag.marriage_registration", data, nik=nik, name=name)


def duplicate_command(data: dict[str, Any], nik: str = GROOM_NIK, name: str = "Budi Santoso") -> StepCommand:
    return step_command("kemenag.marriage_book_duplicate", data, nik=nik, name=name)


def recommendation_command(nik: str = BRIDE_NIK, **overrides: Any) -> StepCommand:
    """The bride, of Guguak Panjang (137501), marries in a district of Kota Padang (13.71; the district code 137105 is [I])."""
    data = {
        "home_kua_code": "137501",
        "destination_kua_code": "137105",
        "ceremony_date": working_day_after(30).isoformat(),
        "partner_name": "Budi Santoso",
        "n1_number": "N1/0042/2026",
        **overrides,
    }
    return step_command("kemenag.marriage_recommendation", data, nik=nik, name="Siti Rahmah")


def under_age_bride_nik(ceremony: date) -> str:
    """A bride who is 17 on the ceremony day."""
    return nik_born(date(ceremony.year - 17, 1, 15), female=True, serial=21)


def backend_settings(base_url: str, callback_base_url: str) -> KemenagSettings:
    """The adapter against a simulator (SIMKAH does not call back, so ``callback_base_url``
    is not used)."""
    return KemenagSettings.model_validate({"base_url": base_url, **CONTRACT_RUN_SETTINGS})


def contract() -> AgencyContract:
    ceremony = working_day_after(30)
    outside = registration_data(
        ceremony_place="outside_kua_or_after_hours", ceremony_time="19:30", ceremony_address="Jl. Sudirman 1, Bukittinggi"
    )
    under_age = registration_data(
        bride={"nik": under_age_bride_nik(ceremony), "name": "Putri Muda", "parental_consent_n5": "N5/01/2026"},
        ceremony_date=ceremony.isoformat(),
    )
    return AgencyContract(
        agency="kemenag",
        samples=[
            ContractSample.completes("registration_at_kua_in_office_hours", registration_command(registration_data())),
            ContractSample.completes("registration_outside_kua_with_fee", registration_command(outside)),
            ContractSample.completes("duplicate_of_a_lost_marriage_book", duplicate_command(duplicate_data())),
            ContractSample.completes("recommendation_to_marry_in_padang", recommendation_command()),
            ContractSample.refused(
                "recommendation_from_a_kua_the_applicant_does_not_live_under",
                recommendation_command(home_kua_code="137502"),
                "not_a_resident",
            ),
            ContractSample.refused("unknown_kua_is_refused", registration_command(registration_data(kua_code="999901")), "unknown_kua"),
            ContractSample.refused(
                "under_age_without_dispensation_is_refused", registration_command(under_age), "under_age_without_dispensation"
            ),
            ContractSample.refused(
                "unknown_marriage_record_is_refused",
                duplicate_command(duplicate_data(marriage_certificate_number="9123/137501/III/2019")),
                "marriage_record_not_found",
            ),
        ],
        backend_settings=backend_settings,
        simulator_options=SimulatorOptions(),
    )
