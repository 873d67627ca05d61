"""The latest circuit-breaker state of every adapter worker instance, for operators.

Adapter workers publish their breaker's snapshot to the compacted topic
``mpp.adapter-status`` (key ``<agency>:<instance id>``) on every change and every 10 s
(``adapters/sdk/runtime/worker.py``); a cleanly stopped worker publishes a tombstone. The
tracker (run in the router process) keeps the newest snapshot per instance in table
``adapter_status``; ``GET /v1/operator/adapters`` reads it. An instance whose last
heartbeat is older than :data:`STALE_AFTER` is shown as stale (crashed, partitioned,
or its host clock is off).

Idempotent by construction: a snapshot older than the stored one is ignored, so
redelivery, a second tracker or a re-read of the compacted topic change nothing.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from aiokafka import AIOKafkaConsumer, ConsumerRecord
from aiokafka.errors import KafkaError
from pydantic import ValidationError
from sqlalchemy import String, delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Mapped, mapped_column

from adapters.sdk.runtime.circuit import ADAPTER_STATUS_TOPIC, AdapterStatus
from adapters.sdk.runtime.worker import ensure_status_topic
from hub.config import Settings
from hub.db.engine import create_engine, create_sessionmaker
from hub.db.models import Base, utcnow

log = logging.getLogger(__name__)

GROUP_ID = "mpp-adapter-status"
STALE_AFTER = timedelta(seconds=30)


class AdapterStatusRow(Base):
    """Latest breaker state of one adapter worker instance (migration 0006)."""

    __tablename__ = "adapter_status"

    agency: Mapped[str] = mapped_column(String(50), primary_key=True)
    instance_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    state: Mapped[str] = mapped_column(String(16))
    consecutive_failures: Mapped[int]
    opened_at: Mapped[datetime | None] = mapped_column(nullable=True)
    last_error: Mapped[str | None] = mapped_column(String(200), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(doc="When the worker took the snapshot (its clock).")
    received_at: Mapped[datetime] = mapped_column(default=utcnow, doc="When the tracker stored it.")


def parse_key(key: bytes | None) -> tuple[str, str] | None:
    if not key:
        return None
    agency, sep, instance = key.decode(errors="replace").partition(":")
    return (agency, instance) if sep and agency and instance else None


async def apply_status_record(sessions: async_sessionmaker[AsyncSession], record: ConsumerRecord[bytes, bytes]) -> None:
    """Store one record of ``mpp.adapter-status``: newest snapshot wins; a tombstone forgets."""
    ident = parse_key(record.key)
    if ident is None:
        log.warning("adapter status record without a usable key at offset %d; skipped", record.offset)
        return
    if record.value is None:
        async with sessions.begin() as session:
            await session.execute(delete(AdapterStatusRow).where(AdapterStatusRow.agency == ident[0], AdapterStatusRow.instance_id == ident[1]))
        return
    try:
        status = AdapterStatus.from_bytes(record.value)
    except ValidationError:
        log.warning("undecodable adapter status for %s:%s at offset %d; skipped", *ident, record.offset)
        return
    await store_status(sessions, status)


async def store_status(sessions: async_sessionmaker[AsyncSession], status: AdapterStatus) -> None:
    for attempt in range(2):
        try:
            async with sessions.begin() as session:
                row = await session.get(AdapterStatusRow, (status.agency, status.instance_id), with_for_update=True)
                if row is None:
                    row = AdapterStatusRow(agency=status.agency, instance_id=status.instance_id)
                    session.add(row)
                elif row.updated_at > status.updated_at:
                    return  # an older snapshot, redelivered: keep the newer one
                row.state = status.state.value
                row.consecutive_failures = status.consecutive_failures
                row.opened_at = status.opened_at
                row.last_error = status.last_error
                row.updated_at = status.updated_at
                row.received_at = utcnow()
            return
        except IntegrityError:
            if attempt:
                raise  # inserted concurrently twice in a row: not expected; let the loop retry


@dataclass(frozen=True)
class InstanceView:
    instance_id: str
    state: str
    consecutive_failures: int
    opened_at: datetime | None
    last_error: str | None
    updated_at: datetime
    stale: bool
    seconds_since_heartbeat: float


async def list_statuses(session: AsyncSession, *, now: datetime | None = None) -> dict[str, list[InstanceView]]:
    now = now or datetime.now(UTC)
    rows = (await session.scalars(select(AdapterStatusRow).order_by(AdapterStatusRow.agency, AdapterStatusRow.instance_id))).all()
    result: dict[str, list[InstanceView]] = {}
    for row in rows:
        age = now - row.updated_at
        result.setdefault(row.agency, []).append(
            InstanceView(
                instance_id=row.instance_id,
                state=row.state,
                consecutive_failures=row.consecutive_failures,
                opened_at=row.opened_at,
                last_error=row.last_error,
                updated_at=row.updated_at,
                stale=age > STALE_AFTER,
                seconds_since_heartbeat=round(max(age.total_seconds(), 0.0), 1),
            )
        )
    return result


async def track(consumer: AIOKafkaConsumer, sessions: async_sessionmaker[AsyncSession], stop: asyncio.Event) -> None:
    while not stop.is_set():
        batches = await consumer.getmany(timeout_ms=200, max_records=500)
        for tp, records in batches.items():
            try:
                for record in records:
                    await apply_status_record(sessions, record)
            except Exception:
                log.exception("adapter status tracker: storing %s failed; will re-read", tp)
                consumer.seek(tp, records[0].offset)
                await asyncio.sleep(1.0)
                continue
            try:
                await consumer.commit({tp: records[-1].offset + 1})
            except KafkaError as exc:
                log.warning("adapter status tracker: commit for %s failed (%s); records will be re-read", tp, exc)


async def run_status_tracker(settings: Settings, stop: asyncio.Event) -> None:
    """Keep ``adapter_status`` up to date from ``mpp.adapter-status`` until ``stop``."""
    await ensure_status_topic(settings.kafka.bootstrap)
    engine = create_engine(settings.database_url)
    consumer = AIOKafkaConsumer(
        ADAPTER_STATUS_TOPIC,
        bootstrap_servers=settings.kafka.bootstrap,
        group_id=GROUP_ID,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    try:
        await consumer.start()
        try:
            await track(consumer, create_sessionmaker(engine), stop)
        finally:
            await consumer.stop()
    finally:
        await engine.dispose()
