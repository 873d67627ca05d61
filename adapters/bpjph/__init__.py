"""BPJPH (Badan Penyelenggara Jaminan Produk Halal) adapter: halal certification in SIHALAL.

BPJPH has been a non-ministerial agency reporting to the President since 29 Jul 2025
(before that it was part of Kemenag) [S:BPJPH-SPLIT]; the catalogue points
``halal.certification`` at it. Its backend is REST/JSON behind a partner API key,
with progress polled.

Entry points (see pyproject.toml): ``mpp_hub.adapters: bpjph``,
``mpp_hub.simulators: bpjph`` and ``mpp_hub.contracts: bpjph``. Modules are imported
lazily so discovering the plug-in stays cheap.
"""

from __future__ import annotations

from typing import Any

from adapters.sdk import Adapter, BackendSettings
from adapters.sdk.contract import SimulatorOptions


def adapter_factory(settings: BackendSettings) -> Adapter:
    """The adapter; raises ``BpjphConfigurationError`` naming what to set when the API key is missing."""
    from adapters.bpjph.adapter import BpjphAdapter

    return BpjphAdapter(settings)


def simulator_factory(options: SimulatorOptions) -> Any:
    """The ASGI app of the SIHALAL simulator (for `mpp-hub simulator bpjph`).

    ``options.secrets["api_key"]`` is the partner key it accepts; the default is the
    hub's development key (``MPP_AGENCIES__BPJPH__API_KEY`` in dev)."""
    from adapters.bpjph.simulator import DEV_API_KEY, SECRET_NAME, create_app

    return create_app(ledger_path=options.ledger_path, api_key=options.secrets.get(SECRET_NAME, DEV_API_KEY))
