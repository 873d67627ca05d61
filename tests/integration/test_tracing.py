"""One case, one trace: the API request, each relay publish, the router, the adapter,
its call to the agency and its report back are spans of one trace, linked parent to
child through the W3C ``traceparent`` Kafka header, and the case view names the trace.

The whole hub runs in this process (as `mpp-hub dev` does) so an in-memory exporter
sees every span; the hops still meet only through Kafka and the database.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import httpx
import pytest
from opentelemetry.instrumentation.utils import suppress_http_instrumentation
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from deploy.kafka.local_kafka import free_ports
from hub.config import ApiSettings, Settings
from hub.observability.tracing import Tracing, configure_tracing
from hub.runtime.processes import run_all
from messaging import KafkaSettings

NIK, NAME = "1375015203900007", "Siti Jejak Aminah"
KEY = "trace-portal-key"


@pytest.fixture(scope="module")
def exporter() -> Iterator[tuple[Tracing, InMemorySpanExporter]]:
    memory = InMemorySpanExporter()
    tracing = configure_tracing("test", exporter=memory)
    assert tracing is not None
    yield tracing, memory
    tracing.shutdown()


@pytest.fixture
async def hub(own_kafka: str, new_database: Callable[[], Awaitable[str]]) -> AsyncIterator[Settings]:
    api_port, simulator_port = free_ports(2)
    settings = Settings(
        database_url=await new_database(),
        kafka=KafkaSettings(bootstrap=own_kafka),
        api=ApiSettings(host="127.0.0.1", port=api_port, clients={KEY: "portal"}),
        simulator_ports={"samsat": simulator_port},
        enabled_agencies=["samsat"],
        agencies={"samsat": {"base_url": f"http://127.0.0.1:{simulator_port}"}},
    )
    stop = asyncio.Event()
    task = asyncio.create_task(run_all(settings, stop))
    try:
        yield settings
    finally:
        stop.set()
        await asyncio.wait_for(task, 60)


async def test_a_case_is_one_trace_from_the_api_request_to_the_last_report(
    exporter: tuple[Tracing, InMemorySpanExporter], hub: Settings
) -> None:
    tracing, memory = exporter
    with suppress_http_instrumentation():  # the test is no traced portal: the API's span is the root
        view = await _submit_and_wait(
            hub,
            {
                "service": "samsat.pkb_annual",
                "applicant": {"nik": NIK, "name": NAME},
                "data": {"plate": "BA 1234 LZ", "vehicle_type": "car"},
            },
        )
    assert view["status"] == "COMPLETED", view
    tracing.flush()

    trace_id = view["trace_id"]
    assert trace_id is not None and len(trace_id) == 32
    spans = [s for s in memory.get_finished_spans() if f"{s.context.trace_id:032x}" == trace_id]
    by_id = {s.context.span_id: s for s in spans}
    assert all(s.parent is None or s.parent.span_id in by_id for s in spans), "every parent is in the same trace"

    api = _one(spans, "POST /v1/requests", SpanKind.SERVER, parent=None)
    publish_request = _one(spans, "send mpp.requests", SpanKind.PRODUCER, parent=api)
    route = _one(spans, "process mpp.requests", SpanKind.CONSUMER, parent=publish_request)
    publish_command = _one(spans, "send mpp.commands.samsat", SpanKind.PRODUCER, parent=route)
    execute = _one(spans, "process mpp.commands.samsat", SpanKind.CONSUMER, parent=publish_command)
    [agency_call] = [
        s
        for s in _children(spans, execute)
        if s.kind is SpanKind.CLIENT and ("http.request.method" in _attrs(s) or "http.method" in _attrs(s))
    ]
    report = _one(spans, "send mpp.events.samsat", SpanKind.PRODUCER, parent=execute)
    apply = _one(spans, "process mpp.events.samsat", SpanKind.CONSUMER, parent=report)

    assert str(_attrs(agency_call).get("url.full") or _attrs(agency_call).get("http.url")).startswith(
        f"http://127.0.0.1:{hub.simulator_ports['samsat']}"
    )
    for span, group in ((route, "mpp-router"), (execute, "mpp-adapter-samsat"), (apply, "mpp-router")):
        attributes = _attrs(span)
        assert attributes["messaging.system"] == "kafka"
        assert attributes["messaging.destination.name"] == span.name.removeprefix("process ")
        assert attributes["messaging.consumer.group.name"] == group
        assert attributes["messaging.kafka.message.key"] == view["id"]
        assert attributes["messaging.operation.type"] == "process"
    assert _attrs(publish_request)["messaging.operation.type"] == "send"
    assert "messaging.destination.partition.id" in _attrs(publish_request), "the send span ends at the broker's ack"
    assert any(_is_db(s) for s in _children(spans, api)) and any(_is_db(s) for s in _children(spans, route))

    everything = memory.get_finished_spans()
    for span in everything:
        text = repr(dict(span.attributes or {})) + repr([dict(e.attributes or {}) for e in span.events])
        assert NIK not in text and NAME not in text, f"personal data in span {span.name}"
    assert not [s for s in everything if _is_db(s) and s.parent is None], "idle database polls start no traces"


async def _submit_and_wait(settings: Settings, body: dict[str, Any], timeout: float = 90.0) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{settings.api.port}", headers={"Authorization": f"Bearer {KEY}"}) as client:
        deadline = time.monotonic() + timeout
        while True:
            try:
                if (await client.get("/healthz")).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the API never came up"
            await asyncio.sleep(0.1)
        accepted = await client.post("/v1/requests", json=body)
        assert accepted.status_code == 202, accepted.text
        while True:
            view: dict[str, Any] = (await client.get(f"/v1/requests/{accepted.json()['id']}")).json()
            if view["status"] in ("COMPLETED", "REJECTED", "FAILED"):
                return view
            assert time.monotonic() < deadline, f"case never finished: {view}"
            await asyncio.sleep(0.1)


def _attrs(span: ReadableSpan) -> dict[str, Any]:
    return dict(span.attributes or {})


def _children(spans: list[ReadableSpan], parent: ReadableSpan) -> list[ReadableSpan]:
    return [s for s in spans if s.parent is not None and s.parent.span_id == parent.context.span_id]


def _one(spans: list[ReadableSpan], name: str, kind: SpanKind, *, parent: ReadableSpan | None) -> ReadableSpan:
    found = [s for s in spans if s.name == name and s.kind is kind]
    assert len(found) == 1, f"{name}: {len(found)} spans; the trace has {sorted(s.name for s in spans)}"
    [span] = found
    if parent is None:
        assert span.parent is None, f"{name} should start the trace"
    else:
        assert span.parent is not None and span.parent.span_id == parent.context.span_id, f"{name} is not a child of {parent.name}"
    return span


def _is_db(span: ReadableSpan) -> bool:
    return any(key.startswith("db.") for key in _attrs(span))
