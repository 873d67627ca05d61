"""Imigrasi (Direktorat Jenderal Imigrasi) adapter: passport applications over SOAP 1.1,
progress polled.

Registered through one entry point (pyproject.toml): ``mpp_hub.agencies: imigrasi =
"adapters.imigrasi:plugin"``. Modules are imported lazily so that discovering the
plug-in costs nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from adapters.sdk import Adapter, BackendSettings
from adapters.sdk.contract import SimulatorOptions
from adapters.sdk.plugin import AgencyPlugin, DevDefaults, lazy_call, lazy_value


def adapter_factory(settings: BackendSettings) -> Adapter:
    """The adapter; Imigrasi's own settings (``poll_interval_seconds``) are validated here."""
    from adapters.imigrasi.adapter import ImigrasiAdapter

    return ImigrasiAdapter(settings)


def simulator_factory(options: SimulatorOptions) -> Any:
    """The ASGI app of the passport service simulator (for `mpp-hub simulator imigrasi`).

    The service has no shared secrets (``options.secrets`` is unused)."""
    from adapters.imigrasi.simulator import create_app

    return create_app(ledger_path=options.ledger_path)


plugin = AgencyPlugin(
    agency="imigrasi",
    adapter=adapter_factory,
    settings_model=lazy_value("adapters.imigrasi.adapter:ImigrasiSettings"),
    simulator=simulator_factory,
    contract=lazy_call("adapters.imigrasi.contract:contract"),
    payloads=lazy_value("schemas.services.imigrasi:PAYLOADS"),
    catalogue=Path(__file__).with_name("catalogue.toml"),
    # Real counters poll every 30 s; quicker for a local demo.
    dev=DevDefaults(port=8103, settings={"poll_interval_seconds": 5}),
)
