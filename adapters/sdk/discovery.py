"""Find agencies by entry point, never by module name.

Each agency, built in or installed as its own package, declares one entry point in the
group ``mpp_hub.agencies`` naming its :class:`~adapters.sdk.plugin.AgencyPlugin`::

    [project.entry-points."mpp_hub.agencies"]
    kelurahan = "mpp_kelurahan:plugin"

This is the only way the hub learns about an agency: nothing in it lists them.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib.metadata import EntryPoint, entry_points

from adapters.sdk.base import Adapter
from adapters.sdk.plugin import AgencyPlugin
from adapters.sdk.settings import BackendSettings

AGENCIES_GROUP = "mpp_hub.agencies"

AdapterFactory = Callable[[BackendSettings], Adapter]


class PluginNotFound(LookupError):
    def __init__(self, name: str, available: list[str]) -> None:
        listing = ", ".join(sorted(available)) or "none installed"
        super().__init__(f"no agency named {name!r} is installed: no {AGENCIES_GROUP!r} entry point of that name (available: {listing})")


class PluginInvalid(RuntimeError):
    """An entry point of the group is broken; names the entry point and its distribution."""


def available() -> list[str]:
    """Names of the installed agencies, without loading any of them."""
    return sorted({ep.name for ep in entry_points(group=AGENCIES_GROUP)})


def installed() -> dict[str, AgencyPlugin]:
    """Every installed agency's plug-in, by name."""
    plugins: dict[str, AgencyPlugin] = {}
    for entry_point in sorted(entry_points(group=AGENCIES_GROUP), key=lambda ep: ep.name):
        if entry_point.name in plugins:
            raise PluginInvalid(f"{_where(entry_point)}: agency {entry_point.name!r} is registered twice")
        plugins[entry_point.name] = _load(entry_point)
    return plugins


def load_agency(name: str) -> AgencyPlugin:
    matches = [ep for ep in entry_points(group=AGENCIES_GROUP) if ep.name == name]
    if not matches:
        raise PluginNotFound(name, available())
    if len(matches) > 1:
        raise PluginInvalid(f"{_where(matches[1])}: agency {name!r} is registered twice")
    return _load(matches[0])


def load_adapter_factory(name: str) -> AdapterFactory:
    return load_agency(name).adapter


def _load(entry_point: EntryPoint) -> AgencyPlugin:
    try:
        plugin = entry_point.load()
    except Exception as exc:
        raise PluginInvalid(f"{_where(entry_point)} failed to load: {exc!r}") from exc
    if not isinstance(plugin, AgencyPlugin):
        raise PluginInvalid(f"{_where(entry_point)} is a {type(plugin).__name__}, not an AgencyPlugin")
    if plugin.agency != entry_point.name:
        raise PluginInvalid(f"{_where(entry_point)} is the plug-in of {plugin.agency!r}; the entry point must carry the agency's name")
    return plugin


def _where(entry_point: EntryPoint) -> str:
    dist = f" of {entry_point.dist.name}" if entry_point.dist else ""
    return f"entry point {entry_point.name} = {entry_point.value!r} in {AGENCIES_GROUP}{dist}"
