"""The real local Kafka broker (deploy/kafka/local_kafka.py): start, produce/consume, restart, kill.

One broker is shared by the module; the restart/kill test runs its own broker because it
stops and kills it. Both live under pytest's tmp dirs on free ports, so they never touch
a developer's broker on 9092.
"""

from __future__ import annotations

import asyncio
import os
import socket
import time
import uuid
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.errors import KafkaError

from deploy.kafka.local_kafka import (
    DEFAULT_LIBS_DIR,
    BrokerStatus,
    LocalKafka,
    LocalKafkaConfig,
    LocalKafkaError,
    ensure_jars,
    free_port,
    free_ports,
)
from messaging import KafkaSettings


def _new_broker(home: Path) -> LocalKafka:
    port, controller_port = free_ports(2)
    return LocalKafka(LocalKafkaConfig(home=home, port=port, controller_port=controller_port, heap_mb=384))


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory):
    kafka = _new_broker(tmp_path_factory.mktemp("kafka"))
    kafka.start()
    try:
        yield kafka
    finally:
        kafka.stop()


async def _produce(bootstrap: str, topic: str, values: list[bytes]) -> None:
    producer = AIOKafkaProducer(**KafkaSettings(bootstrap=bootstrap).client_options(), enable_idempotence=True)
    await producer.start()
    try:
        for v in values:
            # send() only enqueues; the returned future resolves when the broker acked (acks=all)
            md = await (await producer.send(topic, value=v, key=b"k"))
            assert md.offset >= 0
    finally:
        await producer.stop()


async def _consume(bootstrap: str, topic: str, n: int, group_id: str | None = None, timeout: float = 30.0) -> list[bytes]:
    consumer = AIOKafkaConsumer(
        topic,
        **KafkaSettings(bootstrap=bootstrap).client_options(),
        group_id=group_id,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    got: list[bytes] = []
    try:
        async with asyncio.timeout(timeout):
            while len(got) < n:
                batches = await consumer.getmany(timeout_ms=500)
                for msgs in batches.values():
                    got.extend(m.value for m in msgs)
    finally:
        await consumer.stop()
    return got


def _topic() -> str:
    return f"test-local-kafka-{uuid.uuid4().hex[:8]}"


def test_ensure_jars_is_cached() -> None:
    t0 = time.monotonic()
    libs = ensure_jars(DEFAULT_LIBS_DIR)
    assert time.monotonic() - t0 < 1.0  # the module fixture (or an earlier run) fetched them
    names = {p.name for p in libs.glob("*.jar")}
    assert any(n.startswith("kafka_2.13-4.") for n in names)
    assert any(n.startswith("log4j-slf4j-impl-") for n in names)


def test_status_reports_running(broker: LocalKafka) -> None:
    st = broker.status()
    assert isinstance(st, BrokerStatus)
    assert st.running is True
    assert st.pid is not None and st.pid > 0
    assert st.bootstrap == broker.bootstrap == f"127.0.0.1:{broker.config.port}"
    assert st.home == broker.home
    assert (broker.home / "broker.pid").read_text().strip() == str(st.pid)
    assert (broker.home / "data" / "meta.properties").is_file()
    cluster_id = (broker.home / "cluster.id").read_text().strip()
    assert len(cluster_id) == 22
    assert f"cluster.id={cluster_id}" in (broker.home / "data" / "meta.properties").read_text()


def test_start_is_idempotent(broker: LocalKafka) -> None:
    pid = broker.status().pid
    t0 = time.monotonic()
    broker.start()
    assert time.monotonic() - t0 < 5.0
    assert broker.status().pid == pid
    # a second handle on the same home (e.g. the CLI in another process) sees the same broker
    other = LocalKafka(broker.config)
    assert other.status().pid == pid
    other.start()
    assert other.status().pid == pid


async def test_produce_and_consume_roundtrip(broker: LocalKafka) -> None:
    topic = _topic()
    values = [f"hello-{i}".encode() for i in range(5)]
    await _produce(broker.bootstrap, topic, values)
    got = await _consume(broker.bootstrap, topic, len(values), group_id=f"g-{uuid.uuid4().hex[:6]}")
    assert sorted(got) == sorted(values)


@pytest.mark.parametrize(
    "credentials",
    [{"security_protocol": "PLAINTEXT"}, {"password": "not-the-password"}, {"username": "nobody"}],
    ids=["unauthenticated", "wrong password", "unknown user"],
)
async def test_the_broker_refuses_a_client_that_does_not_sign_in(broker: LocalKafka, credentials: dict[str, str]) -> None:
    kafka = KafkaSettings.model_validate({"bootstrap": broker.bootstrap, **credentials})
    producer = AIOKafkaProducer(**kafka.client_options(), request_timeout_ms=5000)
    with pytest.raises(KafkaError):
        await producer.start()
    await producer.stop()


def test_port_conflict_fails_fast(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        kafka = LocalKafka(LocalKafkaConfig(home=tmp_path / "k", port=port, controller_port=free_port()))
        with pytest.raises(LocalKafkaError, match="already in use"):
            kafka.start(timeout=10)
    assert kafka.status().running is False


def test_stale_pid_file_is_ignored(tmp_path: Path) -> None:
    # A pid file naming a live process that is not our broker (here: pytest itself)
    # must not count as running, and stop()/kill() must not signal that process.
    kafka = LocalKafka(LocalKafkaConfig(home=tmp_path, port=free_port(), controller_port=free_port()))
    (tmp_path / "broker.pid").write_text(f"{os.getpid()}\n")
    st = kafka.status()
    assert st.running is False and st.pid is None
    assert not (tmp_path / "broker.pid").exists()
    (tmp_path / "broker.pid").write_text(f"{os.getpid()}\n")
    kafka.stop()
    kafka.kill()  # we are still alive, so neither signalled us


async def test_restart_keeps_data_and_kill(tmp_path: Path) -> None:
    kafka = _new_broker(tmp_path / "kafka")
    topic = _topic()
    try:
        kafka.start()
        await _produce(kafka.bootstrap, topic, [b"before-restart"])

        kafka.stop()
        st = kafka.status()
        assert st.running is False and st.pid is None
        assert not (kafka.home / "broker.pid").exists()
        assert (kafka.home / "data" / ".kafka_cleanshutdown").exists()

        kafka.start()  # same home: no re-format, data kept
        assert kafka.status().running is True
        assert await _consume(kafka.bootstrap, topic, 1) == [b"before-restart"]
        await _produce(kafka.bootstrap, topic, [b"before-kill"])

        pid = kafka.status().pid
        assert pid is not None
        kafka.kill()
        assert kafka.status().running is False
        assert not (kafka.home / "broker.pid").exists()
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)

        # unclean restart: log recovery, and the old broker session must expire first
        kafka.start()
        got = await _consume(kafka.bootstrap, topic, 2)
        assert sorted(got) == [b"before-kill", b"before-restart"]
    finally:
        kafka.stop()
    assert kafka.status().running is False
