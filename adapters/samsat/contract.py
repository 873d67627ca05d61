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
from adapters.sdk.contract import CONTRACT_RUN_SETTINGS, AgencyContract, ContractSample, SimulatorOptions, step_command
from adapters.sdk.settings import BackendSettings
from schemas.messages import StepCommand

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
    return step_command(f"samsat.{service}", data, nik=nik, name=name)


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


def _papers(plate: str, vehicle_type: str) -> dict[str, Any]:
    """A registered vehicle as its owner presents it: the register's BPKB and a matching physical check."""
    return {"plate": plate, "vehicle_type": vehicle_type, "bpkb_number": _register(plate).no_bpkb, "physical_check": _physical_check(plate)}


#: A police loss report number as the Polri SPKT prints it.
REPORT_NUMBER = "STPLK/0042/I/2026/SPKT/POLRES BUKITTINGGI"


def stnk_replacement_command(
    plate: str = "BA 1234 LZ", vehicle_type: str = "car", *, reason: str = "lost", report: str | None = REPORT_NUMBER
) -> StepCommand:
    data: dict[str, Any] = {**_papers(plate, vehicle_type), "reason": reason}
    if report is not None:
        data["police_report_number"] = report
    return _command("stnk_replacement", data)


def mutation_out_command(plate: str = "BA 4321 LQ", vehicle_type: str = "motorcycle", *, destination: str = "31") -> StepCommand:
    return _command("mutation_out", {**_papers(plate, vehicle_type), "destination_province": destination})


def mutation_in_command(plate: str = "B 1234 XYZ", vehicle_type: str = "car", *, origin: str = "31") -> StepCommand:
    """A car from DKI Jakarta (31) registered here with its mutation letter."""
    data = {**_papers(plate, vehicle_type), "origin_province": origin, "mutation_letter_number": f"MTS/{origin}-13/00042/2026"}
    return _command("mutation_in", data)


def _samples() -> list[ContractSample]:
    return [
        ContractSample.completes("annual PKB, car", pkb_command()),
        ContractSample.completes("annual PKB, motorcycle", pkb_command("BA 4321 LQ", "motorcycle")),
        ContractSample.completes("5-year STNK + plates, motorcycle", stnk_5year_command()),
        ContractSample.completes("ownership transfer, car", ownership_transfer_command()),
        ContractSample.completes("lost STNK replaced, with the police report", stnk_replacement_command()),
        ContractSample.completes("mutation out to DKI Jakarta, motorcycle", mutation_out_command()),
        ContractSample.completes("mutation in from DKI Jakarta, car", mutation_in_command()),
        ContractSample.refused("unregistered plate", pkb_command("BA 9100 LA"), "plate_not_registered"),
        ContractSample.refused("applicant is not the registered owner", pkb_command(nik=NOT_OWNER_NIK), "owner_mismatch"),
        ContractSample.refused(
            "5-year renewal with another vehicle's BPKB", stnk_5year_command(bpkb_number=_register("BA 1 A").no_bpkb), "bpkb_mismatch"
        ),
        ContractSample.refused(
            "transfer from someone who is not the registered owner",
            ownership_transfer_command(previous_owner_nik=NOT_OWNER_NIK),
            "owner_mismatch",
        ),
        ContractSample.refused(
            "transfer with a sale receipt without stamp duty", ownership_transfer_command(stamped=False), "sale_receipt_unstamped"
        ),
        ContractSample.refused("mutation out to the same province", mutation_out_command(destination="13"), "mutation_within_province"),
    ]


def backend_settings(base_url: str, callback_base_url: str) -> BackendSettings:
    """The adapter against a simulator at ``base_url``; Samsat never calls back."""
    return BackendSettings.model_validate({"base_url": base_url, **CONTRACT_RUN_SETTINGS})


def contract() -> AgencyContract:
    return AgencyContract(
        agency="samsat",
        samples=_samples(),
        backend_settings=backend_settings,
        simulator_options=SimulatorOptions(),
    )
