"""Gauges the hub samples before each scrape of the router process: the outbox backlog,
steps in flight, pending webhooks (from the database) and every group's consumer lag
(from the broker). The router runs once per hub, so these are exported once, and the
lag of an adapter that is down still shows (its own process cannot say)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub.db.models import OutboxMessage, Step
from hub.features.adapter_status import GROUP_ID as STATUS_GROUP
from hub.features.deadletters.archive import GROUP_ID as ARCHIVE_GROUP
from hub.features.notifications.models import DeliveryStatus, WebhookDelivery
from hub.observability import metrics as m
from hub.observability.lag import PartitionLag, consumer_lag
from hub.runtime.router import GROUP_ID as ROUTER_GROUP
from messaging import retry_levels as rt
from messaging.metrics import SYSTEM
from messaging.settings import KafkaSettings
from schemas.lifecycle import TERMINAL


def hub_groups(retry_levels: dict[str, int]) -> list[str]:
    """Every consumer group of the hub and of each agency's adapter (with its retry levels)."""
    groups = [ROUTER_GROUP, ARCHIVE_GROUP, STATUS_GROUP]
    for agency, levels in sorted(retry_levels.items()):
        groups += [rt.adapter_group(agency), *(rt.retry_group(agency, n) for n in range(1, levels + 1))]
    return groups


class Sampler:
    """``retry_levels``: each connected agency and how many retry levels its adapter uses."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], kafka: KafkaSettings, retry_levels: dict[str, int]) -> None:
        self._sessions = sessions
        self._kafka = kafka
        self._retry_levels = retry_levels

    async def database(self) -> None:
        async with self._sessions() as session:
            unsent, oldest = (
                await session.execute(select(func.count(), func.min(OutboxMessage.created_at)).where(OutboxMessage.sent_at.is_(None)))
            ).one()
            in_flight = (
                await session.execute(
                    select(Step.agency, Step.status, func.count())
                    .where(Step.status.not_in([s.value for s in TERMINAL]))
                    .group_by(Step.agency, Step.status)
                )
            ).all()
            webhooks = dict(
                (
                    await session.execute(
                        select(WebhookDelivery.status, func.count())
                        .where(WebhookDelivery.status.in_([DeliveryStatus.PENDING, DeliveryStatus.FAILED]))
                        .group_by(WebhookDelivery.status)
                    )
                )
                .tuples()
                .all()
            )
        m.OUTBOX_UNSENT.set(unsent)
        m.OUTBOX_OLDEST_AGE.set(max(0.0, (datetime.now(UTC) - m.aware(oldest)).total_seconds()) if oldest else 0.0)
        m.STEPS_IN_FLIGHT.clear()  # a status no step is in any more must not keep its last count
        for agency, status, count in in_flight:
            m.STEPS_IN_FLIGHT.labels(agency, status).set(count)
        for status in (DeliveryStatus.PENDING, DeliveryStatus.FAILED):
            m.WEBHOOK_DELIVERIES.labels(status).set(webhooks.get(status, 0))

    async def lag(self) -> None:
        rows = await consumer_lag(self._kafka, hub_groups(self._retry_levels))
        publish_lag(rows, self._retry_levels)


def publish_lag(rows: Sequence[PartitionLag], retry_levels: dict[str, int]) -> None:
    m.CONSUMER_LAG.clear()
    for row in rows:
        m.CONSUMER_LAG.labels(SYSTEM, row.group, row.topic, str(row.partition)).set(row.lag)
    depth = {(agency, n): 0 for agency, levels in retry_levels.items() for n in range(1, levels + 1)}
    by_group = {rt.retry_group(agency, n): (agency, n) for agency, n in depth}
    for row in rows:
        if row.group in by_group:
            depth[by_group[row.group]] += row.lag
    for (agency, n), waiting in depth.items():
        m.RETRY_DEPTH.labels(agency, str(n)).set(waiting)
