"""Samsat (Kantor Bersama Samsat: joint vehicle registration and tax office) adapter.

Registered like any agency package, through one entry point (pyproject.toml):
``mpp_hub.agencies: samsat = "adapters.samsat:plugin"``, a plug-in laid out by the
SDK's conventions whose modules are imported only when first needed.
"""

from __future__ import annotations

from adapters.sdk.plugin import DevDefaults, package_plugin

plugin = package_plugin(__name__, payloads="schemas.services.samsat:PAYLOADS", dev=DevDefaults(port=8101))
