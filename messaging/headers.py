"""Kafka headers: the one type for them and the one way to read, add and build them.

Correlation id and W3C ``traceparent`` travel in headers, where tracing tools expect
them; so do the dead-letter and retry coordinates. Values are UTF-8 bytes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from schemas.envelope import Envelope, Headers

#: Headers as aiokafka sends them: an ordered list of (name, value) pairs.
KafkaHeaders = list[tuple[str, bytes]]


@runtime_checkable
class HasHeaders(Protocol):
    """Anything that carries headers, such as a ``ConsumerRecord``."""

    @property
    def headers(self) -> Sequence[tuple[str, bytes]] | None: ...


def header(source: HasHeaders | Sequence[tuple[str, bytes]] | None, name: str) -> str | None:
    """The first value of ``name`` in a record's headers (or in a list of them), decoded."""
    items = source.headers if isinstance(source, HasHeaders) else source
    for key, value in items or ():
        if key == name:
            return value.decode(errors="replace")
    return None


def with_default(headers: Sequence[tuple[str, bytes]] | None, name: str, value: bytes | None) -> KafkaHeaders:
    """``headers`` plus ``(name, value)`` unless ``name`` is already there (or ``value`` is None)."""
    result = list(headers or ())
    if value is not None and not any(key == name for key, _ in result):
        result.append((name, value))
    return result


def envelope_headers(envelope: Envelope, *, correlation_id: str, traceparent: str) -> KafkaHeaders:
    """What every envelope on the bus carries beside its body."""
    return [
        (Headers.MESSAGE_ID, str(envelope.message_id).encode()),
        (Headers.MESSAGE_TYPE, envelope.type.value.encode()),
        (Headers.SCHEMA_VERSION, str(envelope.schema_version).encode()),
        (Headers.CORRELATION_ID, correlation_id.encode()),
        (Headers.TRACEPARENT, traceparent.encode()),
        (Headers.CONTENT_TYPE, b"application/json"),
    ]
