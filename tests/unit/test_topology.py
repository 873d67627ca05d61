"""Specification of the declared topology (messaging/topology.py) and the settings it
is built from (messaging/settings.py); applying it to a broker is in
tests/integration/test_topology_on_broker.py."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from hub.config import Settings
from messaging import KafkaSettings, Topology
from messaging.topology import Cleanup, family_of, merged, retention_text
from schemas import topics

DAY_MS = 24 * 3_600_000


def test_the_defaults_suit_the_single_node_development_broker() -> None:
    kafka = KafkaSettings()
    assert (kafka.partitions, kafka.replication_factor, kafka.min_insync_replicas) == (3, 1, 1)


def test_a_production_cluster_is_a_matter_of_settings() -> None:
    spec = Topology(KafkaSettings(replication_factor=3, min_insync_replicas=2)).topic(topics.events("samsat"))
    assert (spec.replication_factor, spec.min_insync_replicas) == (3, 2)
    assert spec.configs()["min.insync.replicas"] == "2"


def test_min_insync_replicas_above_the_replication_factor_is_refused() -> None:
    """No acks=all write could ever succeed."""
    with pytest.raises(ValidationError, match="min_insync_replicas"):
        KafkaSettings(replication_factor=1, min_insync_replicas=2)


def test_retention_is_set_per_family_over_the_defaults() -> None:
    kafka = KafkaSettings(retention_hours={"events": 48})
    layout = Topology(kafka)
    assert layout.topic(topics.events("samsat")).retention_ms == 2 * DAY_MS
    assert layout.topic(topics.REQUESTS).retention_ms == 7 * DAY_MS  # the default stays
    assert layout.topic(topics.DEADLETTER).retention_ms == 30 * DAY_MS  # and so does the dead letters' own


def test_retention_of_an_unknown_family_is_refused() -> None:
    with pytest.raises(ValidationError, match="unknown topic families"):
        KafkaSettings(retention_hours={"evnets": 48})


def test_retention_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MPP_KAFKA__RETENTION_HOURS", '{"commands": 12}')
    monkeypatch.setenv("MPP_KAFKA__REPLICATION_FACTOR", "3")
    kafka = Settings().kafka
    assert kafka.retention_ms("commands") == 12 * 3_600_000
    assert kafka.replication_factor == 3


def test_every_topic_of_the_hub_has_one_declaration() -> None:
    layout = Topology(KafkaSettings(partitions=6))
    hub = layout.hub(["samsat", "polri", "samsat"])
    assert [s.name for s in hub] == [
        topics.REQUESTS,
        topics.DEADLETTER,
        topics.CASE_EVENTS,
        topics.ADAPTER_STATUS,
        "mpp.commands.polri",
        "mpp.events.polri",
        "mpp.commands.samsat",
        "mpp.events.samsat",
    ]
    keyed = [s for s in hub if s.name != topics.ADAPTER_STATUS]
    assert {(s.partitions, s.cleanup) for s in keyed} == {(6, Cleanup.DELETE)}


def test_adapter_status_is_compacted_on_one_partition_without_retention() -> None:
    spec = Topology(KafkaSettings()).topic(topics.ADAPTER_STATUS)
    assert (spec.partitions, spec.cleanup, spec.retention_ms) == (1, Cleanup.COMPACT, None)
    assert spec.configs() == {"cleanup.policy": "compact", "min.insync.replicas": "1"}
    assert retention_text(spec) == "per key"


def test_an_adapter_prepares_what_it_reads_and_writes() -> None:
    names = [s.name for s in Topology(KafkaSettings()).adapter("samsat", retry_levels=2)]
    assert names == [
        "mpp.commands.samsat",
        "mpp.retry.samsat.1",
        "mpp.retry.samsat.2",
        "mpp.events.samsat",
        topics.DEADLETTER,
        topics.ADAPTER_STATUS,
    ]


def test_the_hub_and_its_adapters_merge_into_one_list_without_repeats() -> None:
    layout = Topology(KafkaSettings())
    names = [s.name for s in merged(layout.hub(["samsat"]), layout.adapter("samsat", 1))]
    assert len(names) == len(set(names))
    assert "mpp.retry.samsat.1" in names


@pytest.mark.parametrize("name", ["mpp.other", "mpp.commands.", "mpp.retry.", "mpp.events", "mpp.events.", "requests"])
def test_a_topic_the_hub_does_not_know_has_no_declaration(name: str) -> None:
    with pytest.raises(KeyError):
        family_of(name)


@pytest.mark.parametrize(("hours", "text"), [(168, "7d"), (36, "36h"), (0.5, "30m")])
def test_retention_reads_in_days_hours_or_minutes(hours: float, text: str) -> None:
    spec = Topology(KafkaSettings(retention_hours={"events": hours})).topic(topics.events("samsat"))
    assert retention_text(spec) == text
