"""The worker loop around an adapter: consume commands, polls and callbacks for one
agency, call the agency through the failure ladder behind a circuit breaker, publish
the canonical outcome.

Failure ladder (details, bounds and the ordering argument in
``messaging/retry_levels.py``): short in-process tenacity retries; then the
non-blocking retry topics ``mpp.retry.<agency>.<n>`` with growing delays; then
``mpp.deadletter``. Poison goes to dead letters at once. While the circuit is open
the command topic and the retry topics are paused, and nothing climbs the ladder.

Idempotency without a database of its own: the step id is the agency's idempotency
key, so a redelivered or retried command replays the agency's stored answer, and the
report's message id is derived from the incoming message's, so the router drops the
second copy.

Breaker state is published to the compacted topic ``mpp.adapter-status`` (key
``<agency>:<instance id>``) on every change and every ``STATUS_HEARTBEAT_SECONDS``;
a clean stop publishes a tombstone, so only crashed instances linger (as stale).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import socket
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import AsyncExitStack
from typing import TypeVar

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord
from aiokafka.errors import KafkaError
from pydantic import BaseModel, ValidationError
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, stop_after_attempt
from tenacity.stop import stop_base

from adapters.sdk.base import Adapter, Capability
from adapters.sdk.errors import AgencyAnswerInvalid, AgencyRejection, PoisonMessage, RetryLater, TransientBackendError
from adapters.sdk.runtime.circuit import BreakerState, CircuitBreaker, status_key
from adapters.sdk.settings import BackendSettings
from messaging import metrics
from messaging import retry_levels as rt
from messaging.clients import create_consumer, create_producer, started
from messaging.consume import ConsumeLoop, FailurePolicy, decode_envelope
from messaging.deadletters import DeadLetters
from messaging.headers import envelope_headers, header, with_default
from messaging.probes import PROBES, kafka_check
from messaging.retry import RetryPolicy
from messaging.settings import KafkaSettings
from messaging.topology import Topology, prepare
from messaging.tracing import current_traceparent
from schemas import topics
from schemas.envelope import Envelope, Headers, MessageType
from schemas.lifecycle import Status
from schemas.messages import AgencyCallback, StepCancel, StepCommand, StepError, StepPoll, StepStatusReport

log = logging.getLogger(__name__)

M = TypeVar("M", bound=BaseModel)

LevelHandler = Callable[[Envelope, ConsumerRecord[bytes, bytes]], Awaitable[None]]
DueAt = Callable[[ConsumerRecord[bytes, bytes]], float]

_REPORT_NAMESPACE = uuid.UUID("6f1c3c2e-5d0a-4f57-9a43-2b1f9a0d7e11")
STATUS_HEARTBEAT_SECONDS = 10.0


class ShortRetriesExhausted(Exception):
    """The in-process retries of one pass failed with the circuit still closed: the
    command climbs one rung of the ladder (next retry topic, or dead letters)."""

    def __init__(self, error: TransientBackendError) -> None:
        super().__init__(str(error))
        self.error = error


def report_message_id(incoming_id: uuid.UUID) -> uuid.UUID:
    """The same incoming message always yields the same report id, whichever delivery sent it."""
    return uuid.uuid5(_REPORT_NAMESPACE, str(incoming_id))


class AdapterWorker:
    def __init__(
        self,
        adapter: Adapter,
        producer: AIOKafkaProducer,
        *,
        breaker: CircuitBreaker | None = None,
        now_ms: Callable[[], int] = rt.wall_ms,
    ) -> None:
        self.adapter = adapter
        self._producer = producer
        self.source = f"adapter:{adapter.agency}"
        settings = adapter.settings
        self.breaker = breaker or CircuitBreaker(settings.breaker_failure_threshold, settings.breaker_reset_seconds)
        self.retry_delays = rt.retry_delays(settings.retry_topic_delays_seconds)
        self._now_ms = now_ms
        self._dead_letters = DeadLetters(producer, self.source)

    def breaker_hold(self) -> float:
        """The consume loops' gate: while the circuit is open every partition waits."""
        return self.breaker.seconds_until_probe() if self.breaker.state is BreakerState.OPEN else 0.0

    async def handle(self, envelope: Envelope, record: ConsumerRecord[bytes, bytes]) -> None:
        """A record from the command topic (ladder level 0)."""
        await self.handle_at_level(envelope, record, 0)

    def level_handler(self, level: int) -> LevelHandler:
        async def handle(envelope: Envelope, record: ConsumerRecord[bytes, bytes]) -> None:
            await self.handle_at_level(envelope, record, level)

        return handle

    async def handle_at_level(self, envelope: Envelope, record: ConsumerRecord[bytes, bytes], level: int) -> None:
        """Handle ``record``, read from the command topic (0) or retry topic ``level``.
        The level comes from where the record was read, never from its headers."""
        try:
            await self._handle(envelope, record)
        except ShortRetriesExhausted as exc:
            await self._escalate(record, level, exc.error)

    async def _escalate(self, record: ConsumerRecord[bytes, bytes], level: int, error: TransientBackendError) -> None:
        step = rt.escalation(level, self.retry_delays)
        if step.next_level is None:
            log.error(
                "%s: %s[%d]@%d failed after %d passes; dead-lettering",
                self.source,
                record.topic,
                record.partition,
                record.offset,
                level + 1,
            )
            await self.dead_letter(record, error, attempts=level + 1)
            return
        not_before = self._now_ms() + int(step.delay_seconds * 1000)
        headers = rt.retry_headers(record, attempt=step.next_level, not_before_ms=not_before, error=error)
        headers = with_default(headers, Headers.CORRELATION_ID, record.key)  # the key is the request id
        topic = rt.retry_topic(self.adapter.agency, step.next_level)
        await (await self._producer.send(topic, value=record.value, key=record.key, headers=headers))
        log.warning(
            "%s: %s[%d]@%d unavailable (%s); retry %d in %.1fs via %s",
            self.source,
            record.topic,
            record.partition,
            record.offset,
            type(error).__name__,
            step.next_level,
            step.delay_seconds,
            topic,
        )

    async def dead_letter(self, record: ConsumerRecord[bytes, bytes], error: BaseException, *, attempts: int = 1) -> None:
        """Dead-letter ``record`` under its original coordinates (the command topic's),
        without the retry headers; the original headers (correlation id) stay."""
        topic, partition, offset = rt.original_coordinates(record)
        headers = with_default(rt.without_retry_headers(record.headers), Headers.CORRELATION_ID, record.key)
        original = dataclasses.replace(record, topic=topic, partition=partition, offset=offset, headers=headers)
        await self._dead_letters.publish(original, error, attempts=attempts)

    async def _handle(self, envelope: Envelope, record: ConsumerRecord[bytes, bytes]) -> None:
        if envelope.step_id is None:
            raise PoisonMessage(f"{self.source}: {envelope.type} without a step id")
        step_id = envelope.step_id
        if envelope.type is MessageType.STEP_COMMAND:
            command = _parse(StepCommand, envelope)
            report = await self._guarded(command, lambda: self.adapter.execute(command, step_id))
        elif envelope.type is MessageType.STEP_POLL:
            poll = _parse(StepPoll, envelope)
            report = await self._guarded(
                poll.command, lambda: self.adapter.poll(poll.command, step_id, poll.agency_ref), needs=Capability.POLL
            )
        elif envelope.type is MessageType.STEP_CANCEL:
            cancel = _parse(StepCancel, envelope)
            report = await self._guarded(
                cancel.command, lambda: self.adapter.cancel(cancel.command, step_id, cancel.agency_ref), needs=Capability.CANCEL
            )
        elif envelope.type is MessageType.AGENCY_CALLBACK:
            report = self._translate_callback(_parse(AgencyCallback, envelope), step_id)
        else:
            raise PoisonMessage(f"{self.source} does not handle {envelope.type}")
        await self._publish(envelope, record, report)

    async def _guarded(
        self, command: StepCommand, call: Callable[[], Awaitable[StepStatusReport]], *, needs: Capability | None = None
    ) -> StepStatusReport:
        if command.operation not in self.adapter.operations:
            return _failed("unsupported_operation", f"{self.adapter.agency} has no operation {command.operation!r}")
        if needs is not None and needs not in self.adapter.capabilities:
            return _failed("unsupported_operation", f"{self.adapter.agency} does not declare the {needs} capability")
        if not self.breaker.allow():
            raise RetryLater(self.breaker.seconds_until_probe() or 0.5, f"circuit to {self.adapter.agency} is open")
        settings = self.adapter.settings
        retrying = AsyncRetrying(
            retry=retry_if_exception_type(TransientBackendError),
            # Every failed try counts towards the breaker, and an opened breaker ends the
            # tries at once: a failed half-open probe is one call, not retry_attempts.
            after=lambda state: self.breaker.record_failure(state.outcome.exception() if state.outcome else None),
            stop=stop_after_attempt(settings.retry_attempts) | _CircuitLeftClosed(self.breaker),
            wait=_wait_respecting_retry_after(settings.retry_max_wait_seconds),
            reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    report = await call()
        except TransientBackendError as exc:
            if self.breaker.state is not BreakerState.CLOSED:
                # The outage is the breaker's business now: the record stays where it is
                # and consumption pauses; this command's ladder budget is not spent.
                delay = max(self.breaker.seconds_until_probe(), 0.1)
                raise RetryLater(delay, f"circuit to {self.adapter.agency} opened: {exc}") from exc
            raise ShortRetriesExhausted(exc) from exc
        except AgencyRejection as exc:
            self.breaker.record_success()
            return StepStatusReport(
                status=Status.REJECTED, error=StepError(code=exc.code, message=exc.message, agency_code=exc.agency_code)
            )
        except AgencyAnswerInvalid as exc:
            self.breaker.record_success()  # the agency is up; its answer is the problem
            return _failed(exc.code, exc.message, agency_code=exc.agency_code)
        self.breaker.record_success()
        return report

    def _translate_callback(self, callback: AgencyCallback, step_id: uuid.UUID) -> StepStatusReport:
        if Capability.CALLBACK not in self.adapter.capabilities:
            raise PoisonMessage(f"{self.adapter.agency} does not call back")
        try:
            return self.adapter.translate_callback(callback, step_id)
        except AgencyAnswerInvalid as exc:
            return _failed(exc.code, exc.message, agency_code=exc.agency_code)

    async def _publish(self, incoming: Envelope, record: ConsumerRecord[bytes, bytes], report: StepStatusReport) -> None:
        event = Envelope(
            message_id=report_message_id(incoming.message_id),
            request_id=incoming.request_id,
            step_id=incoming.step_id,
            type=MessageType.STEP_STATUS,
            source=self.source,
            payload=report.model_dump(mode="json"),
        )
        headers = envelope_headers(
            event,
            correlation_id=header(record, Headers.CORRELATION_ID) or str(incoming.request_id),
            traceparent=current_traceparent(header(record, Headers.TRACEPARENT)),
        )
        await (await self._producer.send(topics.events(self.adapter.agency), value=event.to_bytes(), key=event.key, headers=headers))
        log.info("step %s of request %s -> %s", incoming.step_id, incoming.request_id, report.status)


def _parse(model: type[M], envelope: Envelope) -> M:
    try:
        return model.model_validate(envelope.payload)
    except ValidationError as exc:
        raise PoisonMessage(f"invalid {envelope.type} payload") from exc


def _failed(code: str, message: str, *, agency_code: str | None = None) -> StepStatusReport:
    return StepStatusReport(status=Status.FAILED, error=StepError(code=code, message=message, agency_code=agency_code))


def short_retry_policy(settings: BackendSettings) -> RetryPolicy:
    """The first rung of the ladder as a :class:`RetryPolicy` value: ``retry_attempts``
    tries, backing off from 0.2 s up to ``retry_max_wait_seconds``."""
    return RetryPolicy(attempts=settings.retry_attempts, cap_seconds=settings.retry_max_wait_seconds)


class _CircuitLeftClosed(stop_base):
    """Stop retrying once the breaker is no longer closed: the outage is its business now."""

    def __init__(self, breaker: CircuitBreaker) -> None:
        self._breaker = breaker

    def __call__(self, retry_state: RetryCallState) -> bool:
        return self._breaker.state is not BreakerState.CLOSED


def _wait_respecting_retry_after(cap: float) -> Callable[[RetryCallState], float]:
    backoff = RetryPolicy(cap_seconds=cap)

    def wait(state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, TransientBackendError) and error.retry_after is not None:
            return min(error.retry_after, cap)
        return backoff.delay(state.attempt_number)

    return wait


@dataclasses.dataclass(eq=False)
class StatusPublisher:
    """Publishes the breaker's snapshot on every change and every ``heartbeat_seconds``
    (and when an open circuit turns half-open by time alone). Failing to publish is
    logged, never fatal: status is for operators, not for the flow."""

    producer: AIOKafkaProducer
    breaker: CircuitBreaker
    agency: str
    instance_id: str
    heartbeat_seconds: float = dataclasses.field(default=STATUS_HEARTBEAT_SECONDS, kw_only=True)
    _changed: asyncio.Event = dataclasses.field(default_factory=asyncio.Event, init=False)

    def __post_init__(self) -> None:
        self.breaker.on_change(self._changed.set)

    async def publish(self) -> None:
        snapshot = self.breaker.snapshot(self.agency, self.instance_id)
        try:
            await (await self.producer.send(topics.ADAPTER_STATUS, value=snapshot.to_bytes(), key=snapshot.key))
        except KafkaError:
            log.exception("adapter:%s: could not publish breaker status", self.agency)

    async def run(self, stop: asyncio.Event) -> None:
        stopping = asyncio.ensure_future(stop.wait())
        try:
            while not stop.is_set():
                self._changed.clear()
                await self.publish()
                timeout = self.heartbeat_seconds
                if self.breaker.state is BreakerState.OPEN:
                    timeout = min(timeout, self.breaker.seconds_until_probe() + 0.05)
                changed = asyncio.ensure_future(self._changed.wait())
                await asyncio.wait({changed, stopping}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
                changed.cancel()
        finally:
            stopping.cancel()
            try:  # a clean stop: forget this instance (compaction drops the key)
                await (await self.producer.send(topics.ADAPTER_STATUS, value=None, key=status_key(self.agency, self.instance_id)))
            except KafkaError:
                log.warning("adapter:%s: could not publish the status tombstone", self.agency)


def default_instance_id() -> str:
    return os.environ.get("MPP_INSTANCE_ID") or f"{socket.gethostname()}-{os.getpid()}"


async def run_adapter_worker(
    adapter: Adapter, kafka: KafkaSettings, stop: asyncio.Event, *, batch_size: int = 50, instance_id: str | None = None
) -> None:
    """Run one adapter until ``stop`` is set: its command topic (consumer group
    ``mpp-adapter-<agency>``, shared across workers of the agency), each retry level
    (group ``mpp-adapter-<agency>-retry-<n>``) and the status heartbeat. It prepares
    the topics it reads and writes first, as the topology declares them."""
    settings = adapter.settings
    try:
        bound = rt.check_short_retry_bound(short_retry_policy(settings), settings.timeout_seconds, kafka.max_poll_interval_seconds)
        delays = rt.retry_delays(settings.retry_topic_delays_seconds)
        await prepare(kafka, Topology(kafka).adapter(adapter.agency, len(delays)))
        async with started(create_producer(kafka)) as producer, AsyncExitStack() as consumers:
            worker = AdapterWorker(adapter, producer)
            loops = []
            for consumer, loop in consume_loops(worker, kafka, batch_size):
                await consumers.enter_async_context(started(consumer))
                loops.append(loop)
            status = StatusPublisher(producer, worker.breaker, adapter.agency, instance_id or default_instance_id())
            log.info("%s: short retries bounded by %.0fs per command; retry levels %s", worker.source, bound, list(delays))
            with _probes(worker, kafka):
                await _until_first_failure([*(loop.run(stop) for loop in loops), status.run(stop)])
    finally:
        await adapter.aclose()


@contextlib.contextmanager
def _probes(worker: AdapterWorker, kafka: KafkaSettings) -> Iterator[None]:
    """Readiness: Kafka answers and the agency's breaker is closed; the breaker's
    state is read at each scrape (it turns half-open by the clock, not by an event)."""
    agency = worker.adapter.agency

    async def breaker_closed() -> str | None:
        state = worker.breaker.state  # half-open is still probing a failing backend: not ready yet
        return None if state is BreakerState.CLOSED else f"breaker {state.value}: the agency backend is failing"

    async def breaker_gauge() -> None:
        metrics.breaker(agency, worker.breaker.state)

    with (
        PROBES.check("kafka", kafka_check(kafka)),
        PROBES.check(f"breaker:{agency}", breaker_closed),
        PROBES.refresher(f"breaker:{agency}", breaker_gauge),
    ):
        metrics.breaker(agency, worker.breaker.state)
        yield


def consume_loops(worker: AdapterWorker, kafka: KafkaSettings, batch_size: int) -> list[tuple[AIOKafkaConsumer, ConsumeLoop[Envelope]]]:
    """The command topic and each retry level: one consume loop each, held by the breaker."""
    agency = worker.adapter.agency
    failures = FailurePolicy(poison=worker.dead_letter)

    def loop(
        group: str, topic: str, handler: LevelHandler, name: str, not_before: DueAt | None = None
    ) -> tuple[AIOKafkaConsumer, ConsumeLoop[Envelope]]:
        consumer = create_consumer(kafka, group)
        return consumer, ConsumeLoop(
            consumer,
            [topic],
            handler,
            name=name,
            decoder=decode_envelope,
            failures=failures,
            batch_size=batch_size,
            gate=worker.breaker_hold,
            not_before=not_before,
        )

    levels = rt.retry_topics(agency, len(worker.retry_delays))
    return [
        loop(rt.adapter_group(agency), topics.commands(agency), worker.handle, worker.source),
        *(
            loop(rt.retry_group(agency, n), topic, worker.level_handler(n), f"{worker.source}:retry-{n}", not_before=rt.due_at)
            for n, topic in enumerate(levels, 1)
        ),
    ]


async def _until_first_failure(coroutines: list[Awaitable[None]]) -> None:
    """Run together; the first to fail stops the rest and its error is raised."""
    tasks = [asyncio.ensure_future(c) for c in coroutines]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    for task in done:
        if not task.cancelled() and task.exception() is not None:
            raise task.exception()  # type: ignore[misc]
