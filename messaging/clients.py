"""Producer and consumer factories: every client of ours is configured here, once."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from messaging import metrics
from messaging.settings import KafkaSettings
from messaging.tracing import TracedProducer

log = logging.getLogger(__name__)


class _MeteredProducer(TracedProducer):
    """Counts every send (``send_and_wait`` goes through ``send`` too) when the broker answers."""

    async def send(self, topic: str, *args: Any, **kwargs: Any) -> Any:
        delivery = await super().send(topic, *args, **kwargs)
        metrics.track_send(topic, delivery)
        return delivery


def create_producer(kafka: KafkaSettings) -> AIOKafkaProducer:
    """Idempotent producer (acks=all): a retried send never duplicates within a session,
    and a write is acknowledged only once ``min.insync.replicas`` copies have it."""
    return _MeteredProducer(**kafka.client_options(), enable_idempotence=True, acks="all", linger_ms=2)


def create_consumer(kafka: KafkaSettings, group_id: str, topics: Sequence[str] = ()) -> AIOKafkaConsumer:
    """A group member that commits by hand (after its handler), starting from the
    earliest record when the group has no offset yet. Without ``topics`` it is not yet
    subscribed: :class:`~messaging.consume.ConsumeLoop` subscribes it with its rebalance
    listener."""
    return AIOKafkaConsumer(
        *topics,
        **kafka.client_options(),
        group_id=group_id,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_poll_interval_ms=int(kafka.max_poll_interval_seconds * 1000),
    )


def create_admin(kafka: KafkaSettings, **options: Any) -> AIOKafkaAdminClient:
    """An admin client signed in as ``kafka``'s principal (not yet started)."""
    return AIOKafkaAdminClient(**kafka.client_options(), **options)


def _connection_options(client: AIOKafkaConsumer) -> dict[str, Any]:
    """How ``client`` reaches and signs in to the brokers, for a helper client beside it."""
    inner = client._client
    return {
        "bootstrap_servers": inner._bootstrap_servers,
        "security_protocol": inner._security_protocol,
        "ssl_context": inner._ssl_context,
        "sasl_mechanism": inner._sasl_mechanism,
        "sasl_plain_username": inner._sasl_plain_username,
        "sasl_plain_password": inner._sasl_plain_password,
    }


C = TypeVar("C", AIOKafkaProducer, AIOKafkaConsumer)


@asynccontextmanager
async def started(client: C) -> AsyncIterator[C]:
    """``client`` started for the block and stopped after it, however it ends. A group
    member first waits for its group coordinator (see :func:`wait_for_group_coordinator`)."""
    if isinstance(client, AIOKafkaConsumer) and (group := getattr(client, "_group_id", None)):
        await wait_for_group_coordinator(_connection_options(client), group)
    await client.start()
    try:
        yield client
    finally:
        await client.stop()


async def wait_for_group_coordinator(connection: dict[str, Any], group: str, *, timeout: float = 60.0) -> bool:
    """Ask until ``group`` has a coordinator; False when none answered in ``timeout``.

    On a fresh broker the offsets topic is created on a group's first use, and until
    it is, a starting consumer logs every failed lookup as an ERROR. That resolves
    itself, so it is not an error: the lookups here are quiet (debug), and a start on
    a healthy broker prints none. Anything else wrong with the broker is left for the
    consumer itself to report."""
    admin = AIOKafkaAdminClient(**connection)
    deadline = time.monotonic() + timeout
    try:
        await admin.start()
        while True:
            try:
                await admin.find_coordinator(group)
                return True
            except KafkaError as exc:
                if not getattr(exc, "retriable", False) or time.monotonic() > deadline:
                    log.warning("group coordinator for %s not found (%s); starting anyway", group, type(exc).__name__)
                    return False
                log.debug("group coordinator for %s not available yet: %s", group, type(exc).__name__)
                await asyncio.sleep(0.2)
    except (KafkaError, OSError) as exc:
        log.warning("could not look up the group coordinator for %s (%s); starting anyway", group, type(exc).__name__)
        return False
    finally:
        await admin.close()
