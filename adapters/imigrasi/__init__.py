"""Imigrasi (Direktorat Jenderal Imigrasi) adapter: passport applications over SOAP 1.1,
progress polled.

Entry points (see pyproject.toml): ``mpp_hub.adapters: imigrasi``,
``mpp_hub.simulators: imigrasi`` and ``mpp_hub.contracts: imigrasi``. Modules are
imported lazily so that discovering the plug-in costs nothing.
"""

from __future__ import annotations

from typing import Any

from adapters.sdk import Adapter, BackendSettings
from adapters.sdk.contract import SimulatorOptions


def adapter_factory(settings: BackendSettings) -> Adapter:
    """The adapter; Imigrasi's own settings (``poll_interval_seconds``) are validated here."""
    from adapters.imigrasi.adapter import ImigrasiAdapter

    return ImigrasiAdapter(settings)


def simulator_factory(options: SimulatorOptions) -> Any:
    """The ASGI app of the passport service simulator (for `mpp-hub simulator imigrasi`).

    The service has no shared secrets (``options.secrets`` is unused)."""
    from adapters.imigrasi.simulator import create_app

    return create_app(ledger_path=options.ledger_path)
