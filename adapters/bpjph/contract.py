"""BPJPH's declaration for the contract kit (``mpp-hub adapter verify bpjph``).

The samples aim at the simulator's documented rules (adapters/bpjph/simulator.py): a
KSWP answer TIDAK_VALID is refused at submission; an ingredient with ``babi`` is
refused by the fatwa session; a flavouring (``perisa``) that does not cite its halal
certificate gets the documents returned for revision. Polls are quick here; the
simulator advances one stage per ``polls_per_stage`` (default 2) polls.
"""

from __future__ import annotations

from typing import Any

from adapters.bpjph.adapter import BpjphSettings
from adapters.bpjph.simulator import DEV_API_KEY, SECRET_NAME
from adapters.sdk.contract import AgencyContract, ContractSample, SimulatorOptions
from adapters.sdk.settings import BackendSettings
from schemas.lifecycle import Status
from schemas.messages import Applicant, StepCommand

#: Shared by the adapter settings and the simulator options.
CONTRACT_API_KEY = DEV_API_KEY
#: Poll quickly against the simulator; production polls every 60 s by default.
CONTRACT_POLL_INTERVAL_SECONDS = 0.05

NIK = "1375015203900007"  # the business owner at the counter (Bukittinggi, woman born 12-03-1990)
NIB = "9120001234567"
KSWP_VALID = {"npwp": NIK, "taxpayer_status": "VALID", "kswp_confirmed_at": "2026-01-14T09:00:00+07:00"}


def certification_data(**changes: Any) -> dict[str, Any]:
    """A micro business's self-declare application for one product (override to vary)."""
    data: dict[str, Any] = {
        "nib": NIB,
        "business_name": "Rendang Uni Siti",
        "business_scale": "micro",
        "route": "self_declare",
        "products": [{"name": "Rendang daging", "ingredients": ["daging sapi", "santan", "cabai", "bawang merah"]}],
        **KSWP_VALID,
    }
    return {**data, **changes}


def command(**changes: Any) -> StepCommand:
    return StepCommand(
        service="halal.certification", operation="certification", applicant=Applicant(nik=NIK, name="Siti Rahmah"), data=certification_data(**changes)
    )


def _samples() -> list[ContractSample]:
    return [
        ContractSample(name="self-declare of a micro business is certified for free", command=command(), expect=Status.COMPLETED),
        ContractSample(
            name="regular route of a medium business is paid, audited and certified",
            command=command(route="regular", business_scale="medium"),
            expect=Status.COMPLETED,
        ),
        ContractSample(
            name="a taxpayer DJP confirms as not valid is refused at submission",
            command=command(taxpayer_status="TIDAK_VALID"),
            expect=Status.REJECTED,
            expect_error_code="taxpayer_status_invalid",
        ),
        ContractSample(
            name="a product with a non-halal ingredient is refused by the fatwa session",
            command=command(products=[{"name": "Sate", "ingredients": ["daging babi", "kecap"]}]),
            expect=Status.REJECTED,
            expect_error_code="ingredient_not_halal",
        ),
        ContractSample(
            name="a flavouring without its halal certificate is returned for revision",
            command=command(products=[{"name": "Keripik", "ingredients": ["singkong", "perisa ayam"]}]),
            expect=Status.NEEDS_REVISION,
            expect_error_code="documents_returned",
        ),
    ]


def backend_settings(base_url: str, callback_base_url: str) -> BackendSettings:
    """BPJPH is polled, so ``callback_base_url`` is unused; short timeouts and polls for tests."""
    return BpjphSettings(
        base_url=base_url,  # type: ignore[arg-type]  # validated to HttpUrl
        api_key=CONTRACT_API_KEY,  # type: ignore[arg-type]  # validated to SecretStr
        timeout_seconds=5.0,
        retry_attempts=2,
        retry_max_wait_seconds=0.2,
        poll_interval_seconds=CONTRACT_POLL_INTERVAL_SECONDS,
    )


def contract() -> AgencyContract:
    return AgencyContract(
        agency="bpjph",
        samples=_samples(),
        backend_settings=backend_settings,
        simulator_options=SimulatorOptions(secrets={SECRET_NAME: CONTRACT_API_KEY}),
    )
