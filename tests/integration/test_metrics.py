"""Every process of the hub serves /metrics, /livez and /readyz, and the values move as
the cases flow: scraped over HTTP from the real processes, on the real broker.

The API serves them on its own port; the relay, router and adapter on their
``--metrics-port``. The router samples the gauges that need the database or the broker
(outbox, steps in flight, consumer lag), so it shows an adapter's lag even while that
adapter is down.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from deploy.kafka.local_kafka import free_ports
from messaging import KafkaSettings, create_producer, started
from schemas import topics
from support.prometheus import BUILT_IN, dashboard_expressions, exposed_names, metrics_in
from support.stack import HubStack, pkb_request

pytestmark = pytest.mark.integration

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
SERVICE = "samsat.pkb_annual"
ADAPTER_GROUP = "mpp-adapter-samsat"
PROCESSES = ("relay", "router", "adapter:samsat")


@pytest.fixture(scope="module")
async def stack(hub_stack: Callable[..., AbstractAsyncContextManager[HubStack]]) -> AsyncIterator[HubStack]:
    ports = dict(zip(PROCESSES, free_ports(len(PROCESSES)), strict=True))
    async with hub_stack(metrics_ports=ports) as running:
        for port in ports.values():
            await running.wait_http(f"http://127.0.0.1:{port}/livez")
        yield running


def base_url(stack: HubStack, process: str) -> str:
    return stack.api_url if process == "api" else f"http://127.0.0.1:{stack.metrics_ports[process]}"


async def families(stack: HubStack, process: str) -> list[Any]:
    async with httpx.AsyncClient(timeout=30) as client:
        response = await client.get(base_url(stack, process) + "/metrics")
    assert response.status_code == 200, response.text
    return list(text_string_to_metric_families(response.text))


async def scrape(stack: HubStack, process: str) -> list[Any]:
    return [sample for family in await families(stack, process) for sample in family.samples]


def value(samples: list[Any], name: str, **labels: str) -> float:
    """The sum of ``name``'s samples whose labels include ``labels`` (0 when none)."""
    return sum(s.value for s in samples if s.name == name and labels.items() <= s.labels.items())


async def eventually(
    stack: HubStack, process: str, name: str, accept: Callable[[float], bool], timeout: float = 60.0, **labels: str
) -> float:
    deadline = time.monotonic() + timeout
    while True:
        found = value(await scrape(stack, process), name, **labels)
        if accept(found):
            return found
        assert time.monotonic() < deadline, f"{process}: {name}{labels} stayed {found}\n{stack.logs()}"
        await asyncio.sleep(0.5)


@pytest.mark.parametrize("process", ["api", *PROCESSES])
async def test_every_process_is_live_and_ready_for_what_its_role_needs(stack: HubStack, process: str) -> None:
    needs = {
        "api": {"database"},
        "relay": {"database", "kafka"},
        "router": {"database", "kafka"},
        "adapter:samsat": {"kafka", "breaker:samsat"},
    }[process]
    deadline = time.monotonic() + 60
    async with httpx.AsyncClient(timeout=30) as client:
        live = await client.get(base_url(stack, process) + "/livez")
        # Ready once its roles have started (until then: 503, "starting").
        while (ready := await client.get(base_url(stack, process) + "/readyz")).status_code != 200 and time.monotonic() < deadline:
            assert ready.status_code == 503 and ready.json()["status"] in ("starting", "unavailable"), ready.text
            await asyncio.sleep(0.5)
    assert live.status_code == 200
    assert ready.status_code == 200, ready.text
    assert ready.json() == {"status": "ok", "checks": dict.fromkeys(needs, "ok")}


async def test_a_completed_case_moves_the_counters_of_every_hop(stack: HubStack) -> None:
    before = {process: await scrape(stack, process) for process in ("api", *PROCESSES)}

    case_id = await stack.submit(pkb_request("3171010101900001", "B 1234 MET"))
    await stack.wait_status(case_id, "COMPLETED")

    after = {process: await scrape(stack, process) for process in ("api", *PROCESSES)}

    def moved(process: str, name: str, **labels: str) -> float:
        return value(after[process], name, **labels) - value(before[process], name, **labels)

    assert moved("api", "mpp_cases_submitted_total", service=SERVICE) == 1
    assert moved("api", "mpp_api_requests_total", route="/v1/requests", method="POST", status="202") == 1
    assert moved("router", "mpp_cases_finished_total", service=SERVICE, status="completed") == 1
    assert moved("router", "mpp_step_duration_seconds_count", agency="samsat", service=SERVICE, phase="total") == 1
    assert moved("router", "mpp_step_duration_seconds_count", agency="samsat", service=SERVICE, phase="agency_round_trip") == 1
    assert moved("relay", "messaging_client_sent_messages_total", messaging_destination_name=topics.REQUESTS, error_type="") >= 1
    bus = {"messaging_system": "kafka", "error_type": ""}
    assert (
        moved(
            "router",
            "messaging_process_duration_seconds_count",
            messaging_destination_name=topics.REQUESTS,
            messaging_consumer_group_name="mpp-router",
            **bus,
        )
        >= 1
    )
    assert (
        moved(
            "adapter:samsat",
            "messaging_client_consumed_messages_total",
            messaging_destination_name=topics.commands("samsat"),
            messaging_consumer_group_name=ADAPTER_GROUP,
        )
        >= 1
    )
    assert (
        moved("adapter:samsat", "messaging_client_sent_messages_total", messaging_destination_name=topics.events("samsat"), error_type="")
        >= 1
    )
    assert value(after["adapter:samsat"], "mpp_adapter_breaker_state", agency="samsat", state="closed") == 1
    # Terminal cases leave nothing in flight; the outbox is drained.
    assert value(await scrape(stack, "router"), "mpp_outbox_unsent_messages") == 0


async def test_a_poison_record_counts_as_a_dead_letter_of_its_topic_and_error(stack: HubStack) -> None:
    labels = {"messaging_destination_name": topics.REQUESTS, "error_type": "PoisonMessage"}
    before = value(await scrape(stack, "router"), "mpp_dead_letters_total", **labels)

    async with started(create_producer(KafkaSettings(bootstrap=stack.kafka_bootstrap))) as producer:
        await producer.send_and_wait(topics.REQUESTS, value=b"{not json", key=b"poison")

    assert await eventually(stack, "router", "mpp_dead_letters_total", lambda v: v > before, **labels) == before + 1
    failed = value(
        await scrape(stack, "router"),
        "messaging_process_duration_seconds_count",
        messaging_destination_name=topics.REQUESTS,
        error_type="PoisonMessage",
    )
    assert failed >= 1


async def test_lag_is_zero_after_a_drain_and_grows_while_the_adapter_is_stopped(stack: HubStack) -> None:
    lag = "mpp_consumer_lag_messages"
    await eventually(stack, "router", lag, lambda v: v == 0, messaging_consumer_group_name=ADAPTER_GROUP)
    assert value(await scrape(stack, "router"), lag, messaging_consumer_group_name="mpp-router") == 0

    stack.stop("adapter:samsat")
    try:
        case_id = await stack.submit(pkb_request("3171010101900002", "B 5678 LAG"))
        await eventually(stack, "router", lag, lambda v: v > 0, messaging_consumer_group_name=ADAPTER_GROUP)
        in_flight = value(await scrape(stack, "router"), "mpp_steps_in_flight", agency="samsat")
        assert in_flight == 1
    finally:
        stack.start("adapter:samsat")

    await stack.wait_status(case_id, "COMPLETED", timeout=90)
    await eventually(stack, "router", lag, lambda v: v == 0, messaging_consumer_group_name=ADAPTER_GROUP)


async def test_every_metric_the_alerts_and_dashboard_use_is_served_by_a_running_process(stack: HubStack) -> None:
    served = set().union(*[exposed_names(await families(stack, process)) for process in ("api", *PROCESSES)]) | BUILT_IN
    alerts = yaml.safe_load((DEPLOY / "prometheus" / "alerts.yml").read_text())["groups"]
    used = {name for group in alerts for rule in group["rules"] for name in metrics_in(rule["expr"])}
    used |= {
        name for expr in dashboard_expressions(json.loads((DEPLOY / "grafana" / "mpp-hub.json").read_text())) for name in metrics_in(expr)
    }
    assert used - served == set()


async def test_an_agency_outage_opens_the_breaker_gauge_and_makes_the_adapter_unready(stack: HubStack) -> None:
    adapter = base_url(stack, "adapter:samsat")
    await stack.set_knobs(down=True)
    try:
        case_id = await stack.submit(pkb_request("3171010101900003", "B 2345 OUT"))
        await eventually(stack, "adapter:samsat", "mpp_adapter_breaker_state", lambda v: v == 0, agency="samsat", state="closed")
        async with httpx.AsyncClient(timeout=30) as client:
            ready = await client.get(adapter + "/readyz")
        assert ready.status_code == 503, ready.text
        assert ready.json()["checks"]["breaker:samsat"].startswith("breaker ")
    finally:
        await stack.set_knobs(down=False)

    await stack.wait_status(case_id, "COMPLETED", timeout=120)
    await eventually(stack, "adapter:samsat", "mpp_adapter_breaker_state", lambda v: v == 1, agency="samsat", state="closed")
    async with httpx.AsyncClient(timeout=30) as client:
        assert (await client.get(adapter + "/readyz")).status_code == 200
