"""Polri (Kepolisian Negara Republik Indonesia; Polres Bukittinggi at the MPP) adapter.

An asynchronous ("callback") backend: it accepts an SKCK or SIM-renewal application
and later calls the hub back with a signed verdict.
"""

from __future__ import annotations

from adapters.sdk.plugin import DevDefaults, package_plugin

#: The development callback secret; equal to the simulator's own default
#: (``adapters.polri.simulator.DEV_CALLBACK_SECRET``), which runs it stand-alone.
DEV_CALLBACK_SECRET = "dev-polri-callback-secret"

plugin = package_plugin(
    __name__,
    payloads="schemas.services.polri:PAYLOADS",
    dev=DevDefaults(
        port=8102,
        settings={"callback_secret": DEV_CALLBACK_SECRET},
        simulator_secrets={"callback_secret": "callback_secret"},
        calls_back=True,
    ),
)
