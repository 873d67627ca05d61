"""Imigrasi's declaration for the generic contract kit (``mpp-hub adapter verify imigrasi``).

The samples aim at the simulator's deterministic rules (adapters/imigrasi/simulator.py):
NIKs ending in 99 are on the prevention list (refused after the interview, by
polling), NIKs ending in 98 have a birth certificate that does not match their
population data (documents returned at the interview: NEEDS_REVISION), old passport
numbers whose digits start with 0 are not in the register (refused at submission, by
a SOAP fault).
"""

from __future__ import annotations

from datetime import date, timedelta

from adapters.imigrasi.adapter import ImigrasiSettings
from adapters.sdk.contract import CONTRACT_RUN_SETTINGS, AgencyContract, ContractSample, SimulatorOptions, step_command
from adapters.sdk.settings import BackendSettings
from schemas.lifecycle import Status
from schemas.messages import StepCommand

NIK = "1375015203900007"  # woman born 12-03-1990, first registered in Guguk Panjang, Bukittinggi
NIK_CEKAL = "1375010101900099"  # ends in 99: on the simulated prevention list
NIK_AKTA_TIDAK_SESUAI = "1375015203900098"  # ends in 98: birth certificate does not match the NIK's data
NIK_ANAK = "1375014506150003"  # girl born 05-06-2015: under 17, a 10-year passport is refused unless married
REPORT_NUMBER = "STPLK/0042/I/2026/SPKT/POLRES BUKITTINGGI"

#: Poll quickly against the simulator; the real service is polled every 30 s by default.
CONTRACT_POLL_INTERVAL_SECONDS = 0.05


def _command(operation: str, nik: str = NIK, **data: object) -> StepCommand:
    base: dict[str, object] = {
        "passport_type": "electronic",
        "validity_years": 10,
        "appointment_date": (date.today() + timedelta(days=7)).isoformat(),
        "supporting_document": "birth_certificate",
    }
    return step_command(f"imigrasi.{operation}", {**base, **data}, nik=nik, name="Siti Rahmah")


def migrant_worker_data(skck_valid_until: date | None = None) -> dict[str, object]:
    """A first-time migrant worker's papers: the SKCK of the placement and the work agreement."""
    valid_until = skck_valid_until or date.today() + timedelta(days=150)
    return {
        "appointment_date": (date.today() + timedelta(days=7)).isoformat(),
        "supporting_document": "diploma",
        "skck_number": "SKCK/YANMAS/00042/I/2026/INTELKAM",
        "skck_valid_until": valid_until.isoformat(),
        "destination_country": "MY",
        "work_agreement_number": "PK/2026/0042",
    }


def contract() -> AgencyContract:
    return AgencyContract(
        agency="imigrasi",
        samples=[
            ContractSample.completes("new e-passport, 10 years", _command("passport_new")),
            ContractSample.completes(
                "replacement of an expired passport, non-electronic, 5 years",
                _command(
                    "passport_renewal",
                    passport_type="non_electronic",
                    validity_years=5,
                    supporting_document="marriage_book",
                    old_passport_number="X1234567",
                ),
            ),
            ContractSample.completes(
                "lost passport replaced with the police report",
                _command("passport_lost_damaged", reason="lost", police_report_number=REPORT_NUMBER),
            ),
            ContractSample.completes(
                "first passport of a migrant worker, free",
                step_command("imigrasi.passport_migrant_worker", migrant_worker_data(), nik=NIK, name="Siti Rahmah"),
            ),
            ContractSample.refused(
                "a 10-year passport for a child of 10, unmarried", _command("passport_new", nik=NIK_ANAK), "ten_year_passport_not_allowed"
            ),
            ContractSample.refused(
                "a migrant worker whose SKCK expires before the interview",
                step_command(
                    "imigrasi.passport_migrant_worker", migrant_worker_data(date.today() + timedelta(days=1)), nik=NIK, name="Siti Rahmah"
                ),
                "skck_expired",
            ),
            ContractSample.refused(
                "applicant on the prevention list is refused after the interview", _command("passport_new", nik=NIK_CEKAL), "travel_ban"
            ),
            ContractSample(
                name="a birth certificate that does not match the NIK is returned for revision",
                command=_command("passport_new", nik=NIK_AKTA_TIDAK_SESUAI),
                expect=Status.NEEDS_REVISION,
                expect_error_code="documents_inconsistent",
            ),
            ContractSample.refused(
                "old passport not in the register is refused at submission",
                _command("passport_renewal", old_passport_number="X0123456"),
                "old_passport_not_found",
            ),
        ],
        backend_settings=_backend_settings,
        simulator_options=SimulatorOptions(),
    )


def _backend_settings(base_url: str, callback_base_url: str) -> BackendSettings:
    """Imigrasi does not call back (it is polled), so ``callback_base_url`` is unused."""
    return ImigrasiSettings.model_validate(
        {"base_url": base_url, "poll_interval_seconds": CONTRACT_POLL_INTERVAL_SECONDS, **CONTRACT_RUN_SETTINGS}
    )
