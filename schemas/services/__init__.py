"""Per-service payloads: what the portal sends in ``data`` and what the agency returns.

Each module here defines ``PAYLOADS`` for the services of one domain: the canonical
contract, published as JSON Schema (:mod:`schemas.export`). Nothing here lists agencies
or loads plug-ins: each agency's plug-in points at the models of its own services, and
the hub's catalogue asks the installed plug-ins for them when it loads. The catalogue
(data, in the hub and in each agency package) says which agency provides a service;
these models say what the service means, whoever provides it.
"""

from __future__ import annotations

import importlib
import pkgutil

from schemas.services.base import ServicePayloads


def defined_here() -> dict[str, ServicePayloads]:
    """Every service's payloads defined in this package (each module's ``PAYLOADS``)."""
    found: dict[str, ServicePayloads] = {}
    for module_info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{__name__}.{module_info.name}")
        payloads: dict[str, ServicePayloads] = getattr(module, "PAYLOADS", {})
        duplicated = set(found) & set(payloads)
        if duplicated:
            raise ValueError(f"{module.__name__} defines {sorted(duplicated)} again")
        found.update(payloads)
    return found


__all__ = ["ServicePayloads", "defined_here"]
