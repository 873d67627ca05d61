"""BPJPH (Badan Penyelenggara Jaminan Produk Halal) adapter: halal certification in SIHALAL.

BPJPH has been a non-ministerial agency reporting to the President since 29 Jul 2025
(before that it was part of Kemenag) [S:BPJPH-SPLIT]; its catalogue entry points
``halal.certification`` at it. Its backend is REST/JSON behind a partner API key,
with progress polled.

Registered through one entry point (pyproject.toml): ``mpp_hub.agencies: bpjph =
"adapters.bpjph:plugin"``. Modules are imported lazily so discovering the plug-in
stays cheap.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from adapters.sdk import Adapter, BackendSettings
from adapters.sdk.contract import SimulatorOptions
from adapters.sdk.plugin import AgencyPlugin, DevDefaults, lazy_call, lazy_value

#: The development partner key; equal to the simulator's own default
#: (``adapters.bpjph.simulator.DEV_API_KEY``), which runs it stand-alone.
DEV_API_KEY = "dev-bpjph-api-key"


def adapter_factory(settings: BackendSettings) -> Adapter:
    """The adapter; raises ``BpjphConfigurationError`` naming what to set when the API key is missing."""
    from adapters.bpjph.adapter import BpjphAdapter

    return BpjphAdapter(settings)


def simulator_factory(options: SimulatorOptions) -> Any:
    """The ASGI app of the SIHALAL simulator (for `mpp-hub simulator bpjph`).

    ``options.secrets["api_key"]`` is the partner key it accepts; the hub passes the
    adapter's (``MPP_AGENCIES__BPJPH__API_KEY``)."""
    from adapters.bpjph.simulator import DEV_API_KEY, SECRET_NAME, create_app

    return create_app(ledger_path=options.ledger_path, api_key=options.secrets.get(SECRET_NAME, DEV_API_KEY))


plugin = AgencyPlugin(
    agency="bpjph",
    adapter=adapter_factory,
    settings_model=lazy_value("adapters.bpjph.adapter:BpjphSettings"),
    simulator=simulator_factory,
    contract=lazy_call("adapters.bpjph.contract:contract"),
    payloads=lazy_value("schemas.services.halal:PAYLOADS"),
    catalogue=Path(__file__).with_name("catalogue.toml"),
    dev=DevDefaults(
        port=8106,
        settings={"api_key": DEV_API_KEY, "poll_interval_seconds": 5},
        simulator_secrets={"api_key": "api_key"},
    ),
)
