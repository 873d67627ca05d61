"""DJP (Direktorat Jenderal Pajak, the tax directorate; KPP Pratama Bukittinggi) adapter.

Services: NIK-as-NPWP activation, KSWP (taxpayer status confirmation) and SKF (tax
clearance letter), over synchronous REST/JSON behind an expiring OAuth2
client-credentials token.

Registered through one entry point (pyproject.toml): ``mpp_hub.agencies: djp =
"adapters.djp:plugin"``. Imports are lazy so discovering the plug-in stays cheap.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from adapters.sdk import Adapter, BackendSettings
from adapters.sdk.contract import SimulatorOptions
from adapters.sdk.plugin import AgencyPlugin, DevDefaults, lazy_call, lazy_value

#: The development OAuth client the hub and the simulator share under `mpp-hub dev`
#: (the simulator's own defaults, ``adapters.djp.simulator``, are the same).
DEV_OAUTH_CLIENT = {"oauth_client_id": "mpp-hub", "oauth_client_secret": "dev-djp-client-secret"}


def adapter_factory(settings: BackendSettings) -> Adapter:
    """The DJP adapter; raises ``DjpConfigurationError`` when the OAuth client is not configured."""
    from adapters.djp.adapter import DjpAdapter

    return DjpAdapter(settings)


def simulator_factory(options: SimulatorOptions) -> Any:
    """The ASGI app of the DJP backend simulator (for `mpp-hub simulator djp`).

    ``options.secrets`` may set ``client_id`` and ``client_secret`` of the one OAuth
    client it knows; the hub passes the adapter's (``MPP_AGENCIES__DJP__OAUTH_CLIENT_*``).
    """
    from adapters.djp.simulator import KonfigurasiSimulator, create_app

    return create_app(KonfigurasiSimulator.dari_rahasia(options.ledger_path, options.secrets))


plugin = AgencyPlugin(
    agency="djp",
    adapter=adapter_factory,
    settings_model=lazy_value("adapters.djp.adapter:DjpSettings"),
    simulator=simulator_factory,
    contract=lazy_call("adapters.djp.contract:contract"),
    payloads=lazy_value("schemas.services.djp:PAYLOADS"),
    catalogue=Path(__file__).with_name("catalogue.toml"),
    dev=DevDefaults(
        port=8104,
        settings=DEV_OAUTH_CLIENT,
        simulator_secrets={"client_id": "oauth_client_id", "client_secret": "oauth_client_secret"},
    ),
)
