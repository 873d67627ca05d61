"""Transactional outbox: messages are decided in the same DB transaction as the
state they announce, and a relay publishes them afterwards.

A crash before the DB commit loses both the state and the message (the caller saw no
success); a crash after it leaves the row unsent, and the relay publishes it on
restart. The relay can publish a row twice (crash between Kafka ack and marking it
sent); consumers dedup on the message id, so that is harmless.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import KW_ONLY, dataclass, field
from datetime import UTC, datetime

from aiokafka import AIOKafkaProducer
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub.db.models import OutboxMessage
from hub.runtime.periodic import pause
from messaging import RetryPolicy

log = logging.getLogger(__name__)

#: Kafka or the database away: retry the batch after growing pauses, capped.
DEFAULT_BACKOFF = RetryPolicy()


@dataclass
class OutboxRelay:
    """Publishes unsent outbox rows in id order with an idempotent producer.

    Rows are locked with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL so a second relay
    started by mistake never publishes the same batch concurrently.
    """

    sessions: async_sessionmaker[AsyncSession]
    producer: AIOKafkaProducer
    _: KW_ONLY
    batch_size: int = 500
    poll_seconds: float = 0.02
    backoff: RetryPolicy = DEFAULT_BACKOFF
    published: int = field(default=0, init=False)

    async def publish_pending(self) -> int:
        """Publish one batch; returns how many rows it sent."""
        async with self.sessions.begin() as session:
            rows = (
                await session.scalars(
                    select(OutboxMessage)
                    .where(OutboxMessage.sent_at.is_(None))
                    .order_by(OutboxMessage.id)
                    .limit(self.batch_size)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            if not rows:
                return 0
            futures = [
                await self.producer.send(row.topic, value=row.value, key=row.key, headers=[(k, v.encode()) for k, v in row.headers.items()])
                for row in rows
            ]
            await asyncio.gather(*futures)  # every row acked (acks=all) before it is marked sent
            await session.execute(update(OutboxMessage).where(OutboxMessage.id.in_([r.id for r in rows])).values(sent_at=datetime.now(UTC)))
        self.published += len(rows)
        return len(rows)

    async def run(self, stop: asyncio.Event) -> None:
        failures = idle_rounds = 0
        while not stop.is_set():
            try:
                sent = await self.publish_pending()
                failures = 0
            except Exception:
                # Kafka or the DB is away: nothing was marked sent, so nothing is lost.
                failures += 1
                delay = self.backoff.delay(failures)
                log.exception("outbox relay: publish failed, retrying in %.1fs", delay)
                sent = 0
                await asyncio.sleep(delay)
            # Idle polls back off (up to 10x) so an idle relay does not hammer the DB;
            # any work found brings the interval straight back down.
            idle_rounds = 0 if sent else min(idle_rounds + 1, 10)
            if sent < self.batch_size:
                await pause(stop, self.poll_seconds * max(1, idle_rounds))
