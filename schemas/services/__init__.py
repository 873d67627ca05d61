"""Per-service payloads: what the portal sends in ``data`` and what the agency returns.

Each module defines ``PAYLOADS`` for its services; the catalogue (data, in the hub)
says which agency provides a service, these models say what the service means,
whoever provides it.
"""

from __future__ import annotations

from importlib.metadata import entry_points

from schemas.services import djp, haji, halal, imigrasi, kemenag, polri, samsat
from schemas.services.base import ServicePayloads

#: Entry-point group through which a separately packaged agency contributes the
#: canonical payloads of its services (a callable returning ``dict[str, ServicePayloads]``).
PLUGIN_GROUP = "mpp_hub.service_payloads"


def _plugin_payloads() -> dict[str, ServicePayloads]:
    found: dict[str, ServicePayloads] = {}
    for entry_point in entry_points(group=PLUGIN_GROUP):
        found.update(entry_point.load()())
    return found


BUILT_IN: dict[str, ServicePayloads] = {
    **samsat.PAYLOADS,
    **polri.PAYLOADS,
    **imigrasi.PAYLOADS,
    **djp.PAYLOADS,
    **kemenag.PAYLOADS,
    **haji.PAYLOADS,
    **halal.PAYLOADS,
}
PAYLOADS: dict[str, ServicePayloads] = {**_plugin_payloads(), **BUILT_IN}

__all__ = ["PAYLOADS", "ServicePayloads"]
