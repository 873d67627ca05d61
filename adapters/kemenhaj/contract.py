"""Kemenhaj's declaration for the contract kit (``mpp-hub adapter verify kemenhaj``).

The samples aim at the simulator's documented rules (adapters/kemenhaj/siskohat.py)
and run in order against one simulator: the first registration completes, so the
same NIK registering again is refused; a NIK born in 2016 is under 12. Porsi
numbers with a serial up to 50,000,000 exist before the simulator started, so the
cancellation and transfer samples need no earlier registration. Batches close
every 3 s (the simulator's default) and the adapter reads the result file right
after the cut-off.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from adapters.kemenhaj.adapter import KemenhajSettings
from adapters.kemenhaj.simulator import DEV_API_KEY, SECRET_NAME
from adapters.sdk.contract import CONTRACT_RUN_SETTINGS, AgencyContract, ContractSample, SimulatorOptions, step_command
from adapters.sdk.settings import BackendSettings
from schemas.messages import StepCommand

CONTRACT_API_KEY = DEV_API_KEY
REGISTRANT_NIK = "1375011203800003"  # Bukittinggi, man born 12-03-1980
CHILD_NIK = "1375015506160002"  # Bukittinggi, girl born 15-06-2016: under 12
HEIR_NIK = "1375014507850001"  # Bukittinggi, woman born 05-07-1985
EXISTING_PORSI = "1300012345"  # Sumatera Barat, issued before the simulator started
UNKNOWN_PORSI = "1399999999"  # a serial the simulator never issued


def registration_data(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "deposit_bank": "Bank Syariah Indonesia",
        "deposit_validation_number": "BSI-2026-000123",
        "deposit_amount": 25_000_000,
        "deposit_date": date.today().isoformat(),
        "family_card_number": "1375011401260001",
        "registration_office": "1375",
        "health_certificate_number": "440/123/PKM-GP/2026",
    }
    return {**data, **changes}


def cancellation_data(**changes: Any) -> dict[str, Any]:
    return {
        "portion_number": EXISTING_PORSI,
        "registrant_nik": REGISTRANT_NIK,
        "reason": "withdrawn",
        "refund_account_number": "7012345678",
        **changes,
    }


def transfer_data(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "portion_number": "1300054321", "registrant_nik": REGISTRANT_NIK, "ground": "died", "death_date": "2025-11-02",
        "heir_nik": HEIR_NIK, "heir_name": "Siti Rahmah", "relationship": "spouse", "certificate_number": "1375-KM-02112025-0007",
    }  # fmt: skip
    return {**data, **changes}


def command(service: str, data: dict[str, Any], *, nik: str = REGISTRANT_NIK, name: str = "Budi Santoso") -> StepCommand:
    return step_command(f"haji.{service}", data, nik=nik, name=name)


def _samples() -> list[ContractSample]:
    heir = {"nik": HEIR_NIK, "name": "Siti Rahmah"}
    return [
        ContractSample.completes("a registration gets a nomor porsi and a departure estimate", command("regular_registration", registration_data())),
        ContractSample.refused("the same NIK registering again is refused", command("regular_registration", registration_data()), "already_registered"),
        ContractSample.refused("a child under 12 is refused", command("regular_registration", registration_data(), nik=CHILD_NIK, name="Aisyah"),
                               "under_minimum_age"),
        ContractSample.completes("a withdrawal cancels the portion and refunds the deposit", command("cancellation", cancellation_data())),
        ContractSample.refused("cancelling an unknown portion is refused", command("cancellation", cancellation_data(portion_number=UNKNOWN_PORSI)),
                               "portion_not_found"),
        ContractSample.completes("a portion passes to the widow", command("portion_transfer", transfer_data(), **heir)),
        ContractSample.refused("a registrant who died before 29 Apr 2019 cannot pass the portion on",
                               command("portion_transfer", transfer_data(portion_number="1300054322", death_date="2018-12-01"), **heir),
                               "death_before_transfer_rule"),
    ]  # fmt: skip


def backend_settings(base_url: str, callback_base_url: str) -> BackendSettings:
    """Siskohat is a batch exchange, so ``callback_base_url`` is unused; quick reads for tests."""
    return KemenhajSettings.model_validate(
        {
            "base_url": base_url,
            "api_key": CONTRACT_API_KEY,
            "result_margin_seconds": 0.05,
            "poll_interval_seconds": 0.2,
            **CONTRACT_RUN_SETTINGS,
        }
    )


def contract() -> AgencyContract:
    return AgencyContract(
        agency="kemenhaj",
        samples=_samples(),
        backend_settings=backend_settings,
        simulator_options=SimulatorOptions(secrets={SECRET_NAME: CONTRACT_API_KEY}),
    )
