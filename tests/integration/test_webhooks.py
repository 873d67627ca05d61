"""Portal webhooks, end to end on PostgreSQL: registration (and its SSRF guard), fan-out
from the history table, signed delivery to a real HTTP receiver with retries, order
per subscription, and two dispatchers side by side.

The hub API runs in-process; receivers are tiny FastAPI apps served by uvicorn on a
free local port, so deliveries cross a real socket. Time is a fake clock handed to
the dispatcher, so backoff is checked exactly and without sleeping.
"""

from __future__ import annotations

import asyncio
import json
import socket
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request, Response
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from deploy.kafka.local_kafka import free_ports
from hub.api import events as events_api
from hub.api import webhooks
from hub.api.app import create_app
from hub.config import Settings, WebhookSettings
from hub.db.engine import create_engine, create_sessionmaker
from hub.db.models import Case, HistoryRecord, Step
from hub.domain.cases import record_refusal, transition
from hub.features.notifications import urls
from hub.features.notifications.dispatcher import WebhookDispatcher
from hub.features.notifications.models import NotificationCursor, WebhookDelivery
from hub.features.notifications.signing import verify_webhook
from schemas.lifecycle import Status
from support.serve import serve

NIK = "1375015203900007"
NAME = "Siti Rahmawati"
KEY_A, KEY_B = "key-a", "key-b"
PUBLIC_URL = "https://93.184.216.34/mpp-hook"  # a literal public address: no DNS needed, never called
PROBLEM_JSON = "application/problem+json"


def pkb() -> dict[str, Any]:
    return {"service": "samsat.pkb_annual", "applicant": {"nik": NIK, "name": NAME}, "data": {"plate": "BA 1234 LZ", "vehicle_type": "car"}}


# ---------------------------------------------------------------------------
# The hub, a fake clock, and receivers
# ---------------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@dataclass
class Hub:
    app: FastAPI
    settings: Settings
    sessions: async_sessionmaker[AsyncSession]
    clock: Clock = field(default_factory=Clock)

    def client(self, key: str | None) -> httpx.AsyncClient:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app), base_url="http://hub", headers=headers)

    def dispatcher(self, **kwargs: Any) -> WebhookDispatcher:
        tuning = {k: kwargs.pop(k) for k in list(kwargs) if k in WebhookSettings.model_fields}
        return WebhookDispatcher(self.sessions, self.settings.webhooks.model_copy(update=tuning), clock=self.clock, **kwargs)

    async def submit(self, key: str = KEY_A) -> uuid.UUID:
        async with self.client(key) as portal:
            response = await portal.post("/v1/requests", json=pkb())
        assert response.status_code == 202, response.text
        return uuid.UUID(response.json()["id"])

    async def subscribe(self, url: str, key: str = KEY_A) -> dict[str, Any]:
        async with self.client(key) as portal:
            response = await portal.post("/v1/webhooks", json={"url": url, "description": "test"})
        assert response.status_code == 201, response.text
        return dict(response.json())

    async def move(self, case_id: uuid.UUID, *statuses: Status, note: str | None = None) -> None:
        async with self.sessions.begin() as session:
            case = await session.get(Case, case_id)
            assert case is not None
            for status in statuses:
                transition(session, case, status, note=note)

    async def add_step(self, case_id: uuid.UUID, name: str = "pay") -> uuid.UUID:
        async with self.sessions.begin() as session:
            step = Step(
                case_id=case_id,
                name=name,
                service="samsat.pkb_annual",
                agency="samsat",
                operation="pkb_annual",
                status=Status.SUBMITTED.value,
                inputs={},
            )
            session.add(step)
            await session.flush()
            return step.id

    async def move_step(self, step_id: uuid.UUID, status: Status, note: str | None = None) -> None:
        async with self.sessions.begin() as session:
            step = await session.get(Step, step_id)
            assert step is not None
            transition(session, step, status, note=note)

    async def history_ids(self, case_id: uuid.UUID) -> list[int]:
        async with self.sessions() as session:
            return list(
                (await session.scalars(select(HistoryRecord.id).where(HistoryRecord.case_id == case_id).order_by(HistoryRecord.id))).all()
            )

    async def deliveries(self, subscription_id: str | uuid.UUID | None = None) -> list[WebhookDelivery]:
        query = select(WebhookDelivery).order_by(WebhookDelivery.subscription_id, WebhookDelivery.event_id)
        if subscription_id is not None:
            query = query.where(WebhookDelivery.subscription_id == uuid.UUID(str(subscription_id)))
        async with self.sessions() as session:
            return list((await session.scalars(query)).all())


@asynccontextmanager
async def running_hub(database_url: str, allow_private_targets: bool) -> AsyncIterator[Hub]:
    settings = Settings.model_validate(
        {
            "env": "development",  # plain http receivers; production's https-only rule is tested on its own
            "database_url": database_url,
            "api": {"clients": {KEY_A: "portal-a", KEY_B: "portal-b"}},
            "webhooks": {"allow_private_targets": allow_private_targets},
        }
    )
    app = create_app(settings)
    app.include_router(webhooks.router)
    app.include_router(events_api.router)
    engine = create_engine(database_url)
    try:
        async with app.router.lifespan_context(app):
            yield Hub(app=app, settings=settings, sessions=create_sessionmaker(engine))
    finally:
        await engine.dispose()


@pytest.fixture
async def hub(database_url: str) -> AsyncIterator[Hub]:
    """Private targets allowed (development), so local receivers can be registered."""
    async with running_hub(database_url, allow_private_targets=True) as running:
        yield running


@pytest.fixture
async def strict_hub(database_url: str) -> AsyncIterator[Hub]:
    """Production rules: only public targets."""
    async with running_hub(database_url, allow_private_targets=False) as running:
        yield running


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    status: int

    @property
    def event_id(self) -> int:
        return int(self.headers["x-mpp-event-id"])

    @property
    def json(self) -> dict[str, Any]:
        return dict(json.loads(self.body))


class Receiver:
    """A portal's webhook endpoint. ``failures[(path, event_id)]`` = how many times to answer 500 first."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.failures: dict[tuple[str, int], int] = {}
        self.delay_seconds = 0.0
        self.app = FastAPI()

        @self.app.post("/{path}")
        async def hook(path: str, request: Request) -> Response:
            body = await request.body()
            event_id = int(request.headers["x-mpp-event-id"])
            if self.delay_seconds:
                await asyncio.sleep(self.delay_seconds)
            status = 200
            if self.failures.get((path, event_id), 0) > 0:
                self.failures[(path, event_id)] -= 1
                status = 500
            self.received.append(Received(path, dict(request.headers), body, status))
            return Response(status_code=status)

    def events(self, path: str) -> list[int]:
        return [r.event_id for r in self.received if r.path == path]


@pytest.fixture
async def receiver() -> AsyncIterator[tuple[Receiver, str]]:
    r = Receiver()
    async with serve(r.app) as base_url:
        yield r, base_url


def assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    problem = dict(response.json())
    assert (problem["status"], problem["code"]) == (status, code), problem
    return problem


# ---------------------------------------------------------------------------
# The API: subscriptions, secrets, isolation between clients, URL rules
# ---------------------------------------------------------------------------


class TestSubscriptions:
    async def test_the_secret_is_shown_once_and_never_listed(self, strict_hub: Hub) -> None:
        created = await strict_hub.subscribe(PUBLIC_URL)
        assert set(created) == {"id", "url", "description", "secret", "created_at"}
        assert created["url"] == PUBLIC_URL and created["secret"].startswith("whsec_")
        async with strict_hub.client(KEY_A) as portal:
            listed = (await portal.get("/v1/webhooks")).json()
            one = (await portal.get(f"/v1/webhooks/{created['id']}")).json()
        assert listed == [{k: v for k, v in created.items() if k != "secret"}]
        assert "secret" not in one and one["id"] == created["id"]

    async def test_a_client_never_sees_another_clients_webhooks(self, strict_hub: Hub) -> None:
        mine = await strict_hub.subscribe(PUBLIC_URL, KEY_A)
        theirs = await strict_hub.subscribe(PUBLIC_URL + "/b", KEY_B)
        async with strict_hub.client(KEY_B) as other:
            assert [w["id"] for w in (await other.get("/v1/webhooks")).json()] == [theirs["id"]]
            for response in (
                await other.get(f"/v1/webhooks/{mine['id']}"),
                await other.get(f"/v1/webhooks/{mine['id']}/deliveries"),
                await other.delete(f"/v1/webhooks/{mine['id']}"),
            ):
                assert_problem(response, 404, "webhook_not_found")
        async with strict_hub.client(KEY_A) as portal:
            assert (await portal.get(f"/v1/webhooks/{mine['id']}")).status_code == 200  # untouched

    async def test_deleting_a_webhook(self, strict_hub: Hub) -> None:
        created = await strict_hub.subscribe(PUBLIC_URL)
        async with strict_hub.client(KEY_A) as portal:
            assert (await portal.delete(f"/v1/webhooks/{created['id']}")).status_code == 204
            assert (await portal.get("/v1/webhooks")).json() == []
            assert_problem(await portal.get(f"/v1/webhooks/{created['id']}/deliveries"), 404, "webhook_not_found")
            assert_problem(await portal.delete(f"/v1/webhooks/{created['id']}"), 404, "webhook_not_found")
            assert_problem(await portal.delete(f"/v1/webhooks/{uuid.uuid4()}"), 404, "webhook_not_found")

    async def test_a_bearer_key_is_required(self, strict_hub: Hub) -> None:
        async with strict_hub.client(None) as anonymous:
            assert_problem(await anonymous.post("/v1/webhooks", json={"url": PUBLIC_URL}), 401, "unauthenticated")
            assert_problem(await anonymous.get("/v1/webhooks"), 401, "unauthenticated")

    @pytest.mark.parametrize(
        ("url", "code", "words"),
        [
            ("http://127.0.0.1:8000/hook", "url_address_not_public", "loopback"),
            ("http://10.20.30.40/hook", "url_address_not_public", "private"),
            ("http://169.254.169.254/latest/meta-data", "url_address_not_public", "link-local"),
            ("http://[::1]/hook", "url_address_not_public", "loopback"),
            ("http://localhost:8000/hook", "url_address_not_public", "'localhost' is not a public address"),
            ("ftp://93.184.216.34/hook", "url_scheme", "http or https"),
            ("https://user:secret@93.184.216.34/hook", "url_credentials", "credentials"),
        ],
    )
    async def test_unsafe_urls_are_refused_naming_url(self, strict_hub: Hub, url: str, code: str, words: str) -> None:
        async with strict_hub.client(KEY_A) as portal:
            response = await portal.post("/v1/webhooks", json={"url": url})
            assert (await portal.get("/v1/webhooks")).json() == []
        problem = assert_problem(response, 422, "validation_error")
        assert {e["field"] for e in problem["errors"]} == {"url"}
        assert code in {e["type"] for e in problem["errors"]}
        assert any(words in e["message"] for e in problem["errors"]), problem
        assert "secret" not in url or "secret" not in response.text  # the credentials are not echoed

    async def test_a_hostname_resolving_to_a_private_address_is_refused(self, strict_hub: Hub, monkeypatch: pytest.MonkeyPatch) -> None:
        fake_dns(monkeypatch, {"hooks.portal.example": "10.9.8.7"})
        async with strict_hub.client(KEY_A) as portal:
            response = await portal.post("/v1/webhooks", json={"url": "https://hooks.portal.example/mpp"})
        problem = assert_problem(response, 422, "validation_error")
        assert problem["errors"][0]["message"] == "the host 'hooks.portal.example' is not a public address; webhooks must target one"
        assert "10.9.8.7" not in response.text

    async def test_private_targets_are_allowed_in_development(self, hub: Hub) -> None:
        created = await hub.subscribe("http://127.0.0.1:9/hook")
        assert created["url"] == "http://127.0.0.1:9/hook"


def fake_dns(monkeypatch: pytest.MonkeyPatch, table: dict[str, str]) -> None:
    """Make ``socket.getaddrinfo`` answer for these names (others resolve for real)."""
    real = socket.getaddrinfo

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host in table:
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (table[host], int(port or 0)))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(urls.socket, "getaddrinfo", getaddrinfo)


# ---------------------------------------------------------------------------
# Fan-out: history rows -> deliveries for the owning client's subscriptions
# ---------------------------------------------------------------------------


class TestFanOut:
    async def test_only_the_owning_clients_subscriptions_get_deliveries(self, strict_hub: Hub) -> None:
        a1 = await strict_hub.subscribe(PUBLIC_URL + "/1", KEY_A)
        a2 = await strict_hub.subscribe(PUBLIC_URL + "/2", KEY_A)
        b1 = await strict_hub.subscribe(PUBLIC_URL + "/3", KEY_B)
        case_a = await strict_hub.submit(KEY_A)
        await strict_hub.move(case_a, Status.ROUTED)
        case_b = await strict_hub.submit(KEY_B)
        async with strict_hub.dispatcher() as dispatcher:
            assert await dispatcher.fan_out() == 2 * 2 + 1
            assert await dispatcher.fan_out() == 0  # the cursor moved with the rows
        ids_a, ids_b = await strict_hub.history_ids(case_a), await strict_hub.history_ids(case_b)
        rows = await strict_hub.deliveries()
        by_sub = {
            str(s): sorted((d.case_id, d.event_id) for d in rows if str(d.subscription_id) == s) for s in {a1["id"], a2["id"], b1["id"]}
        }
        assert by_sub[a1["id"]] == by_sub[a2["id"]] == [(case_a, i) for i in ids_a]
        assert by_sub[b1["id"]] == [(case_b, i) for i in ids_b]
        async with strict_hub.sessions() as session:
            cursor = await session.get(NotificationCursor, "webhooks")
        assert cursor is not None and cursor.last_history_id == max(ids_a + ids_b)
        # Each client reads only its own log.
        async with strict_hub.client(KEY_A) as portal:
            log = (await portal.get(f"/v1/webhooks/{a1['id']}/deliveries")).json()
        assert [(d["event_id"], d["case_id"], d["status"], d["attempts"]) for d in log] == [
            (i, str(case_a), "pending", 0) for i in reversed(ids_a)
        ]

    async def test_a_new_subscription_starts_with_the_next_event(self, strict_hub: Hub) -> None:
        case_id = await strict_hub.submit()
        sub = await strict_hub.subscribe(PUBLIC_URL)
        await strict_hub.move(case_id, Status.ROUTED)
        async with strict_hub.dispatcher() as dispatcher:
            assert await dispatcher.fan_out() == 1
        assert [d.event_id for d in await strict_hub.deliveries(sub["id"])] == (await strict_hub.history_ids(case_id))[1:]

    async def test_event_bodies_types_and_no_personal_data(self, strict_hub: Hub) -> None:
        sub = await strict_hub.subscribe(PUBLIC_URL)
        case_id = await strict_hub.submit()
        step_id = await strict_hub.add_step(case_id)
        await strict_hub.move_step(step_id, Status.ROUTED, note="to samsat")
        await strict_hub.move(case_id, Status.ROUTED)
        await strict_hub.move_step(step_id, Status.IN_PROCESS, note=f"samsat: E12: no record for NIK {NIK}")
        await strict_hub.move_step(step_id, Status.IN_PROCESS, note="SLA breached: due 2025-01-02")
        async with strict_hub.sessions.begin() as session:
            step = await session.get(Step, step_id)
            assert step is not None
            record_refusal(session, step, Status.ROUTED, note="illegal transition", message_id=uuid.uuid4())
        async with strict_hub.dispatcher() as dispatcher:
            assert await dispatcher.fan_out() == 5  # the refusal is an audit entry, not an event
        bodies = [json.loads(d.body) for d in await strict_hub.deliveries(sub["id"])]
        assert [(b["type"], b["from_status"], b["to_status"], b["case"]["status"]) for b in bodies] == [
            ("case.status_changed", None, "SUBMITTED", "SUBMITTED"),
            ("step.status_changed", "SUBMITTED", "ROUTED", "SUBMITTED"),  # the case as of that moment
            ("case.status_changed", "SUBMITTED", "ROUTED", "ROUTED"),
            ("step.status_changed", "ROUTED", "IN_PROCESS", "ROUTED"),
            ("case.sla_breached", "IN_PROCESS", "IN_PROCESS", "ROUTED"),
        ]
        first, step_event = bodies[0], bodies[1]
        assert set(first) == {"event_id", "type", "occurred_at", "case", "step", "from_status", "to_status", "note"}
        assert first["case"] == {"id": str(case_id), "service": "samsat.pkb_annual", "status": "SUBMITTED"} and first["step"] is None
        assert step_event["step"] == {
            "id": str(step_id),
            "name": "pay",
            "service": "samsat.pkb_annual",
            "agency": "samsat",
            "status": "ROUTED",
        }
        assert bodies[3]["note"] == "samsat: E12: no record for NIK [redacted]"
        raw = "".join(d.body for d in await strict_hub.deliveries(sub["id"]))
        assert NIK not in raw and NAME not in raw and "BA 1234" not in raw

    async def test_a_hole_in_history_ids_is_waited_for_then_passed(self, strict_hub: Hub) -> None:
        """An id allocated but not yet committed must not be skipped by the cursor; one
        that never appears (rolled back) must not stop fan-out for ever."""
        sub = await strict_hub.subscribe(PUBLIC_URL)
        case_id = await strict_hub.submit()
        [first] = await strict_hub.history_ids(case_id)
        async with strict_hub.sessions.begin() as session:  # id first+1 is "in flight"
            session.add(HistoryRecord(id=first + 2, case_id=case_id, from_status="SUBMITTED", to_status="ROUTED"))
        async with strict_hub.dispatcher(gap_grace_seconds=10) as dispatcher:
            assert await dispatcher.fan_out() == 1
            strict_hub.clock.advance(9)
            assert await dispatcher.fan_out() == 0
            strict_hub.clock.advance(2)
            assert await dispatcher.fan_out() == 1
        assert [d.event_id for d in await strict_hub.deliveries(sub["id"])] == [first, first + 2]


# ---------------------------------------------------------------------------
# Delivery: signed POSTs, retries with backoff, order, failure, refusal
# ---------------------------------------------------------------------------


async def drain(hub: Hub, *dispatchers: WebhookDispatcher, step_seconds: float = 3600, rounds: int = 30) -> None:
    """Run delivery rounds, moving the clock on, until nothing is pending."""
    for _ in range(rounds):
        await asyncio.gather(*(d.deliver_due() for d in dispatchers))
        if not [d for d in await hub.deliveries() if d.status == "pending"]:
            return
        hub.clock.advance(step_seconds)
    raise AssertionError("deliveries still pending")


class TestDelivery:
    async def test_a_failing_receiver_gets_the_event_on_the_third_attempt(self, hub: Hub, receiver: tuple[Receiver, str]) -> None:
        r, base_url = receiver
        sub = await hub.subscribe(f"{base_url}/hook")
        case_id = await hub.submit()
        [event_id] = await hub.history_ids(case_id)
        r.failures[("hook", event_id)] = 2
        async with hub.dispatcher(backoff_base_seconds=1, backoff_cap_seconds=3600) as dispatcher:
            assert await dispatcher.fan_out() == 1
            started = hub.clock()
            assert await dispatcher.deliver_due() == 1
            [log] = await self.log(hub, sub)
            assert (log["attempts"], log["status"], log["last_status_code"]) == (1, "pending", 500)
            assert log["last_error"].startswith("HTTP 500")
            assert log["next_attempt_at"] == _iso(started + timedelta(seconds=1))
            assert await dispatcher.deliver_due() == 0  # not due yet
            hub.clock.advance(1)
            assert await dispatcher.deliver_due() == 1
            [log] = await self.log(hub, sub)
            assert (log["attempts"], log["status"]) == (2, "pending")
            assert log["next_attempt_at"] == _iso(started + timedelta(seconds=1 + 2))  # doubled
            hub.clock.advance(2)
            assert await dispatcher.deliver_due() == 1
        [log] = await self.log(hub, sub)
        assert (log["attempts"], log["status"], log["last_status_code"], log["last_error"]) == (3, "delivered", 200, None)
        assert log["delivered_at"] == _iso(hub.clock()) and log["next_attempt_at"] is None
        assert log["event_id"] == event_id and log["event_type"] == "case.status_changed" and log["case_id"] == str(case_id)

        assert [x.status for x in r.received] == [500, 500, 200]
        bodies = {x.body for x in r.received}
        assert len(bodies) == 1  # every retry is the same event, byte for byte
        for attempt in r.received:
            headers = attempt.headers
            assert headers["x-mpp-event-id"] == str(event_id)
            assert headers["x-mpp-delivery-id"] == log["id"]
            assert headers["x-mpp-event"] == "case.status_changed"
            assert headers["content-type"] == "application/json"
            assert headers["host"] == base_url.removeprefix("http://")
        last = r.received[-1]
        assert verify_webhook(sub["secret"], last.body, last.headers["x-mpp-signature"], now=hub.clock().timestamp()) == int(
            hub.clock().timestamp()
        )
        assert last.json["event_id"] == event_id and last.json["case"]["status"] == "SUBMITTED"

    async def test_events_of_one_subscription_are_sent_in_order(self, hub: Hub, receiver: tuple[Receiver, str]) -> None:
        r, base_url = receiver
        await hub.subscribe(f"{base_url}/flaky")
        await hub.subscribe(f"{base_url}/healthy")
        case_id = await hub.submit()
        await hub.move(case_id, Status.ROUTED)
        await hub.move(case_id, Status.IN_PROCESS)
        e1, e2, e3 = await hub.history_ids(case_id)
        r.failures[("flaky", e1)] = 2
        async with hub.dispatcher() as dispatcher:
            assert await dispatcher.fan_out() == 6
            await dispatcher.deliver_due()
            # One per subscription per round: the healthy one is not held up by the flaky one,
            # and the flaky one's e2 waits for its e1.
            assert (r.events("flaky"), r.events("healthy")) == ([e1], [e1])
            await drain(hub, dispatcher)
        assert r.events("flaky") == [e1, e1, e1, e2, e3]
        assert r.events("healthy") == [e1, e2, e3]

    async def test_a_finally_failed_event_lets_the_next_one_go(self, hub: Hub, receiver: tuple[Receiver, str]) -> None:
        r, base_url = receiver
        sub = await hub.subscribe(f"{base_url}/hook")
        case_id = await hub.submit()
        await hub.move(case_id, Status.ROUTED)
        e1, e2 = await hub.history_ids(case_id)
        r.failures[("hook", e1)] = 99
        async with hub.dispatcher(max_attempts=3) as dispatcher:
            await dispatcher.fan_out()
            await drain(hub, dispatcher)
        assert r.events("hook") == [e1, e1, e1, e2]
        log = {d["event_id"]: d for d in await self.log(hub, sub)}
        assert (log[e1]["status"], log[e1]["attempts"], log[e1]["next_attempt_at"]) == ("failed", 3, None)
        assert (log[e2]["status"], log[e2]["attempts"]) == ("delivered", 1)

    async def test_backoff_doubles_and_is_capped(self, hub: Hub) -> None:
        async with hub.dispatcher(backoff_base_seconds=1, backoff_cap_seconds=3600) as dispatcher:
            assert [dispatcher.backoff(n) for n in (1, 2, 3, 4, 12, 13, 30)] == [1, 2, 4, 8, 2048, 3600, 3600]

    async def test_a_timeout_is_an_attempt_that_will_be_retried(self, hub: Hub, receiver: tuple[Receiver, str]) -> None:
        r, base_url = receiver
        sub = await hub.subscribe(f"{base_url}/hook")
        await hub.submit()
        r.delay_seconds = 1.5
        async with hub.dispatcher(timeout_seconds=0.3) as dispatcher:
            await dispatcher.fan_out()
            assert await dispatcher.deliver_due() == 1
        [log] = await self.log(hub, sub)
        assert (log["status"], log["attempts"], log["last_status_code"]) == ("pending", 1, None)
        assert log["last_error"] == "timed out after 0.3s"

    async def test_an_unreachable_receiver_is_retried(self, hub: Hub) -> None:
        port = free_ports(1)[0]  # nobody listens there
        sub = await hub.subscribe(f"http://127.0.0.1:{port}/hook")
        await hub.submit()
        async with hub.dispatcher() as dispatcher:
            await dispatcher.fan_out()
            await dispatcher.deliver_due()
        [log] = await self.log(hub, sub)
        assert (log["status"], log["attempts"]) == ("pending", 1)
        assert log["last_error"].startswith("could not connect: 127.0.0.1")

    async def test_a_host_that_rebinds_to_a_private_address_is_refused_at_delivery(
        self, strict_hub: Hub, receiver: tuple[Receiver, str], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        r, base_url = receiver
        port = base_url.rsplit(":", 1)[1]
        fake_dns(monkeypatch, {"hooks.portal.example": "93.184.216.34"})
        sub = await strict_hub.subscribe(f"http://hooks.portal.example:{port}/hook")  # public when registered
        await strict_hub.submit()
        fake_dns(monkeypatch, {"hooks.portal.example": "127.0.0.1"})  # ... and now points inside
        async with strict_hub.dispatcher() as dispatcher:
            await dispatcher.fan_out()
            assert await dispatcher.deliver_due() == 1
        assert r.received == []
        [log] = await self.log(strict_hub, sub)
        assert (log["status"], log["attempts"], log["next_attempt_at"]) == ("failed", 1, None)
        assert log["last_error"] == ("refused: the host 'hooks.portal.example' is not a public address; webhooks must target one")

    async def test_deliveries_of_a_deleted_webhook_are_never_sent(self, hub: Hub, receiver: tuple[Receiver, str]) -> None:
        r, base_url = receiver
        sub = await hub.subscribe(f"{base_url}/hook")
        case_id = await hub.submit()
        await hub.move(case_id, Status.ROUTED)
        async with hub.dispatcher() as dispatcher:
            assert await dispatcher.fan_out() == 2
            async with hub.client(KEY_A) as portal:
                assert (await portal.delete(f"/v1/webhooks/{sub['id']}")).status_code == 204
            await hub.move(case_id, Status.IN_PROCESS)
            assert await dispatcher.fan_out() == 0
            assert await dispatcher.deliver_due() == 0
        assert r.received == []
        assert {(d.status, d.last_error) for d in await hub.deliveries(sub["id"])} == {("failed", "subscription deleted")}

    async def test_two_dispatchers_send_each_event_once_and_in_order(self, hub: Hub, receiver: tuple[Receiver, str]) -> None:
        r, base_url = receiver
        await hub.subscribe(f"{base_url}/one")
        await hub.subscribe(f"{base_url}/two")
        cases = [await hub.submit() for _ in range(3)]
        for case_id in cases:
            await hub.move(case_id, Status.ROUTED)
            await hub.move(case_id, Status.IN_PROCESS)
        expected = sorted([i for c in cases for i in await hub.history_ids(c)])
        r.failures[("one", expected[2])] = 1
        async with hub.dispatcher(batch_size=4) as first, hub.dispatcher(batch_size=4) as second:
            created = 0
            for _ in range(5):
                created += sum(await asyncio.gather(first.fan_out(), second.fan_out()))
            assert created == 2 * len(expected)
            await drain(hub, first, second)
        assert [x.event_id for x in r.received if x.path == "one" and x.status == 200] == expected
        assert r.events("two") == expected

    async def test_run_fans_out_and_delivers_until_stopped(self, hub: Hub, receiver: tuple[Receiver, str]) -> None:
        """The loop as the relay process runs it: real clock, real backoff (shortened)."""
        r, base_url = receiver
        await hub.subscribe(f"{base_url}/hook")
        case_id = await hub.submit()
        await hub.move(case_id, Status.ROUTED)
        e1, e2 = await hub.history_ids(case_id)
        r.failures[("hook", e1)] = 1
        stop = asyncio.Event()
        dispatcher = WebhookDispatcher(
            hub.sessions, hub.settings.webhooks.model_copy(update={"backoff_base_seconds": 0.05, "poll_seconds": 0.02})
        )
        task = asyncio.create_task(dispatcher.run(stop))
        try:
            async with asyncio.timeout(10):
                while [x.event_id for x in r.received if x.status == 200] != [e1, e2]:
                    await asyncio.sleep(0.02)
        finally:
            stop.set()
            await asyncio.wait_for(task, 5)
        assert r.events("hook") == [e1, e1, e2]

    @staticmethod
    async def log(hub: Hub, sub: dict[str, Any]) -> list[dict[str, Any]]:
        async with hub.client(KEY_A) as portal:
            response = await portal.get(f"/v1/webhooks/{sub['id']}/deliveries")
        assert response.status_code == 200, response.text
        return list(response.json())


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


class TestDeliveryLogQuery:
    async def test_filter_and_page(self, strict_hub: Hub) -> None:
        sub = await strict_hub.subscribe(PUBLIC_URL)
        case_id = await strict_hub.submit()
        await strict_hub.move(case_id, Status.ROUTED, Status.IN_PROCESS)
        ids = await strict_hub.history_ids(case_id)
        async with strict_hub.dispatcher() as dispatcher:
            await dispatcher.fan_out()
        async with strict_hub.client(KEY_A) as portal:
            page = (await portal.get(f"/v1/webhooks/{sub['id']}/deliveries", params={"limit": 2})).json()
            rest = (await portal.get(f"/v1/webhooks/{sub['id']}/deliveries", params={"before_event_id": page[-1]["event_id"]})).json()
            none = (await portal.get(f"/v1/webhooks/{sub['id']}/deliveries", params={"status": "delivered"})).json()
            bad = await portal.get(f"/v1/webhooks/{sub['id']}/deliveries", params={"status": "lost"})
        assert [d["event_id"] for d in page + rest] == list(reversed(ids))
        assert none == []
        assert assert_problem(bad, 422, "validation_error")["errors"][0]["field"] == "status"
