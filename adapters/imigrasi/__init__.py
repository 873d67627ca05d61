"""Imigrasi (Direktorat Jenderal Imigrasi) adapter: passport applications over SOAP 1.1,
progress polled.
"""

from __future__ import annotations

from adapters.sdk.plugin import DevDefaults, package_plugin

plugin = package_plugin(
    __name__,
    payloads="schemas.services.imigrasi:PAYLOADS",
    # Real counters poll every 30 s; quicker for a local demo.
    dev=DevDefaults(port=8103, settings={"poll_interval_seconds": 5}),
)
