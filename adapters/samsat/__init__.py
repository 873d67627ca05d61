"""Samsat (Kantor Bersama Samsat: joint vehicle registration and tax office) adapter."""

from __future__ import annotations

from adapters.sdk.plugin import DevDefaults, package_plugin

plugin = package_plugin(__name__, payloads="schemas.services.samsat:PAYLOADS", dev=DevDefaults(port=8101))
