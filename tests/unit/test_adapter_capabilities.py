"""Specification of declared capabilities (adapters/sdk/base.py) and of how the worker
reads them (adapters/sdk/runtime/worker.py).

An adapter declares what it can do besides ``execute`` (POLL, CALLBACK, CANCEL); the
worker checks the declaration before calling, so a poll, cancel or callback the agency
cannot take gets the canonical answer without reaching the adapter. A
``NotImplementedError`` raised by adapter code is a bug like any other: it propagates.
"""

from __future__ import annotations

import uuid
from typing import Any, ClassVar

import pytest
from test_adapter_worker import FakeProducer, Record

from adapters.sdk import Adapter, BackendSettings, Capability, PoisonMessage
from adapters.sdk.base import BackendStyle, capability_mismatches
from adapters.sdk.errors import UndeclaredCapability
from adapters.sdk.runtime.worker import AdapterWorker
from schemas.envelope import Envelope, MessageType
from schemas.lifecycle import Status
from schemas.messages import AgencyCallback, StepCancel, StepCommand, StepPoll, StepStatusReport

NIK = "1375015203900007"
STEP_ID = uuid.UUID("8d7c6b5a-4f3e-4d2c-9b1a-0f9e8d7c6b5a")
SETTINGS = BackendSettings(base_url="http://fake.test", retry_attempts=1)  # type: ignore[arg-type]  # validated to HttpUrl
ACCEPTED = StepStatusReport(status=Status.ACCEPTED, agency_ref="REF-1", poll_after_seconds=1.0)
COMMAND = StepCommand(service="fake.service", operation="do_it", applicant={"nik": NIK, "name": "Siti Rahmah"}, data={})  # type: ignore[arg-type]


class SyncAdapter(Adapter):
    """Declares nothing besides ``execute``; records every call it gets."""

    agency: ClassVar[str] = "fake"
    operations: ClassVar[frozenset[str]] = frozenset({"do_it"})

    def __init__(self, settings: BackendSettings, error: Exception | None = None) -> None:
        super().__init__(settings)
        self.error = error
        self.calls: list[str] = []

    async def execute(self, command: StepCommand, step_id: uuid.UUID) -> StepStatusReport:
        self.calls.append("execute")
        if self.error is not None:
            raise self.error
        return ACCEPTED


class PolledAdapter(SyncAdapter):
    capabilities: ClassVar[frozenset[Capability]] = frozenset({Capability.POLL})

    async def poll(self, command: StepCommand, step_id: uuid.UUID, agency_ref: str) -> StepStatusReport:
        self.calls.append("poll")
        if self.error is not None:
            raise self.error
        return StepStatusReport(status=Status.COMPLETED)


def envelope(message_type: MessageType, payload: dict[str, Any]) -> Envelope:
    return Envelope(message_id=uuid.uuid4(), request_id=uuid.uuid4(), step_id=STEP_ID, type=message_type, source="router", payload=payload)


POLL = envelope(MessageType.STEP_POLL, StepPoll(command=COMMAND, agency_ref="REF-1", attempt=1).model_dump(mode="json"))
CANCEL = envelope(MessageType.STEP_CANCEL, StepCancel(command=COMMAND, agency_ref="REF-1", reason="withdrawn").model_dump(mode="json"))
CALLBACK = envelope(MessageType.AGENCY_CALLBACK, {"content_type": "application/json", "body": "{}"})


async def handle(adapter: Adapter, incoming: Envelope) -> StepStatusReport:
    producer = FakeProducer()
    await AdapterWorker(adapter, producer).handle(incoming, Record())  # type: ignore[arg-type]
    [report] = producer.sent
    return StepStatusReport.model_validate(report.envelope.payload)


# --- the declaration -------------------------------------------------------------------


def test_the_style_follows_from_the_declared_capabilities() -> None:
    assert SyncAdapter.style is BackendStyle.SYNC and SyncAdapter.capabilities == frozenset()
    assert PolledAdapter.style is BackendStyle.POLLING


def test_a_style_that_contradicts_the_capabilities_is_refused_at_class_creation() -> None:
    with pytest.raises(TypeError, match="polling"):

        class Confused(SyncAdapter):
            style: ClassVar[BackendStyle] = BackendStyle.CALLBACK
            capabilities: ClassVar[frozenset[Capability]] = frozenset({Capability.POLL})


def test_an_adapter_is_polled_or_called_back_not_both() -> None:
    with pytest.raises(TypeError, match="not both"):

        class Both(SyncAdapter):
            capabilities: ClassVar[frozenset[Capability]] = frozenset({Capability.POLL, Capability.CALLBACK})


def test_declared_capabilities_are_checked_against_the_methods_both_ways() -> None:
    class Forgetful(SyncAdapter):
        capabilities: ClassVar[frozenset[Capability]] = frozenset({Capability.CANCEL})

        async def poll(self, command: StepCommand, step_id: uuid.UUID, agency_ref: str) -> StepStatusReport:
            return ACCEPTED

    assert capability_mismatches(Forgetful) == [
        "implements poll but does not declare poll",
        "declares cancel but does not implement cancel",
    ]
    assert capability_mismatches(PolledAdapter) == []
    assert capability_mismatches(SyncAdapter) == []


async def test_an_undeclared_capability_called_directly_is_a_bug_of_the_caller_not_a_signal() -> None:
    adapter = SyncAdapter(SETTINGS)
    with pytest.raises(UndeclaredCapability, match="poll"):
        await adapter.poll(COMMAND, STEP_ID, "REF-1")
    with pytest.raises(UndeclaredCapability, match="cancel"):
        await adapter.cancel(COMMAND, STEP_ID, None)
    with pytest.raises(UndeclaredCapability, match="callback"):
        adapter.translate_callback(AgencyCallback(content_type="application/json", body="{}"), STEP_ID)


# --- the worker reads the declaration ----------------------------------------------------


@pytest.mark.parametrize("incoming", [POLL, CANCEL], ids=["poll", "cancel"])
async def test_a_poll_or_cancel_the_adapter_does_not_declare_fails_without_calling_it(incoming: Envelope) -> None:
    adapter = SyncAdapter(SETTINGS)
    report = await handle(adapter, incoming)
    assert report.status is Status.FAILED
    assert report.error is not None and report.error.code == "unsupported_operation"
    assert adapter.calls == []


async def test_a_declared_poll_reaches_the_adapter() -> None:
    adapter = PolledAdapter(SETTINGS)
    assert (await handle(adapter, POLL)).status is Status.COMPLETED
    assert adapter.calls == ["poll"]


async def test_a_callback_for_an_adapter_that_does_not_declare_callbacks_is_poison() -> None:
    with pytest.raises(PoisonMessage, match="does not call back"):
        await handle(PolledAdapter(SETTINGS), CALLBACK)


@pytest.mark.parametrize("incoming", [envelope(MessageType.STEP_COMMAND, COMMAND.model_dump(mode="json")), POLL], ids=["execute", "poll"])
async def test_not_implemented_error_from_adapter_code_is_a_bug_that_propagates(incoming: Envelope) -> None:
    """Not "unsupported operation": the consume loop must see it, retry it and log it."""
    adapter = PolledAdapter(SETTINGS, NotImplementedError("half-written mapping"))
    producer = FakeProducer()
    with pytest.raises(NotImplementedError):
        await AdapterWorker(adapter, producer).handle(incoming, Record())  # type: ignore[arg-type]
    assert producer.sent == []
