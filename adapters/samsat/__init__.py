"""Samsat (Kantor Bersama Samsat: joint vehicle registration and tax office) adapter.

Registered like any agency package, through one entry point (pyproject.toml):
``mpp_hub.agencies: samsat = "adapters.samsat:plugin"``. Everything behind the plug-in
is imported lazily, so discovering it stays cheap.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from adapters.sdk import Adapter, BackendSettings
from adapters.sdk.contract import SimulatorOptions
from adapters.sdk.plugin import AgencyPlugin, DevDefaults, lazy_call, lazy_value


def adapter_factory(settings: BackendSettings) -> Adapter:
    from adapters.samsat.adapter import SamsatAdapter

    return SamsatAdapter(settings)


def simulator_factory(options: SimulatorOptions) -> Any:
    """The ASGI app of the Samsat backend simulator (for `mpp-hub simulator samsat`).

    Samsat's native API has no shared secrets, so ``options.secrets`` is unused."""
    from adapters.samsat.simulator import create_app

    return create_app(ledger_path=options.ledger_path)


plugin = AgencyPlugin(
    agency="samsat",
    adapter=adapter_factory,
    settings_model=lazy_value("adapters.sdk.settings:BackendSettings"),  # nothing beyond the common settings
    simulator=simulator_factory,
    contract=lazy_call("adapters.samsat.contract:contract"),
    payloads=lazy_value("schemas.services.samsat:PAYLOADS"),
    catalogue=Path(__file__).with_name("catalogue.toml"),
    dev=DevDefaults(port=8101),
)
