"""The API's limits and input hygiene, as an attacker meets them (issue 10, point 4).

The app runs in-process on a fresh PostgreSQL database per test, like the portal API's
own specification (test_api_requests.py); no Kafka is needed.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from adapters.sdk.callbacks import sign
from deploy.kafka.local_kafka import free_ports
from hub.api.app import create_app
from hub.config import Settings
from hub.runtime.processes import serve_asgi

PORTAL, OTHER, OPERATOR = "portal-key-" + "p" * 32, "other-key-" + "o" * 32, "operator-key-" + "x" * 32
POLRI_SECRET = "polri-callback-secret-" + "s" * 20
PROBLEM_JSON = "application/problem+json"
NIK = "1375015203900007"


def pkb(**applicant: str) -> dict[str, Any]:
    return {
        "service": "samsat.pkb_annual",
        "applicant": {"nik": NIK, "name": "Siti Rahmawati", **applicant},
        "data": {"plate": "BA 1234 LZ", "vehicle_type": "car"},
    }


def settings(database_url: str, env: str = "development", **api: Any) -> Settings:
    return Settings.model_validate(
        {
            "env": env,
            "database_url": database_url,
            "enabled_agencies": ["samsat", "polri"],
            "agencies": {"polri": {"callback_secret": POLRI_SECRET}},
            "api": {"clients": {PORTAL: "portal", OTHER: "other"}, "operator_keys": {OPERATOR: "ops"}, **api},
        }
    )


@contextlib.asynccontextmanager
async def running(app_settings: Settings) -> AsyncIterator[FastAPI]:
    app = create_app(app_settings)
    async with app.router.lifespan_context(app):
        yield app


def client(app: FastAPI, key: str | None = PORTAL, address: str = "203.0.113.7") -> httpx.AsyncClient:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://hub", headers=headers)


def assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    problem: dict[str, Any] = response.json()
    assert problem["code"] == code, problem
    return problem


@pytest.fixture
async def app(database_url: str) -> AsyncIterator[FastAPI]:
    async with running(settings(database_url)) as running_app:
        yield running_app


# --- body size ------------------------------------------------------------------------------


class CountingBody:
    """A chunked body (no Content-Length) that counts how much of it the server pulled."""

    def __init__(self, total: int, chunk: int = 64 * 1024) -> None:
        self.total, self.chunk, self.sent = total, chunk, 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while self.sent < self.total:
            self.sent += self.chunk
            yield b"{" + b" " * (self.chunk - 1) if self.sent == self.chunk else b" " * self.chunk


async def test_a_declared_oversized_body_is_refused_before_it_is_read(app: FastAPI) -> None:
    body = CountingBody(30 * 1024 * 1024)
    async with client(app) as portal:
        response = await portal.post("/v1/requests", content=body, headers={"Content-Length": str(body.total)})
    problem = assert_problem(response, 413, "body_too_large")
    assert "262144 bytes" in problem["title"]
    assert body.sent <= body.chunk, f"{body.sent} bytes were read"


async def test_a_chunked_oversized_body_is_cut_off_at_the_cap(app: FastAPI) -> None:
    body = CountingBody(30 * 1024 * 1024)
    async with client(app) as portal:
        response = await portal.post("/v1/requests", content=body, headers={"Content-Type": "application/json"})
    assert_problem(response, 413, "body_too_large")
    assert body.sent <= 256 * 1024 + body.chunk, f"{body.sent} bytes were read"


async def test_the_unauthenticated_callback_endpoint_has_the_same_cap(app: FastAPI) -> None:
    body = CountingBody(21 * 1024 * 1024)
    async with client(app, key=None) as agency:
        response = await agency.post(f"/v1/callbacks/polri/{uuid.uuid4()}", content=body)
    assert_problem(response, 413, "body_too_large")
    assert body.sent <= 256 * 1024 + body.chunk


async def test_the_cap_is_configurable(database_url: str) -> None:
    async with running(settings(database_url, max_body_bytes=2048)) as small, client(small) as portal:
        response = await portal.post("/v1/requests", json=pkb(name="x" * 3000))
    assert_problem(response, 413, "body_too_large")


# --- error lists ----------------------------------------------------------------------------


async def test_thousands_of_unknown_keys_give_fifty_errors_and_a_count(app: FastAPI) -> None:
    request = pkb()
    request["data"] |= {f"k{i}": 1 for i in range(5000)}
    async with client(app) as portal:
        response = await portal.post("/v1/requests", json=request)
    problem = assert_problem(response, 422, "validation_error")
    assert len(problem["errors"]) == 50
    assert problem["error_count"] == 5000
    assert len(response.content) < 20_000


# --- rate limits ----------------------------------------------------------------------------


async def test_one_address_is_limited_even_with_wrong_keys(database_url: str) -> None:
    async with running(settings(database_url, rate_limit_per_address=5)) as limited:
        async with client(limited, key="guess") as attacker:
            answers = [(await attacker.get(f"/v1/requests/{uuid.uuid4()}")).status_code for _ in range(7)]
        async with client(limited, address="198.51.100.9") as elsewhere:
            assert (await elsewhere.get("/v1/webhooks")).status_code == 200
        async with client(limited, key="guess") as attacker:
            refused = await attacker.get("/v1/webhooks")
    assert answers == [401] * 5 + [429] * 2
    assert_problem(refused, 429, "rate_limited")
    assert 1 <= int(refused.headers["Retry-After"]) <= 60


async def test_one_principal_is_limited_across_addresses(database_url: str) -> None:
    async with running(settings(database_url, rate_limit_per_principal=3)) as limited:
        statuses = []
        for index in range(4):
            async with client(limited, address=f"198.51.100.{index + 1}") as portal:
                statuses.append((await portal.get("/v1/webhooks")).status_code)
        async with client(limited, key=OTHER) as other:
            assert (await other.get("/v1/webhooks")).status_code == 200, "another client keeps its own budget"
        async with client(limited, key=OPERATOR) as ops:
            assert (await ops.get("/v1/operator/dead-letters")).status_code == 200
    assert statuses == [200, 200, 200, 429]


async def test_the_limit_holds_across_api_processes(database_url: str) -> None:
    """Two API instances on one database share the count (a load balancer alternating between them)."""
    limited = settings(database_url, rate_limit_per_address=4)
    async with running(limited) as first, running(limited) as second:
        statuses = []
        for index in range(6):
            async with client(first if index % 2 else second, key=OPERATOR) as ops:
                statuses.append((await ops.get("/v1/operator/dead-letters")).status_code)
    assert statuses == [200, 200, 200, 200, 429, 429]


async def test_callbacks_are_limited_per_source_address(database_url: str) -> None:
    async with running(settings(database_url, rate_limit_per_address=2)) as limited, client(limited, key=None) as agency:
        statuses = [(await agency.post(f"/v1/callbacks/polri/{uuid.uuid4()}", content=b"{}")).status_code for _ in range(3)]
    assert statuses == [401, 401, 429]


async def test_health_checks_are_never_limited(database_url: str) -> None:
    async with running(settings(database_url, rate_limit_per_address=1)) as limited, client(limited) as probe:
        assert [(await probe.get("/healthz")).status_code for _ in range(3)] == [200, 200, 200]


# --- event streams --------------------------------------------------------------------------


async def test_a_client_may_hold_only_so_many_event_streams(database_url: str) -> None:
    port = free_ports(1)[0]
    app = create_app(settings(database_url, max_event_streams_per_client=2))
    stop = asyncio.Event()
    server = asyncio.create_task(serve_asgi(app, "127.0.0.1", port, stop))
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {PORTAL}"}) as portal:
            for _ in range(50):
                with contextlib.suppress(httpx.TransportError):
                    if (await portal.get("/healthz")).status_code == 200:
                        break
                await asyncio.sleep(0.1)
            case_id = (await portal.post("/v1/requests", json=pkb())).json()["id"]
            path = f"/v1/requests/{case_id}/events"
            async with portal.stream("GET", path) as first, portal.stream("GET", path) as second:
                assert (first.status_code, second.status_code) == (200, 200)
                third = await portal.get(path)
                assert_problem(third, 429, "too_many_event_streams")
                assert third.headers["Retry-After"]
                async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {OTHER}"}) as other:
                    assert (await other.get(path)).status_code == 404, "another client's count is its own"
            for _ in range(50):  # closed streams are given back
                async with portal.stream("GET", path) as again:
                    if again.status_code == 200:
                        break
                await asyncio.sleep(0.1)
            assert again.status_code == 200
    finally:
        stop.set()
        await server


# --- integers, control characters -----------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/v1/operator/dead-letters/2147483648", "dead_letter_id"),
        ("/v1/operator/dead-letters/9223372036854775808/replay", "dead_letter_id"),
        ("/v1/operator/dead-letters?cursor=2147483648", "cursor"),
        ("/v1/operator/dead-letters?cursor=%C2%B2", "cursor"),
        ("/v1/operator/dead-letters?cursor=99999999999999999999", "cursor"),
    ],
)
async def test_integers_beyond_their_column_are_a_422(app: FastAPI, path: str, field: str) -> None:
    async with client(app, key=OPERATOR) as ops:
        response = await (ops.post(path) if path.endswith("/replay") else ops.get(path))
    problem = assert_problem(response, 422, "validation_error")
    assert field in {e["field"] for e in problem["errors"]}


async def test_webhook_and_event_ids_are_bounded(app: FastAPI) -> None:
    async with client(app) as portal:
        hook = await portal.post("/v1/webhooks", json={"url": "http://93.184.216.34/hook"})
        assert hook.status_code == 201, hook.text
        deliveries = await portal.get(f"/v1/webhooks/{hook.json()['id']}/deliveries", params={"before_event_id": 2**31})
        case_id = (await portal.post("/v1/requests", json=pkb())).json()["id"]
        events = await portal.get(f"/v1/requests/{case_id}/events", headers={"Last-Event-ID": str(2**31)})
    assert "before_event_id" in {e["field"] for e in assert_problem(deliveries, 422, "validation_error")["errors"]}
    assert "Last-Event-ID" in {e["field"] for e in assert_problem(events, 422, "validation_error")["errors"]}


async def test_text_with_control_characters_is_a_422_naming_the_field(app: FastAPI) -> None:
    async with client(app) as portal:
        webhook = await portal.post("/v1/webhooks", json={"url": "http://93.184.216.34/hook", "description": "a\x00b"})
        case_id = (await portal.post("/v1/requests", json=pkb())).json()["id"]
        cancel = await portal.post(f"/v1/requests/{case_id}/cancel", json={"reason": "salah\x00input"})
        submit = await portal.post("/v1/requests", json=pkb(name="Siti\x00"))
        still = (await portal.get(f"/v1/requests/{case_id}")).json()["status"]
    assert {e["field"] for e in assert_problem(webhook, 422, "validation_error")["errors"]} == {"description"}
    assert {e["field"] for e in assert_problem(cancel, 422, "validation_error")["errors"]} == {"reason"}
    assert {e["field"] for e in assert_problem(submit, 422, "validation_error")["errors"]} == {"applicant.name"}
    assert still == "SUBMITTED"
    async with client(app, key=OPERATOR) as ops:
        query = await ops.get("/v1/operator/dead-letters", params={"topic": "mpp\x00requests"})
        note = await ops.post("/v1/operator/dead-letters/1/resolve", params={"note": "ok\x00"})
    assert {e["field"] for e in assert_problem(query, 422, "validation_error")["errors"]} == {"topic"}
    assert {e["field"] for e in assert_problem(note, 422, "validation_error")["errors"]} == {"note"}


async def test_a_signed_callback_with_control_characters_is_a_422(app: FastAPI) -> None:
    step_id = uuid.uuid4()
    body = b'{"status": "SELESAI\\u0000"}'
    async with client(app, key=None) as agency:
        response = await agency.post(
            f"/v1/callbacks/polri/{step_id}",
            content=body,
            headers={"Content-Type": "application/json", "X-Callback-Signature": sign(POLRI_SECRET, step_id, body)},
        )
    assert_problem(response, 422, "validation_error")


# --- headers, docs, https-only webhooks -----------------------------------------------------


async def test_responses_with_personal_data_are_not_stored_and_never_sniffed(app: FastAPI) -> None:
    async with client(app) as portal:
        case_id = (await portal.post("/v1/requests", json=pkb())).json()["id"]
        case = await portal.get(f"/v1/requests/{case_id}")
        health = await portal.get("/healthz")
    assert case.headers["Cache-Control"] == "no-store"
    assert case.headers["X-Content-Type-Options"] == "nosniff"
    assert case.headers["Content-Security-Policy"] == "default-src 'none'; frame-ancestors 'none'"
    assert health.headers["X-Content-Type-Options"] == "nosniff"


async def test_docs_can_be_switched_off(database_url: str) -> None:
    async with running(settings(database_url, docs=False)) as closed, client(closed) as portal:
        assert [(await portal.get(p)).status_code for p in ("/docs", "/redoc", "/openapi.json")] == [404, 404, 404]
    async with running(settings(database_url)) as open_, client(open_) as portal:
        assert (await portal.get("/openapi.json")).status_code == 200


async def test_production_sends_webhooks_over_https_only(database_url: str) -> None:
    production = settings(database_url, env="production")
    assert production.webhooks.https_only is True
    async with running(production) as app, client(app) as portal:
        plain = await portal.post("/v1/webhooks", json={"url": "http://93.184.216.34/hook"})
        tls = await portal.post("/v1/webhooks", json={"url": "https://93.184.216.34/hook"})
    assert {e["type"] for e in assert_problem(plain, 422, "validation_error")["errors"]} == {"url_scheme"}
    assert tls.status_code == 201
