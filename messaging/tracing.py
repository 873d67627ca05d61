"""Bus spans and the log context of the record being processed.

The W3C ``traceparent`` header is the thread of a case's trace: every ``send`` span is
a child of the context the headers carry (or of the current span) and rewrites the
header to itself, and every ``process`` span is a child of that header. So a case is
one trace over the API, the relay, the router and each adapter, whichever OS process
each runs in. Names and attributes follow the OpenTelemetry messaging conventions
(``send <topic>`` / ``process <topic>``, ``messaging.system=kafka``,
``messaging.destination.name``, ``messaging.consumer.group.name`` ...); attributes
carry coordinates and ids, never a payload.

Tracing is off until :func:`enable` (the hub calls it when the ``OTEL_*`` environment
asks for traces): then nothing here starts a span or parses a header, and a producer
send costs one flag check. The log context (case id, correlation id, the record's
trace) is kept either way: it is what every log line of the work is stamped with.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from aiokafka import AIOKafkaProducer, ConsumerRecord
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.propagators.textmap import Getter
from opentelemetry.trace import SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from messaging.headers import KafkaHeaders, header
from schemas.envelope import Headers, new_traceparent

_tracer = trace.get_tracer("mpp-hub.messaging")
_propagator = TraceContextTextMapPropagator()
_enabled = False

#: What the current piece of work is about, for every log line it writes.
case_id: ContextVar[str | None] = ContextVar("mpp_case_id", default=None)
correlation_id: ContextVar[str | None] = ContextVar("mpp_correlation_id", default=None)
_traceparent: ContextVar[str | None] = ContextVar("mpp_traceparent", default=None)


def enable(on: bool = True) -> None:
    """Start (or stop) making bus spans; the hub's tracing set-up calls it."""
    global _enabled
    _enabled = on


def enabled() -> bool:
    return _enabled


# ---------------------------------------------------------------- trace context


def traceparent_of(context: trace.SpanContext) -> str:
    return f"00-{context.trace_id:032x}-{context.span_id:016x}-{int(context.trace_flags):02x}"


def current_traceparent(fallback: str | None = None) -> str:
    """The traceparent a message caused by the current work carries: the current span
    when there is one, else ``fallback`` (the incoming message's), else a fresh one."""
    context = trace.get_current_span().get_span_context()
    if context.is_valid:
        return traceparent_of(context)
    return fallback or new_traceparent()


def trace_id_of(traceparent: str | None) -> str | None:
    """The 32-hex-digit trace id of a W3C traceparent, or None when it is not one."""
    parts = (traceparent or "").split("-")
    if len(parts) == 4 and len(parts[1]) == 32 and parts[1] != "0" * 32:
        return parts[1]
    return None


def log_ids() -> dict[str, str | None]:
    """Case id, correlation id, trace id and span id of the current work, for log lines."""
    context = trace.get_current_span().get_span_context()
    trace_id: str | None
    span_id: str | None
    if context.is_valid:
        trace_id, span_id = f"{context.trace_id:032x}", f"{context.span_id:016x}"
    else:  # tracing off: the trace the record carries still ties the lines together
        parts = (_traceparent.get() or "").split("-")
        trace_id, span_id = (parts[1], parts[2]) if len(parts) == 4 else (None, None)
    return {"case_id": case_id.get(), "correlation_id": correlation_id.get(), "trace_id": trace_id, "span_id": span_id}


class _HeaderGetter(Getter[Sequence[tuple[str, bytes]]]):
    """Reads W3C trace headers out of Kafka's (name, bytes) pairs."""

    def get(self, carrier: Sequence[tuple[str, bytes]], key: str) -> list[str] | None:
        value = header(carrier, key)
        return None if value is None else [value]

    def keys(self, carrier: Sequence[tuple[str, bytes]]) -> list[str]:
        return [key for key, _ in carrier]


_getter = _HeaderGetter()


def _parent(headers: Sequence[tuple[str, bytes]] | None) -> otel_context.Context | None:
    """The context the headers carry, or None (the current context then applies)."""
    if not headers or header(headers, Headers.TRACEPARENT) is None:
        return None
    return _propagator.extract(headers, getter=_getter)


def _base_attributes(topic: str, key: bytes | None, headers: Sequence[tuple[str, bytes]] | None, operation: str) -> dict[str, Any]:
    attributes: dict[str, Any] = {
        "messaging.system": "kafka",
        "messaging.operation.type": operation,
        "messaging.operation.name": operation,
        "messaging.destination.name": topic,
    }
    if key is not None:
        attributes["messaging.kafka.message.key"] = key.decode(errors="replace")  # a case id or an instance name
    if message_id := header(headers, Headers.MESSAGE_ID):
        attributes["messaging.message.id"] = message_id
    return attributes


# ---------------------------------------------------------------- consuming


@contextmanager
def processing(record: ConsumerRecord[bytes, bytes], group: str | None) -> Iterator[None]:
    """The work on one record: its ids in the log context and, with tracing on, a
    ``process <topic>`` span that is a child of the span that sent it."""
    tokens = _bind(record)
    try:
        if not _enabled:
            yield
            return
        attributes = _base_attributes(record.topic, record.key, record.headers, "process")
        attributes["messaging.destination.partition.id"] = str(record.partition)
        attributes["messaging.kafka.offset"] = record.offset
        if group:
            attributes["messaging.consumer.group.name"] = group
        with _tracer.start_as_current_span(
            f"process {record.topic}", context=_parent(record.headers), kind=SpanKind.CONSUMER, attributes=attributes
        ):
            yield
    finally:
        for var, token in tokens:
            var.reset(token)


def failed(error: BaseException) -> None:
    """Mark the current processing span failed with ``error`` (the loop handled it)."""
    if _enabled:
        span = trace.get_current_span()
        span.record_exception(error)
        span.set_status(Status(StatusCode.ERROR, type(error).__name__))
        span.set_attribute("error.type", type(error).__name__)


def _bind(record: ConsumerRecord[bytes, bytes]) -> list[tuple[ContextVar[str | None], Any]]:
    """Runs for every record, traced or not: one pass over the headers, no parsing."""
    correlation = parent = None
    for name, value in record.headers or ():
        if name == Headers.CORRELATION_ID and correlation is None:
            correlation = value.decode(errors="replace")
        elif name == Headers.TRACEPARENT and parent is None:
            parent = value.decode(errors="replace")
    return [
        (case_id, case_id.set(_case_of(record.key) or correlation)),
        (correlation_id, correlation_id.set(correlation)),
        (_traceparent, _traceparent.set(parent)),
    ]


def _case_of(key: bytes | None) -> str | None:
    """Envelopes are keyed by their case (request) id, a UUID; other keys name no case."""
    if key is None or len(key) != 36 or key[8:9] != b"-" or key[23:24] != b"-":
        return None
    return key.decode(errors="replace")


# ---------------------------------------------------------------- producing


class TracedProducer(AIOKafkaProducer):  # type: ignore[misc]  # aiokafka ships no type information
    """The hub's producer: with tracing on, a record sent inside a span or carrying a
    trace gets a ``send <topic>`` span, ended when the broker acknowledges it, and its
    ``traceparent`` header is rewritten to that span."""

    async def send(
        self,
        topic: str,
        value: bytes | None = None,
        key: bytes | None = None,
        partition: int | None = None,
        timestamp_ms: int | None = None,
        headers: Sequence[tuple[str, bytes]] | None = None,
    ) -> Any:
        if not _enabled:
            return await super().send(topic, value=value, key=key, partition=partition, timestamp_ms=timestamp_ms, headers=headers)
        # Sent while processing (a report, a retry, a dead letter): a child of that work;
        # else (the relay) a child of the context the row carries.
        inside_work = trace.get_current_span().get_span_context().is_valid
        parent = None if inside_work else _parent(headers)
        if parent is None and not inside_work:
            # Not part of any trace (breaker heartbeats): no span of its own either.
            return await super().send(topic, value=value, key=key, partition=partition, timestamp_ms=timestamp_ms, headers=headers)
        span = _tracer.start_span(
            f"send {topic}", context=parent, kind=SpanKind.PRODUCER, attributes=_base_attributes(topic, key, headers, "send")
        )
        traced: KafkaHeaders = [(k, v) for k, v in headers or () if k != Headers.TRACEPARENT]
        traced.append((Headers.TRACEPARENT, traceparent_of(span.get_span_context()).encode()))
        try:
            future = await super().send(topic, value=value, key=key, partition=partition, timestamp_ms=timestamp_ms, headers=traced)
        except BaseException as exc:
            _end(span, exc)
            raise
        future.add_done_callback(lambda done: _end(span, None if done.cancelled() else done.exception(), done))
        return future


def _end(span: trace.Span, error: BaseException | None, done: Any = None) -> None:
    if error is not None:
        span.record_exception(error)
        span.set_status(Status(StatusCode.ERROR, type(error).__name__))
        span.set_attribute("error.type", type(error).__name__)
    elif done is not None and not done.cancelled():
        metadata = done.result()
        span.set_attribute("messaging.destination.partition.id", str(metadata.partition))
        span.set_attribute("messaging.kafka.offset", metadata.offset)
    span.end()
