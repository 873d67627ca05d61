"""The service catalogue: which services exist, who provides each, what they need.

The shipped catalogue is the hub's own TOML files in ``services/`` (the cross-agency
composites, and any service whose provider has no agency plug-in yet) plus the file
each installed agency plug-in contributes for its own services. An operator's own file or directory (``MPP_CATALOGUE_PATH``; start from
`mpp-hub catalogue export`) replaces it, so re-pointing a service to another provider
is a data change, not a code change. What each service's data means (its payload
models) comes from the same plug-ins, whichever catalogue is used.
"""

from __future__ import annotations

import shutil
import tomllib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError

from adapters.sdk import discovery
from adapters.sdk.plugin import AgencyPlugin
from schemas.services.base import ServicePayloads

#: The hub's own catalogue files.
DEFAULT_PATH = Path(__file__).with_name("services")
#: Payloads of the hub's own services: those no installed agency provides (none now:
#: hajj registration, the last one, moved to the kemenhaj plug-in).
OWN_PAYLOADS: Mapping[str, ServicePayloads] = {}


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
    retention_days: float | None = Field(
        default=None, gt=0, description="Days a finished case keeps its personal data; unset: MPP_PRIVACY__RETENTION__CASE_DAYS."
    )
    _payloads: ServicePayloads | None = PrivateAttr(default=None)

    @property
    def payloads(self) -> ServicePayloads:
        if self._payloads is None:
            raise CatalogueError(f"service {self.code!r} was built without its payload models; load it through Catalogue.load")
        return self._payloads


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
    retention_days: float | None = Field(default=None, gt=0, description="Unset: the longest period of its steps' services.")

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
                raise CatalogueError(
                    f"{where}: step {step.name!r} reads outputs of {sorted(step.step_sources() - set(step.after))} without waiting for them (add them to 'after')"
                )
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
    def load(cls, path: Path | None = None, *, agencies: Mapping[str, AgencyPlugin] | None = None) -> Catalogue:
        """Load the shipped catalogue (``path`` None or :data:`DEFAULT_PATH`), or one TOML
        file, or every ``*.toml`` in a directory (a code defined twice is an error).

        ``agencies`` are the plug-ins that contribute catalogue files and payload models;
        None means the installed ones."""
        agencies = discovery.installed() if agencies is None else agencies
        payloads = service_payloads(agencies)
        files = shipped_files(agencies) if path is None or path == DEFAULT_PATH else _toml_files(path)
        services: dict[str, Service] = {}
        composites: dict[str, Composite] = {}
        for file in files:
            raw = _read(file)
            for code, entry in raw.get("composites", {}).items():
                if code in composites or code in services:
                    raise CatalogueError(f"{file}: {code!r} is defined twice")
                try:
                    composites[code] = Composite.model_validate({**entry, "code": code})
                except ValidationError as exc:
                    raise CatalogueError(f"{file}: composite {code!r} is invalid:\n{exc}") from exc
            for code, entry in raw.get("services", {}).items():
                services[code] = _service(file, code, entry, services, payloads)
        overlap = set(services) & set(composites)
        if overlap:
            raise CatalogueError(f"{sorted(overlap)} defined both as a service and as a composite")
        return cls(services, composites)

    def provider_of(self, code: str) -> str:
        """Who provides a service the catalogue holds (composites are checked to name only such services)."""
        service = self.get(code)
        if service is None:
            raise LookupError(f"service {code!r} is not in the catalogue")
        return service.provider

    def get(self, code: str) -> Service | None:
        return self._services.get(code)

    def __iter__(self) -> Iterator[Service]:
        return iter(self._services.values())

    def codes(self) -> list[str]:
        return sorted(self._services)

    def providers(self) -> set[str]:
        return {s.provider for s in self._services.values()}


def service_payloads(agencies: Mapping[str, AgencyPlugin]) -> dict[str, ServicePayloads]:
    """Service code -> payload models: the hub's own and each agency plug-in's."""
    found: dict[str, ServicePayloads] = dict(OWN_PAYLOADS)
    for name, plugin in sorted(agencies.items()):
        for code, payloads in dict(plugin.payloads()).items():
            if not isinstance(payloads, ServicePayloads):
                raise CatalogueError(f"agency plug-in {name!r}: payloads of {code!r} are a {type(payloads).__name__}, not ServicePayloads")
            if code in found:
                raise CatalogueError(f"agency plug-in {name!r}: payloads of {code!r} are already defined elsewhere")
            found[code] = payloads
    return found


def shipped_files(agencies: Mapping[str, AgencyPlugin]) -> list[Path]:
    """The shipped catalogue: the hub's own files, then each agency plug-in's."""
    return [*_toml_files(DEFAULT_PATH), *(plugin.catalogue for _, plugin in sorted(agencies.items()))]


def export_shipped(target: Path, agencies: Mapping[str, AgencyPlugin] | None = None) -> list[Path]:
    """Copy the shipped catalogue into ``target`` (agencies' files as ``<agency>.toml``),
    for an operator to edit and load with ``MPP_CATALOGUE_PATH``."""
    agencies = discovery.installed() if agencies is None else agencies
    target.mkdir(parents=True, exist_ok=True)
    copies = {file.name: file for file in _toml_files(DEFAULT_PATH)}
    for name, plugin in sorted(agencies.items()):
        if f"{name}.toml" in copies:
            raise CatalogueError(f"agency {name!r} and the hub's own {name}.toml would share a file name")
        copies[f"{name}.toml"] = plugin.catalogue
    return [Path(shutil.copyfile(source, target / name)) for name, source in copies.items()]


def _toml_files(path: Path) -> list[Path]:
    return sorted(path.glob("*.toml")) if path.is_dir() else [path]


def _read(file: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(file.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise CatalogueError(f"{file}: not valid TOML: {exc}") from exc
    except OSError as exc:
        raise CatalogueError(f"{file}: cannot be read: {exc}") from exc


def _service(file: Path, code: str, entry: dict[str, Any], known: dict[str, Service], payloads: Mapping[str, ServicePayloads]) -> Service:
    if code in known:
        raise CatalogueError(f"{file}: service {code!r} is defined twice")
    if "code" in entry:
        raise CatalogueError(f"{file}: service {code!r} must not set 'code'; the table name is its code")
    try:
        service = Service.model_validate({**entry, "code": code})
    except ValidationError as exc:
        raise CatalogueError(f"{file}: service {code!r} is invalid:\n{exc}") from exc
    if code not in payloads:
        raise CatalogueError(
            f"{file}: service {code!r} has no payload models: neither the hub nor an installed agency plug-in defines them"
        )
    service._payloads = payloads[code]
    return service
