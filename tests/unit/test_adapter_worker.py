"""Specification of the adapter worker (adapters/sdk/runtime/worker.py).

One step command in, exactly one canonical step.status out on ``mpp.events.<agency>``; the
agency's answer (success, refusal, nonsense) decides the status. An agency that does
not answer at all fails nothing: after bounded short retries the command climbs to the
next retry topic (``mpp.retry.<agency>.<n>``), after the last level to dead letters;
while its circuit is open the worker raises ``RetryLater`` and the command stays on
the bus where it is.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, ClassVar

import pytest

from adapters.sdk import (
    Adapter,
    AgencyAnswerInvalid,
    AgencyRejection,
    BackendSettings,
    PoisonMessage,
    TransientBackendError,
)
from adapters.sdk.errors import RetryLater
from adapters.sdk.runtime import worker as worker_module
from adapters.sdk.runtime.circuit import BreakerState, CircuitBreaker
from adapters.sdk.runtime.worker import AdapterWorker, report_message_id
from messaging import KafkaSettings
from schemas import topics
from schemas.envelope import Envelope, Headers, MessageType
from schemas.lifecycle import Status
from schemas.messages import StepCommand, StepStatusReport

NIK = "1375015203900007"
REQUEST_ID = uuid.UUID("1a2b3c4d-5e6f-4a1b-8c2d-3e4f5a6b7c8d")
STEP_ID = uuid.UUID("8d7c6b5a-4f3e-4d2c-9b1a-0f9e8d7c6b5a")
TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

FAST = BackendSettings(base_url="http://fake.test", retry_attempts=3, retry_max_wait_seconds=0.001)
COMPLETED = StepStatusReport(status=Status.COMPLETED, outputs={"answer": 42}, agency_status="OK")


class FakeAdapter(Adapter):
    """Plays back a script of outcomes (reports or exceptions), one per call."""

    agency: ClassVar[str] = "fake"
    operations: ClassVar[frozenset[str]] = frozenset({"do_it"})

    def __init__(self, settings: BackendSettings, *outcomes: StepStatusReport | Exception) -> None:
        super().__init__(settings)
        self._outcomes = list(outcomes)
        self.calls: list[tuple[StepCommand, uuid.UUID]] = []

    async def execute(self, command: StepCommand, step_id: uuid.UUID) -> StepStatusReport:
        self.calls.append((command, step_id))
        outcome = self._outcomes.pop(0) if len(self._outcomes) > 1 else self._outcomes[0]
        if isinstance(outcome, Exception):
            raise outcome
        return outcome


@dataclass
class Sent:
    topic: str
    value: bytes
    key: bytes
    headers: list[tuple[str, bytes]]

    @property
    def envelope(self) -> Envelope:
        return Envelope.from_bytes(self.value)

    def header(self, name: str) -> str | None:
        values = [v.decode() for k, v in self.headers if k == name]
        assert len(values) <= 1, f"header {name} appears {len(values)} times"
        return values[0] if values else None


class FakeProducer:
    """Records sends; like aiokafka, ``send`` returns a future of the delivery."""

    def __init__(self) -> None:
        self.sent: list[Sent] = []

    async def send(self, topic: str, value: bytes, key: bytes, headers: list[tuple[str, bytes]]) -> asyncio.Future[Any]:
        self.sent.append(Sent(topic, value, key, list(headers)))
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        future.set_result(None)
        return future


@dataclass
class Record:
    headers: list[tuple[str, bytes]] = field(default_factory=list)
    topic: str = "mpp.commands.fake"
    partition: int = 0
    offset: int = 0
    key: bytes | None = str(REQUEST_ID).encode()
    value: bytes | None = b"<the command's bytes>"


def command_envelope(
    *,
    operation: str = "do_it",
    payload: dict[str, Any] | None = None,
    type: MessageType = MessageType.STEP_COMMAND,
    step_id: uuid.UUID | None = STEP_ID,
    message_id: uuid.UUID | None = None,
) -> Envelope:
    if payload is None:
        payload = StepCommand(
            service="fake.service",
            operation=operation,
            applicant={"nik": NIK, "name": "Siti Rahmah"},  # type: ignore[arg-type]
            data={"x": 1},
        ).model_dump(mode="json")
    return Envelope(
        message_id=message_id or uuid.uuid4(),
        request_id=REQUEST_ID,
        step_id=step_id,
        type=type,
        source="router",
        payload=payload,
    )


async def run(adapter: FakeAdapter, envelope: Envelope, record: Record | None = None) -> FakeProducer:
    producer = FakeProducer()
    await AdapterWorker(adapter, producer).handle(envelope, record or Record())  # type: ignore[arg-type]
    return producer


def only_report(producer: FakeProducer) -> tuple[Sent, StepStatusReport]:
    assert len(producer.sent) == 1, producer.sent
    [sent] = producer.sent
    return sent, StepStatusReport.model_validate(sent.envelope.payload)


# --- the happy path -----------------------------------------------------------------


async def test_a_command_yields_exactly_one_status_event_for_the_same_step() -> None:
    adapter = FakeAdapter(FAST, COMPLETED)
    command = command_envelope()
    producer = await run(adapter, command)

    sent, report = only_report(producer)
    event = sent.envelope
    assert sent.topic == topics.events(adapter.agency)
    assert event.type is MessageType.STEP_STATUS
    assert event.request_id == command.request_id
    assert event.step_id == command.step_id
    assert event.source == "adapter:fake"
    assert sent.key == event.key == str(REQUEST_ID).encode()
    assert report == COMPLETED


async def test_the_adapter_gets_the_command_and_the_step_id_as_idempotency_key() -> None:
    adapter = FakeAdapter(FAST, COMPLETED)
    command = command_envelope()
    await run(adapter, command)
    [(received, step_id)] = adapter.calls
    assert step_id == STEP_ID
    assert received == StepCommand.model_validate(command.payload)


async def test_event_headers_describe_the_event() -> None:
    producer = await run(FakeAdapter(FAST, COMPLETED), command_envelope())
    sent, _ = only_report(producer)
    assert sent.header(Headers.MESSAGE_ID) == str(sent.envelope.message_id)
    assert sent.header(Headers.MESSAGE_TYPE) == "step.status"
    assert sent.header(Headers.SCHEMA_VERSION) == "1"


# --- dedup across redeliveries --------------------------------------------------


async def test_report_message_id_is_deterministic_per_command() -> None:
    command = command_envelope()
    first = await run(FakeAdapter(FAST, COMPLETED), command)
    again = await run(FakeAdapter(FAST, COMPLETED), command)  # a redelivery, maybe to another worker
    other = await run(FakeAdapter(FAST, COMPLETED), command_envelope())

    first_id = first.sent[0].envelope.message_id
    assert again.sent[0].envelope.message_id == first_id
    assert first_id == report_message_id(command.message_id)
    assert first_id != command.message_id
    assert other.sent[0].envelope.message_id != first_id


def test_report_message_id_is_stable_across_processes() -> None:
    """A uuid5 of a fixed namespace: pinned so a refactor cannot silently change it."""
    command_id = uuid.UUID("00000000-0000-4000-8000-000000000001")
    assert report_message_id(command_id) == uuid.UUID("01eb6ffd-7f88-54cc-afc9-ed07010d2c57")
    assert report_message_id(command_id).version == 5


# --- transient errors -----------------------------------------------------------------


async def test_transient_errors_are_retried_then_succeed() -> None:
    adapter = FakeAdapter(FAST, TransientBackendError("503"), TransientBackendError("timeout"), COMPLETED)
    producer = await run(adapter, command_envelope())
    _, report = only_report(producer)
    assert report.status is Status.COMPLETED
    assert len(adapter.calls) == 3
    assert {step_id for _, step_id in adapter.calls} == {STEP_ID}  # same key on every try


async def test_exhausted_transient_errors_send_the_command_to_the_first_retry_topic() -> None:
    """The agency being down is not the citizen's failure: no FAILED report; the command,
    bytes untouched, goes to ``mpp.retry.fake.1`` and the handler returns, so the
    command topic's offset is committed and the partition goes on."""
    adapter = FakeAdapter(FAST, TransientBackendError("HTTP 503"))
    producer = FakeProducer()
    record = Record(headers=[(Headers.CORRELATION_ID, b"corr-5")], offset=17)
    worker = AdapterWorker(adapter, producer, now_ms=lambda: 1_000_000)  # type: ignore[arg-type]
    await worker.handle(command_envelope(), record)  # type: ignore[arg-type]
    assert len(adapter.calls) == FAST.retry_attempts
    [sent] = producer.sent
    assert sent.topic == "mpp.retry.fake.1"
    assert sent.value == record.value
    assert sent.key == record.key
    assert sent.header("mpp-retry-attempt") == "1"
    assert sent.header("mpp-retry-not-before") == str(1_000_000 + 5_000)  # default first level: 5 s
    assert sent.header("mpp-retry-original-topic") == "mpp.commands.fake"
    assert sent.header("mpp-retry-original-offset") == "17"
    assert sent.header(Headers.CORRELATION_ID) == "corr-5"


async def test_one_attempt_means_no_retry() -> None:
    settings = FAST.model_copy(update={"retry_attempts": 1})
    adapter = FakeAdapter(settings, TransientBackendError("down"))
    producer = await run(adapter, command_envelope())
    assert len(adapter.calls) == 1
    assert [s.topic for s in producer.sent] == ["mpp.retry.fake.1"]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_open_circuit_stops_calling_the_agency_until_the_reset_time() -> None:
    clock = Clock()
    breaker = CircuitBreaker(failure_threshold=FAST.retry_attempts, reset_seconds=30, clock=clock)
    adapter = FakeAdapter(FAST, TransientBackendError("down"))
    worker = AdapterWorker(adapter, FakeProducer(), breaker=breaker)  # type: ignore[arg-type]

    with pytest.raises(RetryLater):
        await worker.handle(command_envelope(), Record())  # type: ignore[arg-type]
    assert breaker.state is BreakerState.OPEN
    calls = len(adapter.calls)

    clock.now += 10
    with pytest.raises(RetryLater) as exc:
        await worker.handle(command_envelope(), Record())  # type: ignore[arg-type]
    assert len(adapter.calls) == calls  # the agency is left alone while the circuit is open
    assert exc.value.delay == pytest.approx(20)  # wait until the probe is due


async def test_a_successful_probe_after_the_reset_time_closes_the_circuit() -> None:
    clock = Clock()
    breaker = CircuitBreaker(failure_threshold=1, reset_seconds=30, clock=clock)
    breaker.record_failure()
    adapter = FakeAdapter(FAST, COMPLETED)
    producer = FakeProducer()
    worker = AdapterWorker(adapter, producer, breaker=breaker)  # type: ignore[arg-type]

    clock.now += 31
    await worker.handle(command_envelope(), Record())  # type: ignore[arg-type]
    assert len(adapter.calls) == 1
    assert breaker.state is BreakerState.CLOSED
    assert only_report(producer)[1].status is Status.COMPLETED


async def test_a_failed_half_open_probe_is_a_single_call() -> None:
    clock = Clock()
    breaker = CircuitBreaker(failure_threshold=1, reset_seconds=30, clock=clock)
    breaker.record_failure()
    adapter = FakeAdapter(FAST, TransientBackendError("still down"))
    worker = AdapterWorker(adapter, FakeProducer(), breaker=breaker)  # type: ignore[arg-type]

    clock.now += 31
    with pytest.raises(RetryLater):
        await worker.handle(command_envelope(), Record())  # type: ignore[arg-type]
    assert breaker.state is BreakerState.OPEN
    assert len(adapter.calls) == 1


@pytest.mark.parametrize(
    "answer",
    [AgencyRejection("owner_mismatch", "NIK tidak sesuai"), AgencyAnswerInvalid("agency_answer_invalid", "?")],
    ids=["rejection", "invalid-answer"],
)
async def test_an_agency_that_answers_is_up_even_if_the_answer_is_no(answer: Exception) -> None:
    clock = Clock()
    breaker = CircuitBreaker(failure_threshold=2, reset_seconds=30, clock=clock)
    breaker.record_failure()
    worker = AdapterWorker(FakeAdapter(FAST, answer), FakeProducer(), breaker=breaker)  # type: ignore[arg-type]
    await worker.handle(command_envelope(), Record())  # type: ignore[arg-type]
    breaker.record_failure()
    assert breaker.state is BreakerState.CLOSED  # the earlier failure was forgotten


async def test_unsupported_operation_fails_at_once_even_with_the_circuit_open() -> None:
    breaker = CircuitBreaker(failure_threshold=1, reset_seconds=30)
    breaker.record_failure()
    adapter = FakeAdapter(FAST, COMPLETED)
    producer = FakeProducer()
    await AdapterWorker(adapter, producer, breaker=breaker).handle(command_envelope(operation="nope"), Record())  # type: ignore[arg-type]
    assert only_report(producer)[1].error.code == "unsupported_operation"  # type: ignore[union-attr]
    assert adapter.calls == []


async def test_retry_after_is_capped_by_retry_max_wait() -> None:
    """An agency asking for a minute's pause must not stall the partition for a minute."""
    adapter = FakeAdapter(FAST, TransientBackendError("busy", retry_after=60), COMPLETED)
    started = time.monotonic()
    producer = await asyncio.wait_for(run(adapter, command_envelope()), timeout=2)
    _, report = only_report(producer)
    assert time.monotonic() - started < 1.0
    assert report.status is Status.COMPLETED


def test_the_breaker_holds_the_consume_loops_only_while_the_circuit_is_open() -> None:
    clock = Clock()
    breaker = CircuitBreaker(failure_threshold=1, reset_seconds=30, clock=clock)
    worker = AdapterWorker(FakeAdapter(FAST, COMPLETED), FakeProducer(), breaker=breaker)  # type: ignore[arg-type]
    assert worker.breaker_hold() == 0
    breaker.record_failure()
    clock.now += 10
    assert worker.breaker_hold() == pytest.approx(20)  # every partition waits for the probe
    clock.now += 20
    assert worker.breaker_hold() == 0  # half-open: records flow, one of them is the probe


class StubConsumer:
    def __init__(self, group: str) -> None:
        self.group = group
        self.topics: list[str] = []

    def subscribe(self, topics: list[str], listener: object = None) -> None:
        self.topics = list(topics)


def test_commands_and_each_retry_level_are_consumed_in_groups_of_their_own(monkeypatch: pytest.MonkeyPatch) -> None:
    """Workers of one agency share each group; one level's wait never holds another."""
    monkeypatch.setattr(worker_module, "create_consumer", lambda kafka, group: StubConsumer(group))
    settings = FAST.model_copy(update={"retry_topic_delays_seconds": [1.0, 2.0]})
    worker = AdapterWorker(FakeAdapter(settings, COMPLETED), FakeProducer())  # type: ignore[arg-type]
    loops = worker_module.consume_loops(worker, KafkaSettings(), batch_size=10)
    assert [(c.group, c.topics, loop.name) for c, loop in loops] == [  # type: ignore[attr-defined]
        ("mpp-adapter-fake", ["mpp.commands.fake"], "adapter:fake"),
        ("mpp-adapter-fake-retry-1", ["mpp.retry.fake.1"], "adapter:fake:retry-1"),
        ("mpp-adapter-fake-retry-2", ["mpp.retry.fake.2"], "adapter:fake:retry-2"),
    ]


async def test_poison_is_dead_lettered_under_its_own_coordinates_with_the_request_id_as_correlation_id() -> None:
    producer = FakeProducer()
    worker = AdapterWorker(FakeAdapter(FAST, COMPLETED), producer)  # type: ignore[arg-type]
    await worker.dead_letter(Record(headers=[], partition=2, offset=9), PoisonMessage("invalid step.command payload"))  # type: ignore[arg-type]
    [dead] = producer.sent
    assert dead.topic == topics.DEADLETTER
    assert (dead.header("dlq.original.topic"), dead.header("dlq.original.partition"), dead.header("dlq.original.offset")) == (
        "mpp.commands.fake",
        "2",
        "9",
    )
    assert dead.header("dlq.error.class") == "PoisonMessage"
    assert dead.header("dlq.attempts") == "1"
    assert dead.header("dlq.consumer") == "adapter:fake"
    assert dead.header(Headers.CORRELATION_ID) == str(REQUEST_ID)


# --- outcomes on the merits ------------------------------------------------------------


async def test_agency_rejection_becomes_rejected_with_its_code() -> None:
    rejection = AgencyRejection("plate_not_registered", "Nomor polisi tidak terdaftar", agency_code="NOPOL_TIDAK_TERDAFTAR")
    adapter = FakeAdapter(FAST, rejection)
    _, report = only_report(await run(adapter, command_envelope()))
    assert len(adapter.calls) == 1  # a refusal is an answer: never retried
    assert report.status is Status.REJECTED
    assert report.error is not None
    assert report.error.code == "plate_not_registered"
    assert report.error.message == "Nomor polisi tidak terdaftar"
    assert report.error.agency_code == "NOPOL_TIDAK_TERDAFTAR"


async def test_invalid_agency_answer_becomes_failed_with_its_code() -> None:
    adapter = FakeAdapter(FAST, AgencyAnswerInvalid("agency_answer_invalid", "3 errors", agency_code=None))
    _, report = only_report(await run(adapter, command_envelope()))
    assert len(adapter.calls) == 1
    assert report.status is Status.FAILED
    assert report.error is not None and report.error.code == "agency_answer_invalid"


async def test_unsupported_operation_fails_without_calling_the_adapter() -> None:
    adapter = FakeAdapter(FAST, COMPLETED)
    _, report = only_report(await run(adapter, command_envelope(operation="launch_rocket")))
    assert adapter.calls == []
    assert report.status is Status.FAILED
    assert report.error is not None
    assert report.error.code == "unsupported_operation"
    assert "launch_rocket" in report.error.message


async def test_an_unexpected_adapter_bug_propagates_and_publishes_nothing() -> None:
    """Not a canonical outcome: the consume loop must see it (and retry), not a FAILED report."""
    adapter = FakeAdapter(FAST, KeyError("oops"))
    producer = FakeProducer()
    with pytest.raises(KeyError):
        await AdapterWorker(adapter, producer).handle(command_envelope(), Record())  # type: ignore[arg-type]
    assert producer.sent == []
    assert len(adapter.calls) == 1


# --- poison -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "incoming",
    [
        command_envelope(payload={}),
        command_envelope(payload={"service": "fake.service", "operation": "do_it", "data": {}}),  # no applicant
        command_envelope(payload={"service": "fake.service", "operation": "do_it", "applicant": {"nik": "123", "name": "X"}, "data": {}}),
        command_envelope(
            payload={"service": "fake.service", "operation": "do_it", "applicant": {"nik": NIK, "name": "X"}, "data": {}, "x": 1}
        ),
        command_envelope(type=MessageType.STEP_STATUS),
        command_envelope(type=MessageType.REQUEST_SUBMITTED),
    ],
    ids=["empty", "no-applicant", "bad-nik", "extra-field", "a-status-report", "a-request"],
)
async def test_an_invalid_step_command_or_a_message_that_is_no_command_is_poison(incoming: Envelope) -> None:
    adapter = FakeAdapter(FAST, COMPLETED)
    producer = FakeProducer()
    with pytest.raises(PoisonMessage):
        await AdapterWorker(adapter, producer).handle(incoming, Record())  # type: ignore[arg-type]
    assert adapter.calls == []
    assert producer.sent == []


async def test_a_callback_for_an_adapter_that_does_not_call_back_is_poison() -> None:
    adapter = FakeAdapter(FAST, COMPLETED)  # a SYNC backend
    payload = {"content_type": "application/json", "body": "{}"}
    with pytest.raises(PoisonMessage):
        await run(adapter, command_envelope(type=MessageType.AGENCY_CALLBACK, payload=payload))
    assert adapter.calls == []


async def test_a_command_without_step_id_is_poison() -> None:
    adapter = FakeAdapter(FAST, COMPLETED)
    with pytest.raises(PoisonMessage):
        await run(adapter, command_envelope(step_id=None))
    assert adapter.calls == []


# --- tracing ---------------------------------------------------------------------------


async def test_correlation_id_and_traceparent_are_propagated_from_the_record() -> None:
    record = Record(headers=[(Headers.CORRELATION_ID, b"portal-corr-77"), (Headers.TRACEPARENT, TRACEPARENT.encode())])
    sent, _ = only_report(await run(FakeAdapter(FAST, COMPLETED), command_envelope(), record))
    assert sent.header(Headers.CORRELATION_ID) == "portal-corr-77"
    assert sent.header(Headers.TRACEPARENT) == TRACEPARENT


async def test_propagation_also_holds_for_refusals() -> None:
    record = Record(headers=[(Headers.CORRELATION_ID, b"corr-9"), (Headers.TRACEPARENT, TRACEPARENT.encode())])
    sent, report = only_report(await run(FakeAdapter(FAST, AgencyRejection("owner_mismatch", "x")), command_envelope(), record))
    assert report.status is Status.REJECTED
    assert sent.header(Headers.CORRELATION_ID) == "corr-9"
    assert sent.header(Headers.TRACEPARENT) == TRACEPARENT


async def test_without_incoming_headers_the_request_id_and_a_fresh_traceparent_are_used() -> None:
    sent, _ = only_report(await run(FakeAdapter(FAST, COMPLETED), command_envelope(), Record(headers=[])))
    assert sent.header(Headers.CORRELATION_ID) == str(REQUEST_ID)
    traceparent = sent.header(Headers.TRACEPARENT)
    assert traceparent is not None
    version, trace_id, parent_id, flags = traceparent.split("-")
    assert (version, len(trace_id), len(parent_id), flags) == ("00", 32, 16, "01")
