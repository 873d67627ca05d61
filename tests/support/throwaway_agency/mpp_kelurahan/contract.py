"""Samples for the contract kit (`mpp-hub adapter verify kelurahan`)."""

from __future__ import annotations

from adapters.sdk.contract import AgencyContract, ContractSample, SimulatorOptions
from mpp_kelurahan.adapter import KelurahanSettings
from mpp_kelurahan.models import SERVICE
from schemas.lifecycle import Status
from schemas.messages import Applicant, StepCommand

KIT_API_KEY = "contract-kit-kelurahan-key"


def _command(address: str) -> StepCommand:
    return StepCommand(service=SERVICE, operation="domicile_letter", applicant=Applicant(nik="1375015203900007", name="Siti Rahmawati"), data={"address": address})


def backend_settings(base_url: str, callback_base_url: str) -> KelurahanSettings:
    return KelurahanSettings(base_url=base_url, api_key=KIT_API_KEY, timeout_seconds=5, retry_attempts=2, retry_max_wait_seconds=0.5)


def contract() -> AgencyContract:
    return AgencyContract(
        agency="kelurahan",
        samples=[
            ContractSample(name="resident of Bukittinggi", command=_command("Jl. Sudirman 5, Bukittinggi"), expect=Status.COMPLETED),
            ContractSample(name="address elsewhere", command=_command("Jl. Veteran 1, Padang"), expect=Status.REJECTED, expect_error_code="outside_area"),
        ],
        backend_settings=backend_settings,
        simulator_options=SimulatorOptions(secrets={"api_key": KIT_API_KEY}),
    )
