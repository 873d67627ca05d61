"""OSS-RBA (Online Single Submission Risk-Based Approach) adapter: the NIB at the DPMPTSP counter.

OSS-RBA is run by the Ministry of Investment/BKPM; the city's DPMPTSP (one-stop
investment and licensing office) registers businesses in it at the MPP. Since 5 Jun
2025 the regime is PP 28/2025, which replaced PP 5/2021 [S:PP28-SWI]. Its catalogue
entry ``oss.nib_registration`` issues the NIB of an individual's micro or small
business; the KBLI's risk level decides whether the NIB is the licence itself.

The backend is REST/JSON with a ``user_key`` header on every call and a Bearer token
obtained with the counter's OSS account; a registration is answered at once.

Registered through one entry point (pyproject.toml): ``mpp_hub.agencies: oss =
"adapters.oss:plugin"``. Modules are imported lazily so discovering the plug-in stays
cheap.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from adapters.sdk import Adapter, BackendSettings
from adapters.sdk.contract import SimulatorOptions
from adapters.sdk.plugin import AgencyPlugin, DevDefaults, lazy_call, lazy_value

#: The development credentials; equal to the simulator's own defaults
#: (``adapters.oss.simulator.DEV_USER_KEY`` / ``DEV_ACCOUNT``), which run it stand-alone.
DEV_CREDENTIALS = {"user_key": "dev-oss-user-key", "username": "dpmptsp-bukittinggi", "password": "dev-oss-password"}


def adapter_factory(settings: BackendSettings) -> Adapter:
    """The adapter; raises ``OssConfigurationError`` naming what to set when a credential is missing."""
    from adapters.oss.adapter import OssAdapter

    return OssAdapter(settings)


def simulator_factory(options: SimulatorOptions) -> Any:
    """The ASGI app of the OSS simulator (for `mpp-hub simulator oss`).

    ``options.secrets`` may set ``user_key``, ``username`` and ``password``; the hub
    passes the adapter's (``MPP_AGENCIES__OSS__*``)."""
    from adapters.oss.simulator import create_app

    return create_app(ledger_path=options.ledger_path, secrets_=options.secrets)


plugin = AgencyPlugin(
    agency="oss",
    adapter=adapter_factory,
    settings_model=lazy_value("adapters.oss.adapter:OssSettings"),
    simulator=simulator_factory,
    contract=lazy_call("adapters.oss.contract:contract"),
    payloads=lazy_value("schemas.services.oss:PAYLOADS"),
    catalogue=Path(__file__).with_name("catalogue.toml"),
    dev=DevDefaults(
        port=8109,
        settings=DEV_CREDENTIALS,
        simulator_secrets={"user_key": "user_key", "username": "username", "password": "password"},
    ),
)
