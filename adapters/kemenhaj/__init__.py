"""Kemenhaj (Kementerian Haji dan Umrah) adapter: regular hajj registration,
cancellation and portion transfer in Siskohat.

The ministry was created by UU 14/2025 and Perpres 92/2025 and took Siskohat over
from Kemenag [S:KEMENHAJ]. Its backend is the hub's fourth style: a batch exchange
(``BackendStyle.BATCH``): records go into an inbox batch the agency closes at
cut-off times, results come in the batch's result file, which the adapter reads
when the hub's poller asks.

Registered through one entry point (pyproject.toml): ``mpp_hub.agencies: kemenhaj =
"adapters.kemenhaj:plugin"``. Modules are imported lazily so discovering the
plug-in stays cheap.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from adapters.sdk import Adapter, BackendSettings
from adapters.sdk.contract import SimulatorOptions
from adapters.sdk.plugin import AgencyPlugin, DevDefaults, lazy_call, lazy_value

#: The development key; equal to the simulator's own default
#: (``adapters.kemenhaj.simulator.DEV_API_KEY``), which runs it stand-alone.
DEV_API_KEY = "dev-kemenhaj-siskohat-key"


def adapter_factory(settings: BackendSettings) -> Adapter:
    from adapters.kemenhaj.adapter import KemenhajAdapter

    return KemenhajAdapter(settings)


def simulator_factory(options: SimulatorOptions) -> Any:
    """The ASGI app of the Siskohat simulator; ``options.secrets["api_key"]`` is the key it accepts."""
    from adapters.kemenhaj.simulator import DEV_API_KEY, SECRET_NAME, create_app

    return create_app(ledger_path=options.ledger_path, api_key=options.secrets.get(SECRET_NAME, DEV_API_KEY))


plugin = AgencyPlugin(
    agency="kemenhaj",
    adapter=adapter_factory,
    settings_model=lazy_value("adapters.kemenhaj.adapter:KemenhajSettings"),
    simulator=simulator_factory,
    contract=lazy_call("adapters.kemenhaj.contract:contract"),
    payloads=lazy_value("schemas.services.haji:PAYLOADS"),
    catalogue=Path(__file__).with_name("catalogue.toml"),
    dev=DevDefaults(
        port=8108,
        settings={"api_key": DEV_API_KEY, "result_margin_seconds": 1, "poll_interval_seconds": 2},
        simulator_secrets={"api_key": "api_key"},
    ),
)
