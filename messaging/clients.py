"""Producer and consumer factories: every client of ours is configured here, once."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from messaging import metrics
from messaging.settings import KafkaSettings


class _MeteredProducer(AIOKafkaProducer):  # type: ignore[misc]  # aiokafka ships no type information
    """Counts every send (``send_and_wait`` goes through ``send`` too) when the broker answers."""

    async def send(self, topic: str, *args: Any, **kwargs: Any) -> Any:
        delivery = await super().send(topic, *args, **kwargs)
        metrics.track_send(topic, delivery)
        return delivery


def create_producer(kafka: KafkaSettings) -> AIOKafkaProducer:
    """Idempotent producer (acks=all): a retried send never duplicates within a session,
    and a write is acknowledged only once ``min.insync.replicas`` copies have it."""
    return _MeteredProducer(bootstrap_servers=kafka.bootstrap, enable_idempotence=True, acks="all", linger_ms=2)


def create_consumer(kafka: KafkaSettings, group_id: str, topics: Sequence[str] = ()) -> AIOKafkaConsumer:
    """A group member that commits by hand (after its handler), starting from the
    earliest record when the group has no offset yet. Without ``topics`` it is not yet
    subscribed: :class:`~messaging.consume.ConsumeLoop` subscribes it with its rebalance
    listener."""
    return AIOKafkaConsumer(
        *topics,
        bootstrap_servers=kafka.bootstrap,
        group_id=group_id,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_poll_interval_ms=int(kafka.max_poll_interval_seconds * 1000),
    )


C = TypeVar("C", AIOKafkaProducer, AIOKafkaConsumer)


@asynccontextmanager
async def started(client: C) -> AsyncIterator[C]:
    """``client`` started for the block and stopped after it, however it ends."""
    await client.start()
    try:
        yield client
    finally:
        await client.stop()
