"""Canonical payloads of the kemenag services (filled in with the agency's adapter)."""

from __future__ import annotations

from schemas.services.base import ServicePayloads

PAYLOADS: dict[str, ServicePayloads] = {}
