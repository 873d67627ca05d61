"""Find adapters (and their simulators) by entry point, never by module name.

An agency's adapter can ship as its own pip package that declares, in its
``pyproject.toml``::

    [project.entry-points."mpp_hub.adapters"]
    dukcapil = "dukcapil_adapter:adapter_factory"
"""

from __future__ import annotations

from collections.abc import Callable
from importlib.metadata import entry_points
from typing import Any

from adapters.sdk.base import Adapter
from adapters.sdk.settings import BackendSettings

ADAPTERS_GROUP = "mpp_hub.adapters"
SIMULATORS_GROUP = "mpp_hub.simulators"

AdapterFactory = Callable[[BackendSettings], Adapter]


class PluginNotFound(LookupError):
    def __init__(self, group: str, name: str, available: list[str]) -> None:
        listing = ", ".join(sorted(available)) or "none installed"
        super().__init__(f"no {group!r} entry point named {name!r} (available: {listing})")


def available(group: str = ADAPTERS_GROUP) -> list[str]:
    return sorted(ep.name for ep in entry_points(group=group))


def load_plugin(group: str, name: str) -> Any:
    matches = [ep for ep in entry_points(group=group) if ep.name == name]
    if not matches:
        raise PluginNotFound(group, name, available(group))
    return matches[0].load()


def load_adapter_factory(name: str) -> AdapterFactory:
    factory: AdapterFactory = load_plugin(ADAPTERS_GROUP, name)
    return factory
