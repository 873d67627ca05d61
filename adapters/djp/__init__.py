"""DJP (Direktorat Jenderal Pajak, the tax directorate; KPP Pratama Bukittinggi) adapter.

Services: NIK-as-NPWP activation, KSWP (taxpayer status confirmation) and SKF (tax
clearance letter), over synchronous REST/JSON behind an expiring OAuth2
client-credentials token.
"""

from __future__ import annotations

from adapters.sdk.plugin import DevDefaults, package_plugin

#: The development OAuth client the hub and the simulator share under `mpp-hub dev`
#: (the simulator's own defaults, ``adapters.djp.simulator``, are the same).
DEV_OAUTH_CLIENT = {"oauth_client_id": "mpp-hub", "oauth_client_secret": "dev-djp-client-secret"}

plugin = package_plugin(
    __name__,
    payloads="schemas.services.djp:PAYLOADS",
    dev=DevDefaults(
        port=8104, settings=DEV_OAUTH_CLIENT, simulator_secrets={"client_id": "oauth_client_id", "client_secret": "oauth_client_secret"}
    ),
)
