"""The service catalogue: which services exist, who provides each, what they need.

Loaded from the TOML files in ``services/`` (one per agency or domain), or from a
directory named by the caller, so re-pointing a service to another provider is a
data change, not a code change.
"""

from __future__ import annotations

import tomllib
from importlib.metadata import entry_points
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from schemas.services import PAYLOADS, ServicePayloads

DEFAULT_PATH = Path(__file__).with_name("services")
#: Entry-point group: a callable returning the path of a package's catalogue TOML file.
PLUGIN_GROUP = "mpp_hub.catalogue"


class Service(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    code: str
    name: str = Field(description="Official Indonesian name.")
    name_en: str
    provider: str = Field(description="Agency whose adapter carries it out; the command topic suffix.")
    operation: str
    required_data: list[str]
    required_documents: list[str]
    fee: str
    sla_working_days: int = Field(ge=0)
    agency_statuses: list[str]

    @property
    def payloads(self) -> ServicePayloads:
        return PAYLOADS[self.code]


class CatalogueError(ValueError):
    pass


class Catalogue:
    def __init__(self, services: dict[str, Service]) -> None:
        self._services = services

    @classmethod
    def load(cls, path: Path = DEFAULT_PATH, *, plugins: bool | None = None) -> Catalogue:
        """Load one TOML file, or every ``*.toml`` in a directory (a code defined twice is an error).

        The built-in catalogue also takes the files that installed agency packages declare
        under ``mpp_hub.catalogue``; an operator's own catalogue is complete as it is
        (``plugins`` defaults to whether ``path`` is the built-in one)."""
        files = sorted(path.glob("*.toml")) if path.is_dir() else [path]
        if plugins if plugins is not None else path == DEFAULT_PATH:
            files += [Path(ep.load()()) for ep in sorted(entry_points(group=PLUGIN_GROUP), key=lambda ep: ep.name)]
        services: dict[str, Service] = {}
        for file in files:
            try:
                raw = tomllib.loads(file.read_text(encoding="utf-8"))
            except tomllib.TOMLDecodeError as exc:
                raise CatalogueError(f"{file}: not valid TOML: {exc}") from exc
            for code, entry in raw.get("services", {}).items():
                if code in services:
                    raise CatalogueError(f"{file}: service {code!r} is defined twice")
                if "code" in entry:
                    raise CatalogueError(f"{file}: service {code!r} must not set 'code'; the table name is its code")
                try:
                    services[code] = Service.model_validate({**entry, "code": code})
                except ValidationError as exc:
                    raise CatalogueError(f"{file}: service {code!r} is invalid:\n{exc}") from exc
                if code not in PAYLOADS:
                    raise CatalogueError(f"{file}: service {code!r} has no payload models in schemas.services")
        return cls(services)

    def get(self, code: str) -> Service | None:
        return self._services.get(code)

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self._services.values())

    def codes(self) -> list[str]:
        return sorted(self._services)

    def providers(self) -> set[str]:
        return {s.provider for s in self._services.values()}
