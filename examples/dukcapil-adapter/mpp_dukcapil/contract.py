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

from adapters.sdk.contract import AgencyContract, ContractSample, SimulatorOptions
from mpp_dukcapil.adapter import OPERATION, DukcapilSettings
from mpp_dukcapil.payloads import NIK_VERIFICATION
from schemas.lifecycle import Status
from schemas.messages import Applicant, StepCommand

KIT_API_KEY = "contract-kit-dukcapil-api-key"

#: The counter officer's own NIK: the applicant, who may verify someone else's NIK.
APPLICANT = Applicant(nik="1375010101800001", name="Petugas MPP Bukittinggi")


def _command(data: dict[str, Any]) -> StepCommand:
    return StepCommand(service=NIK_VERIFICATION, operation=OPERATION, applicant=APPLICANT, data=data)


def backend_settings(base_url: str, callback_base_url: str) -> DukcapilSettings:
    """Settings for a simulator at ``base_url`` (Dukcapil never calls back)."""
    return DukcapilSettings(base_url=base_url, api_key=KIT_API_KEY, timeout_seconds=5, retry_attempts=2, retry_max_wait_seconds=0.5)


def contract() -> AgencyContract:
    samples = [
        ContractSample(
            name="seeded resident: name and birth date match",
            command=_command({"nik": "1375015203900007", "full_name": "Siti Rahmawati", "birth_date": "1990-03-12"}),
            expect=Status.COMPLETED,
        ),
        ContractSample(
            name="registered name differs",
            command=_command({"nik": "1375011204888123", "full_name": "Budi Hartono"}),
            expect=Status.COMPLETED,
        ),
        ContractSample(
            name="NIK not registered",
            command=_command({"nik": "1375011204889123", "full_name": "Tidak Terdaftar"}),
            expect=Status.REJECTED,
            expect_error_code="nik_not_registered",
        ),
        ContractSample(
            name="record blocked",
            command=_command({"nik": "1375011204888912", "full_name": "Data Ganda"}),
            expect=Status.REJECTED,
            expect_error_code="nik_record_blocked",
        ),
        ContractSample(
            name="holder deceased",
            command=_command({"nik": "1375034506720012", "full_name": "Rosmaniar"}),
            expect=Status.REJECTED,
            expect_error_code="nik_holder_deceased",
        ),
    ]
    return AgencyContract(
        agency="dukcapil",
        samples=samples,
        backend_settings=backend_settings,
        simulator_options=SimulatorOptions(secrets={"api_key": KIT_API_KEY}),
    )


__all__ = ["APPLICANT", "KIT_API_KEY", "backend_settings", "contract"]
