"""Per-service payloads: what the portal sends in ``data`` and what the agency returns.

Each module defines ``PAYLOADS`` for its services; the catalogue (data, in the hub)
says which agency provides a service, these models say what the service means,
whoever provides it.
"""

from __future__ import annotations

from schemas.services import djp, haji, halal, imigrasi, kemenag, polri, samsat
from schemas.services.base import ServicePayloads

PAYLOADS: dict[str, ServicePayloads] = {
    **samsat.PAYLOADS,
    **polri.PAYLOADS,
    **imigrasi.PAYLOADS,
    **djp.PAYLOADS,
    **kemenag.PAYLOADS,
    **haji.PAYLOADS,
    **halal.PAYLOADS,
}

__all__ = ["PAYLOADS", "ServicePayloads"]
