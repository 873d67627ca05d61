"""What the generic contract kit needs to verify the Dukcapil adapter
(``mpp-hub adapter verify dukcapil``; the plug-in's ``contract``).

The samples aim at the simulated register's documented rules (``mpp_dukcapil.simulator``):
a seeded resident, a synthetic NIK whose registered name differs (serial 8000-8499),
one not registered (serial >= 9000), one blocked (8900-8949) and one deceased
(8950-8999). The kit starts the simulator with :data:`KIT_API_KEY` rather than the
development key, which also proves the key travels from ``SimulatorOptions.secrets``
to the simulator and from the settings extra ``api_key`` to the adapter.
"""

from __future__ import annotations

from typing import Any

from adapters.sdk.contract import CONTRACT_RUN_SETTINGS, AgencyContract, ContractSample, SimulatorOptions, step_command
from mpp_dukcapil.adapter import DukcapilSettings
from mpp_dukcapil.payloads import NIK_VERIFICATION
from schemas.messages import Applicant, StepCommand

KIT_API_KEY = "contract-kit-dukcapil-api-key"

#: The counter officer's own NIK: the applicant, who may verify someone else's NIK.
APPLICANT = Applicant(nik="1375010101800001", name="Petugas MPP Bukittinggi")


def _command(nik: str, full_name: str, **data: Any) -> StepCommand:
    return step_command(NIK_VERIFICATION, {"nik": nik, "full_name": full_name, **data}, nik=APPLICANT.nik, name=APPLICANT.name)


def backend_settings(base_url: str, callback_base_url: str) -> DukcapilSettings:
    """Settings for a simulator at ``base_url`` (Dukcapil never calls back)."""
    return DukcapilSettings.model_validate({"base_url": base_url, "api_key": KIT_API_KEY, **CONTRACT_RUN_SETTINGS})


def contract() -> AgencyContract:
    samples = [
        ContractSample.completes(
            "seeded resident: name and birth date match", _command("1375015203900007", "Siti Rahmawati", birth_date="1990-03-12")
        ),
        ContractSample.completes("registered name differs", _command("1375011204888123", "Budi Hartono")),
        ContractSample.refused("NIK not registered", _command("1375011204889123", "Tidak Terdaftar"), "nik_not_registered"),
        ContractSample.refused("record blocked", _command("1375011204888912", "Data Ganda"), "nik_record_blocked"),
        ContractSample.refused("holder deceased", _command("1375034506720012", "Rosmaniar"), "nik_holder_deceased"),
    ]
    return AgencyContract(
        agency="dukcapil",
        samples=samples,
        backend_settings=backend_settings,
        simulator_options=SimulatorOptions(secrets={"api_key": KIT_API_KEY}),
    )


__all__ = ["APPLICANT", "KIT_API_KEY", "backend_settings", "contract"]
