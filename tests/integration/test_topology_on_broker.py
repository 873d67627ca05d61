"""The topology on the real broker: topics are created and configured as declared.

The broker of the session has one node, so replication factor 1 is what it can hold;
asking for 3 must fail loudly, not leave topics with one copy. Each test uses an agency
name of its own, so its command and retry topics are its own too; the fixed topics are
laid out exactly as every other test lays them out.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from messaging import KafkaSettings, Topology
from messaging.topology import TopologyError, apply, prepare
from schemas import topics

pytestmark = pytest.mark.integration

TOPIC_OVERRIDE = 1  # DescribeConfigs config_source: set on the topic itself, not a broker default
HOUR_MS = 3_600_000


@pytest.fixture
async def admin(kafka_bootstrap: str) -> AsyncIterator[AIOKafkaAdminClient]:
    client = AIOKafkaAdminClient(**KafkaSettings(bootstrap=kafka_bootstrap).client_options())
    await client.start()
    yield client
    await client.close()


def agency() -> str:
    return f"topo{uuid.uuid4().hex[:8]}"


async def configs(admin: AIOKafkaAdminClient, name: str) -> dict[str, tuple[str, int]]:
    """The topic's configs as the broker reports them: name -> (value, source)."""
    [response] = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, name)])
    [(error, _, _, _, entries)] = response.resources
    assert error == 0
    return {entry[0]: (entry[1], entry[3]) for entry in entries}


async def layout(admin: AIOKafkaAdminClient, name: str) -> tuple[int, int]:
    """(partitions, replication factor) as the broker has them."""
    [topic] = await admin.describe_topics([name])
    assert topic["error_code"] == 0
    return len(topic["partitions"]), min(len(p["replicas"]) for p in topic["partitions"])


async def test_prepare_creates_each_topic_with_its_declared_partitions_rf_min_isr_retention_and_cleanup(
    kafka_bootstrap: str, admin: AIOKafkaAdminClient
) -> None:
    kafka = KafkaSettings(bootstrap=kafka_bootstrap, partitions=2, retention_hours={"commands": 12, "retry": 1})
    name = agency()
    reports = await prepare(kafka, Topology(kafka).adapter(name, retry_levels=2))

    created = {r.spec.name for r in reports if r.created}
    assert {topics.commands(name), f"mpp.retry.{name}.1", f"mpp.retry.{name}.2"} <= created
    for topic, retention_hours in [(topics.commands(name), 12), (f"mpp.retry.{name}.1", 1), (f"mpp.retry.{name}.2", 1)]:
        assert await layout(admin, topic) == (2, 1)
        found = await configs(admin, topic)
        assert found["retention.ms"] == (str(retention_hours * HOUR_MS), TOPIC_OVERRIDE)
        assert found["cleanup.policy"] == ("delete", TOPIC_OVERRIDE)
        assert found["min.insync.replicas"] == ("1", TOPIC_OVERRIDE)


async def test_the_adapter_status_topic_is_compacted_with_one_partition(kafka_bootstrap: str, admin: AIOKafkaAdminClient) -> None:
    kafka = KafkaSettings(bootstrap=kafka_bootstrap)
    await prepare(kafka, Topology(kafka).hub([]))
    assert (await layout(admin, topics.ADAPTER_STATUS))[0] == 1
    found = await configs(admin, topics.ADAPTER_STATUS)
    assert found["cleanup.policy"] == ("compact", TOPIC_OVERRIDE)
    assert found["min.insync.replicas"] == ("1", TOPIC_OVERRIDE)


async def test_prepare_leaves_existing_topics_be_and_apply_sets_the_declared_configs(
    kafka_bootstrap: str, admin: AIOKafkaAdminClient
) -> None:
    name = agency()
    first = KafkaSettings(bootstrap=kafka_bootstrap, retention_hours={"commands": 12})
    await prepare(first, [Topology(first).topic(topics.commands(name))])
    changed = KafkaSettings(bootstrap=kafka_bootstrap, retention_hours={"commands": 48})
    spec = Topology(changed).topic(topics.commands(name))

    [untouched] = await prepare(changed, [spec])
    assert not untouched.created
    assert (await configs(admin, spec.name))["retention.ms"][0] == str(12 * HOUR_MS)

    [applied] = await apply(changed, [spec])
    assert applied.reconfigured == {"retention.ms": (str(12 * HOUR_MS), str(48 * HOUR_MS))}
    assert applied.drift == []
    found = await configs(admin, spec.name)
    assert found["retention.ms"][0] == str(48 * HOUR_MS)
    assert found["cleanup.policy"] == ("delete", TOPIC_OVERRIDE)  # the whole declared set is kept

    [again] = await apply(changed, [spec])
    assert again.reconfigured == {} and not again.created


async def test_apply_reports_a_partition_count_it_will_not_change(kafka_bootstrap: str, admin: AIOKafkaAdminClient) -> None:
    name = agency()
    small = KafkaSettings(bootstrap=kafka_bootstrap, partitions=1)
    await prepare(small, [Topology(small).topic(topics.commands(name))])
    bigger = KafkaSettings(bootstrap=kafka_bootstrap, partitions=4)

    [report] = await apply(bigger, [Topology(bigger).topic(topics.commands(name))])

    assert len(report.drift) == 1 and "1 partitions, declared 4" in report.drift[0]
    assert await layout(admin, topics.commands(name)) == (1, 1)  # keys stay where they are


async def test_a_replication_factor_the_cluster_cannot_hold_fails_loudly(kafka_bootstrap: str, admin: AIOKafkaAdminClient) -> None:
    production = KafkaSettings(bootstrap=kafka_bootstrap, replication_factor=3, min_insync_replicas=2)
    name = agency()
    with pytest.raises(TopologyError, match="InvalidReplicationFactor"):
        await prepare(production, [Topology(production).topic(topics.commands(name))])
    assert topics.commands(name) not in await admin.list_topics()
