"""DJP (Direktorat Jenderal Pajak, the tax directorate; KPP Pratama Bukittinggi) adapter.

Services: NIK-as-NPWP activation, KSWP (taxpayer status confirmation) and SKF (tax
clearance letter), over synchronous REST/JSON behind an expiring OAuth2
client-credentials token.

Entry points (see pyproject.toml): ``mpp_hub.adapters: djp``, ``mpp_hub.simulators: djp``
and ``mpp_hub.contracts: djp``. Imports are lazy so discovering the plug-in stays cheap.
"""

from __future__ import annotations

from typing import Any

from adapters.sdk import Adapter, BackendSettings
from adapters.sdk.contract import SimulatorOptions


def adapter_factory(settings: BackendSettings) -> Adapter:
    """The DJP adapter; raises ``DjpConfigurationError`` when the OAuth client is not configured."""
    from adapters.djp.adapter import DjpAdapter

    return DjpAdapter(settings)


def simulator_factory(options: SimulatorOptions) -> Any:
    """The ASGI app of the DJP backend simulator (for `mpp-hub simulator djp`).

    ``options.secrets`` may set ``client_id`` and ``client_secret`` of the one OAuth
    client it knows; the defaults match the hub's dev settings (hub/config.py).
    """
    from adapters.djp.simulator import KonfigurasiSimulator, create_app

    return create_app(KonfigurasiSimulator.dari_rahasia(options.ledger_path, options.secrets))
