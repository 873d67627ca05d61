"""Dukcapil (Direktorat Jenderal Kependudukan dan Pencatatan Sipil: the civil registry,
owner of the NIK) for mpp-hub, packaged on its own.

The hub finds everything here through one entry point declared in this distribution's
``pyproject.toml``: ``mpp_dukcapil:plugin``. The package follows the SDK's layout
conventions (``adapter.py`` with ``DukcapilAdapter``, ``simulator.py`` with
``from_options``, ``contract.py`` with ``contract``, ``payloads.py`` with ``PAYLOADS``,
``catalogue.toml``), so ``package_plugin`` declares the plug-in in one call; it points
at those modules without importing them, so discovering the plug-in stays cheap and
cannot drag the simulator's or the adapter's dependencies into processes that do not
need them.
"""

from __future__ import annotations

from adapters.sdk.plugin import DevDefaults, package_plugin

AGENCY = "dukcapil"
#: The development API key: the adapter's under `mpp-hub dev`, and the key the simulator
#: accepts when it is started without one.
DEV_API_KEY = "dev-dukcapil-api-key"

plugin = package_plugin(
    __name__, agency=AGENCY, dev=DevDefaults(port=8107, settings={"api_key": DEV_API_KEY}, simulator_secrets={"api_key": "api_key"})
)

__all__ = ["AGENCY", "DEV_API_KEY", "plugin"]
