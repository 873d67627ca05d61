"""The adapter's failure ladder on the real broker: short retries, then the retry
topics ``mpp.retry.samsat.<n>``, then ``mpp.deadletter``; and the breaker state an
operator sees at ``GET /v1/operator/adapters``.

One broker of its own, with one partition per topic, so every case shares the
command partition: "a slow case does not block another" is then really about the same
partition. The adapter is restarted with the settings each test needs.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer

from hub.api import adapters as adapters_api
from hub.api.app import create_app
from hub.config import Settings
from hub.db.engine import database
from hub.features.adapter_status import run_status_tracker
from messaging import KafkaSettings
from schemas import topics
from schemas.identifiers import make_nik
from support.fixtures import throwaway_broker
from support.stack import TERMINAL, HubStack, pkb_request, running, submit_many

OPERATOR = {"Authorization": "Bearer dev-operator-key"}
LADDER = {
    "RETRY_ATTEMPTS": "2",
    "RETRY_MAX_WAIT_SECONDS": "0.1",
    "RETRY_TOPIC_DELAYS_SECONDS": "[0.5, 1, 2]",
    "BREAKER_FAILURE_THRESHOLD": "1000",
}


@pytest.fixture(scope="module")
def own_kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with throwaway_broker(tmp_path_factory.mktemp("kafka-ladder")) as bootstrap:
        yield bootstrap


class Watcher:
    """Reads the retry topics and the dead-letter topic as an outsider (own group)."""

    def __init__(self, bootstrap: str) -> None:
        self.consumer = AIOKafkaConsumer(
            *(f"mpp.retry.samsat.{n}" for n in (1, 2, 3)),
            topics.DEADLETTER,
            **KafkaSettings(bootstrap=bootstrap).client_options(),
            group_id=f"test-watch-{uuid.uuid4().hex[:6]}",
            auto_offset_reset="earliest",
            metadata_max_age_ms=500,
        )
        self.seen: list[tuple[str, str, dict[str, str], float]] = []  # (topic, request id, headers, seen at)
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self.consumer.start()
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        async for record in self.consumer:
            headers = {k: v.decode(errors="replace") for k, v in record.headers or ()}
            self.seen.append((record.topic, (record.key or b"").decode(), headers, time.monotonic()))

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
        await self.consumer.stop()

    def topics_of(self, case_id: str) -> list[str]:
        return [t for t, key, _, _ in self.seen if key == case_id]

    def on(self, topic: str, case_id: str) -> list[dict[str, str]]:
        return [h for t, key, h, _ in self.seen if key == case_id and t == topic]


@pytest.fixture(scope="module")
async def stack(
    own_kafka: str, new_database: Callable[[], Awaitable[str]], tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[HubStack]:
    async with running(
        HubStack(
            database_url=await new_database(),
            kafka_bootstrap=own_kafka,
            workdir=tmp_path_factory.mktemp("ladder-hub"),
            extra_env={"MPP_KAFKA__PARTITIONS": "1", **{f"MPP_AGENCIES__SAMSAT__{k}": v for k, v in LADDER.items()}},
        )
    ) as hub:
        yield hub


@pytest.fixture(scope="module")
async def watcher(stack: HubStack) -> AsyncIterator[Watcher]:
    await wait_until(lambda: _topic_exists(stack.kafka_bootstrap, "mpp.retry.samsat.3"), timeout=30)
    watch = Watcher(stack.kafka_bootstrap)
    await watch.start()
    try:
        yield watch
    finally:
        await watch.stop()


@pytest.fixture(autouse=True)
async def healthy_samsat(stack: HubStack) -> AsyncIterator[None]:
    await stack.set_knobs(error_rate=0.0)
    yield
    await stack.set_knobs(error_rate=0.0)


async def _topic_exists(bootstrap: str, name: str) -> bool:
    consumer = AIOKafkaConsumer(**KafkaSettings(bootstrap=bootstrap).client_options())
    await consumer.start()
    try:
        return name in await consumer.topics()
    finally:
        await consumer.stop()


async def wait_until(predicate: Callable[[], Awaitable[bool]], timeout: float = 30.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not await predicate():
        assert time.monotonic() < deadline, f"{what} not reached in {timeout}s"
        await asyncio.sleep(0.05)


def restart_adapter(stack: HubStack, **settings: str) -> None:
    stack.stop("adapter")
    for key, value in {**LADDER, **settings}.items():
        stack.extra_env[f"MPP_AGENCIES__SAMSAT__{key}"] = value
    stack.start("adapter")


def body(seed: int) -> dict[str, Any]:
    import random

    rng = random.Random(seed)
    nik = next(n for n in (make_nik(rng) for _ in range(100)) if not n.endswith("99"))
    return pkb_request(nik, f"BA {rng.randint(1, 8999)} L{rng.choice('ABC')}")


async def case(stack: HubStack, case_id: str) -> dict[str, Any]:
    async with stack.client() as client:
        response = await client.get(f"/v1/requests/{case_id}")
        assert response.status_code == 200
        return dict(response.json())


async def applications_of(stack: HubStack, view: dict[str, Any]) -> list[dict[str, Any]]:
    step_ids = {s["id"] for s in view["steps"]}
    return [e for e in (await stack.ledger())["entries"] if e["key"] in step_ids]


# --- the ladder -------------------------------------------------------------------------------


async def test_a_command_climbs_the_retry_levels_and_completes_once_samsat_recovers(stack: HubStack, watcher: Watcher) -> None:
    await stack.set_knobs(error_rate=1.0)
    [case_id] = await submit_many(stack, [body(1)])

    await wait_until(lambda: _async(bool(watcher.on("mpp.retry.samsat.2", case_id))), what="level 2")
    view = await case(stack, case_id)
    assert view["status"] not in TERMINAL, "an agency outage must not fail the case"
    [level1] = watcher.on("mpp.retry.samsat.1", case_id)
    [level2] = watcher.on("mpp.retry.samsat.2", case_id)
    assert (level1["mpp-retry-attempt"], level2["mpp-retry-attempt"]) == ("1", "2")
    assert level1["mpp-retry-original-topic"] == level2["mpp-retry-original-topic"] == "mpp.commands.samsat"
    assert int(level2["mpp-retry-not-before"]) - int(level1["mpp-retry-not-before"]) >= 900  # 1 s level after a 0.5 s one, roughly

    await stack.set_knobs(error_rate=0.0)
    done = await stack.finished(case_id, timeout=30)
    assert done["status"] == "COMPLETED"
    [applied] = await applications_of(stack, done)
    assert applied["key"] == done["steps"][0]["id"]  # the step id is the idempotency key: applied once
    assert not watcher.on(topics.DEADLETTER, case_id)


async def test_a_command_failing_past_the_last_level_is_dead_lettered_and_the_case_stays_visible(stack: HubStack, watcher: Watcher) -> None:
    await stack.set_knobs(error_rate=1.0)
    [case_id] = await submit_many(stack, [body(2)])
    await wait_until(lambda: _async(bool(watcher.on(topics.DEADLETTER, case_id))), timeout=30, what="dead letter")

    assert watcher.topics_of(case_id) == ["mpp.retry.samsat.1", "mpp.retry.samsat.2", "mpp.retry.samsat.3", topics.DEADLETTER]
    [dead] = watcher.on(topics.DEADLETTER, case_id)
    assert dead["dlq.original.topic"] == "mpp.commands.samsat"
    assert dead["dlq.original.partition"] == "0"
    assert int(dead["dlq.original.offset"]) >= 0
    assert dead["dlq.error.class"] == "TransientBackendError"
    assert dead["dlq.error.message"]
    assert dead["dlq.attempts"] == "4"
    assert dead["dlq.consumer"] == "adapter:samsat"
    assert dead["mpp-correlation-id"]
    view = await case(stack, case_id)
    assert view["status"] not in TERMINAL  # not failed, not lost: waiting for an operator's replay
    header_text = json.dumps(dead)
    assert body(2)["applicant"]["nik"] not in header_text and body(2)["data"]["plate"] not in header_text


async def test_a_case_in_the_retry_topics_does_not_block_the_next_case_on_its_partition(stack: HubStack, watcher: Watcher) -> None:
    restart_adapter(stack, RETRY_TOPIC_DELAYS_SECONDS="[8]")
    try:
        await stack.set_knobs(error_rate=1.0)
        [slow] = await submit_many(stack, [body(3)])
        await wait_until(lambda: _async(bool(watcher.on("mpp.retry.samsat.1", slow))), what="slow case on level 1")
        await stack.set_knobs(error_rate=0.0)
        started = time.monotonic()
        [fast] = await submit_many(stack, [body(4)])  # same (only) partition as the slow one
        done = await stack.finished(fast, timeout=20)
        took = time.monotonic() - started

        assert done["status"] == "COMPLETED"
        assert (await case(stack, slow))["status"] not in TERMINAL, "the slow case should still wait in its retry topic"
        assert took < 6, f"case B took {took:.1f}s behind case A"
        assert (await stack.finished(slow, timeout=30))["status"] == "COMPLETED"
    finally:
        restart_adapter(stack)


# --- breaker state through the API -------------------------------------------------------------


@pytest.fixture
async def operator_api(stack: HubStack) -> AsyncIterator[httpx.AsyncClient]:
    """The API app and the status tracker in this process (same code the hub runs)."""
    settings = Settings.model_validate(
        {
            "database_url": stack.database_url,
            "kafka": {"bootstrap": stack.kafka_bootstrap},
            "api": {"clients": {"test-portal-key": "portal"}},
        }
    )
    stop = asyncio.Event()
    async with database(settings.database_url) as sessions:
        tracker = asyncio.create_task(run_status_tracker(settings, sessions, stop))
        app = create_app(settings, sessions=sessions)
        if not any(getattr(r, "path", "") == "/v1/operator/adapters" for r in app.routes):
            app.include_router(adapters_api.router)
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://hub") as client,
        ):
            yield client
        stop.set()
        await tracker


async def samsat_states(api: httpx.AsyncClient) -> list[str]:
    response = await api.get("/v1/operator/adapters", headers=OPERATOR)
    assert response.status_code == 200, response.text
    [samsat] = [a for a in response.json()["agencies"] if a["agency"] == "samsat"]
    return [i["state"] for i in samsat["instances"] if not i["stale"]]


async def test_the_operator_sees_the_breaker_open_and_closed_again(
    stack: HubStack, watcher: Watcher, operator_api: httpx.AsyncClient
) -> None:
    restart_adapter(stack, BREAKER_FAILURE_THRESHOLD="2", BREAKER_RESET_SECONDS="1")
    try:
        await wait_until(lambda: _states_are(operator_api, ["closed"]), what="a closed samsat instance")
        await stack.set_knobs(error_rate=1.0)
        [case_id] = await submit_many(stack, [body(5)])
        await wait_until(lambda: _states_are(operator_api, ["open"]), what="state open")
        response = await operator_api.get("/v1/operator/adapters", headers=OPERATOR)
        [instance] = [i for a in response.json()["agencies"] if a["agency"] == "samsat" for i in a["instances"] if not i["stale"]]
        assert instance["last_error"] == "TransientBackendError"
        assert instance["opened_at"] is not None and instance["consecutive_failures"] >= 2

        await asyncio.sleep(1.5)
        assert not watcher.on("mpp.retry.samsat.1", case_id), "an open circuit must not spend the command's retry budget"
        await stack.set_knobs(error_rate=0.0)
        await wait_until(lambda: _states_are(operator_api, ["closed"]), what="state closed")
        assert (await stack.finished(case_id, timeout=20))["status"] == "COMPLETED"
    finally:
        restart_adapter(stack)


async def test_portal_keys_cannot_read_the_operator_view(operator_api: httpx.AsyncClient) -> None:
    portal = await operator_api.get("/v1/operator/adapters", headers={"Authorization": "Bearer test-portal-key"})
    assert portal.status_code == 403
    assert portal.headers["content-type"] == "application/problem+json"
    anonymous = await operator_api.get("/v1/operator/adapters")
    assert anonymous.status_code == 401
    assert anonymous.json()["code"] == "unauthenticated"


async def _states_are(api: httpx.AsyncClient, expected: list[str]) -> bool:
    return await samsat_states(api) == expected


async def _async(value: bool) -> bool:
    return value
