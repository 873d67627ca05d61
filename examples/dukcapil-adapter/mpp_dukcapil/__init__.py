"""Dukcapil (Direktorat Jenderal Kependudukan dan Pencatatan Sipil: the civil registry,
owner of the NIK) for mpp-hub, packaged on its own.

The hub finds everything here through entry points declared in this distribution's
``pyproject.toml`` (``mpp_hub.adapters``, ``mpp_hub.simulators``, ``mpp_hub.contracts``,
``mpp_hub.service_payloads``, ``mpp_hub.catalogue``, all named ``dukcapil``). The
functions below are those entry points. They import their modules lazily, so that
discovering the plug-in stays cheap and cannot drag the simulator's or the adapter's
dependencies into processes that do not need them.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

# Imported before ``def payloads`` below, on purpose. Importing a submodule binds it as
# an attribute of its package; were ``mpp_dukcapil.payloads`` first imported later (by
# the adapter, a test...), the module would replace the ``payloads`` entry-point function
# and the hub would fail with "'module' object is not callable". Loaded now, it stays in
# sys.modules and the function defined afterwards keeps the name. (It only needs
# pydantic and schemas.identifiers, so discovery stays cheap.)
import mpp_dukcapil.payloads as payload_models

if TYPE_CHECKING:
    from adapters.sdk import Adapter, BackendSettings
    from adapters.sdk.contract import SimulatorOptions
    from schemas.services.base import ServicePayloads

AGENCY = "dukcapil"


def adapter_factory(settings: BackendSettings) -> Adapter:
    """The adapter for a configured backend (``mpp_hub.adapters``)."""
    from mpp_dukcapil.adapter import DukcapilAdapter

    return DukcapilAdapter(settings)


def simulator_factory(options: SimulatorOptions) -> Any:
    """The ASGI app of the simulated Dukcapil web service (``mpp_hub.simulators``).

    ``options.secrets["api_key"]`` is the API key it accepts; without it, the
    development key :data:`mpp_dukcapil.simulator.DEV_API_KEY`.
    """
    from mpp_dukcapil.simulator import DEV_API_KEY, create_app

    return create_app(api_key=options.secrets.get("api_key", DEV_API_KEY), ledger_path=options.ledger_path)


def payloads() -> dict[str, ServicePayloads]:
    """Canonical input/output models per service code (``mpp_hub.service_payloads``).

    Called by ``schemas.services`` while it is being imported: ``schemas.services.base``
    is loaded by then, ``schemas.services.PAYLOADS`` is not, so only the former is used.
    """
    from schemas.services.base import ServicePayloads

    return {
        payload_models.NIK_VERIFICATION: ServicePayloads(
            input=payload_models.NikVerificationInput, output=payload_models.NikVerificationOutput
        )
    }


def catalogue_path() -> Path:
    """The catalogue file of Dukcapil's services (``mpp_hub.catalogue``)."""
    return Path(__file__).with_name("catalogue.toml")


__all__ = ["AGENCY", "adapter_factory", "catalogue_path", "payload_models", "payloads", "simulator_factory"]
