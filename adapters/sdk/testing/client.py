"""Driving a simulator from tests: a client wired straight into the app, and its
control endpoints (``/_sim/knobs``, ``/_sim/ledger``)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
from fastapi import FastAPI

from adapters.sdk.base import Adapter
from schemas.messages import StepCommand, StepStatusReport

T = TypeVar("T")
A = TypeVar("A", bound=Adapter)


@asynccontextmanager
async def in_process(app: FastAPI, base_url: str = "http://simulator.test") -> AsyncIterator[httpx.AsyncClient]:
    """A client that calls ``app`` without a network. Such a transport never runs the
    app's lifespan, so the simulator's ledger is closed here afterwards."""
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=base_url) as client:
            yield client
    finally:
        app.state.runtime.ledger.close()


@asynccontextmanager
async def against_simulator(app: FastAPI, adapter: Callable[[httpx.AsyncBaseTransport], A]) -> AsyncIterator[A]:
    """The adapter ``adapter(transport)`` makes, talking to the simulator ``app`` without a
    network; both are closed afterwards (the transport never runs the app's lifespan)."""
    instance = adapter(httpx.ASGITransport(app=app))
    try:
        yield instance
    finally:
        await instance.aclose()
        app.state.runtime.ledger.close()


async def put_knobs(client: httpx.AsyncClient, **knobs: Any) -> httpx.Response:
    """Change some knobs (a partial PUT); the answer is the knobs as received, or a 422."""
    return await client.put("/_sim/knobs", json=knobs)


async def read_ledger(client: httpx.AsyncClient) -> dict[str, Any]:
    """``{"entries": [...], "applied": n, "replayed": n}``."""
    response = await client.get("/_sim/ledger")
    response.raise_for_status()
    return dict(response.json())


@dataclass
class Driver:
    """A test's handle on one simulator: its client and its control endpoints.
    Agencies' tests subclass it with their native calls."""

    client: httpx.AsyncClient

    async def knobs(self, **knobs: Any) -> httpx.Response:
        return await put_knobs(self.client, **knobs)

    async def ledger(self) -> dict[str, Any]:
        return await read_ledger(self.client)


def assert_replayed(
    first: httpx.Response, again: httpx.Response, ledger: Mapping[str, Any], *, header: str, key: str | None = None
) -> None:
    """``again`` repeated ``first`` under the same idempotency key: the stored reply came
    back word for word, marked with the replay ``header`` (which a fresh reply lacks), and
    the ledger (read afterwards) applied the request once and replayed it once."""
    assert (again.status_code, again.content) == (first.status_code, first.content)
    assert again.headers.get(header) == "true" and header not in first.headers
    assert (ledger["applied"], ledger["replayed"]) == (1, 1)
    if key is not None:
        assert ledger["entries"][0]["key"] == key


async def execute_twice(adapter: Adapter, command: StepCommand, step_id: uuid.UUID, control: httpx.AsyncClient) -> StepStatusReport:
    """A redelivered command against a simulator (``control`` is a client of it): executed
    twice under one step id, the adapter reports the same both times and the simulator
    applied it once, the second time replaying it under the step id as its key. Returns
    the report."""
    first = await adapter.execute(command, step_id)
    assert await adapter.execute(command, step_id) == first, "a redelivered command must report what the first did"
    ledger = await read_ledger(control)
    assert (ledger["applied"], ledger["replayed"], ledger["entries"][0]["key"]) == (1, 1, str(step_id))
    return first


async def poll_until(poll: Callable[[], Awaitable[T]], done: Callable[[T], bool], *, limit: int, what: str) -> T:
    """Poll (each poll moves a polled simulator's time on) until ``done``, at most ``limit`` times."""
    for _ in range(limit):
        answer = await poll()
        if done(answer):
            return answer
    raise AssertionError(f"{what} after {limit} polls")
