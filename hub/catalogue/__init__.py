"""The service catalogue: which services exist, who provides each, what they need.

Loaded from the TOML files in ``services/`` (one per agency or domain), or from a
directory named by the caller, so re-pointing a service to another provider is a
data change, not a code change.
"""

from __future__ import annotations

import tomllib
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

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
    sla_working_days: float = Field(ge=0)
    agency_statuses: list[str]
    cancellable: bool = Field(default=False, description="The agency can stop a running step when the citizen cancels.")

    @property
    def payloads(self) -> ServicePayloads:
        return PAYLOADS[self.code]


#: Where a composite step's input comes from: "data.<field>", "applicant.<field>",
#: "steps.<step name>.outputs.<path>", or an inline table {value = <literal>}.
Source = str | dict[str, Any]


class CompositeStep(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[a-z][a-z0-9_]{0,49}$")
    service: str
    after: list[str] = Field(default_factory=list, description="Steps whose outputs this one needs; it starts when they complete.")
    inputs: dict[str, Source] = Field(description="Input field of the step's service -> where its value comes from.")

    def step_sources(self) -> set[str]:
        """Names of the steps this step reads outputs from."""
        return {s.split(".")[1] for s in self.inputs.values() if isinstance(s, str) and s.startswith("steps.")}


class Composite(BaseModel):
    """A cross-agency request: a small DAG of catalogue services with data passed between them."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    code: str
    name: str
    name_en: str
    required_documents: list[str] = Field(default_factory=list)
    fee: str
    sla_working_days: float = Field(ge=0)
    steps: list[CompositeStep] = Field(min_length=1)

    def step(self, name: str) -> CompositeStep:
        return next(s for s in self.steps if s.name == name)

    def data_fields(self) -> dict[str, tuple[str, str]]:
        """Request ``data`` field -> (step service, service input field) that first uses it."""
        fields: dict[str, tuple[str, str]] = {}
        for step in self.steps:
            for target, source in step.inputs.items():
                if isinstance(source, str) and source.startswith("data."):
                    fields.setdefault(source.split(".", 2)[1], (step.service, target))
        return fields


class CatalogueError(ValueError):
    pass


class Catalogue:
    def __init__(self, services: dict[str, Service], composites: dict[str, Composite] | None = None) -> None:
        self._services = services
        self._composites = composites or {}
        for composite in self._composites.values():
            self._check_composite(composite)

    def _check_composite(self, composite: Composite) -> None:
        where = f"composite {composite.code!r}"
        names = [s.name for s in composite.steps]
        if len(set(names)) != len(names):
            raise CatalogueError(f"{where}: step names must be unique")
        for step in composite.steps:
            service = self._services.get(step.service)
            if service is None:
                raise CatalogueError(f"{where}: step {step.name!r} uses unknown service {step.service!r}")
            unknown = set(step.after) - set(names)
            if unknown:
                raise CatalogueError(f"{where}: step {step.name!r} waits for unknown steps {sorted(unknown)}")
            if not step.step_sources() <= set(step.after):
                raise CatalogueError(f"{where}: step {step.name!r} reads outputs of {sorted(step.step_sources() - set(step.after))} without waiting for them (add them to 'after')")
            fields = service.payloads.input.model_fields
            for target, source in step.inputs.items():
                if target not in fields:
                    raise CatalogueError(f"{where}: step {step.name!r} maps {target!r}, which {step.service} does not take")
                if isinstance(source, dict) and set(source) != {"value"}:
                    raise CatalogueError(f"{where}: step {step.name!r} input {target!r}: a literal is {{value = ...}}")
                if isinstance(source, str) and not source.startswith(("data.", "applicant.", "steps.")):
                    raise CatalogueError(f"{where}: step {step.name!r} input {target!r}: unknown source {source!r}")
        order: list[str] = []
        pending = {s.name: set(s.after) for s in composite.steps}
        while pending:
            ready = sorted(n for n, deps in pending.items() if deps <= set(order))
            if not ready:
                raise CatalogueError(f"{where}: steps {sorted(pending)} wait for each other in a cycle")
            order += ready
            for name in ready:
                del pending[name]

    def composite(self, code: str) -> Composite | None:
        return self._composites.get(code)

    def composites(self) -> list[Composite]:
        return sorted(self._composites.values(), key=lambda c: c.code)

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
        composites: dict[str, Composite] = {}
        for file in files:
            try:
                raw = tomllib.loads(file.read_text(encoding="utf-8"))
            except tomllib.TOMLDecodeError as exc:
                raise CatalogueError(f"{file}: not valid TOML: {exc}") from exc
            for code, entry in raw.get("composites", {}).items():
                if code in composites or code in services:
                    raise CatalogueError(f"{file}: {code!r} is defined twice")
                try:
                    composites[code] = Composite.model_validate({**entry, "code": code})
                except ValidationError as exc:
                    raise CatalogueError(f"{file}: composite {code!r} is invalid:\n{exc}") from exc
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
        overlap = set(services) & set(composites)
        if overlap:
            raise CatalogueError(f"{sorted(overlap)} defined both as a service and as a composite")
        return cls(services, composites)

    def get(self, code: str) -> Service | None:
        return self._services.get(code)

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self._services.values())

    def codes(self) -> list[str]:
        return sorted(self._services)

    def providers(self) -> set[str]:
        return {s.provider for s in self._services.values()}
