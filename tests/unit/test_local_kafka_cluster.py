"""How a local three-node KRaft cluster is laid out (deploy/kafka/local_kafka.py); no JVM
starts here, the fault suite runs the cluster itself (tests/faults/test_kafka_cluster.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from deploy.kafka.local_kafka import LocalKafka, LocalKafkaCluster, LocalKafkaError

pytestmark = pytest.mark.unit


def properties(node: LocalKafka) -> dict[str, str]:
    node.home.mkdir(parents=True, exist_ok=True)
    node._write_properties()  # what launch() writes before the JVM starts
    lines = node.properties_path.read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))


def three_nodes(home: Path) -> LocalKafkaCluster:
    return LocalKafkaCluster(home, [19092, 19094, 19096], [19093, 19095, 19097])


def test_every_node_is_broker_and_controller_in_one_static_quorum(tmp_path: Path) -> None:
    cluster = three_nodes(tmp_path)
    nodes = [properties(node) for node in cluster.nodes]

    assert [p["node.id"] for p in nodes] == ["1", "2", "3"]
    assert {p["process.roles"] for p in nodes} == {"broker,controller"}
    assert {p["controller.quorum.voters"] for p in nodes} == {"1@127.0.0.1:19093,2@127.0.0.1:19095,3@127.0.0.1:19097"}
    assert [p["advertised.listeners"] for p in nodes] == [f"SASL_PLAINTEXT://127.0.0.1:{port}" for port in (19092, 19094, 19096)]
    # Signed in like the single broker: brokers speak to each other over SCRAM, ACLs enforced on every node.
    assert {p["inter.broker.listener.name"] for p in nodes} == {"SASL_PLAINTEXT"}
    assert {p["allow.everyone.if.no.acl.found"] for p in nodes} == {"false"}
    assert len({p["log.dirs"] for p in nodes}) == 3
    assert cluster.bootstrap == "127.0.0.1:19092,127.0.0.1:19094,127.0.0.1:19096"


def test_three_nodes_keep_three_copies_and_refuse_writes_to_one(tmp_path: Path) -> None:
    cluster = three_nodes(tmp_path)
    assert (cluster.replication_factor, cluster.min_insync_replicas) == (3, 2)
    for node in cluster.nodes:
        p = properties(node)
        assert (
            p["default.replication.factor"] == p["offsets.topic.replication.factor"] == p["transaction.state.log.replication.factor"] == "3"
        )
        assert p["min.insync.replicas"] == p["transaction.state.log.min.isr"] == "2"
        assert p["unclean.leader.election.enable"] == "false"


def test_the_nodes_share_one_cluster_id_kept_between_starts(tmp_path: Path) -> None:
    first = three_nodes(tmp_path)
    ids = {node._cluster_id() for node in first.nodes}
    assert len(ids) == 1
    assert {node._cluster_id() for node in three_nodes(tmp_path).nodes} == ids


def test_a_single_broker_stays_a_quorum_of_itself_with_one_copy(tmp_path: Path) -> None:
    one = LocalKafkaCluster(tmp_path, [19092], [19093])
    p = properties(one.nodes[0])
    assert p["controller.quorum.voters"] == "1@127.0.0.1:19093"
    assert p["default.replication.factor"] == p["min.insync.replicas"] == "1"


def test_a_cluster_needs_a_controller_port_per_node(tmp_path: Path) -> None:
    with pytest.raises(LocalKafkaError):
        LocalKafkaCluster(tmp_path, [19092, 19094], [19093])
