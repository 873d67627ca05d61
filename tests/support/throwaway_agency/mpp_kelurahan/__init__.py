"""A throwaway agency: the kelurahan (village office) issues a certificate of domicile.

Everything the hub needs is behind the one entry point ``mpp_hub.agencies: kelurahan``:
a plug-in laid out by the SDK's conventions (its payload models live in ``models.py``),
whose parts are imported only when called.
"""

from __future__ import annotations

from adapters.sdk.plugin import DevDefaults, package_plugin

DEV_API_KEY = "dev-kelurahan-api-key"

plugin = package_plugin(
    __name__,
    payloads="mpp_kelurahan.models:PAYLOADS",
    dev=DevDefaults(port=8199, settings={"api_key": DEV_API_KEY}, simulator_secrets={"api_key": "api_key"}),
)
