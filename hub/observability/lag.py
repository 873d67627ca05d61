"""Consumer lag per group and partition, computed by the hub from the broker's offsets.

Lag is the partition's end offset (the next offset to be written) minus the group's
committed offset (the next offset it will read): records written but not yet
processed. A partition of a topic the group reads that has no commit yet counts from
the partition's first offset, as our consumers start there (``auto_offset_reset=earliest``).
A group that has never committed anything has no rows: the broker cannot say what it
reads until it has.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import CoordinatorLoadInProgressError, GroupCoordinatorNotAvailableError, NotCoordinatorForGroupError

from messaging.clients import create_admin
from messaging.settings import KafkaSettings

COORDINATOR_WAIT_SECONDS = 15.0


@dataclass(frozen=True, slots=True)
class PartitionLag:
    """How far one group is behind on one partition."""

    group: str
    topic: str
    partition: int
    end_offset: int
    committed_offset: int  # the next offset the group reads; the partition's first offset if never committed

    @property
    def lag(self) -> int:
        return max(0, self.end_offset - self.committed_offset)


async def consumer_lag(kafka: KafkaSettings, groups: Sequence[str]) -> list[PartitionLag]:
    """The lag of each of ``groups`` on every partition of every topic it has committed on,
    sorted by group, topic and partition."""
    async with _clients(kafka) as (admin, offsets):
        committed = {group: await _committed(admin, group) for group in groups}
        topics = sorted({tp.topic for by_partition in committed.values() for tp in by_partition})
        partitions = await _partitions(admin, topics)
        every = [tp for topic in topics for tp in partitions.get(topic, [])]
        if not every:
            return []
        ends: dict[TopicPartition, int] = await offsets.end_offsets(every)
        starts: dict[TopicPartition, int] = await offsets.beginning_offsets(every)
    rows = [
        PartitionLag(group, tp.topic, tp.partition, ends[tp], by_partition.get(tp, starts[tp]))
        for group, by_partition in committed.items()
        for topic in sorted({tp.topic for tp in by_partition})
        for tp in partitions.get(topic, [])
    ]
    return sorted(rows, key=lambda row: (row.group, row.topic, row.partition))


async def _committed(admin: AIOKafkaAdminClient, group: str) -> dict[TopicPartition, int]:
    """The group's committed offsets; ``-1`` (none) is left out.

    On a fresh broker the first question about groups creates the offsets topic, and its
    coordinator answers a moment later: that resolves itself, so it is waited for."""
    deadline = asyncio.get_running_loop().time() + COORDINATOR_WAIT_SECONDS
    while True:
        try:
            found = await admin.list_consumer_group_offsets(group)
        except (GroupCoordinatorNotAvailableError, CoordinatorLoadInProgressError, NotCoordinatorForGroupError):
            if asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(0.2)
            continue
        return {tp: meta.offset for tp, meta in found.items() if meta.offset >= 0}


async def _partitions(admin: AIOKafkaAdminClient, topics: Sequence[str]) -> dict[str, list[TopicPartition]]:
    if not topics:
        return {}
    found: dict[str, list[TopicPartition]] = defaultdict(list)
    for described in await admin.describe_topics(list(topics)):
        for partition in sorted(p["partition"] for p in described["partitions"]):
            found[described["topic"]].append(TopicPartition(described["topic"], partition))
    return found


@asynccontextmanager
async def _clients(kafka: KafkaSettings) -> AsyncIterator[tuple[AIOKafkaAdminClient, AIOKafkaConsumer]]:
    """An admin client for the groups' offsets and a group-less consumer for the partitions'
    ends: it joins no group and commits nothing, so asking never moves anyone's offsets."""
    admin = create_admin(kafka)
    offsets = AIOKafkaConsumer(**kafka.client_options(), group_id=None, enable_auto_commit=False)
    await admin.start()
    try:
        await offsets.start()
        try:
            yield admin, offsets
        finally:
            await offsets.stop()
    finally:
        await admin.close()
