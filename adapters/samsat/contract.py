"""Samsat's declaration for the generic contract kit (``mpp-hub adapter verify samsat``).

Samples aim at the simulator's documented register (adapters/samsat/simulator.py):
plates with a serial up to 9000 are registered, each with the BPKB, chassis and
engine numbers :func:`~adapters.samsat.simulator.data_register` derives from the
plate; a NIK ending in 99 is not the registered owner. Samsat is synchronous, so
there are no poll or verdict delays to shorten; the settings only keep timeouts and
retries short for tests.
"""

from __future__ import annotations

from typing import Any

from adapters.samsat.simulator import DataRegister, data_register
from adapters.sdk.contract import AgencyContract, ContractSample, SimulatorOptions
from adapters.sdk.settings import BackendSettings
from schemas.lifecycle import Status
from schemas.messages import Applicant, StepCommand

#: Registered owner (Bukittinggi, woman born 12-03-1990) and a buyer.
OWNER_NIK = "1375015203900007"
BUYER_NIK = "1375020101850011"
#: Ends in 99: the simulator's "not the registered owner".
NOT_OWNER_NIK = "1375015203900099"


def _register(plate: str) -> DataRegister:
    record = data_register(plate)
    if record is None:
        raise ValueError(f"{plate} is not a registered plate at the simulated Samsat")
    return record


def _physical_check(plate: str) -> dict[str, str]:
    record = _register(plate)
    return {"chassis_number": record.nomor_rangka, "engine_number": record.nomor_mesin}


def _command(service: str, data: dict[str, Any], nik: str = OWNER_NIK, name: str = "Siti Rahmah") -> StepCommand:
    return StepCommand(
        service=f"samsat.{service}", operation=service, applicant=Applicant(nik=nik, name=name), data=data
    )


def pkb_command(plate: str = "BA 1234 LZ", vehicle_type: str = "car", nik: str = OWNER_NIK) -> StepCommand:
    return _command("pkb_annual", {"plate": plate, "vehicle_type": vehicle_type}, nik)


def stnk_5year_command(plate: str = "BA 4321 LQ", vehicle_type: str = "motorcycle", *, bpkb_number: str | None = None) -> StepCommand:
    data = {
        "plate": plate,
        "vehicle_type": vehicle_type,
        "bpkb_number": bpkb_number or _register(plate).no_bpkb,
        "physical_check": _physical_check(plate),
    }
    return _command("stnk_5year", data)


def ownership_transfer_command(
    plate: str = "BA 2024 LA",
    vehicle_type: str = "car",
    *,
    previous_owner_nik: str = OWNER_NIK,
    stamped: bool = True,
    buyer_nik: str = BUYER_NIK,
) -> StepCommand:
    data = {
        "plate": plate,
        "vehicle_type": vehicle_type,
        "previous_owner_nik": previous_owner_nik,
        "bpkb_number": _register(plate).no_bpkb,
        "sale_receipt_number": "KW/2026/0142",
        "sale_receipt_stamped": stamped,
        "physical_check": _physical_check(plate),
    }
    return _command("ownership_transfer", data, buyer_nik, "Rudi Hartono")


def _samples() -> list[ContractSample]:
    return [
        ContractSample(name="annual PKB, car", command=pkb_command(), expect=Status.COMPLETED),
        ContractSample(name="annual PKB, motorcycle", command=pkb_command("BA 4321 LQ", "motorcycle"), expect=Status.COMPLETED),
        ContractSample(name="5-year STNK + plates, motorcycle", command=stnk_5year_command(), expect=Status.COMPLETED),
        ContractSample(name="ownership transfer, car", command=ownership_transfer_command(), expect=Status.COMPLETED),
        ContractSample(
            name="unregistered plate",
            command=pkb_command("BA 9100 LA"),
            expect=Status.REJECTED,
            expect_error_code="plate_not_registered",
        ),
        ContractSample(
            name="applicant is not the registered owner",
            command=pkb_command(nik=NOT_OWNER_NIK),
            expect=Status.REJECTED,
            expect_error_code="owner_mismatch",
        ),
        ContractSample(
            name="5-year renewal with another vehicle's BPKB",
            command=stnk_5year_command(bpkb_number=_register("BA 1 A").no_bpkb),
            expect=Status.REJECTED,
            expect_error_code="bpkb_mismatch",
        ),
        ContractSample(
            name="transfer from someone who is not the registered owner",
            command=ownership_transfer_command(previous_owner_nik=NOT_OWNER_NIK),
            expect=Status.REJECTED,
            expect_error_code="owner_mismatch",
        ),
        ContractSample(
            name="transfer with a sale receipt without stamp duty",
            command=ownership_transfer_command(stamped=False),
            expect=Status.REJECTED,
            expect_error_code="sale_receipt_unstamped",
        ),
    ]


def backend_settings(base_url: str, callback_base_url: str) -> BackendSettings:
    """The adapter against a simulator at ``base_url``; Samsat never calls back."""
    return BackendSettings(
        base_url=base_url,
        timeout_seconds=5.0,
        retry_attempts=3,
        retry_max_wait_seconds=0.2,
        breaker_failure_threshold=5,
        breaker_reset_seconds=1.0,
    )


def contract() -> AgencyContract:
    return AgencyContract(
        agency="samsat",
        samples=_samples(),
        backend_settings=backend_settings,
        simulator_options=SimulatorOptions(),
    )
