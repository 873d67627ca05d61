"""Dukcapil (Direktorat Jenderal Kependudukan dan Pencatatan Sipil: the civil registry,
owner of the NIK) for mpp-hub, packaged on its own.

The hub finds everything here through one entry point declared in this distribution's
``pyproject.toml``: ``mpp_hub.agencies: dukcapil = "mpp_dukcapil:plugin"``. The plug-in
object below points at the adapter, its settings, the simulator, the contract samples,
the payload models and the catalogue file through small functions (and the SDK's
``lazy_value``/``lazy_call`` references) that import their modules only when called, so
discovering the plug-in stays cheap and cannot drag the simulator's or the adapter's
dependencies into processes that do not need them. (``_payloads`` is private and named
unlike the submodule: importing ``mpp_dukcapil.payloads`` binds that name on this
package, and must never shadow anything the hub uses.)
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from adapters.sdk.plugin import AgencyPlugin, DevDefaults, lazy_call, lazy_value

if TYPE_CHECKING:
    from adapters.sdk import Adapter, BackendSettings
    from adapters.sdk.contract import SimulatorOptions
    from schemas.services.base import ServicePayloads

AGENCY = "dukcapil"
#: The development API key; equal to the simulator's own default
#: (:data:`mpp_dukcapil.simulator.DEV_API_KEY`), which runs it stand-alone.
DEV_API_KEY = "dev-dukcapil-api-key"


def adapter_factory(settings: BackendSettings) -> Adapter:
    """The adapter for a configured backend."""
    from mpp_dukcapil.adapter import DukcapilAdapter

    return DukcapilAdapter(settings)


def simulator_factory(options: SimulatorOptions) -> Any:
    """The ASGI app of the simulated Dukcapil web service.

    ``options.secrets["api_key"]`` is the API key it accepts; the hub passes the
    adapter's (``MPP_AGENCIES__DUKCAPIL__API_KEY``), and without it the simulator uses
    its development key.
    """
    from mpp_dukcapil.simulator import DEV_API_KEY, create_app

    return create_app(api_key=options.secrets.get("api_key", DEV_API_KEY), ledger_path=options.ledger_path)


def _payloads() -> Mapping[str, ServicePayloads]:
    """Canonical input/output models per service code, asked for by the hub's catalogue."""
    from mpp_dukcapil.payloads import NIK_VERIFICATION, NikVerificationInput, NikVerificationOutput
    from schemas.services.base import ServicePayloads

    return {NIK_VERIFICATION: ServicePayloads(input=NikVerificationInput, output=NikVerificationOutput)}


plugin = AgencyPlugin(
    agency=AGENCY,
    adapter=adapter_factory,
    settings_model=lazy_value("mpp_dukcapil.adapter:DukcapilSettings"),
    simulator=simulator_factory,
    contract=lazy_call("mpp_dukcapil.contract:contract"),
    payloads=_payloads,
    catalogue=Path(__file__).with_name("catalogue.toml"),
    dev=DevDefaults(port=8107, settings={"api_key": DEV_API_KEY}, simulator_secrets={"api_key": "api_key"}),
)

__all__ = ["AGENCY", "DEV_API_KEY", "adapter_factory", "plugin", "simulator_factory"]
