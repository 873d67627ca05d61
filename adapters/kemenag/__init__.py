"""Kemenag (Kementerian Agama, Ministry of Religious Affairs) adapter: the KUA's
marriage services through SIMKAH, a slow, form-encoded, sometimes-down backend.

Hajj registration and halal certification left Kemenag in 2025 (to the Ministry of
Hajj and Umrah and to BPJPH); the catalogue points them at their new providers, so
this adapter does not carry them.
"""

from __future__ import annotations

from adapters.sdk.plugin import DevDefaults, package_plugin

plugin = package_plugin(
    __name__,
    payloads="schemas.services.kemenag:PAYLOADS",
    dev=DevDefaults(port=8105),  # SIMKAH is slow: KemenagSettings' own timeout default applies
)
