"""Specification of the stand-in backend of the SDK's testing kit
(adapters/sdk/testing/recording.py): one recording transport that adapter tests, the
hub's and a plug-in's alike, put behind an adapter or a simulator's callback client."""

from __future__ import annotations

import uuid
from typing import ClassVar

import httpx
import pytest

from adapters.sdk import BackendSettings
from adapters.sdk.http import HttpAdapter
from adapters.sdk.testing.recording import RecordingTransport, answer, fail_with, recorded_adapters
from schemas.lifecycle import Status
from schemas.messages import StepCommand, StepStatusReport


async def post(transport: RecordingTransport, body: object) -> httpx.Response:
    async with httpx.AsyncClient(transport=transport, base_url="http://agency.test") as client:
        return await client.post("/x", json=body)


async def test_every_request_is_recorded_with_its_body_and_answered_by_the_handler() -> None:
    backend = RecordingTransport(answer(201, {"nomor": "A-1"}, headers={"X-Replayed": "false"}))
    first, second = await post(backend, {"n": 1}), await post(backend, {"n": 2})
    assert [r.status_code for r in (first, second)] == [201, 201]
    assert (first.json(), first.headers["X-Replayed"]) == ({"nomor": "A-1"}, "false")
    assert [str(r.url) for r in backend.requests] == ["http://agency.test/x"] * 2
    assert backend.bodies() == [{"n": 1}, {"n": 2}]


async def test_queued_answers_come_first_one_per_request_then_the_handler() -> None:
    backend = RecordingTransport(answer(202), queue=[httpx.ConnectError("refused"), httpx.Response(503)])
    with pytest.raises(httpx.ConnectError):
        await post(backend, {})
    assert [(await post(backend, {})).status_code for _ in range(3)] == [503, 202, 202]
    assert len(backend.requests) == 4, "a refused connection is a request the backend saw"


async def test_a_request_nobody_said_how_to_answer_fails_the_test() -> None:
    backend = RecordingTransport(queue=[httpx.Response(200)])
    await post(backend, {})
    with pytest.raises(AssertionError, match="nothing left to answer POST http://agency.test/x"):
        await post(backend, {})


async def test_raw_answers_and_failures() -> None:
    assert (await post(RecordingTransport(answer(502, raw=b"<html>Bad Gateway</html>")), {})).content == b"<html>Bad Gateway</html>"
    with pytest.raises(httpx.ReadTimeout):
        await post(RecordingTransport(fail_with(httpx.ReadTimeout("slow"))), {})


class Probe(HttpAdapter):
    agency: ClassVar[str] = "probe"
    operations: ClassVar[frozenset[str]] = frozenset({"x"})

    async def execute(self, command: StepCommand, step_id: uuid.UUID) -> StepStatusReport:
        await self.send("POST", "/x", json={"step": str(step_id)})
        return StepStatusReport(status=Status.COMPLETED)

    async def aclose(self) -> None:
        self.closed = True
        await super().aclose()


async def test_recorded_adapters_each_get_their_own_transport_and_are_all_closed() -> None:
    def build(transport: RecordingTransport, timeout: float) -> Probe:
        return Probe(BackendSettings.model_validate({"base_url": "http://probe.test", "timeout_seconds": timeout}), transport=transport)

    async with recorded_adapters(build) as make:
        one, one_backend = make(answer(200), 1.5)
        two, two_backend = make(RecordingTransport(answer(200)), 2.5)
        await one.execute(None, uuid.UUID(int=1))  # type: ignore[arg-type]
    assert (one.settings.timeout_seconds, two.settings.timeout_seconds) == (1.5, 2.5)
    assert (one_backend.bodies(), two_backend.requests) == ([{"step": str(uuid.UUID(int=1))}], [])
    assert one.closed and two.closed
