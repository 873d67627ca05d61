"""What an agency declares so the generic contract kit can verify its adapter.

Like FastStream's per-broker test suites, the checks are written once
(``adapters.sdk.testing.contract_kit``) and every adapter inherits them; an agency only
provides samples, how to configure its adapter against a simulator, and the
simulator's options. Its plug-in (:class:`adapters.sdk.plugin.AgencyPlugin`) hands the
kit an ``AgencyContract``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Final

from pydantic import BaseModel, Field

from adapters.sdk.settings import BackendSettings
from schemas.lifecycle import Status
from schemas.messages import Applicant, StepCommand

#: What an agency's contract settings add to its own fields so a run takes seconds: short
#: timeouts, few and short retries, a circuit that closes again within a second.
CONTRACT_RUN_SETTINGS: Final[Mapping[str, Any]] = MappingProxyType(
    {"timeout_seconds": 5.0, "retry_attempts": 2, "retry_max_wait_seconds": 0.2, "breaker_reset_seconds": 1.0}
)


class SimulatorOptions(BaseModel):
    """How a simulator is started (by `mpp-hub simulator`, the contract kit, tests)."""

    ledger_path: str = Field(default=":memory:", description="SQLite file for the ledger; ':memory:' forgets on restart.")
    secrets: dict[str, str] = Field(
        default_factory=dict,
        description="Agency-specific shared secrets (callback signing key, OAuth clients); simulators have dev defaults.",
    )


class ContractSample(BaseModel):
    """One realistic command and the final canonical status it must reach."""

    name: str
    command: StepCommand
    expect: Status
    expect_error_code: str | None = None

    @classmethod
    def completes(cls, name: str, command: StepCommand) -> ContractSample:
        return cls(name=name, command=command, expect=Status.COMPLETED)

    @classmethod
    def refused(cls, name: str, command: StepCommand, error_code: str) -> ContractSample:
        """The agency refuses on the merits: REJECTED with the adapter's ``error_code``."""
        return cls(name=name, command=command, expect=Status.REJECTED, expect_error_code=error_code)


def step_command(service: str, data: Mapping[str, Any], *, nik: str, name: str, operation: str | None = None) -> StepCommand:
    """The command the hub sends for ``service`` (``<agency>.<operation>``; the operation
    is the part after the agency unless given) on behalf of the applicant ``nik``."""
    return StepCommand(
        service=service, operation=operation or service.partition(".")[2], applicant=Applicant(nik=nik, name=name), data=dict(data)
    )


@dataclass(frozen=True)
class AgencyContract:
    agency: str
    samples: list[ContractSample]
    #: Builds the adapter's settings for a simulator at ``base_url``; callbacks (if any) go to ``callback_base_url``.
    backend_settings: Callable[[str, str], BackendSettings]
    simulator_options: SimulatorOptions = field(default_factory=SimulatorOptions)
