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


class PluginPayloadsError(RuntimeError):
    """A plug-in's payload registry could not be used; names the entry point."""


def _plugin_payloads(built_in: dict[str, ServicePayloads]) -> dict[str, ServicePayloads]:
    found: dict[str, ServicePayloads] = {}
    for entry_point in sorted(entry_points(group=PLUGIN_GROUP), key=lambda ep: ep.name):
        where = f"entry point {entry_point.name!r} ({entry_point.value}) in {PLUGIN_GROUP}"
        try:
            contributed = entry_point.load()()
        except Exception as exc:
            raise PluginPayloadsError(f"{where} failed to load: {exc!r}") from exc
        for code, payloads in dict(contributed).items():
            if not isinstance(payloads, ServicePayloads):
                raise PluginPayloadsError(f"{where}: {code!r} is not a ServicePayloads")
            if code in built_in or code in found:
                raise PluginPayloadsError(f"{where}: service {code!r} is already defined")
            found[code] = payloads
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
PAYLOADS: dict[str, ServicePayloads] = {**BUILT_IN, **_plugin_payloads(BUILT_IN)}

__all__ = ["PAYLOADS", "ServicePayloads"]
