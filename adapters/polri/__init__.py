"""Polri (Kepolisian Negara Republik Indonesia; Polres Bukittinggi at the MPP) adapter.

An asynchronous ("callback") backend: it accepts an SKCK or SIM-renewal application
and later calls the hub back with a signed verdict. Registered through one entry point
(pyproject.toml): ``mpp_hub.agencies: polri = "adapters.polri:plugin"``. Modules are
imported lazily so discovering the plug-in stays cheap.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from adapters.sdk import Adapter, BackendSettings
from adapters.sdk.contract import SimulatorOptions
from adapters.sdk.plugin import AgencyPlugin, DevDefaults, lazy_call, lazy_value

#: The development callback secret; equal to the simulator's own default
#: (``adapters.polri.simulator.DEV_CALLBACK_SECRET``), which runs it stand-alone.
DEV_CALLBACK_SECRET = "dev-polri-callback-secret"


def adapter_factory(settings: BackendSettings) -> Adapter:
    from adapters.polri.adapter import PolriAdapter

    return PolriAdapter(settings)


def simulator_factory(options: SimulatorOptions) -> Any:
    """The ASGI app of the Polri backend simulator (for `mpp-hub simulator polri`).

    ``options.secrets["callback_secret"]`` signs the callbacks; the hub starts it with
    the secret it verifies with (``MPP_AGENCIES__POLRI__CALLBACK_SECRET``).
    """
    from adapters.polri.simulator import DEV_CALLBACK_SECRET, SECRET_NAME, create_app

    return create_app(ledger_path=options.ledger_path, callback_secret=options.secrets.get(SECRET_NAME, DEV_CALLBACK_SECRET))


plugin = AgencyPlugin(
    agency="polri",
    adapter=adapter_factory,
    settings_model=lazy_value("adapters.polri.adapter:PolriSettings"),
    simulator=simulator_factory,
    contract=lazy_call("adapters.polri.contract:contract"),
    payloads=lazy_value("schemas.services.polri:PAYLOADS"),
    catalogue=Path(__file__).with_name("catalogue.toml"),
    dev=DevDefaults(
        port=8102,
        settings={"callback_secret": DEV_CALLBACK_SECRET},
        simulator_secrets={"callback_secret": "callback_secret"},
        calls_back=True,
    ),
)
