"""The worker loop around an adapter: consume commands, polls and callbacks for one
agency, call the agency with bounded retries behind a circuit breaker, publish the
canonical outcome.

Idempotency without a database of its own: the step id is the agency's idempotency
key, so a redelivered command replays the agency's stored answer, and the report's
message id is derived from the incoming message's, so the router drops the second
copy.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import TypeVar

from aiokafka import AIOKafkaProducer, ConsumerRecord
from pydantic import BaseModel, ValidationError
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, stop_after_attempt, wait_exponential

from adapters.sdk.base import Adapter
from adapters.sdk.bus import ConsumeLoop, DeadLetters, create_consumer, create_producer, envelope_headers, header
from adapters.sdk.circuit import BreakerState, CircuitBreaker
from adapters.sdk.errors import AgencyAnswerInvalid, AgencyRejection, PoisonMessage, RetryLater, TransientBackendError
from schemas import topics
from schemas.envelope import Envelope, Headers, MessageType, new_traceparent
from schemas.lifecycle import Status
from schemas.messages import AgencyCallback, StepCancel, StepCommand, StepError, StepPoll, StepStatusReport

log = logging.getLogger(__name__)

M = TypeVar("M", bound=BaseModel)

_REPORT_NAMESPACE = uuid.UUID("6f1c3c2e-5d0a-4f57-9a43-2b1f9a0d7e11")


def report_message_id(incoming_id: uuid.UUID) -> uuid.UUID:
    """The same incoming message always yields the same report id, whichever delivery sent it."""
    return uuid.uuid5(_REPORT_NAMESPACE, str(incoming_id))


class AdapterWorker:
    def __init__(self, adapter: Adapter, producer: AIOKafkaProducer, *, breaker: CircuitBreaker | None = None) -> None:
        self.adapter = adapter
        self._producer = producer
        self.source = f"adapter:{adapter.agency}"
        settings = adapter.settings
        self.breaker = breaker or CircuitBreaker(settings.breaker_failure_threshold, settings.breaker_reset_seconds)

    async def handle(self, envelope: Envelope, record: ConsumerRecord[bytes, bytes]) -> None:
        if envelope.step_id is None:
            raise PoisonMessage(f"{self.source}: {envelope.type} without a step id")
        step_id = envelope.step_id
        if envelope.type is MessageType.STEP_COMMAND:
            command = _parse(StepCommand, envelope)
            report = await self._guarded(command, lambda: self.adapter.execute(command, step_id))
        elif envelope.type is MessageType.STEP_POLL:
            poll = _parse(StepPoll, envelope)
            report = await self._guarded(poll.command, lambda: self.adapter.poll(poll.command, step_id, poll.agency_ref))
        elif envelope.type is MessageType.STEP_CANCEL:
            cancel = _parse(StepCancel, envelope)
            report = await self._guarded(cancel.command, lambda: self.adapter.cancel(cancel.command, step_id, cancel.agency_ref))
        elif envelope.type is MessageType.AGENCY_CALLBACK:
            report = self._translate_callback(_parse(AgencyCallback, envelope), step_id)
        else:
            raise PoisonMessage(f"{self.source} does not handle {envelope.type}")
        await self._publish(envelope, record, report)

    async def _guarded(self, command: StepCommand, call: Callable[[], Awaitable[StepStatusReport]]) -> StepStatusReport:
        if command.operation not in self.adapter.operations:
            return _failed("unsupported_operation", f"{self.adapter.agency} has no operation {command.operation!r}")
        if not self.breaker.allow():
            raise RetryLater(self.breaker.seconds_until_probe() or 0.5, f"circuit to {self.adapter.agency} is open")
        settings = self.adapter.settings
        retrying = AsyncRetrying(
            retry=retry_if_exception_type(TransientBackendError),
            # Every failed try counts towards the breaker, and an opened breaker ends the
            # tries at once: a failed half-open probe is one call, not retry_attempts.
            after=lambda _: self.breaker.record_failure(),
            stop=stop_after_attempt(settings.retry_attempts) | (lambda _: self.breaker.state is not BreakerState.CLOSED),
            wait=_wait_respecting_retry_after(settings.retry_max_wait_seconds),
            reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    report = await call()
        except TransientBackendError as exc:
            delay = self.breaker.seconds_until_probe() if self.breaker.state is BreakerState.OPEN else settings.retry_max_wait_seconds
            raise RetryLater(max(delay, 0.1), f"{self.adapter.agency} unavailable after {settings.retry_attempts} tries: {exc}") from exc
        except AgencyRejection as exc:
            self.breaker.record_success()
            return StepStatusReport(
                status=Status.REJECTED, error=StepError(code=exc.code, message=exc.message, agency_code=exc.agency_code)
            )
        except AgencyAnswerInvalid as exc:
            self.breaker.record_success()  # the agency is up; its answer is the problem
            return _failed(exc.code, exc.message, agency_code=exc.agency_code)
        except NotImplementedError as exc:
            return _failed("unsupported_operation", str(exc))
        self.breaker.record_success()
        return report

    def _translate_callback(self, callback: AgencyCallback, step_id: uuid.UUID) -> StepStatusReport:
        try:
            return self.adapter.translate_callback(callback, step_id)
        except AgencyAnswerInvalid as exc:
            return _failed(exc.code, exc.message, agency_code=exc.agency_code)
        except NotImplementedError as exc:
            raise PoisonMessage(str(exc)) from exc

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
            traceparent=header(record, Headers.TRACEPARENT) or new_traceparent(),
        )
        await (await self._producer.send(topics.EVENTS, value=event.to_bytes(), key=event.key, headers=headers))
        log.info("step %s of request %s -> %s", incoming.step_id, incoming.request_id, report.status)


def _parse(model: type[M], envelope: Envelope) -> M:
    try:
        return model.model_validate(envelope.payload)
    except ValidationError as exc:
        raise PoisonMessage(f"invalid {envelope.type} payload") from exc


def _failed(code: str, message: str, *, agency_code: str | None = None) -> StepStatusReport:
    return StepStatusReport(status=Status.FAILED, error=StepError(code=code, message=message, agency_code=agency_code))


def _wait_respecting_retry_after(cap: float) -> Callable[[RetryCallState], float]:
    exponential = wait_exponential(multiplier=0.2, max=cap)

    def wait(state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, TransientBackendError) and error.retry_after is not None:
            return min(error.retry_after, cap)
        return float(exponential(state))

    return wait


async def run_adapter_worker(adapter: Adapter, bootstrap: str, stop: asyncio.Event, *, batch_size: int = 50) -> None:
    """Run one adapter until ``stop`` is set. Partitions are shared across workers of
    the same agency through the consumer group ``mpp-adapter-<agency>``."""
    producer = create_producer(bootstrap)
    consumer = create_consumer(bootstrap, f"mpp-adapter-{adapter.agency}", [topics.commands(adapter.agency)])
    await producer.start()
    try:
        await consumer.start()
        try:
            worker = AdapterWorker(adapter, producer)
            loop = ConsumeLoop(
                consumer, worker.handle, DeadLetters(producer, worker.source), name=worker.source, batch_size=batch_size
            )
            await loop.run(stop)
        finally:
            await consumer.stop()
    finally:
        await producer.stop()
        await adapter.aclose()
