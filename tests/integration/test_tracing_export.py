"""Separate processes, configured only by the standard OTEL_* variables, export one
trace per case over OTLP/HTTP: the API's, the relay's, the router's and the adapter's
spans of a case share its trace id and link up parent to child."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass

from fastapi import FastAPI, Request, Response
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest, ExportTraceServiceResponse

from support.serve import serve
from support.stack import HubStack, pkb_request


@dataclass(frozen=True)
class Received:
    service: str
    name: str
    trace_id: str
    span_id: str
    parent_id: str


def collector(received: list[Received]) -> FastAPI:
    """The OTLP/HTTP traces endpoint of a collector, keeping what it is sent."""
    app = FastAPI()

    @app.post("/v1/traces")
    async def traces(request: Request) -> Response:
        message = ExportTraceServiceRequest()
        message.ParseFromString(await request.body())
        for resource_spans in message.resource_spans:
            service = next(a.value.string_value for a in resource_spans.resource.attributes if a.key == "service.name")
            for scope_spans in resource_spans.scope_spans:
                received.extend(
                    Received(service, s.name, s.trace_id.hex(), s.span_id.hex(), s.parent_span_id.hex()) for s in scope_spans.spans
                )
        return Response(ExportTraceServiceResponse().SerializeToString(), media_type="application/x-protobuf")

    return app


async def test_every_process_exports_its_spans_of_a_case_into_one_trace(
    hub_stack: Callable[..., AbstractAsyncContextManager[HubStack]],
) -> None:
    received: list[Received] = []
    async with serve(collector(received)) as endpoint:
        otel = {"OTEL_EXPORTER_OTLP_ENDPOINT": endpoint, "OTEL_BSP_SCHEDULE_DELAY": "100"}
        async with hub_stack(extra_env=otel) as stack:
            async with stack.client() as client:
                accepted = await client.post("/v1/requests", json=pkb_request("1375015203900007", "BA 1234 LZ"))
            case = (await stack.wait_terminal([accepted.json()["id"]], timeout=60))[accepted.json()["id"]]
            assert case["status"] == "COMPLETED"

            wanted = {"POST /v1/requests", "send mpp.requests", "process mpp.requests", "send mpp.commands.samsat"}
            wanted |= {"process mpp.commands.samsat", "send mpp.events.samsat", "process mpp.events.samsat"}
            deadline = time.monotonic() + 30
            while not wanted <= {r.name for r in received if r.trace_id == case["trace_id"]}:
                assert time.monotonic() < deadline, sorted({(r.service, r.name) for r in received})
                await asyncio.sleep(0.2)

    spans = [r for r in received if r.trace_id == case["trace_id"]]
    services = {r.name: r.service for r in spans if r.name in wanted}
    assert services == {
        "POST /v1/requests": "mpp-hub-api",
        "send mpp.requests": "mpp-hub-relay",
        "process mpp.requests": "mpp-hub-router",
        "send mpp.commands.samsat": "mpp-hub-relay",
        "process mpp.commands.samsat": "mpp-hub-adapter:samsat",
        "send mpp.events.samsat": "mpp-hub-adapter:samsat",
        "process mpp.events.samsat": "mpp-hub-router",
    }
    ids = {r.span_id for r in spans}
    [root] = [r for r in spans if not r.parent_id]
    assert root.name == "POST /v1/requests"
    assert all(r.parent_id in ids for r in spans if r is not root), "every span's parent is in the trace"
