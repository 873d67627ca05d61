"""A throwaway agency: the kelurahan (village office) issues a certificate of domicile.

Everything the hub needs is behind the one entry point ``mpp_hub.agencies: kelurahan``;
the functions import their modules only when called.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from adapters.sdk.plugin import AgencyPlugin, DevDefaults

if TYPE_CHECKING:
    from adapters.sdk import Adapter, BackendSettings
    from adapters.sdk.contract import AgencyContract, SimulatorOptions
    from schemas.services.base import ServicePayloads

DEV_API_KEY = "dev-kelurahan-api-key"


def _adapter(settings: BackendSettings) -> Adapter:
    from mpp_kelurahan.adapter import KelurahanAdapter

    return KelurahanAdapter(settings)


def _settings_model() -> type[BackendSettings]:
    from mpp_kelurahan.adapter import KelurahanSettings

    return KelurahanSettings


def _simulator(options: SimulatorOptions) -> Any:
    from mpp_kelurahan.simulator import create_app

    return create_app(api_key=options.secrets.get("api_key", DEV_API_KEY), ledger_path=options.ledger_path)


def _contract() -> AgencyContract:
    from mpp_kelurahan.contract import contract

    return contract()


def _payloads() -> Mapping[str, ServicePayloads]:
    from mpp_kelurahan.models import PAYLOADS

    return PAYLOADS


plugin = AgencyPlugin(
    agency="kelurahan",
    adapter=_adapter,
    settings_model=_settings_model,
    simulator=_simulator,
    contract=_contract,
    payloads=_payloads,
    catalogue=Path(__file__).with_name("catalogue.toml"),
    dev=DevDefaults(port=8199, settings={"api_key": DEV_API_KEY}, simulator_secrets={"api_key": "api_key"}),
)
