"""Every installed adapter passes the generic contract kit against its simulator,
and the kit really catches a misbehaving adapter."""

from __future__ import annotations

import uuid
from typing import ClassVar

import pytest

from adapters.sdk import Adapter, BackendSettings
from adapters.sdk.contract import AgencyContract, ContractSample
from adapters.sdk.discovery import available, load_agency
from adapters.sdk.testing.contract_kit import ContractKit, verify_installed
from schemas.lifecycle import Status
from schemas.messages import StepCommand, StepStatusReport

BUILT_IN = ["samsat", "polri", "imigrasi", "djp", "kemenag", "bpjph"]


@pytest.mark.parametrize("agency", BUILT_IN)
async def test_built_in_adapter_passes_the_contract_kit(agency: str) -> None:
    assert agency in available()
    report = await verify_installed(agency)
    failures = [f"{r.name}: {r.detail}" for r in report.results if not r.passed]
    assert report.passed, "\n".join(failures)


class _ForgetfulSamsat(Adapter):
    """Answers without ever calling the agency: the kit must notice."""

    agency: ClassVar[str] = "samsat"
    operations: ClassVar[frozenset[str]] = frozenset({"pkb_annual"})

    async def execute(self, command: StepCommand, step_id: uuid.UUID) -> StepStatusReport:
        return StepStatusReport(status=Status.COMPLETED, outputs={"nothing": True})


async def test_the_kit_fails_an_adapter_that_ignores_its_backend() -> None:
    samsat = load_agency("samsat")
    real: AgencyContract = samsat.contract()
    sample = next(s for s in real.samples if s.command.operation == "pkb_annual" and s.expect is Status.COMPLETED)
    refusal = ContractSample(name="refusal", command=sample.command, expect=Status.REJECTED)
    contract = AgencyContract(agency="samsat", samples=[sample, refusal], backend_settings=lambda url, _cb: BackendSettings(base_url=url))
    kit = ContractKit("samsat", contract, _ForgetfulSamsat, samsat.simulator(real.simulator_options))

    report = await kit.run()

    failed = {r.name for r in report.results if not r.passed}
    assert not report.passed
    assert {
        "samples reach their expected status",
        "same step id is applied once",
        "busy or down backend is transient",
        "timeout is transient",
        "garbled answer is invalid, never a crash",
    } <= failed
