"""Samsat (Kantor Bersama Samsat: joint vehicle registration and tax office) adapter.

Entry points (see pyproject.toml): ``mpp_hub.adapters: samsat``, ``mpp_hub.simulators:
samsat`` and ``mpp_hub.contracts: samsat`` (``adapters.samsat.contract:contract``).
"""

from __future__ import annotations

from typing import Any

from adapters.sdk import Adapter, BackendSettings
from adapters.sdk.contract import SimulatorOptions


def adapter_factory(settings: BackendSettings) -> Adapter:
    from adapters.samsat.adapter import SamsatAdapter

    return SamsatAdapter(settings)


def simulator_factory(options: SimulatorOptions) -> Any:
    """The ASGI app of the Samsat backend simulator (for `mpp-hub simulator samsat`).

    Samsat's native API has no shared secrets, so ``options.secrets`` is unused."""
    from adapters.samsat.simulator import create_app

    return create_app(ledger_path=options.ledger_path)
