"""Consumer lag as the hub computes it, on the real broker: end offset minus committed
offset per group and partition, never guessed; asking never moves a group's offsets."""

from __future__ import annotations

import uuid

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.structs import OffsetAndMetadata

from hub.observability.lag import PartitionLag, consumer_lag
from messaging import KafkaSettings, create_consumer, create_producer, started
from messaging.topology import Cleanup, TopicSpec, apply

pytestmark = pytest.mark.integration


async def topic_with(kafka: KafkaSettings, records_per_partition: dict[int, int]) -> str:
    name = f"lag-{uuid.uuid4().hex[:8]}"
    await apply(kafka, [TopicSpec(name, "default", len(records_per_partition), 1, 1, Cleanup.DELETE, None)])
    async with started(create_producer(kafka)) as producer:
        for partition, count in records_per_partition.items():
            for n in range(count):
                await producer.send_and_wait(name, f"r{n}".encode(), partition=partition)
    return name


async def commit(kafka: KafkaSettings, group: str, offsets: dict[TopicPartition, int]) -> None:
    consumer: AIOKafkaConsumer = create_consumer(kafka, group)
    async with started(consumer):
        consumer.assign(list(offsets))
        await consumer.commit({tp: OffsetAndMetadata(offset, "") for tp, offset in offsets.items()})


async def test_lag_is_end_minus_committed_per_partition(kafka_bootstrap: str) -> None:
    kafka = KafkaSettings(bootstrap=kafka_bootstrap)
    topic = await topic_with(kafka, {0: 5, 1: 3, 2: 0})
    group = f"lag-group-{uuid.uuid4().hex[:8]}"
    await commit(kafka, group, {TopicPartition(topic, 0): 2, TopicPartition(topic, 2): 0})

    rows = await consumer_lag(kafka, [group])

    assert rows == [
        PartitionLag(group, topic, 0, end_offset=5, committed_offset=2),
        # Never committed on partition 1: our consumers would start at its first record.
        PartitionLag(group, topic, 1, end_offset=3, committed_offset=0),
        PartitionLag(group, topic, 2, end_offset=0, committed_offset=0),
    ]
    assert [row.lag for row in rows] == [3, 3, 0]


async def test_a_drained_group_has_no_lag_and_asking_moves_nothing(kafka_bootstrap: str) -> None:
    kafka = KafkaSettings(bootstrap=kafka_bootstrap)
    topic = await topic_with(kafka, {0: 4})
    group = f"lag-group-{uuid.uuid4().hex[:8]}"
    await commit(kafka, group, {TopicPartition(topic, 0): 4})

    first = await consumer_lag(kafka, [group])
    again = await consumer_lag(kafka, [group])

    assert [row.lag for row in first] == [0]
    assert again == first


async def test_groups_without_commits_have_no_rows(kafka_bootstrap: str) -> None:
    kafka = KafkaSettings(bootstrap=kafka_bootstrap)
    assert await consumer_lag(kafka, [f"never-{uuid.uuid4().hex[:8]}"]) == []
