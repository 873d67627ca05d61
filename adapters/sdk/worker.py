"""The worker loop around an adapter: consume commands, call the agency with bounded
retries, publish the canonical outcome.

Idempotency without a database of its own: the step id is the agency's idempotency
key, so a redelivered command replays the agency's stored answer, and the event's
message id is derived from the command's, so the router dedups the second copy.
"""

from __future__ import annotations

import asyncio
import logging
import uuid

from aiokafka import AIOKafkaProducer, ConsumerRecord
from pydantic import ValidationError
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, stop_after_attempt, wait_exponential

from adapters.sdk.base import Adapter
from adapters.sdk.bus import ConsumeLoop, DeadLetters, create_consumer, create_producer, envelope_headers, header
from adapters.sdk.errors import AgencyAnswerInvalid, AgencyRejection, PoisonMessage, TransientBackendError
from schemas import topics
from schemas.envelope import Envelope, Headers, MessageType, new_traceparent
from schemas.lifecycle import Status
from schemas.messages import StepCommand, StepError, StepStatusReport

log = logging.getLogger(__name__)

_REPORT_NAMESPACE = uuid.UUID("6f1c3c2e-5d0a-4f57-9a43-2b1f9a0d7e11")


def report_message_id(command_id: uuid.UUID) -> uuid.UUID:
    """The same command always yields the same report id, whichever delivery sent it."""
    return uuid.uuid5(_REPORT_NAMESPACE, str(command_id))


class AdapterWorker:
    def __init__(self, adapter: Adapter, producer: AIOKafkaProducer) -> None:
        self.adapter = adapter
        self._producer = producer
        self.source = f"adapter:{adapter.agency}"

    async def handle(self, envelope: Envelope, record: ConsumerRecord[bytes, bytes]) -> None:
        if envelope.type is not MessageType.STEP_COMMAND or envelope.step_id is None:
            raise PoisonMessage(f"{self.source} expects step.command with a step id, got {envelope.type}")
        try:
            command = StepCommand.model_validate(envelope.payload)
        except ValidationError as exc:
            raise PoisonMessage("invalid step.command payload") from exc
        if command.operation not in self.adapter.operations:
            report = _failed("unsupported_operation", f"{self.adapter.agency} has no operation {command.operation!r}")
        else:
            report = await self._execute(command, envelope.step_id)
        await self._publish(envelope, record, report)

    async def _execute(self, command: StepCommand, step_id: uuid.UUID) -> StepStatusReport:
        settings = self.adapter.settings
        retrying = AsyncRetrying(
            retry=retry_if_exception_type(TransientBackendError),
            stop=stop_after_attempt(settings.retry_attempts),
            wait=_wait_respecting_retry_after(settings.retry_max_wait_seconds),
            reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    return await self.adapter.execute(command, step_id)
        except TransientBackendError as exc:
            return _failed("agency_unavailable", f"{self.adapter.agency} unavailable after {settings.retry_attempts} tries: {exc}")
        except AgencyRejection as exc:
            return StepStatusReport(
                status=Status.REJECTED, error=StepError(code=exc.code, message=exc.message, agency_code=exc.agency_code)
            )
        except AgencyAnswerInvalid as exc:
            return _failed(exc.code, exc.message, agency_code=exc.agency_code)
        raise AssertionError("unreachable: tenacity either returns or raises")

    async def _publish(self, command: Envelope, record: ConsumerRecord[bytes, bytes], report: StepStatusReport) -> None:
        event = Envelope(
            message_id=report_message_id(command.message_id),
            request_id=command.request_id,
            step_id=command.step_id,
            type=MessageType.STEP_STATUS,
            source=self.source,
            payload=report.model_dump(mode="json"),
        )
        headers = envelope_headers(
            event,
            correlation_id=header(record, Headers.CORRELATION_ID) or str(command.request_id),
            traceparent=header(record, Headers.TRACEPARENT) or new_traceparent(),
        )
        await (await self._producer.send(topics.EVENTS, value=event.to_bytes(), key=event.key, headers=headers))
        log.info("step %s of request %s -> %s", command.step_id, command.request_id, report.status)


def _failed(code: str, message: str, *, agency_code: str | None = None) -> StepStatusReport:
    return StepStatusReport(status=Status.FAILED, error=StepError(code=code, message=message, agency_code=agency_code))


def _wait_respecting_retry_after(cap: float):  # type: ignore[no-untyped-def]
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
