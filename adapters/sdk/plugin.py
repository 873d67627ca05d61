"""The one object an agency registers with the hub.

An agency is one package with one entry point in the group ``mpp_hub.agencies``,
naming an :class:`AgencyPlugin`::

    [project.entry-points."mpp_hub.agencies"]
    kelurahan = "mpp_kelurahan:plugin"

The plug-in carries everything the hub needs and nothing it must import up front:
factories for the adapter, the simulator and the contract samples, the adapter's
settings model and the service payload models behind callables (so finding a plug-in
never drags in its HTTP client, its simulator or its native models), the catalogue
file of its services, and how `mpp-hub dev` runs it against its own simulator. The
built-in agencies register exactly like a separately installed one.

A package laid out by the conventions (:func:`package_plugin`) declares its plug-in in
one call; any other layout builds the :class:`AgencyPlugin` field by field.
"""

from __future__ import annotations

import asyncio
import importlib
import importlib.util
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import SecretStr, ValidationError

from adapters.sdk.contract import AgencyContract, SimulatorOptions
from adapters.sdk.settings import BackendSettings
from messaging.settings import KafkaSettings
from schemas.validation import field_problems

if TYPE_CHECKING:
    from adapters.sdk.base import Adapter
    from adapters.sdk.testing.contract_kit import ContractReport
    from schemas.services.base import ServicePayloads

#: An agency name is the suffix of its command topic and of its environment variables.
AGENCY_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


class AgencySettingsInvalid(ValueError):
    """An agency's backend settings do not satisfy its settings model; names the
    environment variables to set, never their values."""


@dataclass(frozen=True)
class DevDefaults:
    """How the agency runs with no configuration at all: against its own simulator.

    Every value is only a default: ``MPP_SIMULATOR_PORTS`` moves the simulator, and
    ``MPP_AGENCIES__<AGENCY>__<FIELD>`` replaces one field of the settings and
    nothing else."""

    #: Loopback port of the simulator; the adapter's ``base_url`` defaults to it.
    port: int
    #: Adapter settings besides ``base_url``: the development secrets its simulator
    #: accepts, quicker polling for a local demo, ...
    settings: Mapping[str, Any] = field(default_factory=dict)
    #: Simulator secret name -> the settings field holding its value, so the simulator
    #: is started with the very secret the adapter (or the hub) uses.
    simulator_secrets: Mapping[str, str] = field(default_factory=dict)
    #: The agency calls the hub back: ``callback_base_url`` defaults to the hub's own API.
    calls_back: bool = False


@dataclass(frozen=True)
class AgencyPlugin:
    """Everything one agency contributes to the hub."""

    #: Agency name, equal to the entry point's name: ``mpp.commands.<agency>``.
    agency: str
    #: Builds the adapter for validated backend settings.
    adapter: Callable[[BackendSettings], Adapter]
    #: The adapter's settings model (``BackendSettings`` or a subclass with the agency's own fields).
    settings_model: Callable[[], type[BackendSettings]]
    #: Builds the ASGI app of the agency's backend simulator.
    simulator: Callable[[SimulatorOptions], Any]
    #: The samples and settings the generic contract kit verifies the adapter with.
    contract: Callable[[], AgencyContract]
    #: Canonical input/output models of each service code the agency provides.
    payloads: Callable[[], Mapping[str, ServicePayloads]]
    #: TOML file of the agency's catalogue entries (``[services."<code>"]`` tables).
    catalogue: Path
    dev: DevDefaults

    def __post_init__(self) -> None:
        if not AGENCY_NAME.match(self.agency):
            raise ValueError(f"agency name {self.agency!r} must match {AGENCY_NAME.pattern} (it names a Kafka topic and env variables)")

    def env_name(self, field_name: str) -> str:
        """The environment variable that sets one field of this agency's settings."""
        return f"MPP_AGENCIES__{self.agency.upper()}__{field_name.upper()}"

    def dev_settings(self, port: int, hub_url: str) -> dict[str, Any]:
        """The development defaults: this agency's simulator on ``port``, the hub's API at ``hub_url``."""
        defaults: dict[str, Any] = {"base_url": f"http://127.0.0.1:{port}", **self.dev.settings}
        if self.dev.calls_back:
            defaults["callback_base_url"] = hub_url
        return defaults

    def backend_settings(self, defaults: Mapping[str, Any], overrides: Mapping[str, Any]) -> BackendSettings:
        """``defaults`` with each field of ``overrides`` replacing only that field, validated by the settings model.

        Raises :class:`AgencySettingsInvalid` naming the environment variables at fault."""
        try:
            return self.settings_model().model_validate({**defaults, **overrides})
        except ValidationError as exc:
            problems = "; ".join(f"{self.env_name(str(p.loc[0])) if p.loc else self.agency}: {p.message}" for p in field_problems(exc))
            raise AgencySettingsInvalid(f"settings of agency {self.agency!r} are invalid: {problems}") from None

    def simulator_options(self, settings: BackendSettings, ledger_path: str = ":memory:") -> SimulatorOptions:
        """Options that start the simulator with the secrets ``settings`` use."""
        secrets = {name: _plain(getattr(settings, source, None)) for name, source in self.dev.simulator_secrets.items()}
        return SimulatorOptions(ledger_path=ledger_path, secrets={name: value for name, value in secrets.items() if value is not None})

    async def run_worker(self, settings: BackendSettings, kafka: KafkaSettings, stop: asyncio.Event) -> None:
        """Run this agency's adapter under the SDK's worker runtime until ``stop`` is set.

        The hub starts an agency through its plug-in only; the runtime (consume loop,
        failure ladder, breaker) is imported here, when a worker really runs."""
        from adapters.sdk.runtime.worker import run_adapter_worker

        await run_adapter_worker(self.adapter(settings), kafka, stop)

    async def verify(self) -> ContractReport:
        """The generic contract kit against this agency's adapter and simulator."""
        from adapters.sdk.testing.contract_kit import verify_plugin

        return await verify_plugin(self)


def lazy_value(reference: str) -> Callable[[], Any]:
    """``"package.module:NAME"`` as a callable that imports the module when first called
    and returns ``NAME`` (a settings model, a payload registry), so the plug-in object
    can point at it without importing it."""
    module, _, name = reference.partition(":")
    if not module or not name:
        raise ValueError(f"{reference!r} is not 'package.module:NAME'")

    def load() -> Any:
        return getattr(importlib.import_module(module), name)

    load.__qualname__ = load.__name__ = f"lazy_value({reference!r})"
    return load


def lazy_call(reference: str) -> Callable[..., Any]:
    """``"package.module:function"`` as a callable that imports the module when called and
    calls the function (or class) with the same arguments."""
    target = lazy_value(reference)

    def call(*args: Any, **kwargs: Any) -> Any:
        return target()(*args, **kwargs)

    call.__qualname__ = call.__name__ = f"lazy_call({reference!r})"
    return call


def package_plugin(package: str, *, dev: DevDefaults, payloads: str | None = None, agency: str | None = None) -> AgencyPlugin:
    """The plug-in of an agency package laid out by the conventions, declared in the
    package's ``__init__.py`` as ``plugin = package_plugin(__name__, dev=DevDefaults(...))``.

    ================  ==========================================================================
    agency            the package's last name without ``mpp_`` (``mpp_kantah`` -> ``kantah``)
    adapter           ``<package>.adapter:<Agency>Adapter`` (``dinas_pu`` -> ``DinasPuAdapter``)
    settings model    that adapter class's ``settings_model``
    simulator         ``<package>.simulator:from_options`` (``SimulatorOptions`` -> ASGI app)
    contract          ``<package>.contract:contract``
    payloads          ``<package>.payloads:PAYLOADS``, or the ``package.module:NAME`` given
    catalogue         ``catalogue.toml`` beside the package's ``__init__.py``
    ================  ==========================================================================

    Only the package itself is looked up (it is being imported anyway); every part is
    imported when the hub first asks for it, so discovery stays cheap."""
    name = agency or package.rpartition(".")[2].removeprefix("mpp_")
    adapter = f"{package}.adapter:{''.join(part.capitalize() for part in name.split('_'))}Adapter"
    adapter_class = lazy_value(adapter)

    def settings_model() -> type[BackendSettings]:
        model: type[BackendSettings] = adapter_class().settings_model
        return model

    settings_model.__qualname__ = settings_model.__name__ = f"settings_model of {adapter}"
    return AgencyPlugin(
        agency=name,
        adapter=lazy_call(adapter),
        settings_model=settings_model,
        simulator=lazy_call(f"{package}.simulator:from_options"),
        contract=lazy_call(f"{package}.contract:contract"),
        payloads=lazy_value(payloads or f"{package}.payloads:PAYLOADS"),
        catalogue=_package_directory(package) / "catalogue.toml",
        dev=dev,
    )


def _package_directory(package: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None or not spec.submodule_search_locations:
        raise ValueError(f"{package!r} is not an importable package with an __init__.py")
    return Path(spec.origin).parent


def _plain(value: Any) -> str | None:
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    return None if value is None else str(value)
