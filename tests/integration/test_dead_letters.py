"""Dead letters an operator can trust, over the real broker and PostgreSQL.

Records the router cannot process are put straight onto ``mpp.requests``; the router
dead-letters them, the archiver stores them with where they came from and why, the
operator API lists and shows them (NIKs masked), and a replay goes back through the
outbox to the original topic. A poison record that keeps coming back is quarantined
and needs force; every action and refusal is in the audit trail.

The router, outbox relay and archiver run in-process, each test on a broker and a
database of its own, so no other test's dead letters reach these tables.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from typer.testing import CliRunner

from hub.api import operator as operator_api
from hub.api.app import create_app
from hub.config import Settings, get_settings, load_catalogue
from hub.db.engine import create_engine, create_sessionmaker
from hub.db.models import Case, OutboxMessage, Step
from hub.domain.cases import load_case
from hub.domain.workflow import make_workflow
from hub.features.deadletters import run_archiver
from hub.features.deadletters.cli import dlq_app
from hub.features.deadletters.models import DeadLetter, DeadLetterAudit
from hub.runtime.processes import prepare_topics
from hub.runtime.relay import OutboxRelay
from hub.runtime.router import run_router
from messaging import create_producer, envelope_headers
from schemas import topics
from schemas.envelope import Envelope, MessageType, new_traceparent
from schemas.lifecycle import Status
from schemas.messages import RequestSubmitted

NIK = "1375015203900007"
MASKED_NIK = "1375**********07"
OPERATOR_KEY, PORTAL_KEY = "op-key", "portal-key"
PROBLEM_JSON = "application/problem+json"
MAX_REPLAYS = 3


def dlq_settings(**values: Any) -> Settings:
    """The settings this feature reads: an operator key and the loop guard's limit."""
    settings = Settings.model_validate(values)
    settings.api.operator_keys = {OPERATOR_KEY: "ops-ani"}
    settings.dlq.max_replays = MAX_REPLAYS
    return settings


@dataclass
class Hub:
    settings: Settings
    app: FastAPI
    sessions: async_sessionmaker[AsyncSession]
    producer: AIOKafkaProducer

    def client(self, key: str | None = OPERATOR_KEY) -> httpx.AsyncClient:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app), base_url="http://hub", headers=headers)

    async def inject(self, value: bytes, *, key: bytes, headers: list[tuple[str, bytes]] | None = None) -> tuple[int, int]:
        """Put a record straight onto mpp.requests; returns its (partition, offset)."""
        metadata = await self.producer.send_and_wait(topics.REQUESTS, value=value, key=key, headers=headers or [])
        return metadata.partition, metadata.offset

    async def dead_letters(self, **where: Any) -> list[DeadLetter]:
        query = select(DeadLetter).filter_by(**where).order_by(DeadLetter.id)
        async with self.sessions() as session:
            return list((await session.scalars(query)).all())

    async def wait_dead_letters(self, count: int, timeout: float = 30.0, **where: Any) -> list[DeadLetter]:
        deadline = time.monotonic() + timeout
        while len(rows := await self.dead_letters(**where)) < count:
            assert time.monotonic() < deadline, f"only {len(rows)} of {count} dead letters archived"
            await asyncio.sleep(0.1)
        return rows

    async def audit(self, dead_letter_id: int) -> list[tuple[str, str, str]]:
        async with self.sessions() as session:
            rows = (
                await session.scalars(
                    select(DeadLetterAudit).where(DeadLetterAudit.dead_letter_id == dead_letter_id).order_by(DeadLetterAudit.id)
                )
            ).all()
            return [(r.actor, r.action, r.result) for r in rows]


@asynccontextmanager
async def running_hub(bootstrap: str, database_url: str) -> AsyncIterator[Hub]:
    settings = dlq_settings(
        database_url=database_url, kafka={"bootstrap": bootstrap, "partitions": 2}, api={"clients": {PORTAL_KEY: "portal"}}
    )
    catalogue = load_catalogue(settings)
    await prepare_topics(settings, catalogue)
    engine = create_engine(database_url)
    sessions = create_sessionmaker(engine)
    stop = asyncio.Event()
    relay_producer, producer = create_producer(settings.kafka), create_producer(settings.kafka)
    await relay_producer.start()
    await producer.start()
    tasks = [
        asyncio.create_task(run_router(sessions, make_workflow(settings.sla, catalogue), settings.kafka, stop)),
        asyncio.create_task(OutboxRelay(sessions, relay_producer).run(stop)),
        asyncio.create_task(run_archiver(settings, sessions, stop)),
    ]
    app = create_app(settings, sessions=sessions)
    if not any(getattr(r, "path", "").startswith("/v1/operator") for r in app.routes):
        app.include_router(operator_api.router)
    try:
        async with app.router.lifespan_context(app):
            yield Hub(settings=settings, app=app, sessions=sessions, producer=producer)
    finally:
        stop.set()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        await producer.stop()
        await relay_producer.stop()
        await engine.dispose()
    for result in results:
        if isinstance(result, BaseException):
            raise result


@pytest.fixture
async def hub(own_kafka: str, new_database: Callable[[], Awaitable[str]]) -> AsyncIterator[Hub]:
    async with running_hub(own_kafka, await new_database()) as running:
        yield running


def submitted(case_id: uuid.UUID) -> Envelope:
    body = RequestSubmitted.model_validate(
        {
            "service": "samsat.pkb_annual",
            "applicant": {"nik": NIK, "name": "Siti Rahmawati"},
            "data": {"plate": "BA 1234 LZ", "vehicle_type": "car"},
        }
    )
    return Envelope(request_id=case_id, type=MessageType.REQUEST_SUBMITTED, source="api", payload=body.model_dump(mode="json"))


def schema_invalid(case_id: uuid.UUID) -> bytes:
    """Valid JSON, carrying a NIK, with a message type nobody knows."""
    return json.dumps(
        {"request_id": str(case_id), "type": "request.teleport", "source": "test", "payload": {"applicant": {"nik": NIK}}}
    ).encode()


POISON = b"\x00\x01 not an envelope, not even JSON"


async def create_case(hub: Hub, envelope: Envelope) -> None:
    """What the API would have stored had it not been lost: the case row, after the fact."""
    async with hub.sessions.begin() as session:
        session.add(
            Case(
                id=envelope.request_id,
                client_id="portal",
                request_hash="0" * 64,
                service=envelope.payload["service"],
                kind="single",
                status=Status.SUBMITTED.value,
                applicant=envelope.payload["applicant"],
                data=envelope.payload["data"],
                outputs={},
            )
        )


async def wait_case_routed(hub: Hub, case_id: uuid.UUID, timeout: float = 30.0) -> Case:
    deadline = time.monotonic() + timeout
    while True:
        async with hub.sessions() as session:
            case = await load_case(session, case_id)
        if case is not None and case.status != Status.SUBMITTED:
            return case
        assert time.monotonic() < deadline, "the replayed request was never routed"
        await asyncio.sleep(0.1)


async def replay(hub: Hub, dead_letter_id: int, *, force: bool = False) -> httpx.Response:
    async with hub.client() as ops:
        return await ops.post(f"/v1/operator/dead-letters/{dead_letter_id}/replay", params={"force": "true"} if force else {})


# ---------------------------------------------------------------------------
# Archive, browse, show, replay what was fixed
# ---------------------------------------------------------------------------


async def test_dead_letters_are_archived_browsable_masked_and_a_fixed_one_replays(hub: Hub) -> None:
    fixable = submitted(uuid.uuid4())
    origin = {
        "poison": await hub.inject(POISON, key=b"poison", headers=[("mpp-correlation-id", b"corr-poison")]),
        "invalid": await hub.inject(schema_invalid(uuid.uuid4()), key=b"invalid"),
        "fixable": await hub.inject(
            fixable.to_bytes(),
            key=fixable.key,
            headers=envelope_headers(fixable, correlation_id="corr-fixable", traceparent=new_traceparent()),
        ),
    }

    rows = await hub.wait_dead_letters(3)

    by_origin = {(r.original_partition, r.original_offset): r for r in rows}
    assert set(by_origin) == set(origin.values()), "each record archived once, with its original position"
    poison, invalid, fixed = (by_origin[origin[name]] for name in ("poison", "invalid", "fixable"))
    for row in rows:
        assert (row.original_topic, row.consumer, row.error_class, row.status) == (topics.REQUESTS, "router", "PoisonMessage", "new")
        assert not any(name.startswith("dlq.") for name, _ in row.headers)
    assert poison.value == POISON and poison.correlation_id == "corr-poison"
    assert "json_invalid" in poison.error_message
    assert "type" in invalid.error_message and NIK not in invalid.error_message
    assert "is not in the database" in fixed.error_message and fixed.correlation_id == "corr-fixable"

    async with hub.client() as ops:
        listed = await ops.get("/v1/operator/dead-letters")
        first = await ops.get("/v1/operator/dead-letters", params={"limit": 2})
        second = await ops.get("/v1/operator/dead-letters", params={"limit": 2, "cursor": first.json()["next_cursor"]})
        none_quarantined = await ops.get("/v1/operator/dead-letters", params={"status": "quarantined"})
        other_topic = await ops.get("/v1/operator/dead-letters", params={"topic": topics.events("samsat")})
        shown_invalid = await ops.get(f"/v1/operator/dead-letters/{invalid.id}")
        shown_poison = await ops.get(f"/v1/operator/dead-letters/{poison.id}")
        missing = await ops.get("/v1/operator/dead-letters/999999")

    assert listed.status_code == 200, listed.text
    assert [i["id"] for i in listed.json()["items"]] == sorted((r.id for r in rows), reverse=True), "newest first"
    assert listed.json()["next_cursor"] is None
    assert len(first.json()["items"]) == 2 and len(second.json()["items"]) == 1 and second.json()["next_cursor"] is None
    assert {i["id"] for i in first.json()["items"] + second.json()["items"]} == {r.id for r in rows}
    assert none_quarantined.json()["items"] == [] and other_topic.json()["items"] == []

    assert shown_invalid.status_code == 200
    assert NIK not in shown_invalid.text, "a NIK never leaves the operator API whole"
    assert shown_invalid.json()["value"]["encoding"] == "json"
    assert json.loads(shown_invalid.json()["value"]["text"])["payload"]["applicant"]["nik"] == MASKED_NIK
    assert shown_poison.json()["value"]["encoding"] == "base64"
    assert base64.b64decode(shown_poison.json()["value"]["text"]) == POISON
    assert {"name": "mpp-correlation-id", "value": "corr-poison"} in shown_poison.json()["headers"]
    assert missing.status_code == 404 and missing.headers["content-type"] == PROBLEM_JSON

    # The operator creates what was missing, then replays: the router now routes it.
    await create_case(hub, fixable)
    response = await replay(hub, fixed.id)

    assert response.status_code == 200, response.text
    assert response.json() == {"id": fixed.id, "outcome": "replayed", "status": "replayed", "replay_count": 1, "replay_header": 1}
    case = await wait_case_routed(hub, fixable.request_id)
    assert case.status == Status.ROUTED
    async with hub.sessions() as session:
        steps = (await session.scalars(select(Step).where(Step.case_id == case.id))).all()
        command = await session.scalar(
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.topic == topics.commands("samsat"))
        )
    assert [s.status for s in steps] == [Status.ROUTED] and command == 1
    [after] = await hub.dead_letters(id=fixed.id)
    assert (after.status, after.replay_count) == ("replayed", 1) and after.last_replayed_at is not None
    assert len(await hub.dead_letters()) == 3, "the replayed request did not dead-letter again"
    async with hub.client() as ops:
        audit = (await ops.get(f"/v1/operator/dead-letters/{fixed.id}/audit")).json()
    assert [(e["actor"], e["action"], e["result"]) for e in audit] == [("archiver", "archive", "new"), ("ops-ani", "replay", "replayed")]


async def test_only_operator_keys_open_the_operator_api(hub: Hub) -> None:
    path = "/v1/operator/dead-letters"
    async with hub.client(PORTAL_KEY) as portal, hub.client(None) as anonymous, hub.client("guess") as stranger:
        answers = {
            "portal list": await portal.get(path),
            "portal replay": await portal.post(f"{path}/1/replay"),
            "portal bulk": await portal.post(f"{path}/replay"),
            "anonymous": await anonymous.get(path),
            "unknown key": await stranger.get(path),
        }
    assert {name: r.status_code for name, r in answers.items()} == {
        "portal list": 403,
        "portal replay": 403,
        "portal bulk": 403,
        "anonymous": 401,
        "unknown key": 401,
    }
    assert {r.headers["content-type"] for r in answers.values()} == {PROBLEM_JSON}
    assert answers["portal list"].json()["code"] == "forbidden"


# ---------------------------------------------------------------------------
# The loop guard
# ---------------------------------------------------------------------------


async def test_poison_that_keeps_coming_back_is_quarantined_and_needs_force(hub: Hub) -> None:
    await hub.inject(POISON, key=b"poison", headers=[("mpp-correlation-id", b"corr-loop")])
    [current] = await hub.wait_dead_letters(1)

    for round_ in range(1, MAX_REPLAYS + 1):
        assert (current.status, current.incoming_replay_count) == ("new", round_ - 1)
        response = await replay(hub, current.id)
        assert response.status_code == 200, response.text
        assert response.json()["replay_header"] == round_
        current = (await hub.wait_dead_letters(round_ + 1))[-1]  # it bounced back

    assert (current.status, current.incoming_replay_count) == ("quarantined", MAX_REPLAYS)
    assert current.value == POISON and current.correlation_id == "corr-loop"
    assert [h for h in current.headers if h[0] == "mpp-correlation-id"] == [["mpp-correlation-id", "corr-loop"]]

    refused = await replay(hub, current.id)
    assert refused.status_code == 409 and refused.headers["content-type"] == PROBLEM_JSON
    assert refused.json()["code"] == "replay_refused" and "force" in refused.json()["detail"]
    [unchanged] = await hub.dead_letters(id=current.id)
    assert (unchanged.status, unchanged.replay_count) == ("quarantined", 0)

    forced = await replay(hub, current.id, force=True)
    assert forced.status_code == 200 and forced.json()["replay_header"] == MAX_REPLAYS + 1
    bounced = (await hub.wait_dead_letters(MAX_REPLAYS + 2))[-1]
    assert (bounced.status, bounced.incoming_replay_count) == ("quarantined", MAX_REPLAYS + 1)

    assert await hub.audit(current.id) == [
        ("archiver", "archive", "quarantined"),
        ("ops-ani", "replay", "refused"),
        ("ops-ani", "replay", "replayed"),
    ]
    async with hub.sessions() as session:
        sent = (await session.scalars(select(OutboxMessage).where(OutboxMessage.topic == topics.REQUESTS).order_by(OutboxMessage.id))).all()
    assert [m.headers["dlq.replay.count"] for m in sent] == ["1", "2", "3", "4"]
    assert all(m.value == POISON and m.headers["mpp-correlation-id"] == "corr-loop" and m.sent_at is not None for m in sent)
    assert all(not k.startswith("dlq.") or k == "dlq.replay.count" for m in sent for k in m.headers)


# ---------------------------------------------------------------------------
# Bulk replay: API and CLI
# ---------------------------------------------------------------------------


def cli(hub: Hub, *args: str) -> Any:
    """`mpp-hub dlq ...` against the test database (in a thread: it runs its own event loop)."""
    get_settings.cache_clear()
    try:
        return CliRunner().invoke(dlq_app, list(args), env={"MPP_DATABASE_URL": hub.settings.database_url})
    finally:
        get_settings.cache_clear()


async def test_bulk_replay_by_filter_reports_counts_and_audits_each(hub: Hub) -> None:
    for n in range(3):
        await hub.inject(POISON + bytes([n]), key=b"poison")
    await hub.inject(schema_invalid(uuid.uuid4()), key=b"invalid")
    rows = await hub.wait_dead_letters(4)
    [resolved] = [r for r in rows if r.value == POISON + b"\x00"]
    async with hub.client() as ops:
        assert (
            await ops.post(f"/v1/operator/dead-letters/{resolved.id}/resolve", params={"note": "known test garbage"})
        ).status_code == 200

        bulk = await ops.post("/v1/operator/dead-letters/replay", params={"topic": topics.REQUESTS})
        assert bulk.status_code == 200, bulk.text
        assert bulk.json() == {"matched": 3, "replayed": 3, "refused": 0, "skipped": 0}, "only the new ones; the resolved one is left alone"

        await hub.wait_dead_letters(7)  # all three bounced back, as new dead letters
        resolved_again = await ops.post("/v1/operator/dead-letters/replay", params={"status": "resolved"})
        assert resolved_again.json() == {"matched": 1, "replayed": 0, "refused": 1, "skipped": 0}

    assert await hub.audit(resolved.id) == [
        ("archiver", "archive", "new"),
        ("ops-ani", "resolve", "resolved"),
        ("ops-ani", "replay", "refused"),
    ]
    for row in rows:
        if row.id != resolved.id:
            assert await hub.audit(row.id) == [("archiver", "archive", "new"), ("ops-ani", "replay", "replayed")]

    # The CLI: list, show (masked), and replay --all with the same filters.
    listed = await asyncio.to_thread(cli, hub, "list", "--status", "new", "--topic", topics.REQUESTS)
    assert listed.exit_code == 0, listed.output
    assert len([line for line in listed.output.splitlines() if " new " in line]) == 3
    bounced = await hub.dead_letters(status="new")
    [invalid_bounce] = [r for r in bounced if (r.value or b"").startswith(b"{")]
    shown = await asyncio.to_thread(cli, hub, "show", str(invalid_bounce.id))
    assert shown.exit_code == 0, shown.output
    assert NIK not in shown.output and MASKED_NIK in shown.output

    replayed = await asyncio.to_thread(cli, hub, "replay", "--all", "--topic", topics.REQUESTS, "--consumer", "router")
    assert replayed.exit_code == 0, replayed.output
    assert "matched 3, replayed 3, refused 0, skipped 0" in replayed.output
    for row in bounced:
        actor, action, result = (await hub.audit(row.id))[-1]
        assert actor.startswith("cli") and (action, result) == ("replay", "replayed")
    assert len(await hub.dead_letters(status="replayed")) == 6

    refused = await asyncio.to_thread(cli, hub, "replay", str(resolved.id))
    assert refused.exit_code == 2 and "refused" in refused.output
    assert (await hub.audit(resolved.id))[-1][1:] == ("replay", "refused")
