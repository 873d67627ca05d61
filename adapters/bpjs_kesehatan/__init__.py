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

from adapters.sdk.plugin import DevDefaults, package_plugin

#: The development consumer id and secret; equal to the simulator's own defaults
#: (``adapters.bpjs_kesehatan.simulator.DEV_CONS_ID`` / ``DEV_SECRET``).
DEV_CONSUMER = {"cons_id": "mpp-hub-dev", "secret": "dev-bpjs-kesehatan-secret"}

plugin = package_plugin(
    __name__,
    payloads="schemas.services.jkn:PAYLOADS",
    dev=DevDefaults(port=8110, settings=DEV_CONSUMER, simulator_secrets={"cons_id": "cons_id", "secret": "secret"}),
)
