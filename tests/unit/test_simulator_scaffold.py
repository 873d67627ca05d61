"""Specification of the simulator scaffold's pipeline (adapters/sdk/testing/scaffold.py).

Every agency simulator runs this one pipeline -- gate, authentication, idempotency
key, input, ledger, outcome, lost or garbled reply -- so its order and its promises
are pinned here once, on a toy agency, rather than seven times: a key is applied
once, a repeat replays, another request under a used key is a conflict, refusals
record nothing, a replay is never lost or garbled, a quota resets at local midnight.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

import httpx
import pytest
from fastapi import Request
from pydantic import BaseModel, ConfigDict, Field

from adapters.sdk.testing import (
    WIB,
    ApiKeyDialect,
    Call,
    JsonDialect,
    KeyRule,
    Knobs,
    Ledger,
    Operation,
    Produced,
    Query,
    Refusal,
    Say,
    SimClock,
    Simulator,
    SimulatorRuntime,
    fingerprint,
)
from adapters.sdk.testing.client import Driver, assert_replayed, in_process

NOW = datetime(2026, 1, 14, 9, 30, tzinfo=WIB)


class Permintaan(BaseModel):
    model_config = ConfigDict(extra="forbid")

    nomor: str = Field(pattern=r"^[0-9]{4}$")
    jenis: str = "A"


class Dialek(JsonDialect):
    """A toy agency whose errors are ``{"code", "message", "details", "refused"}``."""

    key = KeyRule("Idempotency-Key", max_length=20)
    DOWN = Say(503, "DOWN", "the backend is down")
    BUSY = Say(503, "BUSY", "the backend is busy", retry_after=1)
    KEY_MISSING = Say(400, "KEY_MISSING", "send an Idempotency-Key")
    KEY_INVALID = Say(400, "KEY_INVALID", "the Idempotency-Key is not acceptable")
    MALFORMED = Say(422, "MALFORMED", "the request is malformed")
    CONFLICT = Say(409, "CONFLICT", "the key was used for another request")
    QUOTA = Say(429, "QUOTA", "no more applications today")
    DROPPED = Say(504, "DROPPED", "gateway timeout")
    HTTP_ERRORS = ("NOT_FOUND", "METHOD", "INTERNAL")
    REPLAY_HEADER = "Replayed"
    GARBLED_PAGE = "<html>not the protocol</html>"

    def error_body(self, code: str, message: str, details: list[str] | None, *, refused: bool) -> dict[str, Any]:
        return {"code": code, "message": message, "details": details, "refused": refused}

    def named_by(self, payload: Any) -> str:
        return f"APPLY_{payload.jenis}"


class DialekBerkunci(Dialek, ApiKeyDialect):
    API_KEY_HEADER = "X-Api-Key"
    UNAUTHORIZED = Say(401, "UNAUTHORIZED", "unknown API key")


class Toy:
    """The toy agency's operations, counting what ran."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self.checked: list[str] = []
        self.produced: list[int] = []

    def check(self, call: Call[Permintaan]) -> None:
        self.checked.append(call.payload.nomor)
        if call.payload.nomor == "0000":
            raise Refusal("UNKNOWN", "nomor 0000 is not registered", status=404)

    def produce(self, call: Call[Permintaan], sequence: int) -> Produced:
        self.produced.append(sequence)
        return Produced({"nomor": call.payload.nomor, "seq": sequence}, {"ref": f"R{sequence}"})

    def status(self, call: Call[str]) -> dict[str, Any]:
        entry = self.ledger.find_by_state("ref", call.payload)
        if entry is None:
            raise Refusal("UNKNOWN_REF", f"no application {call.payload}", status=404)
        return {"ref": call.payload, "key": entry.key}

    def endpoints(self) -> list[Operation[Any] | Query[Any]]:
        def apply(name: str, path: str) -> Operation[Permintaan]:
            return Operation(
                name=name, path=path, model=Permintaan, status=201, subject=lambda p: p.jenis, checks=(self.check,), produce=self.produce
            )

        return [
            apply("APPLY", "/apply"),
            apply("APPLY_A", "/shared"),
            apply("APPLY_B", "/shared"),
            Query(
                name="STATUS", path="/status/{ref}", method="GET", read=lambda request, _: request.path_params["ref"], answer=self.status
            ),
        ]


class ToySim(Driver):
    toy: Toy

    async def apply(self, body: dict[str, Any] | bytes, key: str | None = "k1", path: str = "/apply", **headers: str) -> httpx.Response:
        sent = {**({} if key is None else {"Idempotency-Key": key}), **headers}
        if isinstance(body, bytes):
            return await self.client.post(path, content=body, headers=sent)
        return await self.client.post(path, json=body, headers=sent)


@asynccontextmanager
async def toy(
    knobs: Knobs | None = None, *, at: datetime = NOW, dialect: type[Dialek] = Dialek, **dialect_args: Any
) -> AsyncIterator[ToySim]:
    runtime = SimulatorRuntime(knobs or Knobs(), Ledger(), SimClock(lambda: at))
    agency = Toy(runtime.ledger)
    app = Simulator(runtime, dialect(runtime, **dialect_args), agency.endpoints(), title="toy").app
    async with in_process(app) as client:
        sim = ToySim(client)
        sim.toy = agency
        yield sim


# ------------------------------------------------------------------ apply once


async def test_a_new_key_is_applied_once_and_a_repeat_replays_the_stored_reply() -> None:
    async with toy() as sim:
        first = await sim.apply({"nomor": "1234"})
        again = await sim.apply({"jenis": "A", "nomor": "1234"})  # same request, other key order
        book = await sim.ledger()
    assert (first.status_code, first.json()) == (201, {"nomor": "1234", "seq": 1})
    assert_replayed(first, again, book, header="Replayed")
    assert sim.toy.produced == [1] and sim.toy.checked == ["1234"], "a replay runs neither the checks nor produce"
    with pytest.raises(AssertionError):
        assert_replayed(again, first, book, header="Replayed")  # the fresh reply is no replay


async def test_another_request_under_a_used_key_is_a_conflict_and_changes_nothing() -> None:
    async with toy() as sim:
        await sim.apply({"nomor": "1234"})
        conflict = await sim.apply({"nomor": "5678"})
        other_operation = await sim.apply({"nomor": "1234"}, path="/shared")
        book = await sim.ledger()
    assert (conflict.status_code, conflict.json()["code"]) == (409, "CONFLICT")
    assert other_operation.status_code == 409, "the operation is part of the fingerprint"
    assert (book["applied"], book["replayed"]) == (1, 0)


async def test_a_refusal_records_nothing_so_a_corrected_request_under_the_same_key_applies() -> None:
    async with toy() as sim:
        refused = await sim.apply({"nomor": "0000"})
        empty = await sim.ledger()
        corrected = await sim.apply({"nomor": "1234"})
    assert refused.status_code == 404
    assert refused.json() == {"code": "UNKNOWN", "message": "nomor 0000 is not registered", "details": None, "refused": True}
    assert empty["applied"] == 0
    assert corrected.status_code == 201 and corrected.json()["seq"] == 1, "the refusal used no sequence number"


async def test_the_reply_and_the_entrys_state_are_decided_together() -> None:
    async with toy() as sim:
        await sim.apply({"nomor": "1234"})
        [entry] = (await sim.ledger())["entries"]
    assert (entry["key"], entry["operation"], entry["subject"], entry["state"]) == ("k1", "APPLY", "A", {"ref": "R1"})


async def test_operations_sharing_a_path_are_told_apart_by_the_input() -> None:
    async with toy() as sim:
        a = await sim.apply({"nomor": "1234", "jenis": "A"}, key="a", path="/shared")
        b = await sim.apply({"nomor": "1234", "jenis": "B"}, key="b", path="/shared")
        book = await sim.ledger()
    assert a.status_code == b.status_code == 201
    assert [e["operation"] for e in book["entries"]] == ["APPLY_A", "APPLY_B"]


def test_a_fingerprint_ignores_key_order_but_not_the_operation() -> None:
    one, other = Permintaan(nomor="1234", jenis="B"), Permintaan.model_validate_json('{"jenis": "B", "nomor": "1234"}')
    assert fingerprint("APPLY", one) == fingerprint("APPLY", other)
    assert fingerprint("APPLY", one) != fingerprint("APPLY_B", one)
    assert fingerprint("APPLY", one) != fingerprint("APPLY", Permintaan(nomor="1235", jenis="B"))


# ------------------------------------------------------------------ the order of the pipeline


async def test_down_answers_first_even_without_a_key_or_a_body() -> None:
    async with toy(Knobs(down=True)) as sim:
        response = await sim.apply(b"not json", key=None)
        applied = (await sim.ledger())["applied"]
    assert (response.status_code, response.json()["code"]) == (503, "DOWN")
    assert applied == 0


async def test_busy_answers_before_the_key_with_a_retry_after_and_applies_nothing() -> None:
    async with toy(Knobs(error_rate=1.0)) as sim:
        response = await sim.apply({"nomor": "1234"}, key=None)
        applied = (await sim.ledger())["applied"]
    assert (response.status_code, response.json()["code"], response.headers["Retry-After"]) == (503, "BUSY", "1")
    assert applied == 0


async def test_authentication_comes_after_the_gate_and_before_the_key() -> None:
    async with toy(dialect=DialekBerkunci, api_key="rahasia") as sim:
        no_key_no_api_key = await sim.apply(b"not json", key=None)
        accepted = await sim.apply({"nomor": "1234"}, **{"X-Api-Key": "rahasia"})
        await sim.knobs(down=True)
        down = await sim.apply({"nomor": "1234"})
    assert (no_key_no_api_key.status_code, no_key_no_api_key.json()["code"]) == (401, "UNAUTHORIZED")
    assert accepted.status_code == 201
    assert down.status_code == 503, "the gate comes before the API key"


@pytest.mark.parametrize(
    ("key", "code"), [(None, "KEY_MISSING"), ("  ", "KEY_MISSING"), ("k" * 21, "KEY_INVALID"), ("k\x01", "KEY_INVALID")]
)
async def test_the_key_is_checked_before_the_body(key: str | None, code: str) -> None:
    async with toy() as sim:
        response = await sim.apply(b"not json", key=key)
    assert (response.status_code, response.json()["code"]) == (400, code)


async def test_a_malformed_body_names_the_field_but_never_echoes_the_value() -> None:
    async with toy() as sim:
        response = await sim.apply({"nomor": "12ab"})
        unknown_field = await sim.apply({"nomor": "1234", "nik": "1375015203900007"}, key="k2")
        applied = (await sim.ledger())["applied"]
    body = response.json()
    assert (response.status_code, body["code"]) == (422, "MALFORMED")
    assert len(body["details"]) == 1 and body["details"][0].startswith("nomor: ") and "12ab" not in response.text
    assert unknown_field.status_code == 422 and "1375015203900007" not in unknown_field.text
    assert applied == 0


async def test_a_full_day_refuses_new_keys_until_local_midnight_but_replays_still_answer() -> None:
    async with toy(Knobs(daily_quota=1), at=datetime(2026, 1, 14, 23, 0, tzinfo=WIB)) as sim:
        first = await sim.apply({"nomor": "1234"}, key="a")
        full = await sim.apply({"nomor": "1234"}, key="b")
        replay = await sim.apply({"nomor": "1234"}, key="a")
    assert first.status_code == 201
    assert (full.status_code, full.json()["code"], full.headers["Retry-After"]) == (429, "QUOTA", "3600")
    assert full.json()["refused"] is True
    assert replay.status_code == 201


# ------------------------------------------------------------------ lost and garbled replies


async def test_a_lost_reply_was_applied_and_its_replay_is_never_lost_or_garbled() -> None:
    async with toy(Knobs(drop_reply_after_apply=1.0)) as sim:
        lost = await sim.apply({"nomor": "1234"})
        applied = (await sim.ledger())["applied"]
        await sim.knobs(garble_rate=1.0)
        replay = await sim.apply({"nomor": "1234"})
    assert (lost.status_code, lost.json()["code"]) == (504, "DROPPED")
    assert applied == 1
    assert (replay.status_code, replay.json(), replay.headers["Replayed"]) == (201, {"nomor": "1234", "seq": 1}, "true")


async def test_a_garbled_reply_was_applied_and_is_not_the_protocol() -> None:
    async with toy(Knobs(garble_rate=1.0)) as sim:
        garbled = await sim.apply({"nomor": "1234"})
        applied = (await sim.ledger())["applied"]
    assert garbled.status_code == 201 and garbled.headers["content-type"].startswith("text/html")
    with pytest.raises(json.JSONDecodeError):
        json.loads(garbled.content)
    assert applied == 1


async def test_a_query_is_answered_every_time_and_its_answer_can_be_lost_or_garbled_too() -> None:
    async with toy() as sim:
        await sim.apply({"nomor": "1234"})
        found = await sim.client.get("/status/R1")
        unknown = await sim.client.get("/status/R9")
        await sim.knobs(drop_reply_after_apply=1.0)
        lost = await sim.client.get("/status/R1")
        await sim.knobs(drop_reply_after_apply=0.0, garble_rate=1.0)
        garbled = await sim.client.get("/status/R1")
        book = await sim.ledger()
    assert (found.status_code, found.json()) == (200, {"ref": "R1", "key": "k1"})
    assert (unknown.status_code, unknown.json()["code"]) == (404, "UNKNOWN_REF")
    assert lost.status_code == 504 and garbled.headers["content-type"].startswith("text/html")
    assert (book["applied"], book["replayed"]) == (1, 0), "queries record nothing"


# ------------------------------------------------------------------ outside the native API


async def test_unknown_paths_and_methods_answer_in_the_agencys_error_shape() -> None:
    async with toy() as sim:
        missing = await sim.client.get("/nope")
        wrong_method = await sim.client.get("/apply")
    assert (missing.status_code, missing.json()["code"]) == (404, "NOT_FOUND")
    assert (wrong_method.status_code, wrong_method.json()["code"]) == (405, "METHOD")


async def test_the_control_plane_ignores_the_knobs() -> None:
    async with toy(Knobs(down=True, error_rate=1.0)) as sim:
        health = await sim.client.get("/_sim/health")
        knobs = await sim.client.get("/_sim/knobs")
    assert health.json() == {"ok": True} and knobs.json()["down"] is True


def test_the_app_exposes_its_runtime_and_scaffold_for_tests() -> None:
    runtime = SimulatorRuntime(Knobs(), Ledger())
    simulator = Simulator(runtime, Dialek(runtime), Toy(runtime.ledger).endpoints(), title="toy")
    try:
        assert simulator.app.state.runtime is runtime and simulator.app.state.simulator is simulator
        assert simulator.ledger is runtime.ledger and simulator.knobs is runtime.knobs
    finally:
        runtime.ledger.close()


async def test_a_request_reaches_the_dialect_as_sent(monkeypatch: pytest.MonkeyPatch) -> None:
    """The pipeline reads the body once and passes the same bytes on (a dialect may need them)."""
    seen: list[bytes] = []
    original = Dialek.read

    def spy(self: Dialek, request: Request, raw: bytes, endpoints: Any) -> Any:
        seen.append(raw)
        return original(self, request, raw, endpoints)

    monkeypatch.setattr(Dialek, "read", spy)
    async with toy() as sim:
        await sim.apply(b'{"nomor": "1234"}', **{"Content-Type": "application/json"})
    assert seen == [b'{"nomor": "1234"}']
