"""Nothing accepted is lost, nothing is applied twice -- under faults.

Each scenario runs the hub as separate OS processes on a broker and a PostgreSQL
database of its own, drives portal load (Samsat annual PKB requests, every body with
its own Idempotency-Key and plate) while injecting one fault, clears the fault, and
then holds the hub to its guarantees: every accepted request completes, the Samsat
simulator's ledger shows exactly one application per request, no request became two
cases, and nothing lands on ``mpp.deadletter`` except what the scenario put there on
purpose. Every scenario's numbers go to the fault report (``var/fault-report.md`` and
``.json``; see ``tests/faults/conftest.py``), failed or not.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer
from sqlalchemy import text

from deploy.kafka.local_kafka import LocalKafka, free_port
from faults.conftest import FaultReport
from hub.db.engine import create_engine
from messaging import KafkaSettings
from schemas import topics
from schemas.envelope import Envelope, MessageType
from support.faults import (
    LocalPostgres,
    PortalLoad,
    ScenarioResult,
    load_bodies,
    measure,
    read_cases,
    utcnow,
)
from support.stack import HubStack, _die_with_parent

ADAPTER_TIMEOUT_SECONDS = 5  # HubStack's MPP_AGENCIES__SAMSAT__TIMEOUT_SECONDS


@pytest.fixture
async def hub(fault_broker: LocalKafka, new_database: Callable[[], Awaitable[str]], tmp_path: Path) -> AsyncIterator[HubStack]:
    stack = HubStack(database_url=await new_database(), kafka_bootstrap=fault_broker.bootstrap, workdir=tmp_path / "hub")
    await stack.start_all()
    try:
        yield stack
    finally:
        stack.stop_all()


async def wait_until(predicate: Callable[[], Awaitable[bool]], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not await predicate():
        assert time.monotonic() < deadline, f"timed out waiting until {what}"
        await asyncio.sleep(0.1)


async def completed_at_least(stack: HubStack, count: int) -> bool:
    return sum(r.status == "COMPLETED" for r in await read_cases(stack.database_url)) >= count


async def accepted_at_least(load: PortalLoad, count: int) -> bool:
    return len(load.accepted) >= count


def finish(report: FaultReport, result: ScenarioResult, stack: HubStack) -> None:
    report.record(result)
    assert result.ok, "; ".join(result.violations) + "\n" + stack.logs()


# ---------------------------------------------------------------- 1. API kill -9


async def test_api_killed_mid_load_loses_nothing_and_makes_no_duplicate_case(hub: HubStack, fault_report: FaultReport) -> None:
    started = time.monotonic()
    await hub.set_knobs(latency_ms=50)
    # More bodies than needed, stopped once the API is back: the kill always falls inside the load.
    load = PortalLoad(hub, load_bodies(400, seed=11), concurrency=6, interval=0.05).start()
    await wait_until(lambda: accepted_at_least(load, 10), "10 requests are accepted")

    hub.kill9("api")
    await asyncio.sleep(0.5)
    hub.start("api")
    await hub.wait_http(hub.api_url + "/healthz")
    cleared = utcnow()
    await asyncio.sleep(1.0)
    load.stop()

    result = await measure(
        "api-kill9", "kill -9 the API while the portal submits; restart it", hub, load, started=started, cleared_at=cleared
    )
    if load.retried == 0:
        result.violations.append("the kill interrupted no portal request (no retry was needed)")
    finish(fault_report, result, hub)


@pytest.mark.parametrize("victim", ["relay", "router", "adapter"])
async def test_a_hub_process_killed_mid_load_loses_nothing_and_applies_nothing_twice(
    hub: HubStack, fault_report: FaultReport, victim: str
) -> None:
    started = time.monotonic()
    await hub.set_knobs(latency_ms=50)
    load = PortalLoad(hub, load_bodies(40, seed={"relay": 12, "router": 13, "adapter": 14}[victim]), concurrency=6, interval=0.05).start()
    await wait_until(lambda: completed_at_least(hub, 5), "5 cases complete")

    hub.kill9(victim)
    await asyncio.sleep(1.0)
    hub.start(victim)
    cleared = utcnow()

    result = await measure(f"{victim}-kill9", f"kill -9 the {victim} mid-load; restart it", hub, load, started=started, cleared_at=cleared)
    finished_after = sum(1 for r in await read_cases(hub.database_url) if r.updated_at > cleared)
    result.notes = f"{finished_after} cases finished after the restart"
    if finished_after == 0:
        result.violations.append("the kill held up no case (it did not hit in-flight work)")
    finish(fault_report, result, hub)


# ---------------------------------------------------------------- 2. broker restarts


@pytest.mark.parametrize("how", ["SIGTERM", "SIGKILL"])
async def test_broker_restarted_mid_load_loses_nothing(
    hub: HubStack, fault_broker: LocalKafka, fault_report: FaultReport, how: str
) -> None:
    started = time.monotonic()
    await hub.set_knobs(latency_ms=20)
    # More bodies than the scenario needs: the portal keeps submitting until the broker
    # is back, however long a loaded machine takes to stop and start it, and is then
    # stopped, so the fault always falls inside the load.
    load = PortalLoad(hub, load_bodies(400, seed=21 if how == "SIGTERM" else 22), concurrency=4, interval=0.15).start()
    await wait_until(lambda: completed_at_least(hub, 5), "5 cases complete")

    await asyncio.to_thread(fault_broker.stop if how == "SIGTERM" else fault_broker.kill)
    accepted_while_down = len(load.accepted)
    await asyncio.sleep(1.0)
    accepted_while_down = len(load.accepted) - accepted_while_down
    await asyncio.to_thread(fault_broker.start)
    cleared = utcnow()
    await asyncio.sleep(1.0)  # a little load after the restart, too
    load.stop()

    result = await measure(
        f"broker-{how.lower()}",
        f"{how} the Kafka broker mid-load, start it again on the same data",
        hub,
        load,
        started=started,
        cleared_at=cleared,
        notes=f"{accepted_while_down} requests accepted while the broker was down",
    )
    if accepted_while_down == 0:
        result.violations.append("no request was accepted while the broker was down: the fault did not hit the load")
    finish(fault_report, result, hub)


# ---------------------------------------------------------------- 3. agency trouble


@pytest.mark.parametrize(
    ("name", "fault_on", "fault_off", "hold"),
    [
        ("agency-503", {"error_rate": 1.0}, {"error_rate": 0.0}, 4.0),
        ("agency-500", {"error_rate": 1.0, "error_status": 500}, {"error_rate": 0.0, "error_status": 503}, 4.0),
        ("agency-hang", {"latency_ms": (ADAPTER_TIMEOUT_SECONDS + 1) * 1000}, {"latency_ms": 20}, 6.0),
    ],
)
async def test_agency_trouble_ends_and_every_request_completes_once(
    hub: HubStack, fault_report: FaultReport, name: str, fault_on: dict[str, object], fault_off: dict[str, object], hold: float
) -> None:
    started = time.monotonic()
    await hub.set_knobs(latency_ms=20)
    load = PortalLoad(hub, load_bodies(30, seed={"agency-503": 31, "agency-500": 33}.get(name, 32)), concurrency=4, interval=0.1).start()
    await wait_until(lambda: completed_at_least(hub, 3), "3 cases complete")

    await hub.set_knobs(**fault_on)
    await asyncio.sleep(hold)
    await hub.set_knobs(**fault_off)
    cleared = utcnow()

    description = {
        "agency-503": "Samsat answers 503 + Retry-After to everything, then recovers",
        "agency-500": "Samsat answers a bare 500 to everything, then recovers",
    }.get(name, f"Samsat hangs past the adapter's {ADAPTER_TIMEOUT_SECONDS}s timeout (and applies late), then recovers")
    result = await measure(name, f"{description} ({hold:.0f}s)", hub, load, started=started, cleared_at=cleared)
    finished_after = sum(1 for r in await read_cases(hub.database_url) if r.updated_at > cleared)
    result.notes = f"{finished_after} cases finished after recovery"
    if finished_after == 0:
        result.violations.append("no case was held up by the fault")
    finish(fault_report, result, hub)


# ---------------------------------------------------------------- 4. execute-then-timeout


async def test_replies_lost_after_apply_are_recovered_with_one_application_each(hub: HubStack, fault_report: FaultReport) -> None:
    started = time.monotonic()
    await hub.set_knobs(drop_reply_after_apply=0.5, seed=4)
    load = PortalLoad(hub, load_bodies(30, seed=41), concurrency=6).start()

    result = await measure(
        "execute-then-timeout",
        "half of Samsat's replies are lost after it applied (504), all along",
        hub,
        load,
        started=started,
        cleared_at=None,
    )
    if result.replayed == 0:
        result.violations.append("no reply was lost: the retry-with-the-same-key path was not exercised")
    finish(fault_report, result, hub)


# ---------------------------------------------------------------- 5. poison messages


def poison_records() -> list[tuple[str, bytes | None]]:
    """(topic, value) of records no consumer can process: undecodable, schema-invalid,
    and well-formed envelopes about cases and steps that do not exist."""
    ghost = uuid.uuid4()
    return [
        (topics.REQUESTS, b"\xff\xfe not json at all"),
        (topics.REQUESTS, b'{"type": "request.submitted", "payload": {}}'),  # no request id, no source
        (topics.REQUESTS, Envelope(request_id=ghost, type=MessageType.REQUEST_SUBMITTED, source="fault-test").to_bytes()),
        (topics.REQUESTS, None),  # a tombstone
        (topics.commands("samsat"), b"<xml>wrong protocol</xml>"),
        (
            topics.commands("samsat"),
            Envelope(
                request_id=ghost, step_id=uuid.uuid4(), type=MessageType.STEP_COMMAND, source="fault-test", payload={"operation": 42}
            ).to_bytes(),
        ),  # schema-invalid command
        (
            topics.commands("samsat"),
            Envelope(request_id=ghost, type=MessageType.STEP_COMMAND, source="fault-test").to_bytes(),
        ),  # no step id
    ]


async def test_poison_is_dead_lettered_and_the_real_load_completes(hub: HubStack, fault_report: FaultReport) -> None:
    started = time.monotonic()
    await hub.set_knobs(latency_ms=20)
    load = PortalLoad(hub, load_bodies(30, seed=51), concurrency=4, interval=0.1).start()
    await wait_until(lambda: completed_at_least(hub, 3), "3 cases complete")

    injected: set[tuple[str, int, int]] = set()
    producer = AIOKafkaProducer(**KafkaSettings(bootstrap=hub.kafka_bootstrap).client_options())
    await producer.start()
    try:
        for topic, value in poison_records():
            meta = await producer.send_and_wait(topic, value=value, key=uuid.uuid4().bytes)
            injected.add((meta.topic, meta.partition, meta.offset))
    finally:
        await producer.stop()

    result = await measure(
        "poison",
        f"{len(injected)} undecodable / schema-invalid / unknown-case records injected on mpp.requests and mpp.commands.samsat",
        hub,
        load,
        started=started,
        cleared_at=None,
        expected_dead_letters=injected,
    )
    finish(fault_report, result, hub)


# ---------------------------------------------------------------- 6. concurrent resubmission


async def test_the_same_request_sent_ten_times_at_once_is_one_case(hub: HubStack, fault_report: FaultReport) -> None:
    started = time.monotonic()
    load = PortalLoad(hub, load_bodies(5, seed=61), concurrency=50, copies=10).start()

    result = await measure(
        "same-key-10x",
        "each of 5 requests POSTed 10 times at once with its one Idempotency-Key",
        hub,
        load,
        started=started,
        cleared_at=None,
    )
    if not any(s.replayed for s in load.submissions):
        result.violations.append("no submission was answered as a replay")
    finish(fault_report, result, hub)


# ---------------------------------------------------------------- 7. consumer-group rebalance


async def test_a_second_adapter_joining_and_leaving_mid_load_loses_and_repeats_nothing(hub: HubStack, fault_report: FaultReport) -> None:
    started = time.monotonic()
    await hub.set_knobs(latency_ms=50)
    # Open-ended load (stopped below): the second worker's boot and group join take
    # seconds, more on a busy machine; the load goes on until it has really taken part.
    load = PortalLoad(hub, load_bodies(400, seed=71), concurrency=4, interval=0.12).start()
    await wait_until(lambda: completed_at_least(hub, 2), "2 cases complete")

    log_path = hub.workdir / "adapter-samsat-extra.log"
    with open(log_path, "ab") as log:
        extra = subprocess.Popen(
            hub._command("adapter:samsat"),
            env=hub.env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=hub.workdir,
            preexec_fn=_die_with_parent,
        )
    try:

        async def extra_worked() -> bool:
            return " -> " in log_path.read_text(errors="replace")

        try:
            await wait_until(extra_worked, "the second adapter worker handles a command", timeout=60)
        except AssertionError:
            load.stop()
            raise
    finally:
        extra.send_signal(signal.SIGTERM)
        try:
            await asyncio.to_thread(extra.wait, 20)
        except subprocess.TimeoutExpired:
            extra.kill()
            extra.wait()
    cleared = utcnow()
    await asyncio.sleep(1.5)  # the leave-rebalance happens under load too
    load.stop()
    handled = log_path.read_text(errors="replace").count(" -> ")

    result = await measure(
        "rebalance",
        "a second adapter:samsat worker joins the consumer group mid-load, then leaves",
        hub,
        load,
        started=started,
        cleared_at=cleared,
        notes=f"the second worker handled {handled} commands",
    )
    finish(fault_report, result, hub)


# ---------------------------------------------------------------- 8. PostgreSQL restart


@pytest.fixture
def own_postgres() -> Iterator[LocalPostgres]:
    """A PostgreSQL cluster of this scenario's own: restarting the shared server would
    break every other test using it at the same moment."""
    home = Path(tempfile.mkdtemp(prefix="mpp-faults-pg-"))  # not under tmp_path: the postgres user must reach it
    try:
        postgres = LocalPostgres(home, free_port())
        postgres.init()
        postgres.start()
    except (FileNotFoundError, subprocess.CalledProcessError) as exc:
        shutil.rmtree(home, ignore_errors=True)
        pytest.skip(f"cannot run a PostgreSQL cluster of our own: {exc}")
    try:
        yield postgres
    finally:
        with contextlib.suppress(subprocess.CalledProcessError):
            postgres.stop("immediate")
        shutil.rmtree(home, ignore_errors=True)


async def test_postgres_restarted_mid_load_loses_nothing(
    fault_broker: LocalKafka, own_postgres: LocalPostgres, tmp_path: Path, fault_report: FaultReport
) -> None:
    stack = HubStack(database_url=await own_postgres.new_database(), kafka_bootstrap=fault_broker.bootstrap, workdir=tmp_path / "hub")
    await stack.start_all()
    try:
        started = time.monotonic()
        await stack.set_knobs(latency_ms=20)
        # More bodies than needed, stopped once PostgreSQL is back: the fault always falls inside the load.
        load = PortalLoad(stack, load_bodies(400, seed=81), concurrency=4, interval=0.15).start()
        await wait_until(lambda: completed_at_least(stack, 5), "5 cases complete")

        await asyncio.to_thread(own_postgres.stop, "fast")
        await asyncio.sleep(1.0)
        await asyncio.to_thread(own_postgres.start)
        cleared = utcnow()
        await asyncio.sleep(1.0)
        load.stop()

        result = await measure(
            "postgres-restart",
            "PostgreSQL stopped (fast: connections cut) mid-load, started again 1 s later",
            stack,
            load,
            started=started,
            cleared_at=cleared,
        )
        if load.retried == 0:
            result.violations.append("the portal never saw the database down (no retry was needed)")
        finish(fault_report, result, stack)
    finally:
        stack.stop_all()


# ---------------------------------------------------------------- 9. router kill -9 mid-batch


async def router_transactions(database_url: str) -> tuple[int, int]:
    """(claims, transactions that made them): rows inserted by one PostgreSQL transaction
    share its ``xmin``, so fewer transactions than claims means the router applied batches."""
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            claims, transactions = (
                await connection.execute(
                    text("SELECT count(*), count(DISTINCT xmin::text) FROM processed_messages WHERE consumer = 'router'")
                )
            ).one()
    finally:
        await engine.dispose()
    return int(claims), int(transactions)


async def test_the_router_killed_again_and_again_mid_batch_loses_and_repeats_nothing(hub: HubStack, fault_report: FaultReport) -> None:
    """The router applies a partition's batch in one transaction; kill -9 it three times
    while it works through a backlog: each killed batch rolls back whole, is redelivered
    from the committed offset, and its claims make the already-applied part a no-op."""
    started = time.monotonic()
    await hub.set_knobs(latency_ms=0)
    load = PortalLoad(hub, load_bodies(150, seed=91), concurrency=16).start()
    for kill in range(1, 4):
        await wait_until(lambda kill=kill: accepted_at_least(load, 30 * kill), f"{30 * kill} requests accepted")
        hub.kill9("router")
        await asyncio.sleep(0.5)  # the API and the relay go on: a backlog for the router's batches
        hub.start("router")
    cleared = utcnow()

    result = await measure(
        "router-kill9-batches",
        "kill -9 the router three times while it applies batches; restart it",
        hub,
        load,
        started=started,
        cleared_at=cleared,
    )
    claims, transactions = await router_transactions(hub.database_url)
    result.notes = f"{claims} messages claimed in {transactions} router transactions"
    if transactions >= claims:
        result.violations.append("the router never applied a batch of more than one message")
    finish(fault_report, result, hub)
