"""What an agency declares so the generic contract kit can verify its adapter.

Like FastStream's per-broker test suites, the checks are written once
(``adapters.sdk.testing.contract_kit``) and every adapter inherits them; an agency only
provides samples, how to configure its adapter against a simulator, and the
simulator's options. Its plug-in (:class:`adapters.sdk.plugin.AgencyPlugin`) hands the
kit an ``AgencyContract``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from pydantic import BaseModel, Field

from adapters.sdk.settings import BackendSettings
from schemas.lifecycle import Status
from schemas.messages import StepCommand


class SimulatorOptions(BaseModel):
    """How a simulator is started (by `mpp-hub simulator`, the contract kit, tests)."""

    ledger_path: str = Field(default=":memory:", description="SQLite file for the ledger; ':memory:' forgets on restart.")
    secrets: dict[str, str] = Field(
        default_factory=dict, description="Agency-specific shared secrets (callback signing key, OAuth clients); simulators have dev defaults."
    )


class ContractSample(BaseModel):
    """One realistic command and the final canonical status it must reach."""

    name: str
    command: StepCommand
    expect: Status
    expect_error_code: str | None = None


@dataclass(frozen=True)
class AgencyContract:
    agency: str
    samples: list[ContractSample]
    #: Builds the adapter's settings for a simulator at ``base_url``; callbacks (if any) go to ``callback_base_url``.
    backend_settings: Callable[[str, str], BackendSettings]
    simulator_options: SimulatorOptions = field(default_factory=SimulatorOptions)
