"""Kemenhaj (Kementerian Haji dan Umrah) adapter: regular hajj registration,
cancellation and portion transfer in Siskohat.

The ministry was created by UU 14/2025 and Perpres 92/2025 and took Siskohat over
from Kemenag [S:KEMENHAJ]. Its backend is the hub's fourth style: a batch exchange
(``BackendStyle.BATCH``): records go into an inbox batch the agency closes at
cut-off times, results come in the batch's result file, which the adapter reads
when the hub's poller asks.
"""

from __future__ import annotations

from adapters.sdk.plugin import DevDefaults, package_plugin

#: The development key; equal to the simulator's own default
#: (``adapters.kemenhaj.simulator.DEV_API_KEY``), which runs it stand-alone.
DEV_API_KEY = "dev-kemenhaj-siskohat-key"

plugin = package_plugin(
    __name__,
    payloads="schemas.services.haji:PAYLOADS",
    dev=DevDefaults(
        port=8108,
        settings={"api_key": DEV_API_KEY, "result_margin_seconds": 1, "poll_interval_seconds": 2},
        simulator_secrets={"api_key": "api_key"},
    ),
)
