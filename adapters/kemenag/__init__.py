"""Kemenag (Kementerian Agama, Ministry of Religious Affairs) adapter: the KUA's
marriage services through SIMKAH, a slow, form-encoded, sometimes-down backend.

Hajj registration and halal certification left Kemenag in 2025 (to the Ministry of
Hajj and Umrah and to BPJPH); the catalogue points them at their new providers, so
this adapter does not carry them.

Registered through one entry point (pyproject.toml): ``mpp_hub.agencies: kemenag =
"adapters.kemenag:plugin"``. Imports are lazy so that discovering the plug-in costs
nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from adapters.sdk import Adapter, BackendSettings
from adapters.sdk.contract import SimulatorOptions
from adapters.sdk.plugin import AgencyPlugin, DevDefaults, lazy_call, lazy_value


def adapter_factory(settings: BackendSettings) -> Adapter:
    from adapters.kemenag.adapter import KemenagAdapter

    return KemenagAdapter(settings)


def simulator_factory(options: SimulatorOptions) -> Any:
    """The ASGI app of the SIMKAH simulator (for `mpp-hub simulator kemenag`).

    SIMKAH uses no shared secrets, so ``options.secrets`` is not needed."""
    from adapters.kemenag.simulator import SimulatorSettings, create_app

    return create_app(SimulatorSettings(ledger_path=options.ledger_path))


plugin = AgencyPlugin(
    agency="kemenag",
    adapter=adapter_factory,
    settings_model=lazy_value("adapters.kemenag.adapter:KemenagSettings"),
    simulator=simulator_factory,
    contract=lazy_call("adapters.kemenag.contract:contract"),
    payloads=lazy_value("schemas.services.kemenag:PAYLOADS"),
    catalogue=Path(__file__).with_name("catalogue.toml"),
    dev=DevDefaults(port=8105),  # SIMKAH is slow: KemenagSettings' own timeout default applies
)
