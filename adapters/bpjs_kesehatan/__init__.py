"""BPJS Kesehatan adapter: the JKN (Jaminan Kesehatan Nasional) membership check that
SIM and SKCK applications now ask for.

Inpres 1/2022 told the police to require active JKN membership; Perpol 2/2023 made
it a SIM requirement (West Sumatra one of the seven pilot Polda from 1 Jul 2024)
and Perpol 6/2023 an SKCK one [S:JKN-SIM-PILOT][S:JKN-SKCK]. The backend is a
synchronous REST/JSON service in the style of BPJS Kesehatan's bridging web
services: every request signed with the consumer id and secret BPJS issued (HMAC-
SHA256 over ``consId&timestamp``), every answer in a ``metaData``/``response``
envelope.

Registered through one entry point (pyproject.toml): ``mpp_hub.agencies:
bpjs_kesehatan = "adapters.bpjs_kesehatan:plugin"``. Modules are imported lazily so
discovering the plug-in stays cheap.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from adapters.sdk import Adapter, BackendSettings
from adapters.sdk.contract import SimulatorOptions
from adapters.sdk.plugin import AgencyPlugin, DevDefaults, lazy_call, lazy_value

#: The development consumer id and secret; equal to the simulator's own defaults
#: (``adapters.bpjs_kesehatan.simulator.DEV_CONS_ID`` / ``DEV_SECRET``).
DEV_CONSUMER = {"cons_id": "mpp-hub-dev", "secret": "dev-bpjs-kesehatan-secret"}


def adapter_factory(settings: BackendSettings) -> Adapter:
    """The adapter; raises ``BpjsConfigurationError`` naming what to set when the consumer id or secret is missing."""
    from adapters.bpjs_kesehatan.adapter import BpjsKesehatanAdapter

    return BpjsKesehatanAdapter(settings)


def simulator_factory(options: SimulatorOptions) -> Any:
    """The ASGI app of the JKN membership simulator (for `mpp-hub simulator bpjs_kesehatan`).

    ``options.secrets`` may set ``cons_id`` and ``secret`` (the hub passes the
    adapter's, ``MPP_AGENCIES__BPJS_KESEHATAN__CONS_ID`` / ``__SECRET``); an unknown
    name is refused rather than silently ignored."""
    from adapters.bpjs_kesehatan.simulator import DEV_CONS_ID, DEV_SECRET, SECRET_NAMES, create_app

    unknown = sorted(set(options.secrets) - SECRET_NAMES)
    if unknown:
        raise ValueError(f"unknown BPJS Kesehatan simulator secret(s) {unknown}; known: {sorted(SECRET_NAMES)}")
    return create_app(
        ledger_path=options.ledger_path,
        cons_id=options.secrets.get("cons_id", DEV_CONS_ID),
        secret=options.secrets.get("secret", DEV_SECRET),
    )


plugin = AgencyPlugin(
    agency="bpjs_kesehatan",
    adapter=adapter_factory,
    settings_model=lazy_value("adapters.bpjs_kesehatan.adapter:BpjsKesehatanSettings"),
    simulator=simulator_factory,
    contract=lazy_call("adapters.bpjs_kesehatan.contract:contract"),
    payloads=lazy_value("schemas.services.jkn:PAYLOADS"),
    catalogue=Path(__file__).with_name("catalogue.toml"),
    dev=DevDefaults(
        port=8110,
        settings=DEV_CONSUMER,
        simulator_secrets={"cons_id": "cons_id", "secret": "secret"},
    ),
)
