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

from adapters.sdk.plugin import DevDefaults, package_plugin

#: The development credentials; equal to the simulator's own defaults
#: (``adapters.oss.simulator.DEV_USER_KEY`` / ``DEV_ACCOUNT``), which run it stand-alone.
DEV_CREDENTIALS = {"user_key": "dev-oss-user-key", "username": "dpmptsp-bukittinggi", "password": "dev-oss-password"}

plugin = package_plugin(
    __name__,
    payloads="schemas.services.oss:PAYLOADS",
    dev=DevDefaults(
        port=8109,
        settings=DEV_CREDENTIALS,
        simulator_secrets={"user_key": "user_key", "username": "username", "password": "password"},
    ),
)
