"""Samsat (Kantor Bersama Samsat: joint vehicle registration and tax office) adapter.

Registered like any agency package, through one entry point (pyproject.toml):
``mpp_hub.agencies: samsat = "adapters.samsat:plugin"``. Everything behind the plug-in
is imported lazily, so discovering it stays cheap.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from adapters.sdk import Adapter, BackendSettings
from adapters.sdk.contract import AgencyContract, SimulatorOptions
from adapters.sdk.plugin import AgencyPlugin, DevDefaults

if TYPE_CHECKING:
    from schemas.services.base import ServicePayloads


def adapter_factory(settings: BackendSettings) -> Adapter:
    from adapters.samsat.adapter import SamsatAdapter

    return SamsatAdapter(settings)


def simulator_factory(options: SimulatorOptions) -> Any:
    """The ASGI app of the Samsat backend simulator (for `mpp-hub simulator samsat`).

    Samsat's native API has no shared secrets, so ``options.secrets`` is unused."""
    from adapters.samsat.simulator import create_app

    return create_app(ledger_path=options.ledger_path)


def _settings_model() -> type[BackendSettings]:
    return BackendSettings  # Samsat needs nothing beyond the common settings


def _contract() -> AgencyContract:
    from adapters.samsat.contract import contract

    return contract()


def _payloads() -> Mapping[str, ServicePayloads]:
    from schemas.services.samsat import PAYLOADS

    return PAYLOADS


plugin = AgencyPlugin(
    agency="samsat",
    adapter=adapter_factory,
    settings_model=_settings_model,
    simulator=simulator_factory,
    contract=_contract,
    payloads=_payloads,
    catalogue=Path(__file__).with_name("catalogue.toml"),
    dev=DevDefaults(port=8101),
)
