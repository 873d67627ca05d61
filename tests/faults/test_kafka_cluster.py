"""Nothing accepted is lost, nothing is applied twice -- when one broker of a
three-node Kafka cluster dies under load.

The hub runs on a local KRaft cluster (``LocalKafkaCluster``: three nodes, each broker
and controller) with its topics laid out as in production: replication factor 3 and
``min.insync.replicas`` 2, producers idempotent with ``acks=all``. A node is killed
with SIGKILL mid-load, stays down while the portal keeps submitting, and is started
again on its data; the other two carry on (every partition keeps two in-sync copies),
and the portal is stopped only after the node is back, so the fault falls inside the
load however slowly the machine runs.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from deploy.kafka.local_kafka import LocalKafkaCluster, free_ports
from faults.conftest import FaultReport
from support.faults import PortalLoad, load_bodies, measure, read_cases, utcnow
from support.stack import HubStack

NODES = 3
KILLED_NODE = 2
DOWN_SECONDS = 6.0  # longer than the brokers' session timeout (4 s): the controller fences the dead node


@pytest.fixture
async def cluster() -> AsyncIterator[LocalKafkaCluster]:
    home = Path(tempfile.mkdtemp(prefix="mpp-faults-cluster-"))
    ports = free_ports(2 * NODES)
    kafka = LocalKafkaCluster(home, ports[:NODES], ports[NODES:], heap_mb=256)
    try:
        await asyncio.to_thread(kafka.start)
        yield kafka
    finally:
        await asyncio.to_thread(kafka.stop)
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture
async def hub(cluster: LocalKafkaCluster, new_database: Callable[[], Awaitable[str]], tmp_path: Path) -> AsyncIterator[HubStack]:
    replicated = {
        "MPP_KAFKA__REPLICATION_FACTOR": str(cluster.replication_factor),
        "MPP_KAFKA__MIN_INSYNC_REPLICAS": str(cluster.min_insync_replicas),
    }
    stack = HubStack(database_url=await new_database(), kafka_bootstrap=cluster.bootstrap, workdir=tmp_path / "hub", extra_env=replicated)
    await stack.start_all()
    try:
        yield stack
    finally:
        stack.stop_all()


async def completed(stack: HubStack) -> int:
    return sum(r.status == "COMPLETED" for r in await read_cases(stack.database_url))


async def test_a_broker_of_the_cluster_killed_mid_load_loses_and_repeats_nothing(
    hub: HubStack, cluster: LocalKafkaCluster, fault_report: FaultReport
) -> None:
    assert (cluster.replication_factor, cluster.min_insync_replicas) == (3, 2)
    started = time.monotonic()
    await hub.set_knobs(latency_ms=20)
    # More bodies than needed, paced below what the hub completes on a small machine: the
    # portal submits until the node is back, then stops.
    load = PortalLoad(hub, load_bodies(600, seed=31), concurrency=4, interval=0.25).start()
    deadline = time.monotonic() + 90
    while await completed(hub) < 5:
        assert time.monotonic() < deadline, "5 cases did not complete on the cluster"
        await asyncio.sleep(0.2)

    node = cluster.node(KILLED_NODE)
    await asyncio.to_thread(node.kill)
    completed_before = await completed(hub)
    await asyncio.sleep(DOWN_SECONDS)
    completed_while_down = await completed(hub) - completed_before
    await asyncio.to_thread(node.start)
    cleared = utcnow()
    await asyncio.sleep(1.0)  # a little load with the node back, too
    load.stop()

    result = await measure(
        "cluster-broker-kill9",
        f"kill -9 broker {KILLED_NODE} of {NODES} (RF 3, min ISR 2) mid-load, start it again {DOWN_SECONDS:g} s later",
        hub,
        load,
        started=started,
        cleared_at=cleared,
        timeout=180.0,  # three JVMs and the hub on a small machine work off the backlog slowly
        notes=f"{completed_while_down} cases completed while the broker was down",
    )
    fault_report.record(result)
    assert result.ok, "; ".join(result.violations) + "\n" + hub.logs()
