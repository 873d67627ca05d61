"""BPJPH (Badan Penyelenggara Jaminan Produk Halal) adapter: halal certification in SIHALAL.

BPJPH has been a non-ministerial agency reporting to the President since 29 Jul 2025
(before that it was part of Kemenag) [S:BPJPH-SPLIT]; its catalogue entry points
``halal.certification`` at it. Its backend is REST/JSON behind a partner API key,
with progress polled.
"""

from __future__ import annotations

from adapters.sdk.plugin import DevDefaults, package_plugin

#: The development partner key; equal to the simulator's own default
#: (``adapters.bpjph.simulator.DEV_API_KEY``), which runs it stand-alone.
DEV_API_KEY = "dev-bpjph-api-key"

plugin = package_plugin(
    __name__,
    payloads="schemas.services.halal:PAYLOADS",
    dev=DevDefaults(port=8106, settings={"api_key": DEV_API_KEY, "poll_interval_seconds": 5}, simulator_secrets={"api_key": "api_key"}),
)
