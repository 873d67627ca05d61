"""`GET /v1/requests/{id}/events`: a case's history as server-sent events, on PostgreSQL.

The hub app runs in-process (its lifespan entered here) behind a real uvicorn socket,
so the stream is read as a portal reads it, event by event while the case moves.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub.api import events as events_api
from hub.api import webhooks
from hub.api.app import create_app
from hub.config import Settings
from hub.db.engine import create_engine, create_sessionmaker
from hub.db.models import Case, HistoryRecord, Step
from hub.domain.cases import record_refusal, transition
from schemas.lifecycle import Status
from support.serve import serve

NIK = "1375015203900007"
KEY_A, KEY_B = "key-a", "key-b"
EVENT_KEYS = {"event_id", "type", "occurred_at", "case", "step", "from_status", "to_status", "note"}


@dataclass
class Hub:
    base_url: str
    sessions: async_sessionmaker[AsyncSession]

    def client(self, key: str | None = KEY_A) -> httpx.AsyncClient:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.AsyncClient(base_url=self.base_url, headers=headers, timeout=10)

    async def submit(self, key: str = KEY_A) -> uuid.UUID:
        body = {
            "service": "samsat.pkb_annual",
            "applicant": {"nik": NIK, "name": "Siti"},
            "data": {"plate": "BA 1234 LZ", "vehicle_type": "car"},
        }
        async with self.client(key) as portal:
            response = await portal.post("/v1/requests", json=body)
        assert response.status_code == 202, response.text
        return uuid.UUID(response.json()["id"])

    async def move(self, case_id: uuid.UUID, *statuses: Status) -> None:
        async with self.sessions.begin() as session:
            case = await session.get(Case, case_id)
            assert case is not None
            for status in statuses:
                transition(session, case, status)

    async def add_step(self, case_id: uuid.UUID) -> uuid.UUID:
        async with self.sessions.begin() as session:
            step = Step(
                case_id=case_id,
                name="pay",
                service="samsat.pkb_annual",
                agency="samsat",
                operation="pkb_annual",
                status="SUBMITTED",
                inputs={},
            )
            session.add(step)
            await session.flush()
            return step.id

    async def move_step(self, step_id: uuid.UUID, status: Status) -> None:
        async with self.sessions.begin() as session:
            step = await session.get(Step, step_id)
            assert step is not None
            transition(session, step, status, note="samsat")

    async def history_ids(self, case_id: uuid.UUID) -> list[int]:
        async with self.sessions() as session:
            return list(
                (await session.scalars(select(HistoryRecord.id).where(HistoryRecord.case_id == case_id).order_by(HistoryRecord.id))).all()
            )


@pytest.fixture
async def hub(database_url: str) -> AsyncIterator[Hub]:
    settings = Settings.model_validate({"database_url": database_url, "api": {"clients": {KEY_A: "portal-a", KEY_B: "portal-b"}}})
    app = create_app(settings)
    app.include_router(webhooks.router)
    app.include_router(events_api.router)
    engine = create_engine(database_url)
    try:
        async with app.router.lifespan_context(app), serve(app) as base_url:
            yield Hub(base_url=base_url, sessions=create_sessionmaker(engine))
    finally:
        await engine.dispose()


async def sse(response: httpx.Response) -> AsyncIterator[dict[str, Any]]:
    """Parse a text/event-stream into blocks: {"id", "event", "data", "retry", "comments"}."""
    block: dict[str, Any] = {}
    async for line in response.aiter_lines():
        if line == "":
            if block:
                yield block
            block = {}
        elif line.startswith(":"):
            block.setdefault("comments", []).append(line[1:].strip())
        else:
            name, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            block[name] = block["data"] + "\n" + value if name == "data" and "data" in block else value
    if block:
        yield block


def events_only(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [b for b in blocks if "data" in b]


async def read_all(hub: Hub, case_id: uuid.UUID, headers: dict[str, str] | None = None) -> list[dict[str, Any]]:
    async with hub.client() as portal, portal.stream("GET", f"/v1/requests/{case_id}/events", headers=headers) as response:
        assert response.status_code == 200, await response.aread()
        async with asyncio.timeout(15):
            return [b async for b in sse(response)]


async def test_the_stream_follows_the_case_in_order_and_ends_when_it_is_terminal(hub: Hub) -> None:
    case_id = await hub.submit()
    step_id = await hub.add_step(case_id)
    received: list[dict[str, Any]] = []
    async with hub.client() as portal, portal.stream("GET", f"/v1/requests/{case_id}/events") as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        assert response.headers["cache-control"] == "no-cache"
        blocks = sse(response)
        async with asyncio.timeout(15):
            assert (await anext(blocks)) == {"retry": str(events_api.RETRY_MILLISECONDS)}
            received.append(await anext(blocks))  # SUBMITTED, already there when we connected
            # The case moves while we listen; a refused transition is no event.
            await hub.move_step(step_id, Status.ROUTED)
            await hub.move(case_id, Status.ROUTED)
            async with hub.sessions.begin() as session:
                step = await session.get(Step, step_id)
                assert step is not None
                record_refusal(session, step, Status.SUBMITTED, note="illegal", message_id=uuid.uuid4())
            await hub.move_step(step_id, Status.COMPLETED)
            await hub.move(case_id, Status.COMPLETED)
            received += [b async for b in blocks]  # ends by itself after COMPLETED
    history = await hub.history_ids(case_id)
    refusal = history[3]
    events = events_only(received)
    assert [int(e["id"]) for e in events] == [i for i in history if i != refusal]
    assert [e["event"] for e in events] == [
        "case.status_changed",
        "step.status_changed",
        "case.status_changed",
        "step.status_changed",
        "case.status_changed",
    ]
    bodies = [json.loads(e["data"]) for e in events]
    assert all(set(b) == EVENT_KEYS for b in bodies)
    assert [b["event_id"] for b in bodies] == [int(e["id"]) for e in events]
    assert [(b["to_status"], b["case"]["status"]) for b in bodies] == [
        ("SUBMITTED", "SUBMITTED"),
        ("ROUTED", "SUBMITTED"),
        ("ROUTED", "ROUTED"),
        ("COMPLETED", "ROUTED"),
        ("COMPLETED", "COMPLETED"),
    ]
    assert bodies[1]["step"]["id"] == str(step_id) and bodies[0]["step"] is None
    assert NIK not in "".join(e["data"] for e in events)


async def test_last_event_id_resumes_after_that_event(hub: Hub) -> None:
    case_id = await hub.submit()
    await hub.move(case_id, Status.ROUTED, Status.IN_PROCESS, Status.COMPLETED)
    history = await hub.history_ids(case_id)
    assert [int(e["id"]) for e in events_only(await read_all(hub, case_id))] == history
    resumed = events_only(await read_all(hub, case_id, headers={"Last-Event-ID": str(history[1])}))
    assert [int(e["id"]) for e in resumed] == history[2:]


async def test_a_terminal_case_with_nothing_left_answers_204(hub: Hub) -> None:
    """An EventSource stops reconnecting on 204, instead of reconnecting for ever."""
    case_id = await hub.submit()
    await hub.move(case_id, Status.CANCELLED)
    last = (await hub.history_ids(case_id))[-1]
    async with hub.client() as portal:
        response = await portal.get(f"/v1/requests/{case_id}/events", headers={"Last-Event-ID": str(last)})
    assert response.status_code == 204 and response.content == b""


async def test_an_idle_stream_sends_heartbeats(hub: Hub, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(events_api, "HEARTBEAT_SECONDS", 0.3)
    monkeypatch.setattr(events_api, "POLL_SECONDS", 0.05)
    case_id = await hub.submit()
    async with hub.client() as portal, portal.stream("GET", f"/v1/requests/{case_id}/events") as response:
        blocks = sse(response)
        async with asyncio.timeout(10):
            seen: list[dict[str, Any]] = []
            while not any("heartbeat" in b.get("comments", ()) for b in seen):
                seen.append(await anext(blocks))
            await hub.move(case_id, Status.REJECTED)
            rest = [b async for b in blocks]
    assert [e["event"] for e in events_only(seen + rest)] == ["case.status_changed", "case.status_changed"]
    assert json.loads(events_only(rest)[-1]["data"])["to_status"] == "REJECTED"


async def test_only_the_owning_client_may_listen(hub: Hub) -> None:
    case_id = await hub.submit(KEY_A)
    async with hub.client(KEY_B) as other, hub.client(None) as anonymous, hub.client() as portal:
        for response in (await other.get(f"/v1/requests/{case_id}/events"), await portal.get(f"/v1/requests/{uuid.uuid4()}/events")):
            assert response.status_code == 404
            assert response.headers["content-type"].startswith("application/problem+json")
            assert response.json()["code"] == "request_not_found"
        assert (await anonymous.get(f"/v1/requests/{case_id}/events")).status_code == 401
        bad = await portal.get(f"/v1/requests/{case_id}/events", headers={"Last-Event-ID": "abc"})
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "Last-Event-ID"
