"""A throwaway agency: the kelurahan (village office) issues a certificate of domicile.

Everything the hub needs is behind the one entry point ``mpp_hub.agencies: kelurahan``;
its parts are imported only when called.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from adapters.sdk.plugin import AgencyPlugin, DevDefaults, lazy_call, lazy_value

if TYPE_CHECKING:
    from adapters.sdk.contract import SimulatorOptions

DEV_API_KEY = "dev-kelurahan-api-key"


def _simulator(options: SimulatorOptions) -> Any:
    from mpp_kelurahan.simulator import create_app

    return create_app(api_key=options.secrets.get("api_key", DEV_API_KEY), ledger_path=options.ledger_path)


plugin = AgencyPlugin(
    agency="kelurahan",
    adapter=lazy_call("mpp_kelurahan.adapter:KelurahanAdapter"),
    settings_model=lazy_value("mpp_kelurahan.adapter:KelurahanSettings"),
    simulator=_simulator,
    contract=lazy_call("mpp_kelurahan.contract:contract"),
    payloads=lazy_value("mpp_kelurahan.models:PAYLOADS"),
    catalogue=Path(__file__).with_name("catalogue.toml"),
    dev=DevDefaults(port=8199, settings={"api_key": DEV_API_KEY}, simulator_secrets={"api_key": "api_key"}),
)
