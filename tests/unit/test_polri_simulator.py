"""Specification of the Polri backend simulator (adapters/polri/simulator.py).

Polri is the asynchronous agency: it accepts an application (202 + nomor_registrasi)
and later POSTs a signed verdict to the caller's callback_url. These tests pin down
what the adapter and the hub's callback endpoint may rely on: the native protocol,
the business rules behind each verdict, apply-once per X-Request-Id, the fault knobs,
and how callbacks are delivered (signed, retried while the hub is unreachable,
stopped on 2xx/4xx, duplicated on purpose).

Callbacks never leave the process: the simulator's outgoing client uses the SDK's
recording transport (:class:`Hub`), which records each delivery and answers as told.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from test_polri_adapter import CEK_FISIK as DOKUMEN_CEK_FISIK

from adapters.polri import plugin as polri_plugin
from adapters.polri.native import GalatPolri, PemberitahuanStatus, TandaTerima
from adapters.polri.simulator import (
    DEV_CALLBACK_SECRET,
    WIB,
    PolriKnobs,
    PolriSimulator,
    create_app,
    kendaraan_diblokir,
    register_kendaraan,
)
from adapters.samsat.simulator import data_register
from adapters.sdk.callbacks import SIGNATURE_HEADER, CallbackRejected, verify
from adapters.sdk.contract import SimulatorOptions
from adapters.sdk.testing.client import Driver, assert_replayed
from adapters.sdk.testing.clock import add_months
from adapters.sdk.testing.recording import RecordingTransport
from hub.config import Settings

SKCK = "/api/v1/skck/permohonan"
SIM = "/api/v1/sim/perpanjangan"
CEK_FISIK = "/api/v1/kendaraan/cek-fisik"
HARI_INI = datetime(2026, 1, 14, 9, 30, tzinfo=WIB)  # a Wednesday at MPP Bukittinggi
NIK = "1375015203900007"
NIK_CATATAN = "1375010101900013"  # serial 0013: record hit
HUB = "http://hub.test/v1/callbacks/polri/"
FAST = {"verdict_delay_ms": 0, "callback_backoff_ms": 0}


def skck_baru(nik: str = NIK, **changes: Any) -> dict[str, Any]:
    return {
        "jenis_permohonan": "BARU",
        "nik": nik,
        "nama_lengkap": "Siti Rahmah",
        "alamat_domisili": "Jl. Sudirman No. 5, Bukittinggi",
        "keperluan": "Melamar pekerjaan",
        "callback_url": HUB + "step-1",
        **changes,
    }


def skck_perpanjangan(nomor: str = "SKCK/YANMAS/01234/III/2025/INTELKAM", berlaku: str = "2025-09-01", **changes: Any) -> dict[str, Any]:
    return skck_baru(jenis_permohonan="PERPANJANGAN", nomor_skck_lama=nomor, masa_berlaku_skck_lama=berlaku, **changes)


def sim(golongan: str = "C", nomor: str = "137501234567", berlaku: str = "2026-02-01", **changes: Any) -> dict[str, Any]:
    return {
        "nik": NIK,
        "nama_lengkap": "Siti Rahmah",
        "golongan_sim": golongan,
        "nomor_sim_lama": nomor,
        "masa_berlaku_sim_lama": berlaku,
        "callback_url": HUB + "step-1",
        **changes,
    }


def cek_fisik(nopol: str = "BA 2024 LA", **changes: Any) -> dict[str, Any]:
    """A vehicle check whose rubbed numbers are the register's (unless changed)."""
    rangka, mesin = register_kendaraan(nopol) or ("MH1JFZ130KK123456", "JFZ1E1234567")
    return {
        "nik": NIK,
        "nama_lengkap": "Siti Rahmah",
        "nopol": nopol,
        "jenis_kendaraan": "MOBIL",
        "nomor_rangka": rangka,
        "nomor_mesin": mesin,
        "callback_url": HUB + "step-1",
        **changes,
    }


def hub_answer(status: int) -> httpx.Response:
    return httpx.Response(status, json={"accepted": status < 300})


class Hub(RecordingTransport):
    """The hub's callback endpoint as the simulator sees it: records each delivery and
    answers one of ``answers`` per attempt (a status, or an exception to raise), then
    ``default`` to every further attempt."""

    def __init__(self, answers: Sequence[int | Exception] = (), default: int = 202) -> None:
        super().__init__(lambda _: hub_answer(default), queue=[a if isinstance(a, Exception) else hub_answer(a) for a in answers])


@dataclass
class Polri(Driver):
    simulator: PolriSimulator
    hub: RecordingTransport

    async def ajukan(self, path: str, body: dict[str, Any] | bytes, key: str | None = "step-1") -> httpx.Response:
        headers = {} if key is None else {"X-Request-Id": key}
        if isinstance(body, bytes):
            return await self.client.post(path, content=body, headers={**headers, "Content-Type": "application/json"})
        return await self.client.post(path, json=body, headers=headers)

    async def selesai(self) -> None:
        """Wait until every callback delivery ended (delivered or given up)."""
        await self.simulator.menunggu_pengiriman()


@asynccontextmanager
async def polri(
    knobs: dict[str, Any] | None = None,
    *,
    hub: RecordingTransport | None = None,
    at: datetime = HARI_INI,
    ledger_path: str = ":memory:",
    secret: str = DEV_CALLBACK_SECRET,
) -> AsyncIterator[Polri]:
    """A client wired straight into a fresh simulator (no network either way)."""
    hub = hub or Hub()
    app = create_app(
        PolriKnobs(**{**FAST, **(knobs or {})}),
        ledger_path=ledger_path,
        callback_secret=secret,
        clock=lambda: at,
        callback_transport=hub,
    )
    simulator: PolriSimulator = app.state.polri
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://polri.test") as client:
            yield Polri(client, simulator, hub)
    finally:
        await simulator.aclose()


async def first_answer(path: str, body: dict[str, Any]) -> tuple[int, str, int]:
    """A fresh simulator's answer to ``body`` at ``path``: HTTP status, error code, and how
    many applications it applied."""
    async with polri() as p:
        r = await p.ajukan(path, body)
        applied = (await p.ledger())["applied"]
    return r.status_code, galat(r).kode, applied


def dokumen_terbit(body: dict[str, Any], jenis: str) -> dict[str, Any]:
    """The document a TERBIT verdict carries, once it is checked that the verdict carries
    exactly the envelope and that document."""
    assert body["status"] == "TERBIT"
    assert set(body) == {"nomor_registrasi", "id_permintaan", "layanan", "status", "waktu", jenis}
    return dict(body[jenis])


async def putusan(path: str, body: dict[str, Any]) -> dict[str, Any]:
    """The verdict a fresh simulator calls back with for one application."""
    async with polri() as p:
        await p.ajukan(path, body)
        await p.selesai()
    return verdict(p)


def verdict(p: Polri) -> dict[str, Any]:
    """The last callback body, checked against Polri's own callback schema."""
    body = p.hub.bodies()[-1]
    PemberitahuanStatus.model_validate(body)
    return body


def galat(response: httpx.Response) -> GalatPolri:
    return GalatPolri.model_validate(response.json())


# ----------------------------------------------------------------------- receipt


async def test_an_skck_application_is_accepted_with_a_registration_number() -> None:
    async with polri() as p:
        r = await p.ajukan(SKCK, skck_baru())
        [entry] = (await p.ledger())["entries"]

    assert r.status_code == 202
    assert datetime.fromisoformat(entry["applied_at"]) == HARI_INI, "the ledger uses the simulator's clock"
    receipt = TandaTerima.model_validate(r.json())
    assert receipt.status == "DITERIMA"
    assert receipt.layanan == "SKCK_BARU"
    assert receipt.nomor_registrasi == "POLRES-BKT/SKCK/20260114/000001"
    assert receipt.diterima_pada == HARI_INI


async def test_a_sim_renewal_is_accepted_as_sim_perpanjangan() -> None:
    async with polri() as p:
        r = await p.ajukan(SIM, sim())
    assert r.status_code == 202
    assert r.json()["layanan"] == "SIM_PERPANJANGAN"
    assert r.json()["nomor_registrasi"].startswith("POLRES-BKT/SIM/20260114/")


# ------------------------------------------------------------------ the callback


async def test_the_verdict_is_posted_to_the_callback_url_signed_with_the_shared_secret() -> None:
    async with polri(secret="rahasia-uji") as p:
        receipt = (await p.ajukan(SKCK, skck_baru(), key="step-42")).json()
        await p.selesai()

    [request] = p.hub.requests
    assert str(request.url) == HUB + "step-1"
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["X-Request-Id"] == "step-42"
    verify("rahasia-uji", "step-42", request.content, request.headers[SIGNATURE_HEADER])  # raises if forged
    with pytest.raises(CallbackRejected):
        verify(DEV_CALLBACK_SECRET, "step-42", request.content, request.headers[SIGNATURE_HEADER])
    body = verdict(p)
    assert body["nomor_registrasi"] == receipt["nomor_registrasi"]
    assert body["id_permintaan"] == "step-42"
    assert body["layanan"] == "SKCK_BARU"


async def test_a_clean_record_gets_an_skck_issued_for_rp30000_valid_six_months() -> None:
    async with polri() as p:
        await p.ajukan(SKCK, skck_baru())
        await p.selesai()

    body = verdict(p)
    assert dokumen_terbit(body, "skck") == {
        "nomor_skck": "SKCK/YANMAS/00001/I/2026/INTELKAM",
        "tanggal_terbit": "2026-01-14",
        "berlaku_sampai": "2026-07-14",
        "biaya_pnbp": 30_000,
    }
    assert datetime.fromisoformat(body["waktu"]) == HARI_INI


async def test_a_record_hit_is_first_held_for_coordination_then_refused() -> None:
    async with polri() as p:
        await p.ajukan(SKCK, skck_baru(nik=NIK_CATATAN))
        await p.selesai()

    progress, refusal = p.hub.bodies()
    assert progress["status"] == "DIPROSES"
    assert progress["tahap"] == "KOORDINASI_CATATAN"
    assert refusal["status"] == "DITOLAK"
    assert refusal["penolakan"]["kode_alasan"] == "CATATAN_KRIMINAL"
    assert "skck" not in refusal


async def test_callbacks_carry_no_personal_data_and_neither_does_the_ledger() -> None:
    async with polri() as p:
        await p.ajukan(SKCK, skck_baru())
        await p.selesai()
        ledger = json.dumps(await p.ledger())
    assert NIK not in p.hub.requests[0].content.decode()
    assert "Siti" not in p.hub.requests[0].content.decode()
    assert NIK not in ledger and "Siti" not in ledger


async def test_the_verdict_waits_for_verdict_delay_ms() -> None:
    async with polri({"verdict_delay_ms": 300}) as p:
        started = time.monotonic()
        await p.ajukan(SKCK, skck_baru())
        assert p.hub.requests == []  # accepted, not yet decided
        await p.selesai()
        elapsed = time.monotonic() - started
    assert len(p.hub.requests) == 1
    assert elapsed >= 0.29


# ------------------------------------------------------------------- SKCK renewal


async def test_renewal_of_a_recently_expired_skck_is_issued() -> None:
    body = await putusan(SKCK, skck_perpanjangan(berlaku="2025-09-01"))
    assert body["layanan"] == "SKCK_PERPANJANGAN"
    assert body["status"] == "TERBIT"
    assert body["skck"]["biaya_pnbp"] == 30_000
    assert body["skck"]["berlaku_sampai"] == "2026-07-14"


@pytest.mark.parametrize(
    ("berlaku", "status"),
    [("2025-01-14", "TERBIT"), ("2025-01-13", "DITOLAK")],
    ids=["exactly-one-year-past-expiry", "one-year-and-a-day"],
)
async def test_renewal_is_allowed_up_to_one_year_past_expiry(berlaku: str, status: str) -> None:
    body = await putusan(SKCK, skck_perpanjangan(berlaku=berlaku))
    assert body["status"] == status
    if status == "DITOLAK":
        assert body["penolakan"]["kode_alasan"] == "SKCK_LAMA_KADALUARSA"


@pytest.mark.parametrize(
    "nomor",
    ["SKCK/YANMAS/95000/III/2025/INTELKAM", "SKCK/YANMAS/1234/III/2025/INTELKAM", "SKCK/YANMAS/01234/XIII/2025/INTELKAM"],
    ids=["serial-not-issued", "serial-not-5-digits", "not-a-month"],
)
async def test_renewal_of_an_skck_not_in_the_register_is_refused(nomor: str) -> None:
    async with polri() as p:
        await p.ajukan(SKCK, skck_perpanjangan(nomor=nomor))
        await p.selesai()
    assert verdict(p)["penolakan"]["kode_alasan"] == "SKCK_LAMA_TIDAK_DITEMUKAN"


async def test_a_renewal_also_checks_the_criminal_record() -> None:
    async with polri() as p:
        await p.ajukan(SKCK, skck_perpanjangan(nik=NIK_CATATAN))
        await p.selesai()
    assert [b["status"] for b in p.hub.bodies()] == ["DIPROSES", "DITOLAK"]


@pytest.mark.parametrize(
    "body",
    [
        skck_baru(jenis_permohonan="PERPANJANGAN"),
        skck_baru(nomor_skck_lama="SKCK/YANMAS/01234/III/2025/INTELKAM", masa_berlaku_skck_lama="2025-09-01"),
    ],
    ids=["renewal-without-old-skck", "new-with-old-skck"],
)
async def test_old_skck_data_goes_with_renewals_only(body: dict[str, Any]) -> None:
    assert await first_answer(SKCK, body) == (422, "DATA_TIDAK_VALID", 0)


# -------------------------------------------------------------------- SIM renewal


@pytest.mark.parametrize(
    ("golongan", "biaya"),
    [("A", 80_000), ("BI", 80_000), ("BII", 80_000), ("C", 75_000), ("CI", 75_000), ("CII", 75_000), ("D", 30_000), ("DI", 30_000)],
)
async def test_sim_renewal_fee_per_class(golongan: str, biaya: int) -> None:
    body = await putusan(SIM, sim(golongan=golongan))
    assert body["status"] == "TERBIT"
    assert body["sim"]["golongan_sim"] == golongan
    assert body["sim"]["biaya_pnbp"] == biaya


async def test_a_renewed_sim_gets_a_new_number_valid_five_years_from_issue() -> None:
    async with polri() as p:
        await p.ajukan(SIM, sim())
        await p.selesai()
    dokumen = verdict(p)["sim"]
    assert dokumen["tanggal_terbit"] == "2026-01-14"
    assert dokumen["berlaku_sampai"] == "2031-01-14"
    assert dokumen["nomor_sim"] != "137501234567"
    assert dokumen["nomor_sim"].isdigit() and len(dokumen["nomor_sim"]) == 14


@pytest.mark.parametrize(
    ("berlaku", "status"), [("2026-01-14", "TERBIT"), ("2026-01-13", "DITOLAK")], ids=["expires-today", "expired-yesterday"]
)
async def test_an_expired_sim_cannot_be_renewed_even_by_one_day(berlaku: str, status: str) -> None:
    body = await putusan(SIM, sim(berlaku=berlaku))
    assert body["status"] == status
    if status == "DITOLAK":
        assert body["penolakan"]["kode_alasan"] == "SIM_KADALUARSA"
        assert "SIM baru" in body["penolakan"]["alasan"]


async def test_a_sim_number_not_in_the_register_is_refused() -> None:
    async with polri() as p:
        await p.ajukan(SIM, sim(nomor="13750123450000"))
        await p.selesai()
    assert verdict(p)["penolakan"]["kode_alasan"] == "SIM_TIDAK_DITEMUKAN"


@pytest.mark.parametrize(
    "body",
    [sim(nomor="12345"), sim(golongan="B1"), sim(nik="137501520390000"), {**sim(), "email": "x@y.z"}],
    ids=["short-sim-number", "arabic-subclass", "short-nik", "unknown-field"],
)
async def test_a_malformed_sim_renewal_is_refused_with_field_details(body: dict[str, Any]) -> None:
    async with polri() as p:
        r = await p.ajukan(SIM, body)
    assert r.status_code == 422
    error = galat(r)
    assert error.kode == "DATA_TIDAK_VALID"
    assert error.rincian


# ------------------------------------------------------------------ vehicle check


async def test_a_clean_vehicle_with_matching_numbers_gets_a_clearance() -> None:
    async with polri() as p:
        r = await p.ajukan(CEK_FISIK, cek_fisik())
        await p.selesai()

    assert r.status_code == 202
    assert r.json()["layanan"] == "CEK_FISIK_KENDARAAN"
    assert r.json()["nomor_registrasi"] == "POLRES-BKT/RANMOR/20260114/000001"
    assert dokumen_terbit(verdict(p), "cek_fisik") == DOKUMEN_CEK_FISIK, "the very document the adapter's spec translates"


@pytest.mark.parametrize("nopol", ["BA 1313 LA", "BA 2013 LZ", "BA 13 T"])
async def test_a_vehicle_reported_stolen_is_held_for_coordination_then_refused(nopol: str) -> None:
    async with polri() as p:
        await p.ajukan(CEK_FISIK, cek_fisik(nopol))
        await p.selesai()

    progress, refusal = p.hub.bodies()
    assert (progress["status"], progress["tahap"]) == ("DIPROSES", "KOORDINASI_RANMOR")
    assert refusal["status"] == "DITOLAK"
    assert refusal["penolakan"]["kode_alasan"] == "KENDARAAN_DIBLOKIR"
    assert "cek_fisik" not in refusal


def test_only_serials_ending_in_13_are_on_the_stolen_list() -> None:
    assert [kendaraan_diblokir(n) for n in ("BA 1313 LA", "BA 113", "BA 131 LA", "BA 1234 LZ", "BA 3 A")] == [
        True,
        True,
        False,
        False,
        False,
    ]


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"nomor_rangka": "MH1JFZ130KK123456"}, "nomor rangka"),
        ({"nomor_mesin": "JFZ1E1234567"}, "nomor mesin"),
        ({"nomor_rangka": "MH1JFZ130KK123456", "nomor_mesin": "JFZ1E1234567"}, "nomor rangka, nomor mesin"),
    ],
    ids=["chassis", "engine", "both"],
)
async def test_numbers_that_differ_from_the_register_are_refused_naming_which(changes: dict[str, str], named: str) -> None:
    body = await putusan(CEK_FISIK, cek_fisik(**changes))
    assert body["penolakan"]["kode_alasan"] == "CEK_FISIK_TIDAK_SESUAI"
    assert body["penolakan"]["alasan"].endswith(f": {named}.")


async def test_a_plate_not_in_the_register_is_refused() -> None:
    async with polri() as p:
        await p.ajukan(CEK_FISIK, cek_fisik("BA 9001 LA"))
        await p.selesai()
    assert verdict(p)["penolakan"]["kode_alasan"] == "NOPOL_TIDAK_TERDAFTAR"


@pytest.mark.parametrize("nopol", ["BA 1 A", "BA 2024 LA", "BA 1234 LZ", "BA 4321 LQ", "B 9000 ZZZ", "BA 9001 LA", "D 7777"])
def test_the_vehicle_register_is_the_one_samsat_keeps(nopol: str) -> None:
    """Polri checks rubbings against the register whose papers Samsat checks, so a vehicle
    Samsat knows passes Polri's check with the numbers Samsat reports."""
    samsat = data_register(nopol)
    assert register_kendaraan(nopol) == (None if samsat is None else (samsat.nomor_rangka, samsat.nomor_mesin))


@pytest.mark.parametrize(
    "body",
    [
        cek_fisik() | {"nopol": "BA-2024-LA"},
        cek_fisik(nomor_rangka="MH1JFZ130KK12345"),
        cek_fisik(nomor_rangka="MH1JFZ130KK12345O"),
        cek_fisik(nomor_mesin="jfz1e1234567"),
        cek_fisik(jenis_kendaraan="TRUK"),
        {k: v for k, v in cek_fisik().items() if k != "nomor_mesin"},
    ],
    ids=["plate-with-dashes", "vin-16", "vin-with-O", "lower-case-engine", "unknown-type", "no-engine-number"],
)
async def test_a_malformed_vehicle_check_is_refused_and_applies_nothing(body: dict[str, Any]) -> None:
    assert await first_answer(CEK_FISIK, body) == (422, "DATA_TIDAK_VALID", 0)


async def test_a_repeated_vehicle_check_is_applied_once() -> None:
    async with polri() as p:
        first = await p.ajukan(CEK_FISIK, cek_fisik(), key="step-9")
        again = await p.ajukan(CEK_FISIK, cek_fisik(), key="step-9")
        other = await p.ajukan(CEK_FISIK, cek_fisik(jenis_kendaraan="MOTOR"), key="step-9")
        await p.selesai()
        ledger = await p.ledger()
    assert again.json() == first.json()
    assert other.status_code == 409
    assert (ledger["applied"], ledger["replayed"]) == (1, 1)
    assert ledger["entries"][0]["subject"] == "CEK_FISIK_KENDARAAN"
    assert len(p.hub.requests) == 1


async def test_verdict_fault_schema_invalid_drops_the_vehicle_clearance_too() -> None:
    async with polri({"verdict_fault": "schema_invalid"}) as p:
        await p.ajukan(CEK_FISIK, cek_fisik())
        await p.selesai()
    body = p.hub.bodies()[-1]
    assert body["status"] == "TERBIT"
    assert "cek_fisik" not in body


def test_month_arithmetic_clamps_to_the_end_of_shorter_months() -> None:
    assert add_months(date(2025, 8, 31), 6) == date(2026, 2, 28)
    assert add_months(date(2027, 8, 31), 6) == date(2028, 2, 29)
    assert add_months(date(2026, 1, 14), 60) == date(2031, 1, 14)
    assert add_months(date(2024, 2, 29), 12) == date(2025, 2, 28)


# ------------------------------------------------------------------- idempotency


async def test_a_repeated_request_id_replays_the_receipt_and_decides_once() -> None:
    async with polri() as p:
        first = await p.ajukan(SKCK, skck_baru(), key="step-7")
        again = await p.ajukan(SKCK, skck_baru(), key="step-7")
        await p.selesai()
        ledger = await p.ledger()

    assert first.status_code == 202
    assert_replayed(first, again, ledger, header="X-Idempotent-Replay", key="step-7")
    assert len(p.hub.requests) == 1, "one application, one verdict"


async def test_the_same_body_in_another_key_order_is_the_same_application() -> None:
    async with polri() as p:
        await p.ajukan(SKCK, skck_baru())
        reordered = json.dumps(dict(reversed(list(skck_baru().items())))).encode()
        again = await p.ajukan(SKCK, reordered)
    assert again.status_code == 202
    assert again.headers["X-Idempotent-Replay"] == "true"


async def test_a_request_id_reused_for_another_body_is_a_conflict() -> None:
    async with polri() as p:
        await p.ajukan(SKCK, skck_baru())
        r = await p.ajukan(SKCK, skck_baru(keperluan="Mendaftar CPNS"))
        ledger = await p.ledger()
    assert r.status_code == 409
    assert galat(r).kode == "REQUEST_ID_BENTROK"
    assert (ledger["applied"], ledger["replayed"]) == (1, 0)


@pytest.mark.parametrize(("key", "kode"), [(None, "REQUEST_ID_WAJIB"), ("  ", "REQUEST_ID_WAJIB"), ("x" * 201, "REQUEST_ID_TIDAK_VALID")])
async def test_the_request_id_header_is_required(key: str | None, kode: str) -> None:
    async with polri() as p:
        r = await p.ajukan(SKCK, skck_baru(), key=key)
        assert (await p.ledger())["applied"] == 0
    assert r.status_code == 400
    assert galat(r).kode == kode


async def test_a_body_that_is_not_json_is_refused() -> None:
    async with polri() as p:
        r = await p.ajukan(SKCK, b"{nik: 1375")
    assert r.status_code == 422
    assert galat(r).kode == "DATA_TIDAK_VALID"


async def test_unknown_paths_and_methods_answer_in_polri_error_shape() -> None:
    async with polri() as p:
        missing = await p.client.post("/api/v1/paspor", json={})
        wrong = await p.client.get(SKCK)
    assert (missing.status_code, galat(missing).kode) == (404, "TIDAK_DITEMUKAN")
    assert (wrong.status_code, galat(wrong).kode) == (405, "METODE_TIDAK_DIIZINKAN")


# ------------------------------------------------------------------------- knobs


async def test_down_answers_503_and_applies_nothing() -> None:
    async with polri({"down": True}) as p:
        r = await p.ajukan(SKCK, skck_baru())
        assert (await p.ledger())["applied"] == 0
        health = await p.client.get("/_sim/health")
    assert r.status_code == 503
    assert galat(r).kode == "LAYANAN_TIDAK_TERSEDIA"
    assert health.status_code == 200, "the control plane ignores 'down'"
    assert p.hub.requests == []


async def test_error_rate_answers_busy_with_retry_after_before_applying() -> None:
    async with polri({"error_rate": 1.0}) as p:
        r = await p.ajukan(SKCK, skck_baru())
        assert (await p.ledger())["applied"] == 0
    assert r.status_code == 503
    assert galat(r).kode == "LAYANAN_SIBUK"
    assert r.headers["Retry-After"] == "1"


async def test_latency_ms_delays_the_answer() -> None:
    async with polri({"latency_ms": 150}) as p:
        started = time.monotonic()
        await p.ajukan(SKCK, skck_baru())
    assert time.monotonic() - started >= 0.14


async def test_drop_reply_after_apply_loses_the_receipt_but_not_the_application() -> None:
    async with polri({"drop_reply_after_apply": 1.0}) as p:
        dropped = await p.ajukan(SKCK, skck_baru())
        retry = await p.ajukan(SKCK, skck_baru())
        await p.selesai()
        ledger = await p.ledger()
    assert dropped.status_code == 504
    assert galat(dropped).kode == "GATEWAY_TIMEOUT"
    assert retry.status_code == 202, "the retry gets the stored receipt"
    assert retry.headers["X-Idempotent-Replay"] == "true"
    assert (ledger["applied"], ledger["replayed"]) == (1, 1)
    assert len(p.hub.requests) == 1, "the verdict still comes, once"


async def test_garble_rate_applies_then_answers_something_that_is_not_the_protocol() -> None:
    async with polri({"garble_rate": 1.0}) as p:
        r = await p.ajukan(SKCK, skck_baru())
        await p.selesai()
        assert (await p.ledger())["applied"] == 1
    assert r.status_code == 202
    assert r.headers["content-type"].startswith("text/html")
    with pytest.raises(ValueError):
        r.json()


async def test_daily_quota_refuses_new_applications_but_replays_old_ones() -> None:
    async with polri({"daily_quota": 1}) as p:
        first = await p.ajukan(SKCK, skck_baru(), key="a")
        refused = await p.ajukan(SKCK, skck_baru(), key="b")
        replay = await p.ajukan(SKCK, skck_baru(), key="a")
    assert first.status_code == 202
    assert refused.status_code == 429
    assert galat(refused).kode == "KUOTA_HARIAN_HABIS"
    assert int(refused.headers["Retry-After"]) == 14 * 3600 + 30 * 60  # until midnight WIB
    assert replay.status_code == 202


async def test_knobs_are_read_and_changed_at_runtime_and_typos_refused() -> None:
    async with polri() as p:
        changed = await p.knobs(verdict_delay_ms=50, duplicate_callback=True)
        typo = await p.knobs(verdict_delay=5)
        current = (await p.client.get("/_sim/knobs")).json()
    assert changed.status_code == 200
    assert (current["verdict_delay_ms"], current["duplicate_callback"]) == (50, True)
    assert typo.status_code == 422


# ------------------------------------------------------------- callback delivery


async def test_delivery_is_retried_while_the_hub_is_unreachable_with_the_same_signature() -> None:
    hub = Hub(answers=[httpx.ConnectError("refused"), 503, 202])
    async with polri(hub=hub) as p:
        await p.ajukan(SKCK, skck_baru())
        await p.selesai()
        [entry] = (await p.ledger())["entries"]

    assert len(hub.requests) == 3
    assert len({r.headers[SIGNATURE_HEADER] for r in hub.requests}) == 1, "a retry is the same signed request"
    assert len({r.content for r in hub.requests}) == 1
    attempts = entry["state"]["percobaan"]
    assert [(a["ke"], a["http_status"], a["galat"]) for a in attempts] == [(1, None, "ConnectError"), (2, 503, None), (3, 202, None)]
    assert entry["state"]["status_pengiriman"] == "SELESAI"


class Clock:
    """Stands in for the ``time`` module: wall clock ticking a second per call (so every
    fresh signature differs), monotonic clock moved by hand."""

    def __init__(self) -> None:
        self.wall = 1_768_000_000.0
        self.mono = 0.0

    def time(self) -> float:
        self.wall += 1
        return self.wall

    def monotonic(self) -> float:
        return self.mono


async def test_a_retry_reuses_the_signature_until_it_is_four_minutes_old(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = Clock()
    monkeypatch.setattr("adapters.sdk.callbacks.time", clock)
    monkeypatch.setattr("adapters.polri.simulator.time", clock)

    def hub_down_for_a_while(request: httpx.Request) -> httpx.Response:
        if len(hub.requests) == 2:
            clock.mono += 241  # the next retry happens four minutes after signing
        return hub_answer(503 if len(hub.requests) <= 2 else 202)

    hub = RecordingTransport(hub_down_for_a_while)
    async with polri(hub=hub) as p:
        await p.ajukan(SKCK, skck_baru())
        await p.selesai()

    first, second, third = (r.headers[SIGNATURE_HEADER] for r in hub.requests)
    assert first == second, "a quick retry is the same signed request (the hub dedups it)"
    assert third != second, "an old signature would be refused as stale: re-signed"
    verify(DEV_CALLBACK_SECRET, "step-1", hub.requests[2].content, third, now=clock.wall)


async def test_delivery_gives_up_after_callback_max_attempts() -> None:
    hub = Hub(default=503)
    async with polri({"callback_max_attempts": 3}, hub=hub) as p:
        await p.ajukan(SKCK, skck_baru())
        await p.selesai()
        [entry] = (await p.ledger())["entries"]
    assert len(hub.requests) == 3
    assert entry["state"]["status_pengiriman"] == "GAGAL"


async def test_a_refusal_by_the_hub_is_not_retried() -> None:
    hub = Hub(default=401)
    async with polri(hub=hub) as p:
        await p.ajukan(SKCK, skck_baru())
        await p.selesai()
        [entry] = (await p.ledger())["entries"]
    assert len(hub.requests) == 1
    assert entry["state"]["percobaan"][0]["http_status"] == 401
    assert entry["state"]["status_pengiriman"] == "SELESAI"


async def test_retries_back_off_exponentially() -> None:
    hub = Hub(answers=[503, 503], default=202)
    async with polri({"callback_backoff_ms": 100}, hub=hub) as p:
        started = time.monotonic()
        await p.ajukan(SKCK, skck_baru())
        await p.selesai()
    assert time.monotonic() - started >= 0.1 + 0.2 - 0.02


async def test_duplicate_callback_sends_the_identical_signed_callback_twice() -> None:
    hub = Hub(answers=[202, 409])
    async with polri({"duplicate_callback": True}, hub=hub) as p:
        await p.ajukan(SKCK, skck_baru())
        await p.selesai()
        [entry] = (await p.ledger())["entries"]
    first, second = hub.requests
    assert first.content == second.content
    assert first.headers[SIGNATURE_HEADER] == second.headers[SIGNATURE_HEADER]
    assert [(a["duplikat"], a["http_status"]) for a in entry["state"]["percobaan"]] == [(False, 202), (True, 409)]


async def corrupted_verdict(fault: str) -> bytes:
    """The verdict callback sent with ``verdict_fault`` set; it must still verify."""
    async with polri({"verdict_fault": fault}) as p:
        await p.ajukan(SKCK, skck_baru(), key="step-9")
        await p.selesai()
    [request] = p.hub.requests
    verify(DEV_CALLBACK_SECRET, "step-9", request.content, request.headers[SIGNATURE_HEADER])
    return request.content


async def test_verdict_fault_garbled_sends_a_signed_body_that_is_not_json() -> None:
    body = await corrupted_verdict("garbled")
    with pytest.raises(ValueError):
        json.loads(body)


async def test_verdict_fault_unknown_status_sends_a_status_word_outside_the_protocol() -> None:
    body = json.loads(await corrupted_verdict("unknown_status"))
    assert body["status"] == "DITANGGUHKAN"
    assert body["id_permintaan"] == "step-9"


async def test_verdict_fault_schema_invalid_sends_terbit_without_its_document() -> None:
    body = json.loads(await corrupted_verdict("schema_invalid"))
    assert body["status"] == "TERBIT"
    assert "skck" not in body
    with pytest.raises(ValueError):
        PemberitahuanStatus.model_validate(body)


async def test_verdict_fault_spares_the_progress_callback() -> None:
    async with polri({"verdict_fault": "unknown_status"}) as p:
        await p.ajukan(SKCK, skck_baru(nik=NIK_CATATAN))
        await p.selesai()
    progress, corrupted = p.hub.bodies()
    assert progress["status"] == "DIPROSES"
    assert corrupted["status"] == "DITANGGUHKAN"


async def test_knobs_are_snapshotted_when_the_application_is_applied() -> None:
    async with polri({"verdict_delay_ms": 100, "verdict_fault": "garbled"}) as p:
        await p.ajukan(SKCK, skck_baru())
        await p.knobs(verdict_fault=None)
        await p.selesai()
    with pytest.raises(ValueError):
        json.loads(p.hub.requests[0].content)


@pytest.fixture
def ledger_file(tmp_path: Path) -> Iterator[str]:
    yield str(tmp_path / "polri.db")


async def test_pending_deliveries_survive_a_restart(ledger_file: str) -> None:
    async with polri({"verdict_delay_ms": 300}, ledger_path=ledger_file) as p:
        await p.ajukan(SKCK, skck_baru(), key="step-r")
        assert p.hub.requests == []
    # The simulator stopped before the verdict; the next one resumes it.
    hub = Hub()
    async with polri(hub=hub, ledger_path=ledger_file) as p:
        [entry] = (await p.ledger())["entries"]
        assert entry["state"]["status_pengiriman"] == "MENUNGGU"
        assert p.simulator.lanjutkan_tertunda() == 1
        await p.selesai()
        [entry] = (await p.ledger())["entries"]
    assert len(hub.requests) == 1
    assert json.loads(hub.requests[0].content)["id_permintaan"] == "step-r"
    assert entry["state"]["status_pengiriman"] == "SELESAI"


async def test_a_repeated_application_resumes_a_pending_delivery(ledger_file: str) -> None:
    async with polri({"verdict_delay_ms": 300}, ledger_path=ledger_file) as p:
        await p.ajukan(SKCK, skck_baru(), key="step-r")
    hub = Hub()
    async with polri(hub=hub, ledger_path=ledger_file) as p:
        again = await p.ajukan(SKCK, skck_baru(), key="step-r")
        await p.selesai()
    assert again.headers["X-Idempotent-Replay"] == "true"
    assert len(hub.requests) == 1


async def test_the_lifespan_resumes_pending_deliveries(ledger_file: str) -> None:
    async with polri({"verdict_delay_ms": 300}, ledger_path=ledger_file) as p:
        await p.ajukan(SKCK, skck_baru(), key="step-r")
    hub = Hub()
    app = create_app(PolriKnobs(**FAST), ledger_path=ledger_file, callback_transport=hub)
    async with app.router.lifespan_context(app):
        await app.state.polri.menunggu_pengiriman()
    assert len(hub.requests) == 1


# ---------------------------------------------------------------- entry point


def test_the_factory_signs_with_the_configured_secret_or_the_hub_dev_default() -> None:
    configured = polri_plugin.simulator(SimulatorOptions(secrets={"callback_secret": "s3cret"}))
    default = polri_plugin.simulator(SimulatorOptions())
    assert configured.state.polri.secret == "s3cret"
    assert default.state.polri.secret == DEV_CALLBACK_SECRET == "dev-polri-callback-secret"
    hub_default = Settings().agencies["polri"].callback_secret
    assert hub_default is not None and hub_default.get_secret_value() == DEV_CALLBACK_SECRET
    configured.state.polri.ledger.close()
    default.state.polri.ledger.close()
