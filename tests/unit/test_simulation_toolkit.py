"""Specification of the simulator scaffold's parts (adapters/sdk/testing/: ledger, knobs,
control endpoints, clock).

Every agency simulator builds on it, and the hub's "nothing is done twice" guarantee
is checked against its ledger, so it must hold on its own: one application per key
under real thread parallelism (one connection or several on one file), conflicts,
replay counts, a daily quota, state, persistence, the fault gate, reproducible
randomness and a control router that refuses bad knobs instead of crashing.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic import Field, field_validator

from adapters.sdk.testing.clock import WIB, SimClock, add_months, add_years
from adapters.sdk.testing.control import control_router
from adapters.sdk.testing.knobs import Fault, Knobs, SimulatorRuntime
from adapters.sdk.testing.ledger import Ledger, Outcome, Produced
from schemas.calendar import WorkingCalendar

DAY = date(2026, 1, 14)


@pytest.fixture
def ledger() -> Iterator[Ledger]:
    book = Ledger()
    yield book
    book.close()


def apply(book: Ledger, key: str, fingerprint: str = "f1", *, today: date = DAY, quota: int | None = None, **kw: Any) -> Any:
    return book.apply_once(
        key,
        operation="OP",
        subject="BA 1234 LZ",
        fingerprint=fingerprint,
        produce=lambda seq: {"seq": seq, "key": key},
        today=today,
        quota=quota,
        **kw,
    )


# --------------------------------------------------------------------- apply once


def test_first_application_stores_the_response_with_a_sequence(ledger: Ledger) -> None:
    first = apply(ledger, "a")
    second = apply(ledger, "b")
    assert first.outcome is Outcome.APPLIED and second.outcome is Outcome.APPLIED
    assert first.entry.response == {"seq": 1, "key": "a"} and second.entry.response == {"seq": 2, "key": "b"}
    assert (first.entry.operation, first.entry.subject, first.entry.replays) == ("OP", "BA 1234 LZ", 0)


def test_same_key_and_fingerprint_replays_the_stored_response_and_counts_it(ledger: Ledger) -> None:
    calls: list[int] = []

    def produce(seq: int) -> dict[str, Any]:
        calls.append(seq)
        return {"n": len(calls)}

    results = [ledger.apply_once("k", operation="OP", subject="s", fingerprint="f", produce=produce, today=DAY) for _ in range(3)]
    assert [r.outcome for r in results] == [Outcome.APPLIED, Outcome.REPLAYED, Outcome.REPLAYED]
    assert calls == [1], "produce runs once"
    assert {str(r.entry.response) for r in results} == {"{'n': 1}"}
    assert results[-1].entry.replays == 2
    assert ledger.summary()["applied"] == 1 and ledger.summary()["replayed"] == 2


def test_same_key_with_another_fingerprint_is_a_conflict_that_changes_nothing(ledger: Ledger) -> None:
    apply(ledger, "k", "f1")
    conflict = apply(ledger, "k", "f2")
    assert conflict.outcome is Outcome.CONFLICT
    assert conflict.entry.fingerprint == "f1" and conflict.entry.replays == 0
    assert ledger.summary()["replayed"] == 0 and len(ledger.entries()) == 1


def test_produce_that_raises_records_nothing_and_the_key_stays_free(ledger: Ledger) -> None:
    class Refused(Exception):
        pass

    def refuse(seq: int) -> dict[str, Any]:
        raise Refused

    with pytest.raises(Refused):
        ledger.apply_once("k", operation="OP", subject="s", fingerprint="f", produce=refuse, today=DAY)
    assert ledger.get("k") is None and ledger.entries() == []
    later = apply(ledger, "k")
    assert later.outcome is Outcome.APPLIED and later.entry.response["seq"] == 1, "the refused attempt used no sequence"


def test_a_response_that_is_not_json_is_refused_without_recording(ledger: Ledger) -> None:
    with pytest.raises(TypeError):
        ledger.apply_once("k", operation="OP", subject="s", fingerprint="f", produce=lambda seq: {"when": object()}, today=DAY)
    assert ledger.entries() == []


def test_applied_at_follows_the_simulators_clock_when_given(ledger: Ledger) -> None:
    wib = timezone(timedelta(hours=7))
    at = datetime(2026, 1, 14, 9, 30, tzinfo=wib)
    entry = apply(ledger, "k", now=at).entry
    assert entry.applied_at == "2026-01-14T09:30:00.000+07:00"
    default = apply(ledger, "other").entry
    assert abs(datetime.fromisoformat(default.applied_at) - datetime.now(UTC)) < timedelta(seconds=5)


def test_many_threads_on_one_ledger_apply_a_key_once(ledger: Ledger) -> None:
    produced: list[int] = []
    barrier = threading.Barrier(16)

    def produce(seq: int) -> dict[str, Any]:
        produced.append(seq)
        time.sleep(0.01)  # widen the window a broken lock would let others through
        return {"seq": seq}

    def one(_: int) -> Outcome:
        barrier.wait()
        return ledger.apply_once("race", operation="OP", subject="s", fingerprint="f", produce=produce, today=DAY).outcome

    with ThreadPoolExecutor(max_workers=16) as pool:
        outcomes = list(pool.map(one, range(16)))

    assert outcomes.count(Outcome.APPLIED) == 1 and outcomes.count(Outcome.REPLAYED) == 15
    assert len(produced) == 1
    assert ledger.entries()[0].replays == 15


def test_two_ledgers_on_one_file_in_parallel_threads_apply_a_key_once(tmp_path: Path) -> None:
    path = str(tmp_path / "ledger.db")
    books = [Ledger(path), Ledger(path)]  # two connections, as two simulator processes would have
    barrier = threading.Barrier(12)

    def one(i: int) -> Outcome:
        barrier.wait()
        return apply(books[i % 2], "shared").outcome

    try:
        with ThreadPoolExecutor(max_workers=12) as pool:
            outcomes = list(pool.map(one, range(12)))
        assert outcomes.count(Outcome.APPLIED) == 1 and outcomes.count(Outcome.REPLAYED) == 11
        assert [e.replays for e in books[1].entries()] == [11]
    finally:
        for book in books:
            book.close()


def test_distinct_keys_from_many_threads_all_apply_with_unique_sequences(ledger: Ledger) -> None:
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda i: apply(ledger, f"k{i}"), range(40)))
    assert all(r.outcome is Outcome.APPLIED for r in results)
    assert sorted(r.entry.response["seq"] for r in results) == list(range(1, 41))


# -------------------------------------------------------------------------- quota


def test_daily_quota_counts_applications_per_day_not_replays(ledger: Ledger) -> None:
    assert [apply(ledger, k, quota=2).outcome for k in ("a", "b")] == [Outcome.APPLIED] * 2
    full = apply(ledger, "c", quota=2)
    assert full.outcome is Outcome.QUOTA_EXCEEDED and full.entry is None
    assert apply(ledger, "a", quota=2).outcome is Outcome.REPLAYED, "a replay is not an application"
    assert apply(ledger, "a", "other", quota=2).outcome is Outcome.CONFLICT
    assert apply(ledger, "c", quota=2, today=DAY + timedelta(days=1)).outcome is Outcome.APPLIED
    assert ledger.get("c") is not None and len(ledger.entries()) == 3


def test_quota_zero_refuses_everything_and_none_means_unlimited(ledger: Ledger) -> None:
    assert apply(ledger, "a", quota=0).outcome is Outcome.QUOTA_EXCEEDED
    assert all(apply(ledger, f"k{i}").outcome is Outcome.APPLIED for i in range(5))


# -------------------------------------------------------------- state, persistence


def test_produce_may_decide_the_first_state_with_the_response(ledger: Ledger) -> None:
    result = ledger.apply_once(
        "k", operation="OP", subject="s", fingerprint="f", produce=lambda seq: Produced({"nomor": f"N-{seq}"}, {"nomor": f"N-{seq}", "tahap": 1}),
        today=DAY, state={"ignored": True},
    )  # fmt: skip
    assert result.entry.response == {"nomor": "N-1"} and result.entry.state == {"nomor": "N-1", "tahap": 1}


def test_an_entry_is_found_by_a_reference_number_in_its_state(ledger: Ledger) -> None:
    apply(ledger, "a", state={"nomor_daftar": "SH2026-1-000001"})
    apply(ledger, "b", state={"nomor_daftar": "SH2026-1-000002"})
    found = ledger.find_by_state("nomor_daftar", "SH2026-1-000002")
    assert found is not None and found.key == "b"
    assert ledger.find_by_state("nomor_daftar", "SH2026-1-999999") is None
    assert ledger.find_by_state("other", "SH2026-1-000001") is None


def test_state_is_stored_updated_and_shown_in_the_summary(ledger: Ledger) -> None:
    apply(ledger, "k", state={"verdict": "pending"})
    assert ledger.get("k").state == {"verdict": "pending"}
    ledger.update_state("k", {"verdict": "sent", "attempts": 2})
    assert ledger.get("k").state == {"verdict": "sent", "attempts": 2}
    [public] = ledger.summary()["entries"]
    assert public["state"] == {"verdict": "sent", "attempts": 2}
    assert set(public) == {"key", "operation", "subject", "applied_at", "replays", "state"}, "no response or fingerprint in the public view"


def test_a_replay_returns_the_updated_state(ledger: Ledger) -> None:
    apply(ledger, "k", state={"step": 1})
    ledger.update_state("k", {"step": 2})
    assert apply(ledger, "k").entry.state == {"step": 2}


def test_a_file_ledger_survives_close_and_reopen(tmp_path: Path) -> None:
    path = str(tmp_path / "ledger.db")
    first = Ledger(path)
    apply(first, "k", state={"s": 1})
    first.close()

    again = Ledger(path)
    try:
        replay = apply(again, "k")
        assert replay.outcome is Outcome.REPLAYED and replay.entry.response == {"seq": 1, "key": "k"}
        assert replay.entry.state == {"s": 1}
        assert apply(again, "k2").entry.response["seq"] == 2, "the sequence continues"
        assert apply(again, "k", "changed").outcome is Outcome.CONFLICT
    finally:
        again.close()


def test_in_memory_ledgers_are_private() -> None:
    a, b = Ledger(), Ledger()
    try:
        apply(a, "k")
        assert b.get("k") is None
    finally:
        a.close()
        b.close()


# ------------------------------------------------------------------- fault gate


async def test_down_fails_at_once_without_waiting_for_latency() -> None:
    runtime = SimulatorRuntime(Knobs(down=True, latency_ms=5_000), Ledger())
    started = time.perf_counter()
    assert await runtime.gate() is Fault.DOWN
    assert time.perf_counter() - started < 1


async def test_latency_delays_the_gate_and_error_rate_1_is_busy() -> None:
    runtime = SimulatorRuntime(Knobs(latency_ms=100), Ledger())
    started = time.perf_counter()
    assert await runtime.gate() is None
    assert time.perf_counter() - started >= 0.1
    runtime.knobs = Knobs(error_rate=1.0)
    assert await runtime.gate() is Fault.BUSY


def test_rates_0_and_1_are_certain_and_consume_no_randomness() -> None:
    runtime = SimulatorRuntime(Knobs(seed=5), Ledger())
    state = runtime.rng.getstate()
    assert not runtime.drop_reply() and not runtime.garble_reply()
    runtime.knobs = Knobs(seed=5, drop_reply_after_apply=1.0, garble_rate=1.0)
    assert runtime.drop_reply() and runtime.garble_reply()
    assert runtime.rng.getstate() == state


def test_the_same_seed_gives_the_same_faults() -> None:
    def pattern(seed: int) -> list[bool]:
        runtime = SimulatorRuntime(Knobs(seed=seed, garble_rate=0.5), Ledger())
        return [runtime.garble_reply() for _ in range(40)]

    assert pattern(3) == pattern(3)
    assert pattern(3) != pattern(4)
    assert set(pattern(3)) == {True, False}


# -------------------------------------------------------------- control router


class AgencyKnobs(Knobs):
    """An agency's own knobs on top of the common ones."""

    verdict_delay_s: float = Field(default=1.0, ge=0)
    office_day: date = date(2026, 1, 14)

    @field_validator("verdict_delay_s")
    @classmethod
    def _not_absurd(cls, value: float) -> float:
        if value > 3600:
            raise ValueError("verdict delay over an hour")
        return value


@pytest.fixture
async def control() -> Any:
    runtime = SimulatorRuntime(AgencyKnobs(), Ledger())
    app = FastAPI()
    app.include_router(control_router(runtime))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sim.test") as client:
        yield client, runtime
    runtime.ledger.close()


async def test_knobs_are_read_and_partially_updated_including_agency_knobs(control: Any) -> None:
    client, runtime = control
    before = (await client.get("/_sim/knobs")).json()
    assert before["office_day"] == "2026-01-14" and before["garble_rate"] == 0.0
    put = await client.put("/_sim/knobs", json={"latency_ms": 5, "verdict_delay_s": 2.5, "office_day": "2026-01-21"})
    assert put.status_code == 200, put.text
    assert put.json() == {**before, "latency_ms": 5, "verdict_delay_s": 2.5, "office_day": "2026-01-21"}
    assert isinstance(runtime.knobs, AgencyKnobs) and runtime.knobs.office_day == date(2026, 1, 21)
    assert (await client.get("/_sim/knobs")).json() == put.json()


@pytest.mark.parametrize(
    "body",
    [
        {"eror_rate": 1},  # typo
        {"error_rate": 2},  # out of range
        {"daily_quota": -1},
        {"verdict_delay_s": 7200},  # the agency's own validator
        {"office_day": "next wednesday"},
        [["latency_ms", 5]],  # not an object
        "latency_ms",
        None,
    ],
    ids=["typo", "range", "quota", "agency-validator", "agency-type", "pairs", "string", "null"],
)
async def test_invalid_knobs_get_422_and_change_nothing(control: Any, body: Any) -> None:
    client, runtime = control
    before = runtime.knobs
    r = await client.put("/_sim/knobs", json=body)
    assert r.status_code == 422, r.text
    assert r.json()["error"] == "invalid knobs"
    assert runtime.knobs is before


async def test_a_body_that_is_not_json_gets_422(control: Any) -> None:
    client, _ = control
    r = await client.put("/_sim/knobs", content=b"latency_ms=5", headers={"content-type": "application/json"})
    assert r.status_code == 422


async def test_putting_a_seed_restarts_the_random_sequence_even_if_unchanged(control: Any) -> None:
    client, runtime = control
    await client.put("/_sim/knobs", json={"seed": 9, "garble_rate": 0.5})
    first = [runtime.garble_reply() for _ in range(20)]
    await client.put("/_sim/knobs", json={"seed": 9})  # same seed: the sequence starts over
    assert [runtime.garble_reply() for _ in range(20)] == first
    await client.put("/_sim/knobs", json={"latency_ms": 0})  # no seed: the sequence goes on
    assert [runtime.garble_reply() for _ in range(20)] != first


async def test_health_and_ledger_views(control: Any) -> None:
    client, runtime = control
    apply(runtime.ledger, "k")
    apply(runtime.ledger, "k")
    assert (await client.get("/_sim/health")).json() == {"ok": True}
    book = (await client.get("/_sim/ledger")).json()
    assert book["applied"] == 1 and book["replayed"] == 1
    assert book["entries"][0]["key"] == "k" and book["entries"][0]["subject"] == "BA 1234 LZ"


async def test_a_knob_trigger_acts_once_and_resets_while_the_put_echoes_what_was_received(control: Any) -> None:
    client, runtime = control
    pulled: list[bool] = []

    def trigger(knobs: Knobs) -> Knobs:
        if knobs.down:  # a stand-in for a one-shot trigger such as "revoke every token"
            pulled.append(True)
            return knobs.model_copy(update={"down": False})
        return knobs

    runtime.triggers.append(trigger)
    put = await client.put("/_sim/knobs", json={"down": True})
    assert put.json()["down"] is True and (await client.get("/_sim/knobs")).json()["down"] is False
    assert pulled == [True]


async def test_gate_waits_without_blocking_the_event_loop() -> None:
    runtime = SimulatorRuntime(Knobs(latency_ms=200), Ledger())
    started = time.perf_counter()
    await asyncio.gather(*(runtime.gate() for _ in range(10)))
    assert time.perf_counter() - started < 1.0, "ten gates overlap instead of queueing"


# -------------------------------------------------------------------------- clock


def test_the_clock_tells_local_wib_time_whatever_zone_the_source_uses() -> None:
    clock = SimClock(lambda: datetime(2026, 1, 14, 20, 30, tzinfo=UTC))
    assert clock.now() == datetime(2026, 1, 15, 3, 30, tzinfo=WIB) and clock.now().utcoffset() == timedelta(hours=7)
    assert clock.today() == date(2026, 1, 15), "past 17:00 UTC it is already tomorrow at the counter"


def test_a_daily_quota_resets_at_local_midnight() -> None:
    clock = SimClock()
    assert clock.seconds_until_midnight(datetime(2026, 1, 14, 23, 0, tzinfo=WIB)) == 3600
    assert clock.seconds_until_midnight(datetime(2026, 1, 14, 16, 0, tzinfo=UTC)) == 3600  # 23:00 WIB
    assert clock.seconds_until_midnight(datetime(2026, 1, 14, 23, 59, 59, 999_000, tzinfo=WIB)) == 1, "never 0"


def test_working_days_are_the_hubs_calendar_weekends_national_holidays_and_cuti_bersama() -> None:
    clock = SimClock()
    assert clock.add_working_days(date(2026, 1, 15), 1) == date(2026, 1, 19), "Fri 16 Jan 2026 is Isra Mikraj"
    assert clock.add_working_days(date(2026, 3, 17), 1) == date(2026, 3, 25), "Idulfitri and its cuti bersama"
    assert clock.add_working_days(date(2026, 1, 19), -1) == date(2026, 1, 15), "backwards too"
    assert clock.add_working_days(date(2026, 1, 14), 0) == date(2026, 1, 14)
    assert clock.working_days_between(date(2026, 1, 14), date(2026, 1, 29)) == 10
    assert not clock.is_working_day(date(2026, 1, 16)) and clock.is_working_day(date(2026, 1, 15))


def test_a_simulator_can_be_given_another_calendar() -> None:
    weekends_only = SimClock(calendar=WorkingCalendar(holidays=set()))
    assert weekends_only.add_working_days(date(2026, 1, 15), 1) == date(2026, 1, 16)


def test_month_and_year_arithmetic_clamps_to_the_end_of_a_shorter_month() -> None:
    assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert add_months(date(2027, 12, 31), 2) == date(2028, 2, 29)
    assert add_months(date(2026, 11, 30), 3) == date(2027, 2, 28)
    assert add_months(date(2026, 1, 14), 60) == date(2031, 1, 14)
    assert add_years(date(2024, 2, 29), 1) == date(2025, 2, 28) and add_years(date(2024, 2, 29), 4) == date(2028, 2, 29)
