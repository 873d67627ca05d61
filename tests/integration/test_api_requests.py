"""The portal API, `POST /v1/requests` and `GET /v1/requests/{id}`, as a specification.

The app runs in-process on a fresh, migrated PostgreSQL database per test; it needs no
Kafka, because the outbox relay publishes later. What the API promised is checked in
the tables themselves (cases, history, outbox), not only in its responses.
"""

from __future__ import annotations

import asyncio
import copy
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from hub.api.app import create_app
from hub.config import Settings
from hub.db.engine import create_engine
from hub.db.models import Case, HistoryRecord, OutboxMessage
from schemas import topics
from schemas.envelope import Envelope, Headers, MessageType

NIK = "1375015203900007"  # Bukittinggi, woman born 12-03-1990
PLATE = "BA 1234 LZ"
PORTAL_KEY, OTHER_KEY = "k1", "k2"
PROBLEM_JSON = "application/problem+json"


def pkb(nik: str = NIK, plate: str = PLATE, vehicle_type: str = "car", name: str = "Siti Rahmawati") -> dict[str, Any]:
    return {"service": "samsat.pkb_annual", "applicant": {"nik": nik, "name": name}, "data": {"plate": plate, "vehicle_type": vehicle_type}}


# ---------------------------------------------------------------------------
# Fixtures and helpers
# ---------------------------------------------------------------------------


@pytest.fixture
async def app(database_url: str) -> AsyncIterator[FastAPI]:
    app = create_app(
        Settings.model_validate({"database_url": database_url, "api": {"clients": {PORTAL_KEY: "portal", OTHER_KEY: "other"}}})
    )
    async with app.router.lifespan_context(app):
        yield app


def _client(app: FastAPI, key: str | None) -> httpx.AsyncClient:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://hub", headers=headers)


@pytest.fixture
async def portal(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """The portal client (bearer ``k1``)."""
    async with _client(app, PORTAL_KEY) as client:
        yield client


@pytest.fixture
async def other_portal(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A second portal client (bearer ``k2``)."""
    async with _client(app, OTHER_KEY) as client:
        yield client


@pytest.fixture
async def anonymous(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with _client(app, None) as client:
        yield client


@dataclass
class Tables:
    """Reads the hub's tables directly, to check what a response claims."""

    engine: AsyncEngine

    async def count(self, model: type[Any]) -> int:
        async with self.engine.connect() as connection:
            return (await connection.execute(select(func.count()).select_from(model))).scalar_one()

    async def counts(self) -> tuple[int, int, int]:
        """(cases, history, outbox) row counts."""
        return await self.count(Case), await self.count(HistoryRecord), await self.count(OutboxMessage)

    async def rows(self, statement: Any) -> list[Any]:
        async with self.engine.connect() as connection:
            return list((await connection.execute(statement)).all())

    async def cases(self) -> list[Case]:
        """Cases as the hub reads them: their sealed personal fields opened (hub/features/privacy/at_rest.py)."""
        async with AsyncSession(self.engine) as session:
            return list(await session.scalars(select(Case)))


@pytest.fixture
async def tables(database_url: str) -> AsyncIterator[Tables]:
    engine = create_engine(database_url)
    try:
        yield Tables(engine)
    finally:
        await engine.dispose()


def assert_problem(
    response: httpx.Response, status: int, code: str, *, field: str | None = None, type: str | None = None
) -> dict[str, Any]:
    """The response is an RFC 9457 problem with this status and code; with ``field``,
    one of its errors names that field (and has ``type``, if given)."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON), response.headers
    problem = response.json()
    assert (problem["status"], problem["code"]) == (status, code), problem
    assert problem["type"].endswith(f"/{code}") and problem["title"], problem
    if field is not None:
        named = [e for e in problem["errors"] if e["field"] == field]
        assert named, f"no error names {field!r}: {problem['errors']}"
        if type is not None:
            assert type in {e["type"] for e in named}, named
    return problem


def assert_no_nik_echo(response: httpx.Response, nik: str) -> None:
    """Neither the NIK nor any 8-digit run of it (e.g. its birth date and serial) is
    in the body: a NIK is personal data and error bodies end up in portal logs."""
    bare = "".join(c for c in nik if c.isdigit())
    assert nik not in response.text, response.text
    for start in range(len(bare) - 7):
        assert bare[start : start + 8] not in response.text, (bare[start : start + 8], response.text)


async def assert_refused_unrecorded(
    response: httpx.Response, tables: Tables, status: int, code: str, *, nik: str = NIK, field: str | None = None, type: str | None = None
) -> dict[str, Any]:
    """The request was refused as ``code`` (naming ``field``), its answer does not echo the
    NIK, and no case was recorded; the problem document."""
    problem = assert_problem(response, status, code, field=field, type=type)
    assert_no_nik_echo(response, nik)
    assert await tables.count(Case) == 0
    return problem


# ---------------------------------------------------------------------------
# 1. Idempotency-Key
# ---------------------------------------------------------------------------


class TestIdempotencyKey:
    async def test_resubmitting_the_same_body_with_the_same_key_returns_the_original_case(
        self, portal: httpx.AsyncClient, tables: Tables
    ) -> None:
        first = await portal.post("/v1/requests", json=pkb(), headers={"Idempotency-Key": "order-1"})
        second = await portal.post("/v1/requests", json=pkb(), headers={"Idempotency-Key": "order-1"})

        assert first.status_code == second.status_code == 202, (first.text, second.text)
        assert "Idempotent-Replayed" not in first.headers
        assert second.headers.get("Idempotent-Replayed") == "true"
        assert second.json()["id"] == first.json()["id"]
        assert second.json()["status"] == "SUBMITTED"
        assert await tables.counts() == (1, 1, 1), "one case, one history row, one outbox message"

    async def test_a_body_that_normalises_to_the_same_request_is_the_same_request(self, portal: httpx.AsyncClient, tables: Tables) -> None:
        first = await portal.post("/v1/requests", json=pkb(plate="BA 1234 LZ"), headers={"Idempotency-Key": "order-2"})
        # The same plate and NIK, typed the way citizens type them.
        second = await portal.post(
            "/v1/requests", json=pkb(plate="ba1234lz", nik="13.75.01 520390 0007"), headers={"Idempotency-Key": "order-2"}
        )

        assert second.status_code == 202, second.text
        assert second.headers.get("Idempotent-Replayed") == "true"
        assert second.json()["id"] == first.json()["id"]
        assert await tables.count(Case) == 1

    @pytest.mark.parametrize(
        "changed",
        [
            pytest.param(pkb(plate="BA 4321 LZ"), id="other-plate"),
            pytest.param(pkb(vehicle_type="motorcycle"), id="other-vehicle-type"),
            pytest.param(pkb(name="Budi Santoso"), id="other-name"),
            pytest.param(pkb(nik="1375010101900003"), id="other-nik"),
        ],
    )
    async def test_reusing_a_key_for_a_different_body_is_refused_and_stores_nothing(
        self, portal: httpx.AsyncClient, tables: Tables, changed: dict[str, Any]
    ) -> None:
        original = await portal.post("/v1/requests", json=pkb(), headers={"Idempotency-Key": "order-3"})
        assert original.status_code == 202, original.text

        reused = await portal.post("/v1/requests", json=changed, headers={"Idempotency-Key": "order-3"})

        problem = assert_problem(reused, 422, "idempotency_key_reused", field="Idempotency-Key", type="idempotency_key_reused")
        assert problem["errors"][0]["loc"] == ["header", "Idempotency-Key"]
        assert_no_nik_echo(reused, NIK)
        assert_no_nik_echo(reused, changed["applicant"]["nik"])
        assert await tables.counts() == (1, 1, 1)
        # The key still belongs to the original request.
        again = await portal.post("/v1/requests", json=pkb(), headers={"Idempotency-Key": "order-3"})
        assert (again.status_code, again.json()["id"]) == (202, original.json()["id"])

    async def test_keys_are_scoped_per_client(self, portal: httpx.AsyncClient, other_portal: httpx.AsyncClient, tables: Tables) -> None:
        mine = await portal.post("/v1/requests", json=pkb(), headers={"Idempotency-Key": "shared-key"})
        theirs = await other_portal.post("/v1/requests", json=pkb(), headers={"Idempotency-Key": "shared-key"})

        assert mine.status_code == theirs.status_code == 202, (mine.text, theirs.text)
        assert "Idempotent-Replayed" not in theirs.headers
        assert theirs.json()["id"] != mine.json()["id"]
        assert await tables.counts() == (2, 2, 2)
        owners = dict(await tables.rows(select(Case.id, Case.client_id)))
        assert owners == {uuid.UUID(mine.json()["id"]): "portal", uuid.UUID(theirs.json()["id"]): "other"}
        # Each client's replay finds its own case.
        replay = await other_portal.post("/v1/requests", json=pkb(), headers={"Idempotency-Key": "shared-key"})
        assert replay.json()["id"] == theirs.json()["id"]

    async def test_without_a_key_every_submission_is_a_new_case(self, portal: httpx.AsyncClient, tables: Tables) -> None:
        first = await portal.post("/v1/requests", json=pkb())
        second = await portal.post("/v1/requests", json=pkb())

        assert first.status_code == second.status_code == 202
        assert first.json()["id"] != second.json()["id"]
        assert "Idempotent-Replayed" not in second.headers
        assert await tables.count(Case) == 2

    async def test_concurrent_submissions_with_one_key_create_exactly_one_case(self, portal: httpx.AsyncClient, tables: Tables) -> None:
        responses = await asyncio.gather(
            *(portal.post("/v1/requests", json=pkb(), headers={"Idempotency-Key": "double-click"}) for _ in range(10))
        )

        assert [r.status_code for r in responses] == [202] * 10, [r.text for r in responses]
        assert len({r.json()["id"] for r in responses}) == 1
        originals = [r for r in responses if r.headers.get("Idempotent-Replayed") != "true"]
        assert len(originals) == 1, "exactly one response created the case; the others replayed it"
        assert await tables.counts() == (1, 1, 1)

    async def test_concurrent_submissions_with_one_key_and_different_bodies_store_one_and_refuse_the_rest(
        self, portal: httpx.AsyncClient, tables: Tables
    ) -> None:
        bodies = [pkb(plate=f"BA {n} LZ") for n in range(1, 9)]
        responses = await asyncio.gather(*(portal.post("/v1/requests", json=b, headers={"Idempotency-Key": "racy"}) for b in bodies))

        accepted = [r for r in responses if r.status_code == 202]
        assert len(accepted) == 1, [r.text for r in responses]
        for refused in (r for r in responses if r.status_code != 202):
            assert_problem(refused, 422, "idempotency_key_reused", field="Idempotency-Key")
        assert await tables.counts() == (1, 1, 1)

    @pytest.mark.parametrize(
        "key",
        [
            pytest.param("", id="empty"),
            pytest.param("k" * 201, id="201-chars"),
            pytest.param("order 1", id="space"),
            pytest.param("order\x7f1", id="DEL"),
            pytest.param("order\x011", id="control-char"),
            pytest.param("заказ-1".encode(), id="non-ascii"),
        ],
    )
    async def test_an_invalid_key_is_refused_naming_the_header(self, portal: httpx.AsyncClient, tables: Tables, key: str | bytes) -> None:
        response = await portal.post("/v1/requests", json=pkb(), headers={"Idempotency-Key": key})

        problem = assert_problem(response, 422, "validation_error", field="Idempotency-Key")
        assert [e["loc"] for e in problem["errors"]] == [["header", "Idempotency-Key"]]
        assert_no_nik_echo(response, NIK)
        assert await tables.counts() == (0, 0, 0)

    async def test_a_key_of_200_printable_characters_is_accepted(self, portal: httpx.AsyncClient) -> None:
        key = ("abc-XYZ_09~!" * 20)[:200]
        first = await portal.post("/v1/requests", json=pkb(), headers={"Idempotency-Key": key})
        second = await portal.post("/v1/requests", json=pkb(), headers={"Idempotency-Key": key})

        assert first.status_code == second.status_code == 202, first.text
        assert second.json()["id"] == first.json()["id"]


# ---------------------------------------------------------------------------
# 2. Bad input: a 4xx naming the field, never a 500, never the NIK echoed
# ---------------------------------------------------------------------------


def _without(body: dict[str, Any], *path: str) -> dict[str, Any]:
    body = copy.deepcopy(body)
    target = body
    for part in path[:-1]:
        target = target[part]
    del target[path[-1]]
    return body


def _with(body: dict[str, Any], value: Any, *path: str) -> dict[str, Any]:
    body = copy.deepcopy(body)
    target = body
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    return body


class TestBadInput:
    async def test_malformed_json_is_a_400_that_does_not_echo_the_body(self, portal: httpx.AsyncClient, tables: Tables) -> None:
        truncated = b'{"service": "samsat.pkb_annual", "applicant": {"nik": "' + NIK.encode() + b'", "name": "Siti"'
        response = await portal.post("/v1/requests", content=truncated, headers={"Content-Type": "application/json"})

        await assert_refused_unrecorded(response, tables, 400, "malformed_json", field="body", type="json_invalid")

    @pytest.mark.parametrize("body", [[pkb()], "samsat.pkb_annual", 42, True], ids=["list", "string", "number", "bool"])
    async def test_json_that_is_not_an_object_is_a_422_naming_the_body(self, portal: httpx.AsyncClient, tables: Tables, body: Any) -> None:
        response = await portal.post("/v1/requests", json=body)

        await assert_refused_unrecorded(response, tables, 422, "validation_error", field="body")

    @pytest.mark.parametrize(
        "nik",
        [
            pytest.param("137501520390007", id="15-digits"),
            pytest.param("13750152039000071", id="17-digits"),
            pytest.param("13750152039O0007", id="letter-O"),
            pytest.param("1375013203900007", id="day-32"),
            pytest.param("1375017203900007", id="day-72"),
            pytest.param("1375013002900007", id="30-february"),
            pytest.param("1375011513900007", id="month-13"),
            pytest.param("9975015203900007", id="province-99"),
            pytest.param("2075015203900007", id="province-20"),
            pytest.param("1375015203900000", id="serial-0000"),
        ],
    )
    async def test_an_invalid_nik_is_named_without_being_echoed(self, portal: httpx.AsyncClient, tables: Tables, nik: str) -> None:
        response = await portal.post("/v1/requests", json=pkb(nik=nik))

        await assert_refused_unrecorded(response, tables, 422, "validation_error", nik=nik, field="applicant.nik", type="nik_invalid")

    @pytest.mark.parametrize(
        "plate",
        [
            pytest.param("XX 1234 AB", id="unknown-region"),
            pytest.param("BA 12345 LZ", id="5-digit-number"),
            pytest.param("BA 1234 LZAB", id="4-series-letters"),
            pytest.param("1234", id="no-region"),
            pytest.param("", id="empty"),
        ],
    )
    async def test_an_invalid_plate_is_named(self, portal: httpx.AsyncClient, tables: Tables, plate: str) -> None:
        response = await portal.post("/v1/requests", json=pkb(plate=plate))

        await assert_refused_unrecorded(response, tables, 422, "validation_error", field="data.plate", type="plate_invalid")

    async def test_an_unknown_service_is_named(self, portal: httpx.AsyncClient, tables: Tables) -> None:
        response = await portal.post("/v1/requests", json=_with(pkb(), "samsat.teleport", "service"))

        problem = await assert_refused_unrecorded(response, tables, 422, "validation_error", field="service", type="unknown_service")
        assert "samsat.pkb_annual" in problem["errors"][0]["message"], "the message lists the known services"

    @pytest.mark.parametrize(
        ("body", "field", "error_type"),
        [
            pytest.param(_without(pkb(), "service"), "service", "missing", id="no-service"),
            pytest.param(_without(pkb(), "applicant"), "applicant", "missing", id="no-applicant"),
            pytest.param(_without(pkb(), "applicant", "nik"), "applicant.nik", "missing", id="no-applicant.nik"),
            pytest.param(_without(pkb(), "applicant", "name"), "applicant.name", "missing", id="no-applicant.name"),
            pytest.param(_with(pkb(), "", "applicant", "name"), "applicant.name", "string_too_short", id="empty-applicant.name"),
            pytest.param(_without(pkb(), "data", "plate"), "data.plate", "missing", id="no-data.plate"),
            pytest.param(_without(pkb(), "data", "vehicle_type"), "data.vehicle_type", "missing", id="no-data.vehicle_type"),
            pytest.param(_without(pkb(), "data"), "data.plate", "missing", id="no-data"),
            pytest.param(_with(pkb(), "truck", "data", "vehicle_type"), "data.vehicle_type", "enum", id="vehicle_type-truck"),
            pytest.param(_with(pkb(), "Car", "data", "vehicle_type"), "data.vehicle_type", "enum", id="vehicle_type-Car"),
            pytest.param(_with(pkb(), 1, "priority"), "priority", "extra_forbidden", id="extra-top-level"),
            pytest.param(_with(pkb(), "siti@example.id", "applicant", "email"), "applicant.email", "extra_forbidden", id="extra-applicant"),
            pytest.param(_with(pkb(), "black", "data", "colour"), "data.colour", "extra_forbidden", id="extra-data"),
            pytest.param(_with(pkb(), int(NIK), "applicant", "nik"), "applicant.nik", "string_type", id="nik-as-number"),
            pytest.param(_with(pkb(), [PLATE], "data"), "data", "dict_type", id="data-not-object"),
        ],
    )
    async def test_a_missing_extra_or_wrong_field_is_named(
        self, portal: httpx.AsyncClient, tables: Tables, body: dict[str, Any], field: str, error_type: str
    ) -> None:
        response = await portal.post("/v1/requests", json=body)

        problem = await assert_refused_unrecorded(response, tables, 422, "validation_error", field=field, type=error_type)
        assert field in problem["detail"]
        assert all(set(e) == {"field", "loc", "type", "message"} for e in problem["errors"]), problem["errors"]

    async def test_every_invalid_body_field_is_named_with_its_location(self, portal: httpx.AsyncClient) -> None:
        body = _with(_with(pkb(), 1, "priority"), "", "applicant", "name")
        problem = assert_problem(await portal.post("/v1/requests", json=body), 422, "validation_error")

        assert {(e["field"], tuple(e["loc"])) for e in problem["errors"]} == {
            ("priority", ("body", "priority")),
            ("applicant.name", ("body", "applicant", "name")),
        }

    @pytest.mark.parametrize(
        "authorization",
        [None, "Bearer unknown-key", "Bearer ", f"Basic {PORTAL_KEY}", PORTAL_KEY],
        ids=["missing", "unknown-key", "empty-key", "basic-scheme", "no-scheme"],
    )
    async def test_a_missing_or_unknown_bearer_key_is_a_401(
        self, anonymous: httpx.AsyncClient, tables: Tables, authorization: str | None
    ) -> None:
        headers = {"Authorization": authorization} if authorization is not None else {}
        post = await anonymous.post("/v1/requests", json=pkb(), headers=headers)
        get = await anonymous.get(f"/v1/requests/{uuid.uuid4()}", headers=headers)

        for response in (post, get):
            assert_problem(response, 401, "unauthenticated")
            assert response.headers.get("WWW-Authenticate") == "Bearer"
        assert_no_nik_echo(post, NIK)
        assert await tables.count(Case) == 0

    @pytest.mark.parametrize("request_id", ["not-a-uuid", "12345", NIK])
    async def test_get_with_an_id_that_is_not_a_uuid_is_a_422_naming_request_id(self, portal: httpx.AsyncClient, request_id: str) -> None:
        response = await portal.get(f"/v1/requests/{request_id}")

        problem = assert_problem(response, 422, "validation_error", field="request_id", type="uuid_parsing")
        assert problem["errors"][0]["loc"] == ["path", "request_id"]

    async def test_get_an_unknown_id_is_a_404(self, portal: httpx.AsyncClient) -> None:
        assert_problem(await portal.get(f"/v1/requests/{uuid.uuid4()}"), 404, "request_not_found")

    async def test_a_client_cannot_read_another_clients_case(self, portal: httpx.AsyncClient, other_portal: httpx.AsyncClient) -> None:
        case_id = (await portal.post("/v1/requests", json=pkb())).json()["id"]

        response = await other_portal.get(f"/v1/requests/{case_id}")

        assert_problem(response, 404, "request_not_found")
        assert_no_nik_echo(response, NIK)
        assert (await portal.get(f"/v1/requests/{case_id}")).status_code == 200

    @pytest.mark.parametrize(
        ("method", "path", "allowed"),
        [
            ("PUT", "/v1/requests", "POST"),
            ("GET", "/v1/requests", "POST"),
            ("DELETE", "/v1/requests/{id}", "GET"),
            ("PATCH", "/v1/requests/{id}", "GET"),
        ],
    )
    async def test_a_wrong_method_is_a_405_problem(self, portal: httpx.AsyncClient, method: str, path: str, allowed: str) -> None:
        response = await portal.request(method, path.format(id=uuid.uuid4()), json=pkb())

        assert_problem(response, 405, "method_not_allowed")
        assert allowed in response.headers["Allow"]

    async def test_an_unknown_path_is_a_404_problem(self, portal: httpx.AsyncClient) -> None:
        assert_problem(await portal.get("/v1/nope"), 404, "not_found")


# ---------------------------------------------------------------------------
# 3. A 202 means the case is stored, with the message that announces it
# ---------------------------------------------------------------------------


class TestAcceptedMeansStored:
    async def test_accepted_request_is_stored_with_its_history_and_one_unsent_outbox_message(
        self, portal: httpx.AsyncClient, tables: Tables
    ) -> None:
        response = await portal.post("/v1/requests", json=pkb(plate="ba1234lz", nik="1375 0152 0390 0007"))

        assert response.status_code == 202, response.text
        accepted = response.json()
        case_id = uuid.UUID(accepted["id"])
        assert accepted == {"id": str(case_id), "status": "SUBMITTED", "links": {"self": f"/v1/requests/{case_id}"}}
        assert_no_nik_echo(response, NIK)

        [stored] = await tables.rows(select(Case.applicant, Case.data))
        assert NIK not in str(stored) and PLATE not in str(stored), "sealed at rest"
        [case] = await tables.cases()
        assert (case.id, case.client_id, case.idempotency_key, case.service, case.status) == (
            case_id,
            "portal",
            None,
            "samsat.pkb_annual",
            "SUBMITTED",
        )
        assert case.applicant == {"nik": NIK, "name": "Siti Rahmawati"}, "stored normalised"
        assert case.data == {"plate": PLATE, "vehicle_type": "car"}, "stored normalised"

        [history] = await tables.rows(select(HistoryRecord))
        assert (history.case_id, history.step_id, history.from_status, history.to_status) == (case_id, None, None, "SUBMITTED")

        [outbox] = await tables.rows(select(OutboxMessage))
        assert outbox.topic == topics.REQUESTS == "mpp.requests"
        assert outbox.sent_at is None, "the relay has not published it yet"
        assert outbox.key == str(case_id).encode(), "keyed by the case, so the case stays on one partition"
        envelope = Envelope.from_bytes(outbox.value)
        assert envelope.type is MessageType.REQUEST_SUBMITTED
        assert envelope.request_id == case_id
        assert envelope.message_id == outbox.message_id
        assert envelope.step_id is None
        assert envelope.payload == {
            "service": "samsat.pkb_annual",
            "applicant": {"nik": NIK, "name": "Siti Rahmawati"},
            "data": {"plate": PLATE, "vehicle_type": "car"},
        }
        assert outbox.headers[Headers.MESSAGE_ID] == str(envelope.message_id)
        assert outbox.headers[Headers.MESSAGE_TYPE] == "request.submitted"
        assert outbox.headers[Headers.CORRELATION_ID] == str(case_id)

    async def test_the_idempotency_key_is_stored_with_the_case(self, portal: httpx.AsyncClient, tables: Tables) -> None:
        response = await portal.post("/v1/requests", json=pkb(), headers={"Idempotency-Key": "order-9"})

        [(client_id, key)] = await tables.rows(select(Case.client_id, Case.idempotency_key))
        assert (client_id, key) == ("portal", "order-9")
        assert response.status_code == 202

    async def test_the_accepted_case_can_be_read_back_with_the_nik_masked(self, portal: httpx.AsyncClient) -> None:
        accepted = (await portal.post("/v1/requests", json=pkb())).json()

        response = await portal.get(accepted["links"]["self"])

        assert response.status_code == 200, response.text
        view = response.json()
        assert (view["id"], view["service"], view["status"]) == (accepted["id"], "samsat.pkb_annual", "SUBMITTED")
        assert view["applicant_nik_masked"] == "1375**********07"
        assert_no_nik_echo(response, NIK)
        assert (view["outputs"], view["error"], view["steps"]) == ({}, None, [])
        [entry] = view["history"]
        assert (entry["from_status"], entry["to_status"], entry["step_id"]) == (None, "SUBMITTED", None)

    async def test_nothing_is_stored_for_a_refused_request(self, portal: httpx.AsyncClient, tables: Tables) -> None:
        await portal.post("/v1/requests", json=pkb(plate="XX 1 A"))
        await portal.post("/v1/requests", json=pkb(nik="1375013203900007"))
        await portal.post("/v1/requests", json=_with(pkb(), "nope", "service"))

        assert await tables.counts() == (0, 0, 0)
