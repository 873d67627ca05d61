"""Kafka records as a consumer hands them over, for specs that drive a consume loop or a
record handler without a broker."""

from __future__ import annotations

from aiokafka import ConsumerRecord, TopicPartition

from schemas.envelope import Headers

#: The headers a record carries unless a spec says otherwise.
DEFAULT_HEADERS: list[tuple[str, bytes]] = [(Headers.CORRELATION_ID, b"corr-1")]


def consumer_record(
    tp: TopicPartition,
    offset: int,
    value: bytes | None,
    headers: list[tuple[str, bytes]] | None = None,
    *,
    key: bytes = b"case-key",
    timestamp: int = 0,
) -> ConsumerRecord[bytes, bytes]:
    """One record at ``offset`` of ``tp``; ``value`` None is a tombstone."""
    return ConsumerRecord(
        topic=tp.topic,
        partition=tp.partition,
        offset=offset,
        timestamp=timestamp,
        timestamp_type=0,
        key=key,
        value=value,
        checksum=None,
        serialized_key_size=len(key),
        serialized_value_size=len(value) if value is not None else -1,
        headers=list(DEFAULT_HEADERS if headers is None else headers),
    )
