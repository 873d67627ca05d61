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
from adapters.sdk.contract import CONTRACT_RUN_SETTINGS, AgencyContract, ContractSample, SimulatorOptions, step_command
from adapters.sdk.settings import BackendSettings
from schemas.lifecycle import Status
from schemas.messages import StepCommand

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
    return step_command("halal.certification", certification_data(**changes), nik=NIK, name="Siti Rahmah")


def _samples() -> list[ContractSample]:
    return [
        ContractSample.completes("self-declare of a micro business is certified for free", command()),
        ContractSample.completes(
            "regular route of a medium business is paid, audited and certified", command(route="regular", business_scale="medium")
        ),
        ContractSample.refused(
            "a taxpayer DJP confirms as not valid is refused at submission",
            command(taxpayer_status="TIDAK_VALID"),
            "taxpayer_status_invalid",
        ),
        ContractSample.refused(
            "a product with a non-halal ingredient is refused by the fatwa session",
            command(products=[{"name": "Sate", "ingredients": ["daging babi", "kecap"]}]),
            "ingredient_not_halal",
        ),
        ContractSample(
            name="a flavouring without its halal certificate is returned for revision",
            command=command(products=[{"name": "Keripik", "ingredients": ["singkong", "perisa ayam"]}]),
            expect=Status.NEEDS_REVISION,
            expect_error_code="documents_returned",
        ),
    ]


def backend_settings(base_url: str, callback_base_url: str) -> BackendSettings:
    """BPJPH is polled, so ``callback_base_url`` is unused; quick polls for tests."""
    return BpjphSettings.model_validate(
        {
            "base_url": base_url,
            "api_key": CONTRACT_API_KEY,
            "poll_interval_seconds": CONTRACT_POLL_INTERVAL_SECONDS,
            **CONTRACT_RUN_SETTINGS,
        }
    )


def contract() -> AgencyContract:
    return AgencyContract(
        agency="bpjph",
        samples=_samples(),
        backend_settings=backend_settings,
        simulator_options=SimulatorOptions(secrets={SECRET_NAME: CONTRACT_API_KEY}),
    )
