"""Specification of the Samsat backend simulator (native API, idempotency ledger, knobs).

The Samsat adapter is tested against this simulator, so these tests pin down the
behaviour the adapter may rely on: fees, error codes, apply-at-most-once per
Idempotency-Key, and the fault knobs (from the SDK's simulator scaffold, adapters/sdk/testing/).
Three native operations: annual PKB + STNK endorsement, 5-year STNK + new plates,
and ownership transfer (BBN-KB).
"""

from __future__ import annotations

import asyncio
import json
import re
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import BaseModel

from adapters.samsat.native import (
    HasilBalikNama,
    HasilPengesahan,
    HasilPerpanjanganLimaTahunan,
    PermohonanBalikNama,
    PermohonanPengesahan,
    PermohonanPerpanjanganLimaTahunan,
)
from adapters.samsat.simulator import WIB, SamsatKnobs, create_app, data_register
from adapters.sdk.testing.client import in_process, put_knobs, read_ledger

PATH = "/api/v1/pkb/pengesahan"
MOBIL = {"nopol": "BA 1234 LZ", "nik_pemilik": "1375015203900007", "jenis_kendaraan": "MOBIL"}
MOTOR = {"nopol": "BA 4321 LQ", "nik_pemilik": "1375015203900007", "jenis_kendaraan": "MOTOR"}
HARI_INI = datetime(2026, 1, 14, 9, 30, tzinfo=WIB)  # a Wednesday at MPP Bukittinggi


def jam_tetap(at: datetime = HARI_INI) -> Callable[[], datetime]:
    """A frozen clock, so dates in replies are predictable."""
    return lambda: at


@asynccontextmanager
async def samsat(
    knobs: SamsatKnobs | None = None, clock: Callable[[], datetime] | None = None, ledger_path: str = ":memory:"
) -> AsyncIterator[httpx.AsyncClient]:
    """A client wired straight into a fresh simulator app (no network)."""
    async with in_process(create_app(knobs, ledger_path=ledger_path, clock=clock or jam_tetap()), "http://samsat.test") as client:
        yield client


async def ajukan(client: httpx.AsyncClient, body: dict[str, Any], key: str | None = "step-1") -> httpx.Response:
    headers = {} if key is None else {"Idempotency-Key": key}
    return await client.post(PATH, json=body, headers=headers)


ledger = read_ledger


async def refusal(body: dict[str, Any], path: str = PATH) -> tuple[int, str, str, int]:
    """How a fresh simulator answers ``body`` at ``path``: HTTP status, ``status``,
    ``kode_error``, and how many applications it applied."""
    async with samsat() as client:
        r = await client.post(path, json=body, headers={"Idempotency-Key": "step-1"})
        book = await ledger(client)
    return r.status_code, r.json()["status"], r.json().get("kode_error"), book["applied"]


async def set_knobs(client: httpx.AsyncClient, **knobs: Any) -> dict[str, Any]:
    r = await put_knobs(client, **knobs)
    assert r.status_code == 200, r.text
    return dict(r.json())


# ------------------------------------------------------------------------- fees


async def test_car_pays_pkb_plus_swdkllj_143000_plus_endorsement_50000() -> None:
    async with samsat() as client:
        r = await ajukan(client, MOBIL)

    assert r.status_code == 200
    body = r.json()
    HasilPengesahan.model_validate(body)  # the reply is exactly the native model
    assert body["status"] == "BERHASIL"
    assert body["nopol"] == "BA 1234 LZ"
    assert re.fullmatch(r"13\d{13}", body["kode_bayar"]), "Sumatera Barat's regional-tax payment code, not a SIMPONI one"
    rincian = body["rincian"]
    assert rincian["swdkllj"] == 143_000
    assert rincian["biaya_pengesahan"] == 50_000
    assert 1_000_000 <= rincian["pkb"] <= 5_000_000 and rincian["pkb"] % 1000 == 0
    assert body["total_bayar"] == rincian["pkb"] + 143_000 + 50_000
    assert body["tanggal_pengesahan"] == "2026-01-14"
    assert body["berlaku_sampai"] == "2027-01-14"
    assert body["no_transaksi"]
    assert "Idempotent-Replayed" not in r.headers


async def test_motorcycle_pays_pkb_plus_swdkllj_35000_plus_endorsement_25000() -> None:
    async with samsat() as client:
        r = await ajukan(client, MOTOR)

    assert r.status_code == 200
    rincian = r.json()["rincian"]
    assert rincian["swdkllj"] == 35_000
    assert rincian["biaya_pengesahan"] == 25_000
    assert 150_000 <= rincian["pkb"] <= 600_000 and rincian["pkb"] % 1000 == 0
    assert r.json()["total_bayar"] == rincian["pkb"] + 35_000 + 25_000


async def test_pkb_is_a_deterministic_function_of_the_plate() -> None:
    async with samsat() as a, samsat() as b:
        pkb_a = (await ajukan(a, MOBIL, key="k-a")).json()["rincian"]["pkb"]
        pkb_b = (await ajukan(b, MOBIL, key="k-b")).json()["rincian"]["pkb"]
        pkb_other = (await ajukan(b, {**MOBIL, "nopol": "BA 1235 LZ"}, key="k-c")).json()["rincian"]["pkb"]
    assert pkb_a == pkb_b
    assert pkb_other != pkb_a  # different plates, (here) different tax


async def test_stnk_endorsed_on_29_february_is_valid_until_28_february() -> None:
    async with samsat(clock=jam_tetap(datetime(2028, 2, 29, 10, 0, tzinfo=WIB))) as client:
        body = (await ajukan(client, MOBIL)).json()
    assert body["tanggal_pengesahan"] == "2028-02-29"
    assert body["berlaku_sampai"] == "2029-02-28"


# ------------------------------------------------------------------ idempotency


async def test_same_key_twice_applies_once_and_replays_the_identical_reply() -> None:
    async with samsat() as client:
        first = await ajukan(client, MOBIL, key="step-42")
        second = await ajukan(client, MOBIL, key="step-42")
        book = await ledger(client)

    assert first.status_code == second.status_code == 200
    assert second.content == first.content
    assert second.headers["Idempotent-Replayed"] == "true"
    assert book["applied"] == 1 and book["replayed"] == 1
    [entry] = book["entries"]
    assert entry["key"] == "step-42"
    assert entry["operation"] == "PKB_PENGESAHAN"
    assert entry["subject"] == "BA 1234 LZ"  # the plate is the subject; never a NIK
    assert entry["replays"] == 1
    assert entry["applied_at"].startswith("2026-01-14T09:30")


async def test_same_body_is_judged_after_parsing_so_key_order_and_spacing_do_not_matter() -> None:
    async with samsat() as client:
        first = await ajukan(client, MOBIL)
        reordered = json.dumps(dict(reversed(list(MOBIL.items()))), indent=2)
        second = await client.post(PATH, content=reordered, headers={"Idempotency-Key": "step-1", "Content-Type": "application/json"})
        book = await ledger(client)
    assert second.status_code == 200 and second.content == first.content
    assert book["applied"] == 1 and book["replayed"] == 1


async def test_same_key_with_a_different_body_is_refused() -> None:
    async with samsat() as client:
        await ajukan(client, MOBIL, key="step-7")
        r = await ajukan(client, {**MOBIL, "nopol": "BA 1 LZ"}, key="step-7")
        book = await ledger(client)

    assert r.status_code == 409
    assert r.json() == {
        "status": "GAGAL",
        "kode_error": "KUNCI_SUDAH_DIPAKAI",
        "pesan": r.json()["pesan"],
    }
    assert book["applied"] == 1 and book["replayed"] == 0
    assert book["entries"][0]["subject"] == "BA 1234 LZ"


@pytest.mark.parametrize("headers", [{}, {"Idempotency-Key": ""}, {"Idempotency-Key": "   "}])
async def test_missing_idempotency_key_is_refused_and_nothing_is_applied(headers: dict[str, str]) -> None:
    async with samsat() as client:
        r = await client.post(PATH, json=MOBIL, headers=headers)
        book = await ledger(client)
    assert r.status_code == 400
    assert r.json()["status"] == "GAGAL"
    assert r.json()["kode_error"] == "IDEMPOTENCY_KEY_WAJIB"
    assert book["applied"] == 0


async def test_overlong_idempotency_key_is_refused() -> None:
    async with samsat() as client:
        r = await ajukan(client, MOBIL, key="x" * 201)
    assert r.status_code == 400
    assert r.json()["kode_error"] == "IDEMPOTENCY_KEY_TIDAK_VALID"


async def test_concurrent_requests_with_the_same_key_apply_once() -> None:
    # latency makes all ten requests overlap inside the app before any of them applies
    async with samsat(SamsatKnobs(latency_ms=20)) as client:
        replies = await asyncio.gather(*(ajukan(client, MOBIL, key="step-race") for _ in range(10)))
        book = await ledger(client)

    assert [r.status_code for r in replies] == [200] * 10
    assert len({r.content for r in replies}) == 1
    assert sum(r.headers.get("Idempotent-Replayed") == "true" for r in replies) == 9
    assert book["applied"] == 1 and book["replayed"] == 9


def test_two_simulators_on_one_ledger_file_in_parallel_threads_apply_once(tmp_path: Path) -> None:
    # Two apps = two SQLite connections on one file; every request runs on its own
    # event loop in its own thread, so the apply-once check meets real parallelism.
    path = str(tmp_path / "samsat.db")
    apps = [create_app(ledger_path=path, clock=jam_tetap()) for _ in range(2)]

    async def kirim_async(i: int) -> httpx.Response:
        transport = httpx.ASGITransport(app=apps[i % 2])
        async with httpx.AsyncClient(transport=transport, base_url="http://samsat.test") as client:
            return await ajukan(client, MOBIL, key="step-shared")

    with ThreadPoolExecutor(max_workers=8) as pool:
        replies = list(pool.map(lambda i: asyncio.run(kirim_async(i)), range(16)))

    assert [r.status_code for r in replies] == [200] * 16
    assert len({r.content for r in replies}) == 1
    entries = apps[0].state.simulator.ledger.entries()
    assert len(entries) == 1 and entries[0].replays == 15
    for app in apps:
        app.state.simulator.ledger.close()


async def test_file_backed_ledger_survives_a_simulator_restart(tmp_path: Path) -> None:
    path = str(tmp_path / "ledger.sqlite")
    async with samsat(ledger_path=path) as before:
        first = await ajukan(before, MOBIL, key="step-persist")
    async with samsat(ledger_path=path) as after:  # a new app on the same file = a restart
        again = await ajukan(after, MOBIL, key="step-persist")
        conflict = await ajukan(after, MOTOR, key="step-persist")
        book = await ledger(after)

    assert again.status_code == 200 and again.content == first.content
    assert again.headers["Idempotent-Replayed"] == "true"
    assert conflict.status_code == 409
    assert book["applied"] == 1 and book["replayed"] == 1


async def test_in_memory_ledgers_are_private_to_each_app() -> None:
    async with samsat() as a, samsat() as b:
        await ajukan(a, MOBIL)
        assert (await ledger(b))["applied"] == 0


# ---------------------------------------------------------------- business errors


@pytest.mark.parametrize("nopol", ["BA 9001 LZ", "BA 9999 LZ", "B 9500"])
async def test_plates_with_serial_above_9000_are_unregistered(nopol: str) -> None:
    assert await refusal({**MOBIL, "nopol": nopol}) == (404, "GAGAL", "NOPOL_TIDAK_TERDAFTAR", 0)


async def test_plate_with_serial_9000_is_still_registered() -> None:
    async with samsat() as client:
        r = await ajukan(client, {**MOBIL, "nopol": "BA 9000 LZ"})
    assert r.status_code == 200


async def test_nik_ending_in_99_is_not_the_registered_owner() -> None:
    assert await refusal({**MOBIL, "nik_pemilik": "1375015203900099"}) == (409, "GAGAL", "NIK_TIDAK_SESUAI", 0)


@pytest.mark.parametrize(
    "body",
    [
        {**MOBIL, "nopol": "ba 1234 lz"},  # Samsat does not normalise case
        {**MOBIL, "nopol": "BA1234LZ"},  # nor spacing
        {**MOBIL, "nopol": "BA 0123 LZ"},  # no leading zero in the serial
        {**MOBIL, "nik_pemilik": "137501520390000"},  # 15 digits
        {**MOBIL, "jenis_kendaraan": "TRUK"},
        {**MOBIL, "warna": "HITAM"},  # unknown field
        {"nopol": "BA 1234 LZ"},  # missing fields
    ],
)
async def test_malformed_native_input_gets_422_data_tidak_valid(body: dict[str, Any]) -> None:
    async with samsat() as client:
        r = await ajukan(client, body)
        book = await ledger(client)
    assert r.status_code == 422
    assert r.json()["status"] == "GAGAL"
    assert r.json()["kode_error"] == "DATA_TIDAK_VALID"
    assert r.json()["kesalahan"]
    assert book["applied"] == 0


async def test_a_body_that_is_not_json_gets_422_data_tidak_valid() -> None:
    async with samsat() as client:
        r = await client.post(PATH, content=b"nopol=BA 1234 LZ", headers={"Idempotency-Key": "k"})
    assert r.status_code == 422
    assert r.json()["kode_error"] == "DATA_TIDAK_VALID"


async def test_unknown_paths_answer_in_samsat_error_shape() -> None:
    async with samsat() as client:
        r = await client.get("/api/v1/tidak-ada")
    assert r.status_code == 404
    assert r.json()["status"] == "GAGAL"
    assert r.json()["kode_error"] == "TIDAK_DITEMUKAN"


# -------------------------------------------------------------------------- knobs


async def test_error_rate_1_answers_503_with_retry_after_and_applies_nothing() -> None:
    async with samsat(SamsatKnobs(error_rate=1.0)) as client:
        r = await ajukan(client, MOBIL, key="step-busy")
        assert (await ledger(client))["applied"] == 0

        await set_knobs(client, error_rate=0.0)
        retry = await ajukan(client, MOBIL, key="step-busy")
        book = await ledger(client)

    assert r.status_code == 503
    assert r.headers["Retry-After"] == "1"
    assert r.json()["kode_error"] == "SISTEM_SIBUK"
    assert retry.status_code == 200 and "Idempotent-Replayed" not in retry.headers
    assert book["applied"] == 1 and book["replayed"] == 0


async def test_down_answers_every_native_request_503_but_the_control_plane_stays_up() -> None:
    async with samsat(SamsatKnobs(down=True)) as client:
        r = await ajukan(client, MOBIL)
        no_key = await client.post(PATH, json=MOBIL)
        health = await client.get("/_sim/health")
        book = await ledger(client)
    assert r.status_code == no_key.status_code == 503
    assert r.json()["kode_error"] == "SISTEM_TIDAK_TERSEDIA"
    assert health.status_code == 200 and health.json() == {"ok": True}
    assert book["applied"] == 0


async def test_drop_reply_after_apply_records_the_work_and_a_retry_gets_the_stored_result() -> None:
    async with samsat(SamsatKnobs(drop_reply_after_apply=1.0)) as client:
        lost = await ajukan(client, MOBIL, key="step-timeout")
        after_loss = await ledger(client)

        await set_knobs(client, drop_reply_after_apply=0.0)
        retry = await ajukan(client, MOBIL, key="step-timeout")
        book = await ledger(client)

    assert lost.status_code == 504
    assert lost.json()["kode_error"] == "WAKTU_HABIS"
    assert after_loss["applied"] == 1  # executed, then the reply was lost
    assert retry.status_code == 200
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert HasilPengesahan.model_validate(retry.json()).rincian.swdkllj == 143_000
    assert book["applied"] == 1 and book["replayed"] == 1


async def test_drop_reply_never_hits_replays() -> None:
    """Only applications lose their reply; a replay is not an application."""
    async with samsat() as client:
        first = await ajukan(client, MOBIL)
        await set_knobs(client, drop_reply_after_apply=1.0)
        replay = await ajukan(client, MOBIL)
    assert replay.status_code == 200 and replay.content == first.content


async def test_daily_quota_refuses_new_applications_until_the_next_day() -> None:
    now = [HARI_INI]
    async with samsat(SamsatKnobs(daily_quota=2), clock=lambda: now[0]) as client:
        ok = [await ajukan(client, MOBIL, key=f"step-{i}") for i in range(2)]
        full = await ajukan(client, MOTOR, key="step-3")
        replay_when_full = await ajukan(client, MOBIL, key="step-0")
        now[0] = HARI_INI + timedelta(days=1)
        next_day = await ajukan(client, MOTOR, key="step-3")
        book = await ledger(client)

    assert [r.status_code for r in ok] == [200, 200]
    assert full.status_code == 429
    assert full.json()["kode_error"] == "KUOTA_HABIS"
    assert int(full.headers["Retry-After"]) == 14 * 3600 + 30 * 60  # until WIB midnight
    assert replay_when_full.status_code == 200  # replays are not applications
    assert next_day.status_code == 200
    assert next_day.json()["tanggal_pengesahan"] == (date(2026, 1, 15)).isoformat()
    assert book["applied"] == 3


async def test_latency_ms_delays_native_replies() -> None:
    async with samsat(SamsatKnobs(latency_ms=150)) as client:
        started = time.perf_counter()
        r = await ajukan(client, MOBIL)
        elapsed = time.perf_counter() - started
    assert r.status_code == 200
    assert elapsed >= 0.15


async def test_the_same_seed_gives_the_same_sequence_of_faults() -> None:
    async def pola(seed: int) -> list[int]:
        async with samsat(SamsatKnobs(error_rate=0.5, seed=seed)) as client:
            return [(await ajukan(client, MOBIL, key=f"k{i}")).status_code for i in range(20)]

    first, second = await pola(7), await pola(7)
    assert first == second
    assert set(first) == {200, 503}


async def test_knobs_are_readable_and_partially_updatable_at_runtime() -> None:
    async with samsat(SamsatKnobs(latency_ms=5, seed=3)) as client:
        before = (await client.get("/_sim/knobs")).json()
        after = await set_knobs(client, error_rate=0.25, daily_quota=20, bpkb_working_days=5)
        typo = await client.put("/_sim/knobs", json={"eror_rate": 1})
        out_of_range = await client.put("/_sim/knobs", json={"error_rate": 2})
        bad_days = await client.put("/_sim/knobs", json={"bpkb_working_days": 0})
        move_ledger = await client.put("/_sim/knobs", json={"ledger_path": "/tmp/elsewhere.db"})
        final = (await client.get("/_sim/knobs")).json()

    assert before == {
        "latency_ms": 5,
        "error_rate": 0.0,
        "down": False,
        "drop_reply_after_apply": 0.0,
        "garble_rate": 0.0,
        "daily_quota": None,
        "seed": 3,
        "bpkb_working_days": 14,
        "mutasi_working_days": 3,
        "error_status": 503,
    }
    assert after == {**before, "error_rate": 0.25, "daily_quota": 20, "bpkb_working_days": 5}
    # The ledger is fixed for the app's lifetime (SimulatorOptions), so it is no knob at all.
    assert typo.status_code == out_of_range.status_code == bad_days.status_code == move_ledger.status_code == 422
    assert typo.json()["error"] == "invalid knobs"
    assert final == after


async def test_error_rate_can_fail_as_a_bare_500_like_a_crashed_backend() -> None:
    async with samsat(SamsatKnobs(error_rate=1.0, error_status=500)) as client:
        response = await ajukan(client, MOBIL, key="k-500")
        applied = (await ledger(client))["applied"]
    assert response.status_code == 500
    assert response.json()["kode_error"] == "GALAT_INTERNAL"
    assert "Retry-After" not in response.headers
    assert applied == 0


def test_native_request_model_matches_the_documented_example() -> None:
    req = PermohonanPengesahan.model_validate(MOBIL)
    assert req.model_dump(mode="json") == MOBIL


# ------------------------------------------------------- as a separate service


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_runs_as_a_separate_http_service(tmp_path: Path) -> None:
    port = _free_port()
    root = Path(__file__).resolve().parents[2]
    proc = subprocess.Popen(
        [str(Path(sys.executable).with_name("mpp-hub")), "simulator", "samsat", "--port", str(port), "--ledger", str(tmp_path / "l.db")],
        cwd=root,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60  # a loaded CI machine starts a Python process slowly
        while True:
            try:
                if httpx.get(f"{base}/_sim/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else "simulator exited"
            assert time.monotonic() < deadline, "simulator did not start"
            time.sleep(0.1)
        r = httpx.post(f"{base}{PATH}", json=MOTOR, headers={"Idempotency-Key": "step-http"}, timeout=5)
        assert r.status_code == 200
        assert r.json()["rincian"]["swdkllj"] == 35_000
    finally:
        proc.terminate()
        proc.wait(timeout=10)


# ------------------------------------------------------ garble and the Samsat knob


async def test_garble_rate_1_applies_then_answers_200_with_a_page_that_is_not_samsat_json() -> None:
    async with samsat(SamsatKnobs(garble_rate=1.0)) as client:
        garbled = await ajukan(client, MOBIL, key="step-garbled")
        after = await ledger(client)
        replay = await ajukan(client, MOBIL, key="step-garbled")  # garble never hits replays

    assert garbled.status_code == 200
    assert garbled.headers["content-type"].startswith("text/html")
    with pytest.raises(json.JSONDecodeError):
        json.loads(garbled.content)
    assert after["applied"] == 1  # the work was done before the reply was mangled
    assert replay.status_code == 200 and replay.headers["Idempotent-Replayed"] == "true"
    HasilPengesahan.model_validate(replay.json())


async def test_garble_rate_is_drawn_from_the_seeded_random() -> None:
    async def pola(seed: int) -> list[bool]:
        async with samsat(SamsatKnobs(garble_rate=0.5, seed=seed)) as client:
            replies = [await ajukan(client, MOBIL, key=f"k{i}") for i in range(20)]
        return [r.headers["content-type"].startswith("text/html") for r in replies]

    first, second = await pola(11), await pola(11)
    assert first == second and set(first) == {True, False}


async def test_bpkb_working_days_knob_sets_the_bpkb_estimate_of_a_transfer() -> None:
    async with samsat(SamsatKnobs(bpkb_working_days=3)) as client:  # Wednesday 14 Jan 2026
        body = (await client.post(PATH_BBN, json=balik_nama(), headers={"Idempotency-Key": "k"})).json()
    # Thu 15, (Fri 16 Jan: Isra Mikraj, a national holiday), (weekend), Mon 19, Tue 20
    assert body["bpkb"]["perkiraan_selesai"] == "2026-01-20"


# ------------------------------------------------------------- 5-year STNK renewal

PATH_LIMA_TAHUN = "/api/v1/stnk/perpanjangan-lima-tahunan"
PATH_BBN = "/api/v1/bbnkb/balik-nama"
PENJUAL = "1375015203900007"
PEMBELI = "1375020101850011"


def cek_fisik(nopol: str) -> dict[str, str]:
    record = data_register(nopol)
    assert record is not None
    return {"nomor_rangka": record.nomor_rangka, "nomor_mesin": record.nomor_mesin}


def surat_kendaraan(nopol: str, jenis: str) -> dict[str, Any]:
    """The vehicle's papers both services ask for: plate, type, BPKB and physical check,
    the register's own (made-up ones for a plate the register does not know)."""
    record = data_register(nopol)
    return {
        "nopol": nopol,
        "jenis_kendaraan": jenis,
        "no_bpkb": record.no_bpkb if record else "P12345678",
        "cek_fisik": cek_fisik(nopol) if record else {"nomor_rangka": "MH1JFZ130KK123456", "nomor_mesin": "JFZ1E123456"},
    }


def lima_tahun(nopol: str = "BA 1234 LZ", jenis: str = "MOBIL", **ubah: Any) -> dict[str, Any]:
    return {**surat_kendaraan(nopol, jenis), "nik_pemilik": PENJUAL, **ubah}


def balik_nama(nopol: str = "BA 1234 LZ", jenis: str = "MOBIL", **ubah: Any) -> dict[str, Any]:
    parties = {"nik_pemilik_lama": PENJUAL, "nik_pemilik_baru": PEMBELI, "kwitansi": {"nomor": "KW/2026/0142", "bermeterai": True}}
    return {**surat_kendaraan(nopol, jenis), **parties, **ubah}


async def kirim(client: httpx.AsyncClient, path: str, body: dict[str, Any], key: str = "step-1") -> httpx.Response:
    return await client.post(path, json=body, headers={"Idempotency-Key": key})


async def after_annual_pkb(path: str, body: dict[str, Any], reply: type[BaseModel]) -> tuple[int, dict[str, Any], dict[str, Any]]:
    """The car's annual PKB, then ``body`` at ``path`` on the same simulator, answered with
    a success of the native ``reply`` model about the same plate: the annual PKB, that
    answer and the ledger."""
    async with samsat() as client:
        annual_pkb = (await ajukan(client, MOBIL, key="annual")).json()["rincian"]["pkb"]
        r = await kirim(client, path, body)
        book = await ledger(client)
    assert r.status_code == 200, r.text
    reply.model_validate(r.json())
    assert r.json()["status"] == "BERHASIL" and r.json()["nopol"] == "BA 1234 LZ"
    return annual_pkb, r.json(), book


async def test_five_year_renewal_of_a_car_charges_pkb_swdkllj_stnk_200000_and_plates_100000() -> None:
    annual_pkb, body, book = await after_annual_pkb(PATH_LIMA_TAHUN, lima_tahun(), HasilPerpanjanganLimaTahunan)
    assert re.fullmatch(r"13\d{13}", body["kode_bayar"])
    assert body["rincian"] == {"pkb": annual_pkb, "swdkllj": 143_000, "biaya_stnk": 200_000, "biaya_tnkb": 100_000}
    assert body["total_bayar"] == sum(body["rincian"].values())
    assert body["stnk_berlaku_sampai"] == "2031-01-14"  # five years
    assert body["masa_berlaku_tnkb"] == "01.31"  # printed on the new plates
    assert body["tanggal_penetapan"] == "2026-01-14"
    assert book["entries"][-1]["operation"] == "STNK_LIMA_TAHUNAN"
    assert book["entries"][-1]["subject"] == "BA 1234 LZ"


async def test_five_year_renewal_of_a_motorcycle_charges_stnk_100000_and_plates_60000() -> None:
    async with samsat() as client:
        body = (await kirim(client, PATH_LIMA_TAHUN, lima_tahun("BA 4321 LQ", "MOTOR"))).json()
    assert body["rincian"]["swdkllj"] == 35_000
    assert (body["rincian"]["biaya_stnk"], body["rincian"]["biaya_tnkb"]) == (100_000, 60_000)
    assert 150_000 <= body["rincian"]["pkb"] <= 600_000


async def test_five_year_renewal_on_29_february_is_valid_until_28_february() -> None:
    async with samsat(clock=jam_tetap(datetime(2028, 2, 29, 10, 0, tzinfo=WIB))) as client:
        body = (await kirim(client, PATH_LIMA_TAHUN, lima_tahun())).json()
    assert (body["stnk_berlaku_sampai"], body["masa_berlaku_tnkb"]) == ("2033-02-28", "02.33")


@pytest.mark.parametrize(
    ("ubah", "status", "kode"),
    [
        ({"nopol": "BA 9001 LZ"}, 404, "NOPOL_TIDAK_TERDAFTAR"),
        ({"nik_pemilik": "1375015203900099"}, 409, "NIK_TIDAK_SESUAI"),
        ({"no_bpkb": "P12345678"}, 409, "BPKB_TIDAK_SESUAI"),  # not this plate's BPKB
        ({"cek_fisik": {**cek_fisik("BA 1234 LZ"), "nomor_rangka": "MH1JFZ130KK123456"}}, 409, "CEK_FISIK_TIDAK_SESUAI"),
        ({"cek_fisik": {**cek_fisik("BA 1234 LZ"), "nomor_mesin": "JFZ1E123456"}}, 409, "CEK_FISIK_TIDAK_SESUAI"),
    ],
    ids=["unregistered", "not-owner", "wrong-bpkb", "wrong-chassis", "wrong-engine"],
)
async def test_five_year_renewal_refusals_apply_nothing(ubah: dict[str, Any], status: int, kode: str) -> None:
    assert await refusal(lima_tahun(**ubah), PATH_LIMA_TAHUN) == (status, "GAGAL", kode, 0)


async def test_a_refusal_is_not_recorded_so_the_same_key_applies_once_the_papers_are_right() -> None:
    async with samsat() as client:
        refused = await kirim(client, PATH_LIMA_TAHUN, lima_tahun(no_bpkb="P12345678"), key="step-b")
        fixed = await kirim(client, PATH_LIMA_TAHUN, lima_tahun(), key="step-b")
        book = await ledger(client)
    assert refused.json()["kode_error"] == "BPKB_TIDAK_SESUAI"
    assert fixed.status_code == 200 and "Idempotent-Replayed" not in fixed.headers
    assert book["applied"] == 1


@pytest.mark.parametrize(
    "ubah",
    [
        {"no_bpkb": "12345678"},  # letter + 8 digits
        {"no_bpkb": "p12345678"},  # upper case only
        {"cek_fisik": {"nomor_rangka": "MH1JFZ130KK12345O", "nomor_mesin": "JFZ1E123456"}},  # no O in a VIN
        {"cek_fisik": {"nomor_rangka": "MH1JFZ130KK123456"}},  # engine number missing
        {"cek_fisik": None},
        {"keterangan": "x"},  # unknown field
    ],
)
async def test_malformed_five_year_renewal_gets_422_data_tidak_valid(ubah: dict[str, Any]) -> None:
    async with samsat() as client:
        r = await kirim(client, PATH_LIMA_TAHUN, lima_tahun(**ubah))
    assert r.status_code == 422
    assert r.json()["kode_error"] == "DATA_TIDAK_VALID" and r.json()["kesalahan"]


async def test_a_key_used_for_one_operation_cannot_be_reused_for_another() -> None:
    async with samsat() as client:
        await ajukan(client, MOBIL, key="step-x")
        r = await kirim(client, PATH_LIMA_TAHUN, lima_tahun(), key="step-x")
    assert r.status_code == 409 and r.json()["kode_error"] == "KUNCI_SUDAH_DIPAKAI"


async def test_daily_quota_counts_every_operation_and_is_checked_before_business_rules() -> None:
    async with samsat(SamsatKnobs(daily_quota=1)) as client:
        await ajukan(client, MOBIL, key="a")
        full = await kirim(client, PATH_LIMA_TAHUN, lima_tahun(), key="b")
        unregistered_when_full = await kirim(client, PATH_BBN, balik_nama(nopol="BA 9500 LZ"), key="c")
    assert full.status_code == unregistered_when_full.status_code == 429
    assert unregistered_when_full.json()["kode_error"] == "KUOTA_HABIS"


# ---------------------------------------------------------- ownership transfer (BBN-KB)


async def test_transfer_of_a_car_issues_the_stnk_and_estimates_the_bpkb() -> None:
    annual_pkb, body, book = await after_annual_pkb(PATH_BBN, balik_nama(), HasilBalikNama)
    assert body["rincian"] == {
        "bbnkb": 0,  # BBNKB only on a first transfer since 5 Jan 2025 (UU 1/2022 art. 12(1))
        "pkb": annual_pkb,
        "swdkllj": 143_000,
        "biaya_bpkb": 375_000,
        "biaya_stnk": 200_000,
        "biaya_tnkb": 100_000,
    }
    assert body["total_bayar"] == sum(body["rincian"].values())
    assert re.fullmatch(r"\d{8}", body["no_stnk"])
    assert body["bpkb"]["status"] == "DIPROSES_POLDA"
    assert body["bpkb"]["perkiraan_selesai"] == "2026-02-04"  # 14 working days after Wed 14 Jan (16 Jan is a holiday)
    assert "Polda" in body["bpkb"]["keterangan"]
    entry = book["entries"][-1]
    assert (entry["operation"], entry["subject"]) == ("BBNKB_BALIK_NAMA", "BA 1234 LZ")
    assert PENJUAL not in json.dumps(book) and PEMBELI not in json.dumps(book), "no NIK in the ledger view"


async def test_transfer_of_a_motorcycle_charges_bpkb_225000_stnk_100000_plates_60000() -> None:
    async with samsat() as client:
        rincian = (await kirim(client, PATH_BBN, balik_nama("BA 4321 LQ", "MOTOR"))).json()["rincian"]
    assert (rincian["biaya_bpkb"], rincian["biaya_stnk"], rincian["biaya_tnkb"], rincian["swdkllj"]) == (
        225_000,
        100_000,
        60_000,
        35_000,
    )


@pytest.mark.parametrize(
    ("ubah", "status", "kode"),
    [
        ({"nopol": "BA 9999 LZ"}, 404, "NOPOL_TIDAK_TERDAFTAR"),
        ({"no_bpkb": "P12345678"}, 409, "BPKB_TIDAK_SESUAI"),
        ({"kwitansi": {"nomor": "KW/2026/0142", "bermeterai": False}}, 422, "KWITANSI_TANPA_METERAI"),
        ({"nik_pemilik_lama": "1375015203900099"}, 409, "NIK_TIDAK_SESUAI"),  # seller is not the registered owner
        ({"nik_pemilik_baru": PENJUAL}, 409, "PEMILIK_BARU_SAMA"),
        ({"cek_fisik": {**cek_fisik("BA 1234 LZ"), "nomor_mesin": "JFZ1E123456"}}, 409, "CEK_FISIK_TIDAK_SESUAI"),
    ],
    ids=["unregistered", "wrong-bpkb", "unstamped-receipt", "seller-not-owner", "same-owner", "wrong-engine"],
)
async def test_transfer_refusals_apply_nothing(ubah: dict[str, Any], status: int, kode: str) -> None:
    assert await refusal(balik_nama(**ubah), PATH_BBN) == (status, "GAGAL", kode, 0)


async def test_transfer_replays_the_stored_reply_for_the_same_key() -> None:
    async with samsat() as client:
        first = await kirim(client, PATH_BBN, balik_nama(), key="step-bbn")
        second = await kirim(client, PATH_BBN, balik_nama(), key="step-bbn")
        other_buyer = await kirim(client, PATH_BBN, balik_nama(nik_pemilik_baru="1375020101850012"), key="step-bbn")
    assert second.content == first.content and second.headers["Idempotent-Replayed"] == "true"
    assert other_buyer.status_code == 409 and other_buyer.json()["kode_error"] == "KUNCI_SUDAH_DIPAKAI"


def test_native_request_models_match_the_documented_examples() -> None:
    assert PermohonanPerpanjanganLimaTahunan.model_validate(lima_tahun()).model_dump(mode="json") == lima_tahun()
    assert PermohonanBalikNama.model_validate(balik_nama()).model_dump(mode="json") == balik_nama()


# ------------------------------------------------------------------ the register


def test_register_records_are_derived_from_the_plate_in_native_formats() -> None:
    record = data_register("BA 1234 LZ")
    assert record is not None and record == data_register("BA 1234 LZ")
    assert re.fullmatch(r"[A-Z][0-9]{8}", record.no_bpkb)
    assert re.fullmatch(r"[A-HJ-NPR-Z0-9]{17}", record.nomor_rangka)
    assert re.fullmatch(r"[A-Z0-9]{6,20}", record.nomor_mesin)
    assert data_register("BA 1235 LZ") != record
    assert data_register("BA 9001 LZ") is None


async def test_the_register_can_be_looked_up_on_the_control_plane() -> None:
    async with samsat(SamsatKnobs(down=True)) as client:  # control plane ignores the knobs
        found = await client.get("/_sim/register/BA 1234 LZ")
        missing = await client.get("/_sim/register/BA 9100 LA")
        malformed = await client.get("/_sim/register/ba1234lz")
    record = data_register("BA 1234 LZ")
    assert record is not None
    assert found.status_code == 200
    assert found.json() == {
        "nopol": "BA 1234 LZ",
        "no_bpkb": record.no_bpkb,
        "nomor_rangka": record.nomor_rangka,
        "nomor_mesin": record.nomor_mesin,
    }
    assert missing.status_code == 404 and missing.json()["kode_error"] == "NOPOL_TIDAK_TERDAFTAR"
    assert malformed.status_code == 422
