"""Polri (Kepolisian Negara Republik Indonesia; Polres Bukittinggi at the MPP) adapter.

An asynchronous ("callback") backend: it accepts an SKCK or SIM-renewal application
and later calls the hub back with a signed verdict. Entry points (pyproject.toml):
``mpp_hub.adapters: polri``, ``mpp_hub.simulators: polri``, ``mpp_hub.contracts: polri``.
Modules are imported lazily so discovering the plug-in stays cheap.
"""

from __future__ import annotations

from typing import Any

from adapters.sdk import Adapter, BackendSettings
from adapters.sdk.contract import SimulatorOptions


def adapter_factory(settings: BackendSettings) -> Adapter:
    from adapters.polri.adapter import PolriAdapter

    return PolriAdapter(settings)


def simulator_factory(options: SimulatorOptions) -> Any:
    """The ASGI app of the Polri backend simulator (for `mpp-hub simulator polri`).

    ``options.secrets["callback_secret"]`` signs the callbacks; the default is the
    hub's development secret, so `mpp-hub dev` works out of the box.
    """
    from adapters.polri.simulator import DEV_CALLBACK_SECRET, SECRET_NAME, create_app

    return create_app(ledger_path=options.ledger_path, callback_secret=options.secrets.get(SECRET_NAME, DEV_CALLBACK_SECRET))
