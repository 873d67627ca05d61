"""The latest circuit-breaker state of every adapter worker instance, for operators.

Adapter workers publish their breaker's snapshot (:class:`messaging.status.AdapterStatus`)
to the compacted topic ``mpp.adapter-status`` (key ``<agency>:<instance id>``) on every
change and every 10 s; a cleanly stopped worker publishes a tombstone. The tracker (run
in the router process, a configuration of the one consume loop: a record that is not a
status is logged and skipped) keeps the newest snapshot per instance in table
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

from aiokafka import ConsumerRecord
from pydantic import ValidationError
from sqlalchemy import String, delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Mapped, mapped_column

from hub.config import Settings
from hub.db.models import Base, utcnow
from hub.features.topic_reader import follow_topic
from messaging import PoisonMessage
from messaging.status import AdapterStatus, parse_status_key
from schemas import topics

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


@dataclass(frozen=True)
class StatusRecord:
    """One record of ``mpp.adapter-status``: whose, and its snapshot (None: a tombstone)."""

    agency: str
    instance_id: str
    status: AdapterStatus | None


def decode_status(record: ConsumerRecord[bytes, bytes]) -> StatusRecord:
    """The tracker's decoder; a record that is not a status is poison (skipped)."""
    ident = parse_status_key(record.key)
    if ident is None:
        raise PoisonMessage("adapter status record without a usable key")
    if record.value is None:
        return StatusRecord(*ident, None)
    try:
        return StatusRecord(*ident, AdapterStatus.from_bytes(record.value))
    except ValidationError as exc:
        raise PoisonMessage(f"undecodable adapter status for {ident[0]}:{ident[1]}") from exc


async def apply_status(sessions: async_sessionmaker[AsyncSession], update: StatusRecord) -> None:
    """Store one record: newest snapshot wins; a tombstone forgets the instance."""
    if update.status is not None:
        await store_status(sessions, update.status)
        return
    async with sessions.begin() as session:
        await session.execute(
            delete(AdapterStatusRow).where(AdapterStatusRow.agency == update.agency, AdapterStatusRow.instance_id == update.instance_id)
        )


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


async def run_status_tracker(settings: Settings, sessions: async_sessionmaker[AsyncSession], stop: asyncio.Event) -> None:
    """Keep ``adapter_status`` up to date from ``mpp.adapter-status`` until ``stop``."""

    async def handle(update: StatusRecord, _: ConsumerRecord[bytes, bytes]) -> None:
        await apply_status(sessions, update)

    await follow_topic(
        settings, topics.ADAPTER_STATUS, handle, group_id=GROUP_ID, name="adapter status tracker", decoder=decode_status, stop=stop
    )
