"""Specification of the Siskohat batch-exchange simulator (adapters/kemenhaj/simulator.py).

Siskohat takes records into an open batch and answers them only in the batch's
result file once the batch has closed. These tests pin down what the Kemenhaj
adapter may rely on: the receipt and the cut-off, the result file (NDJSON, in the
order records were put, the same on every read), the register's rules
(age, already registered, the 5-working-day deposit window, cancellation, portion
transfer), apply-once per record id, and the knobs. The clock is the test's, so a
batch closes when the test moves time on.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta
from typing import Any

import httpx
import pytest

from adapters.kemenhaj.simulator import DEV_API_KEY, KemenhajKnobs, create_app
from adapters.sdk.testing.client import Driver, in_process
from adapters.sdk.testing.clock import WIB, SimClock

NOW = datetime(2026, 1, 14, 9, 30, tzinfo=WIB)  # a Wednesday
KEY = {"X-Siskohat-Key": DEV_API_KEY}
NIK = "1375011203800003"  # man born 12-03-1980
CHILD = "1375015506160002"  # girl born 15-06-2016
HEIR = "1375014507850001"  # woman born 05-07-1985


def daftar(nik: str = NIK, **changes: Any) -> dict[str, Any]:
    body = {
        "jenis": "PENDAFTARAN", "nik": nik, "nama": "Budi Santoso", "no_kk": "1375011401260001", "kode_kantor": "1375",
        "bank_bps": "Bank Syariah Indonesia", "nomor_validasi": "BSI-2026-000123", "nominal_setoran": 25_000_000,
        "tanggal_setoran": "2026-01-13", "no_surat_sehat": "440/123",
    }  # fmt: skip
    return {**body, **changes}


def batal(porsi: str, nik: str = NIK, **changes: Any) -> dict[str, Any]:
    return {
        "jenis": "PEMBATALAN",
        "nomor_porsi": porsi,
        "nik_jemaah": nik,
        "nik_pemohon": nik,
        "alasan": "MENGUNDURKAN_DIRI",
        "no_rekening": "7012345678",
        **changes,
    }


def limpah(porsi: str, nik: str = NIK, **changes: Any) -> dict[str, Any]:
    body = {
        "jenis": "PELIMPAHAN", "nomor_porsi": porsi, "nik_jemaah": nik, "sebab": "MENINGGAL_DUNIA", "nik_penerima": HEIR,
        "nama_penerima": "Siti Rahmah", "hubungan": "SUAMI_ISTRI", "tanggal_wafat": "2025-11-02", "nomor_surat": "KM-0007",
    }  # fmt: skip
    return {**body, **changes}


class Siskohat(Driver):
    def __init__(self, client: httpx.AsyncClient, clock: list[datetime]) -> None:
        super().__init__(client)
        self.clock = clock

    def later(self, seconds: float) -> None:
        self.clock[0] += timedelta(seconds=seconds)

    async def put(self, record_id: str, body: dict[str, Any] | bytes, headers: dict[str, str] | None = None) -> httpx.Response:
        content = body if isinstance(body, bytes) else json.dumps(body).encode()
        return await self.client.put(f"/siskohat/h2h/v1/inbox/rekaman/{record_id}", content=content, headers=headers or KEY)

    async def put_ok(self, record_id: str, body: dict[str, Any]) -> dict[str, Any]:
        response = await self.put(record_id, body)
        assert response.status_code == 202, response.text
        return dict(response.json())

    async def file(self, batch: str) -> httpx.Response:
        return await self.client.get(f"/siskohat/h2h/v1/outbox/{batch}", headers=KEY)

    async def results(self, batch: str) -> dict[str, dict[str, Any]]:
        """The batch's lines by record id, after its cut-off."""
        response = await self.file(batch)
        assert response.status_code == 200, response.text
        header, *lines = [json.loads(line) for line in response.text.splitlines()]
        assert header["id_batch"] == batch and header["jumlah_rekaman"] == len(lines)
        return {line["id_rekaman"]: line for line in lines}

    async def one(self, record_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """Put one record, let its batch close, and read its line."""
        receipt = await self.put_ok(record_id, body)
        self.later(5)
        return (await self.results(receipt["id_batch"]))[record_id]


@pytest.fixture
async def sim() -> AsyncIterator[Siskohat]:
    clock = [NOW]
    app = create_app(KemenhajKnobs(batch_interval_seconds=3), clock=lambda: clock[0])
    async with in_process(app, "http://siskohat.test") as client:
        yield Siskohat(client, clock)


async def test_records_put_before_the_cut_off_share_a_batch_and_later_ones_open_the_next(sim: Siskohat) -> None:
    first = await sim.put_ok("r-1", daftar())
    sim.later(1)
    second = await sim.put_ok("r-2", daftar(CHILD))
    sim.later(3)
    third = await sim.put_ok("r-3", daftar(HEIR))

    assert first["id_batch"] == second["id_batch"] != third["id_batch"]
    assert (first["nomor_urut"], second["nomor_urut"], third["nomor_urut"]) == (1, 2, 1)
    assert datetime.fromisoformat(first["batas_tutup"]) == NOW + timedelta(seconds=3)
    assert first["status"] == "DITERIMA" and first["id_rekaman"] == "r-1"


async def test_the_result_file_is_not_out_before_the_cut_off(sim: Siskohat) -> None:
    receipt = await sim.put_ok("r-1", daftar())
    sim.later(1)

    early = await sim.file(receipt["id_batch"])

    assert early.status_code == 409
    assert early.json()["galat"]["kode"] == "BATCH_BELUM_DITUTUP"
    assert early.headers["Retry-After"] == "2"
    assert (await sim.file("SKH00000000000000000")).status_code == 404


async def test_a_registration_gets_a_portion_number_an_estimate_and_the_banks_validation(sim: Siskohat) -> None:
    line = await sim.one("r-1", daftar())

    assert line["status"] == "TERDAFTAR" and line["jenis"] == "PENDAFTARAN"
    assert line["nomor_porsi"] == "1350000001", "province 13 + the first serial after 50,000,000"
    assert line["estimasi_berangkat"] == 2026 + 24, "Sumatera Barat waits 24 years"
    assert line["nomor_validasi_bank"] == "BSI-2026-000123"
    assert line["nomor_spph"].startswith("SPPH/1375/2026/")
    assert line["tanggal"] == "2026-01-14"


async def test_the_result_file_lists_records_in_order_and_reads_the_same_twice(sim: Siskohat) -> None:
    receipt = await sim.put_ok("r-1", daftar())
    await sim.put_ok("r-2", daftar(CHILD))
    sim.later(5)

    first = await sim.file(receipt["id_batch"])
    again = await sim.file(receipt["id_batch"])

    assert first.headers["content-type"].startswith("application/x-ndjson")
    assert [json.loads(x).get("id_rekaman") for x in first.text.splitlines()[1:]] == ["r-1", "r-2"]
    assert first.text == again.text


async def test_under_12_and_an_active_registration_are_refused_when_the_batch_closes(sim: Siskohat) -> None:
    receipt = await sim.put_ok("r-1", daftar())
    await sim.put_ok("r-2", daftar())
    await sim.put_ok("r-3", daftar(CHILD))
    sim.later(5)

    lines = await sim.results(receipt["id_batch"])

    assert lines["r-1"]["status"] == "TERDAFTAR"
    assert (lines["r-2"]["status"], lines["r-2"]["kode_tolak"]) == ("DITOLAK", "SUDAH_TERDAFTAR")
    assert (lines["r-3"]["status"], lines["r-3"]["kode_tolak"]) == ("DITOLAK", "USIA_BELUM_12_TAHUN")
    assert "9 tahun" in lines["r-3"]["keterangan"]


async def test_a_deposit_older_than_5_working_days_is_refused(sim: Siskohat) -> None:
    five = await sim.one("r-1", daftar(tanggal_setoran="2026-01-07"))  # Wed -> Wed: 5 working days
    six = await sim.one("r-2", daftar(HEIR, tanggal_setoran="2026-01-06"))

    assert five["status"] == "TERDAFTAR"
    assert (six["status"], six["kode_tolak"]) == ("DITOLAK", "SETORAN_LEWAT_5_HARI_KERJA")


async def test_a_cancellation_refunds_the_deposit_and_frees_the_nik(sim: Siskohat) -> None:
    porsi = (await sim.one("r-1", daftar()))["nomor_porsi"]

    wrong = await sim.one("c-0", batal(porsi, HEIR))
    cancelled = await sim.one("c-1", batal(porsi))
    twice = await sim.one("c-2", batal(porsi))
    again = await sim.one("r-2", daftar())

    assert (wrong["status"], wrong["kode_tolak"]) == ("DITOLAK", "NIK_JEMAAH_TIDAK_SESUAI")
    assert (cancelled["status"], cancelled["nomor_porsi"], cancelled["dana_kembali"]) == ("DIBATALKAN", porsi, 25_000_000)
    assert cancelled["perkiraan_dana_diterima"] == SimClock().add_working_days(date(2026, 1, 14), 9).isoformat()
    assert (twice["status"], twice["kode_tolak"]) == ("DITOLAK", "PORSI_TIDAK_AKTIF")
    assert again["status"] == "TERDAFTAR", "a cancelled registrant may register again"


async def test_portions_from_before_the_simulator_exist_and_unknown_ones_do_not(sim: Siskohat) -> None:
    old = await sim.one("c-1", batal("1300012345"))
    unknown = await sim.one("c-2", batal("1399999999"))
    no_province = await sim.one("c-3", batal("9900012345"))

    assert old["status"] == "DIBATALKAN"
    assert (unknown["kode_tolak"], no_province["kode_tolak"]) == ("PORSI_TIDAK_DITEMUKAN", "PORSI_TIDAK_DITEMUKAN")


async def test_a_portion_passes_once_to_the_heir_who_then_holds_it(sim: Siskohat) -> None:
    porsi = (await sim.one("r-1", daftar()))["nomor_porsi"]

    moved = await sim.one("t-1", limpah(porsi))
    second = await sim.one("t-2", limpah(porsi, HEIR, nik_penerima=CHILD))
    heir_registers = await sim.one("r-2", daftar(HEIR))

    assert (moved["status"], moved["nomor_porsi"], moved["estimasi_berangkat"]) == ("DILIMPAHKAN", porsi, 2026 + 24)
    assert (second["status"], second["kode_tolak"]) == ("DITOLAK", "SUDAH_PERNAH_DILIMPAHKAN")
    assert (heir_registers["status"], heir_registers["kode_tolak"]) == ("DITOLAK", "SUDAH_TERDAFTAR")


async def test_a_registrant_who_died_before_29_april_2019_cannot_pass_the_portion(sim: Siskohat) -> None:
    before = await sim.one("t-1", limpah("1300054321", tanggal_wafat="2019-04-28"))
    on_the_day = await sim.one("t-2", limpah("1300054322", tanggal_wafat="2019-04-29", nik_penerima=CHILD))

    assert (before["status"], before["kode_tolak"]) == ("DITOLAK", "WAFAT_SEBELUM_29_APRIL_2019")
    assert on_the_day["status"] == "DILIMPAHKAN"


async def test_a_record_id_is_applied_once_and_the_ledger_keeps_no_nik(sim: Siskohat) -> None:
    first = await sim.put("r-1", daftar())
    repeat = await sim.put("r-1", daftar())
    other = await sim.put("r-1", daftar(HEIR))

    assert (first.status_code, repeat.status_code) == (202, 202)
    assert repeat.json() == first.json() and repeat.headers["X-Rekaman-Ulang"] == "true"
    assert (other.status_code, other.json()["galat"]["kode"]) == (409, "REKAMAN_BENTROK")
    ledger = await sim.ledger()
    assert (ledger["applied"], ledger["replayed"]) == (1, 1)
    assert NIK not in json.dumps(ledger) and ledger["entries"][0]["subject"] == "PENDAFTARAN"


@pytest.mark.parametrize(
    ("record_id", "body", "headers", "status", "kode"),
    [
        ("r-1", daftar(), {"X-Siskohat-Key": "wrong"}, 401, "KUNCI_TIDAK_VALID"),
        ("r 1", daftar(), KEY, 400, "ID_REKAMAN_TIDAK_VALID"),
        ("r-1", daftar(nominal_setoran="banyak"), KEY, 422, "REKAMAN_TIDAK_VALID"),
        ("r-1", {"jenis": "MUTASI"}, KEY, 422, "REKAMAN_TIDAK_VALID"),
        ("r-1", daftar(nik="1375013213800003"), KEY, 422, "REKAMAN_TIDAK_VALID"),  # born on the 32nd
    ],
)
async def test_requests_siskohat_cannot_take_are_refused_and_record_nothing(
    sim: Siskohat, record_id: str, body: dict[str, Any], headers: dict[str, str], status: int, kode: str
) -> None:
    response = await sim.put(record_id, body, headers)

    assert (response.status_code, response.json()["galat"]["kode"]) == (status, kode)
    assert (await sim.ledger())["applied"] == 0


async def test_the_common_knobs_speak_siskohats_words(sim: Siskohat) -> None:
    await sim.knobs(down=True)
    assert (await sim.put("r-1", daftar())).json()["galat"]["kode"] == "LAYANAN_TIDAK_TERSEDIA"
    await sim.knobs(down=False, drop_reply_after_apply=1.0)
    dropped = await sim.put("r-1", daftar())
    await sim.knobs(drop_reply_after_apply=0.0, garble_rate=1.0)
    garbled = await sim.put("r-2", daftar(HEIR))

    assert (dropped.status_code, dropped.json()["galat"]["kode"]) == (504, "WAKTU_HABIS")
    assert garbled.status_code == 202 and garbled.text.startswith("<!DOCTYPE html>")
    assert (await sim.ledger())["applied"] == 2, "a lost or garbled receipt still put the record"
    assert (await sim.put("r-1", daftar())).headers["X-Rekaman-Ulang"] == "true"


async def test_the_batch_interval_is_a_knob(sim: Siskohat) -> None:
    await sim.knobs(batch_interval_seconds=60)
    receipt = await sim.put_ok("r-1", daftar())

    assert datetime.fromisoformat(receipt["batas_tutup"]) == NOW + timedelta(seconds=60)
    assert (await sim.knobs(batch_interval_seconds=0)).status_code == 422
