"""OSS's declaration for the contract kit (``mpp-hub adapter verify oss``).

The samples aim at the simulator's documented rules (adapters/oss/simulator.py): KBLI
56103 (kedai makanan) is low risk, 55110 (hotel bintang) medium-high; a KBLI outside
its reference table is refused, and so is a capital that does not fit the declared
scale.
"""

from __future__ import annotations

from typing import Any

from adapters.oss import DEV_CREDENTIALS
from adapters.oss.adapter import OssSettings
from adapters.sdk.contract import CONTRACT_RUN_SETTINGS, AgencyContract, ContractSample, SimulatorOptions, step_command
from adapters.sdk.settings import BackendSettings
from schemas.lifecycle import Status
from schemas.messages import Applicant, StepCommand

NIK = "1375015203900007"  # the business owner at the counter (Bukittinggi)


def registration_data(**changes: Any) -> dict[str, Any]:
    """A micro food stall in Bukittinggi (override to vary)."""
    data: dict[str, Any] = {
        "business_name": "Kedai Nasi Kapau Uni Siti",
        "kbli": "56103",
        "business_scale": "micro",
        "regency_code": "1375",
        "capital": 50_000_000,
    }
    return {**data, **changes}


def command(**changes: Any) -> StepCommand:
    return StepCommand(
        service="oss.nib_registration",
        operation="nib_registration",
        applicant=Applicant(nik=NIK, name="Siti Rahmah"),
        data=registration_data(**changes),
    )


def _samples() -> list[ContractSample]:
    return [
        ContractSample(name="a low-risk micro business gets the NIB as its licence", command=command(), expect=Status.COMPLETED),
        ContractSample(
            name="a medium-high risk small business gets the NIB with a certificate still to verify",
            command=command(kbli="55110", business_scale="small", capital=2_000_000_000),
            expect=Status.COMPLETED,
        ),
        ContractSample(
            name="a KBLI OSS does not know is refused",
            command=command(kbli="99999"),
            expect=Status.REJECTED,
            expect_error_code="kbli_not_found",
        ),
        ContractSample(
            name="a capital above the micro ceiling is refused for a micro business",
            command=command(capital=1_500_000_000),
            expect=Status.REJECTED,
            expect_error_code="business_scale_mismatch",
        ),
        *_pbg_samples(),
    ]


def pbg_data(**changes: Any) -> dict[str, Any]:
    """A two-storey house to a ministry prototype design in Bukittinggi (override to vary)."""
    data: dict[str, Any] = {
        "building_function": "residential",
        "floors": 2,
        "floor_area_m2": 72,
        "land_title_number": "SHM 03.12.05.01.1.00123",
        "regency_code": "1375",
        "technical_plan_reference": "RT-2026-0042",
        "prototype_design": "T36-A1",
    }
    return {**data, **changes}


def pbg_command(**changes: Any) -> StepCommand:
    return step_command("oss.pbg_application", pbg_data(**changes), nik=NIK, name="Siti Rahmah")


def _pbg_samples() -> list[ContractSample]:
    return [
        ContractSample.completes("a house to a prototype design is approved without a technical consultation", pbg_command()),
        ContractSample.completes(
            "a shop-house goes through the expert team's consultation and is approved",
            pbg_command(building_function="mixed", floors=3, floor_area_m2=240, prototype_design=None),
        ),
        ContractSample.refused(
            "a building above the zoning's height is refused by the expert team",
            pbg_command(building_function="business", floors=6, floor_area_m2=1800, prototype_design=None),
            "building_exceeds_height_limit",
        ),
    ]


def backend_settings(base_url: str, callback_base_url: str) -> BackendSettings:
    """OSS answers synchronously, so ``callback_base_url`` is unused; short timeouts for tests."""
    return OssSettings.model_validate({**DEV_CREDENTIALS, "base_url": base_url, "poll_interval_seconds": 0.05, **CONTRACT_RUN_SETTINGS})


def contract() -> AgencyContract:
    return AgencyContract(
        agency="oss",
        samples=_samples(),
        backend_settings=backend_settings,
        simulator_options=SimulatorOptions(secrets=dict(DEV_CREDENTIALS)),
    )
