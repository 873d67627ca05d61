"""Samples for the contract kit (`mpp-hub adapter verify kelurahan`)."""

from __future__ import annotations

from adapters.sdk.contract import CONTRACT_RUN_SETTINGS, AgencyContract, ContractSample, SimulatorOptions, step_command
from mpp_kelurahan.adapter import KelurahanSettings
from mpp_kelurahan.models import SERVICE
from schemas.messages import StepCommand

KIT_API_KEY = "contract-kit-kelurahan-key"


def _command(address: str) -> StepCommand:
    return step_command(SERVICE, {"address": address}, nik="1375015203900007", name="Siti Rahmawati")


def backend_settings(base_url: str, callback_base_url: str) -> KelurahanSettings:
    return KelurahanSettings.model_validate({"base_url": base_url, "api_key": KIT_API_KEY, **CONTRACT_RUN_SETTINGS})


def contract() -> AgencyContract:
    return AgencyContract(
        agency="kelurahan",
        samples=[
            ContractSample.completes("resident of Bukittinggi", _command("Jl. Sudirman 5, Bukittinggi")),
            ContractSample.refused("address elsewhere", _command("Jl. Veteran 1, Padang"), "outside_area"),
        ],
        backend_settings=backend_settings,
        simulator_options=SimulatorOptions(secrets={"api_key": KIT_API_KEY}),
    )
