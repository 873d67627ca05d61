"""Specification of the SIMKAH simulator (adapters/kemenag/simulator.py).

The Kemenag adapter is tested against this simulator, so these tests pin down what
the adapter may rely on: the form-encoded protocol, the KUA's rules, one application
per id_transaksi, and every fault knob (including the maintenance page).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import date, datetime, timedelta
from typing import Any

import httpx
import pytest

from adapters.kemenag.native import JawabanDuplikat, JawabanGagal, JawabanPendaftaran, decode_form
from adapters.kemenag.simulator import WIB, KemenagKnobs, SimulatorSettings, create_app
from adapters.sdk.testing.client import assert_replayed, in_process, read_ledger
from adapters.sdk.testing.clock import SimClock

PENDAFTARAN = "/simkah/pendaftaran.php"
DUPLIKAT = "/simkah/duplikat.php"
HARI_INI = datetime(2026, 1, 14, 9, 30, tzinfo=WIB)  # a Wednesday
NIK_SUAMI = "1375010101900003"  # man, born 01-01-1990
NIK_ISTRI = "1375015203950007"  # woman, born 12-03-1995

FORM: dict[str, str] = {
    "id_transaksi": "step-1",
    "nik_pemohon": NIK_SUAMI,
    "nik_suami": NIK_SUAMI,
    "nama_suami": "Budi Santoso",
    "tgl_lahir_suami": "01-01-1990",
    "nik_istri": NIK_ISTRI,
    "nama_istri": "Siti Rahmah",
    "tgl_lahir_istri": "12-03-1995",
    "tgl_akad": "11-02-2026",  # a Wednesday four weeks ahead
    "jam_akad": "10:00",
    "tempat_akad": "KUA",
    "kode_kua": "137501",
    "no_n1": "474.2/015/BPA/2026",
}
DUP: dict[str, str] = {
    "id_transaksi": "dup-1",
    "nik_pemohon": NIK_SUAMI,
    "nama_pemohon": "Budi Santoso",
    "no_akta_nikah": "0123/137501/III/2019",
    "alasan": "HILANG",
    "no_surat_kehilangan": "STPLK/123/I/2026/SPKT",
}


def cepat(**knobs: Any) -> SimulatorSettings:
    """Knobs without the realistic slowness, so tests run fast."""
    return SimulatorSettings(knobs=KemenagKnobs(latency_ms=0, jitter_ms=0, **knobs))


@asynccontextmanager
async def simkah(
    settings: SimulatorSettings | None = None, clock: Callable[[], datetime] | None = None
) -> AsyncIterator[httpx.AsyncClient]:
    async with in_process(create_app(settings or cepat(), clock=clock or (lambda: HARI_INI)), "http://simkah.test") as client:
        yield client


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with simkah() as c:
        yield c


async def daftar(client: httpx.AsyncClient, **changes: str | None) -> httpx.Response:
    form = {k: v for k, v in {**FORM, **changes}.items() if v is not None}
    return await client.post(PENDAFTARAN, data=form)


def fields(response: httpx.Response) -> dict[str, str]:
    return decode_form(response.content)


def kode(response: httpx.Response) -> str:
    return fields(response)["kode"]


ledger = read_ledger


# --------------------------------------------------------------- protocol


async def test_registration_at_the_kua_answers_form_encoded_with_no_fee_and_a_schedule(client: httpx.AsyncClient) -> None:
    response = await daftar(client)

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/x-www-form-urlencoded")
    jawaban = JawabanPendaftaran.model_validate(fields(response))
    assert jawaban.status == "BERHASIL"
    assert jawaban.no_pendaftaran == "DFT/137501/2026/00001"
    assert jawaban.tgl_daftar == date(2026, 1, 14)
    assert (jawaban.kode_kua, jawaban.nama_kua) == ("137501", "KUA Kecamatan Guguak Panjang")
    assert (jawaban.tgl_akad, jawaban.jam_akad.isoformat()) == (date(2026, 2, 11), "10:00:00")
    assert jawaban.biaya == 0 and jawaban.kode_billing is None
    assert "kode_billing" not in fields(response)
    assert jawaban.wajib_bimwin == "YA"
    assert jawaban.tgl_bimwin == date(2026, 2, 4)  # 5 working days before the akad


async def test_registration_outside_the_kua_costs_600000_with_a_billing_code(client: httpx.AsyncClient) -> None:
    response = await daftar(client, tempat_akad="LUAR_KUA", jam_akad="19:30", alamat_akad="Jl. Sudirman 1")

    jawaban = JawabanPendaftaran.model_validate(fields(response))
    assert jawaban.biaya == 600_000
    assert jawaban.kode_billing is not None and len(jawaban.kode_billing) == 15 and jawaban.kode_billing.startswith("8")
    assert jawaban.tempat_akad == "LUAR_KUA"


async def test_without_a_time_the_kua_schedules_nine_oclock(client: httpx.AsyncClient) -> None:
    response = await daftar(client, jam_akad=None)
    assert fields(response)["jam_akad"] == "09:00"


async def test_blank_optional_fields_count_as_absent_like_a_legacy_form(client: httpx.AsyncClient) -> None:
    response = await daftar(client, jam_akad="", no_dispensasi="", alamat_akad="")
    assert fields(response)["status"] == "BERHASIL"


async def test_duplicate_of_a_lost_book_is_issued(client: httpx.AsyncClient) -> None:
    response = await client.post(DUPLIKAT, data=DUP)

    jawaban = JawabanDuplikat.model_validate(fields(response))
    assert jawaban.no_duplikat == "DUP/137501/2026/00001"
    assert (jawaban.no_akta_nikah, jawaban.kode_kua, jawaban.tgl_terbit) == ("0123/137501/III/2019", "137501", date(2026, 1, 14))


async def test_json_is_not_accepted(client: httpx.AsyncClient) -> None:
    response = await client.post(PENDAFTARAN, json=FORM)
    assert response.status_code == 400
    assert kode(response) == "FORMAT_TIDAK_VALID"


async def test_a_body_that_is_not_a_form_is_refused(client: httpx.AsyncClient) -> None:
    response = await client.post(PENDAFTARAN, content=b"hello world", headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert (response.status_code, kode(response)) == (400, "FORMAT_TIDAK_VALID")


async def test_missing_id_transaksi_is_refused_before_anything_else(client: httpx.AsyncClient) -> None:
    response = await daftar(client, id_transaksi=None, kode_kua="999999")
    assert (response.status_code, kode(response)) == (400, "ID_TRANSAKSI_WAJIB")


async def test_missing_required_field_is_data_tidak_lengkap_naming_it(client: httpx.AsyncClient) -> None:
    response = await daftar(client, no_n1=None, nama_istri="")
    assert (response.status_code, kode(response)) == (400, "DATA_TIDAK_LENGKAP")
    assert "no_n1" in fields(response)["pesan"] and "nama_istri" in fields(response)["pesan"]


@pytest.mark.parametrize(
    "changes",
    [
        {"tgl_akad": "2026-02-11"},  # ISO instead of dd-mm-yyyy
        {"tempat_akad": "RUMAH"},
        {"nik_suami": "13750101019000"},
        {"kolom_asing": "x"},
        {"tgl_lahir_istri": "12-03-1996"},  # disagrees with the NIK
        {"nik_istri": NIK_SUAMI, "tgl_lahir_istri": "01-01-1990"},  # the same person twice
    ],
)
async def test_malformed_or_inconsistent_fields_are_data_tidak_valid(client: httpx.AsyncClient, changes: dict[str, str]) -> None:
    response = await daftar(client, **changes)
    assert (response.status_code, kode(response)) == (400, "DATA_TIDAK_VALID")


# ---------------------------------------------------------- business rules


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"kode_kua": "137599"}, "KUA_TIDAK_DIKENAL"),
        ({"nik_pemohon": "1375010202900004"}, "PEMOHON_BUKAN_CATIN"),
        ({"tgl_akad": "13-01-2026"}, "TANGGAL_AKAD_LEWAT"),
        ({"tgl_akad": "27-01-2026"}, "PEMBERITAHUAN_KURANG_10_HARI"),  # 9 working days
        ({"tgl_akad": "14-02-2026"}, "DI_LUAR_JAM_KERJA"),  # a Saturday at the KUA
        ({"jam_akad": "16:00"}, "DI_LUAR_JAM_KERJA"),
        ({"jam_akad": "07:59"}, "DI_LUAR_JAM_KERJA"),
        ({"status_kawin_istri": "CERAI_HIDUP"}, "DOKUMEN_PERKAWINAN_LALU_WAJIB"),
        ({"status_kawin_suami": "CERAI_MATI"}, "DOKUMEN_PERKAWINAN_LALU_WAJIB"),
    ],
)
async def test_business_refusals_come_in_a_200_gagal_answer(client: httpx.AsyncClient, changes: dict[str, str], expected: str) -> None:
    response = await daftar(client, **changes)

    assert response.status_code == 200
    refusal = JawabanGagal.model_validate(fields(response))
    assert (refusal.status, refusal.kode) == ("GAGAL", expected)
    assert refusal.pesan


async def test_ten_working_days_of_notice_are_enough_and_the_camat_can_waive_them(client: httpx.AsyncClient) -> None:
    # The hub's working-day calendar: Fri 16 Jan 2026 (Isra Mikraj) is no working day.
    assert SimClock().working_days_between(date(2026, 1, 14), date(2026, 1, 29)) == 10
    assert fields(await daftar(client, id_transaksi="a", tgl_akad="29-01-2026"))["status"] == "BERHASIL"
    assert fields(await daftar(client, id_transaksi="c", tgl_akad="28-01-2026"))["kode"] == "PEMBERITAHUAN_KURANG_10_HARI"
    waived = await daftar(client, id_transaksi="b", tgl_akad="15-01-2026", no_dispensasi_camat="474/12/KEC-GP/2026")
    assert fields(waived)["status"] == "BERHASIL"
    assert fields(waived)["tgl_bimwin"] == "15-01-2026"  # not after the akad


async def test_outside_the_kua_any_day_and_hour_is_fine(client: httpx.AsyncClient) -> None:
    response = await daftar(client, tempat_akad="LUAR_KUA", tgl_akad="14-02-2026", jam_akad="20:00")
    assert fields(response)["status"] == "BERHASIL"


def _lahir(umur_pada_akad: int, *, perempuan: bool) -> tuple[str, str]:
    """A NIK and birth date for someone who is ``umur_pada_akad`` on 11-02-2026."""
    born = date(2026 - umur_pada_akad, 1, 20)
    day = born.day + (40 if perempuan else 0)
    return f"137501{day:02d}{born.month:02d}{born.year % 100:02d}0021", born.strftime("%d-%m-%Y")


@pytest.mark.parametrize(
    ("umur", "dokumen", "expected"),
    [
        (17, {}, "USIA_DI_BAWAH_MINIMUM"),
        (18, {"no_n5_istri": "N5/1"}, "USIA_DI_BAWAH_MINIMUM"),
        (18, {"no_dispensasi": "12/Pdt.P/2026/PA.Bkt"}, "IZIN_ORANG_TUA_WAJIB"),
        (18, {"no_dispensasi": "12/Pdt.P/2026/PA.Bkt", "no_n5_istri": "N5/1"}, "BERHASIL"),
        (20, {}, "IZIN_ORANG_TUA_WAJIB"),
        (20, {"no_n5_suami": "N5/1"}, "IZIN_ORANG_TUA_WAJIB"),  # the groom's N5 does not cover the bride
        (20, {"no_n5_istri": "N5/1"}, "BERHASIL"),
        (21, {}, "BERHASIL"),
    ],
)
async def test_age_on_the_ceremony_day_decides_which_consent_is_needed(
    client: httpx.AsyncClient, umur: int, dokumen: dict[str, str], expected: str
) -> None:
    nik, lahir = _lahir(umur, perempuan=True)
    response = await daftar(client, nik_istri=nik, tgl_lahir_istri=lahir, **dokumen)
    answer = fields(response)
    assert answer.get("kode", answer["status"]) == expected


async def test_a_previous_marriage_with_its_document_is_accepted(client: httpx.AsyncClient) -> None:
    response = await daftar(client, status_kawin_istri="CERAI_HIDUP", no_dok_kawin_lalu_istri="0456/AC/2024/PA.Bkt")
    assert fields(response)["status"] == "BERHASIL"


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"no_surat_kehilangan": None}, "SURAT_KEHILANGAN_WAJIB"),
        ({"no_akta_nikah": "9001/137501/III/2019"}, "AKTA_TIDAK_DITEMUKAN"),
        ({"no_akta_nikah": "0123/130601/III/2019"}, "AKTA_TIDAK_DITEMUKAN"),  # not one of our KUAs
        ({"no_akta_nikah": "0123/137501/III/2027"}, "AKTA_TIDAK_DITEMUKAN"),  # a future year
    ],
)
async def test_duplicate_refusals(client: httpx.AsyncClient, changes: dict[str, str | None], expected: str) -> None:
    form = {k: v for k, v in {**DUP, **changes}.items() if v is not None}
    response = await client.post(DUPLIKAT, data=form)
    assert (response.status_code, kode(response)) == (200, expected)


async def test_a_damaged_book_needs_no_police_report(client: httpx.AsyncClient) -> None:
    form = {**DUP, "alasan": "RUSAK"}
    del form["no_surat_kehilangan"]
    assert fields(await client.post(DUPLIKAT, data=form))["status"] == "BERHASIL"


# ------------------------------------------------------------- idempotency


async def test_the_same_id_transaksi_is_applied_once_and_replayed_verbatim(client: httpx.AsyncClient) -> None:
    first = await daftar(client, tempat_akad="LUAR_KUA")
    # Same fields in another order and with a blank optional one: still the same request.
    reordered = dict(reversed(list({**FORM, "tempat_akad": "LUAR_KUA", "no_dispensasi": ""}.items())))
    second = await client.post(PENDAFTARAN, data=reordered)

    book = await ledger(client)
    assert_replayed(first, second, book, header="Idempotent-Replayed", key="step-1")
    assert book["entries"][0]["operation"] == "PENDAFTARAN_NIKAH"
    assert book["entries"][0]["subject"] == "KUA 137501"  # never personal data


async def test_the_same_id_transaksi_with_other_data_is_refused(client: httpx.AsyncClient) -> None:
    await daftar(client)
    response = await daftar(client, jam_akad="11:00")

    assert kode(response) == "ID_TRANSAKSI_GANDA"
    assert (await ledger(client))["applied"] == 1


async def test_refusals_are_not_recorded_so_a_corrected_retry_applies(client: httpx.AsyncClient) -> None:
    assert kode(await daftar(client, tgl_akad="27-01-2026")) == "PEMBERITAHUAN_KURANG_10_HARI"
    assert (await ledger(client))["applied"] == 0

    response = await daftar(client, tgl_akad="27-01-2026", no_dispensasi_camat="474/12/KEC-GP/2026")
    assert fields(response)["status"] == "BERHASIL"


async def test_a_replay_on_a_later_day_returns_the_stored_answer() -> None:
    now = [HARI_INI]
    async with simkah(clock=lambda: now[0]) as client:
        first = await daftar(client)
        now[0] = datetime(2026, 2, 10, 9, 0, tzinfo=WIB)  # notice would now be too short
        second = await daftar(client)
    assert second.content == first.content


# -------------------------------------------------------------------- knobs


def test_default_knobs_are_slow_like_simkah() -> None:
    knobs = KemenagKnobs()
    assert (knobs.latency_ms, knobs.jitter_ms) == (1500, 500)
    assert knobs.downtime_every_seconds is None and not knobs.down


async def test_down_serves_the_html_maintenance_page_and_applies_nothing() -> None:
    async with simkah(cepat(down=True)) as client:
        response = await daftar(client)
        book = await ledger(client)
        health = await client.get("/_sim/health")

    assert response.status_code == 503
    assert response.headers["content-type"].startswith("text/html")
    assert "Sedang dalam pemeliharaan" in response.text
    assert book["applied"] == 0
    assert health.json() == {"ok": True}  # the control plane ignores the knobs


async def test_periodic_downtime_windows_follow_the_clock() -> None:
    # Periods of 600 s aligned to the Unix epoch; the first 60 s of each are maintenance.
    base = datetime.fromtimestamp(1_800_000_000 - 1_800_000_000 % 600, tz=WIB)
    now = [base + timedelta(seconds=10)]
    async with simkah(cepat(downtime_every_seconds=600, downtime_seconds=60), clock=lambda: now[0]) as client:
        inside = await daftar(client, tgl_akad="11-02-2030")
        now[0] = base + timedelta(seconds=120)
        outside = await daftar(client, tgl_akad="11-02-2030")

    assert inside.status_code == 503 and "Sedang dalam pemeliharaan" in inside.text
    assert inside.headers["Retry-After"] == "50"  # seconds until the window ends
    assert outside.status_code == 200


async def test_a_window_longer_than_its_period_is_refused(client: httpx.AsyncClient) -> None:
    response = await client.put("/_sim/knobs", json={"downtime_every_seconds": 60, "downtime_seconds": 120})
    assert response.status_code == 422
    assert (await client.put("/_sim/knobs", json={"no_such_knob": 1})).status_code == 422


async def test_error_rate_answers_sistem_sibuk_503_before_applying() -> None:
    async with simkah(cepat(error_rate=1.0)) as client:
        response = await daftar(client)
        book = await ledger(client)
    assert (response.status_code, kode(response)) == (503, "SISTEM_SIBUK")
    assert response.headers["Retry-After"] == "2"
    assert book["applied"] == 0


async def test_drop_reply_applies_then_times_out_and_a_retry_replays() -> None:
    async with simkah(cepat(drop_reply_after_apply=1.0)) as client:
        dropped = await daftar(client)
        applied = (await ledger(client))["applied"]
        await client.put("/_sim/knobs", json={"drop_reply_after_apply": 0.0})
        retried = await daftar(client)
        book = await ledger(client)

    assert dropped.status_code == 504 and "Gateway Time-out" in dropped.text
    assert applied == 1
    assert fields(retried)["no_pendaftaran"] == "DFT/137501/2026/00001"
    assert (book["applied"], book["replayed"]) == (1, 1)


async def test_garble_applies_then_answers_something_that_is_not_the_protocol() -> None:
    async with simkah(cepat(garble_rate=1.0)) as client:
        response = await client.post(DUPLIKAT, data=DUP)
        book = await ledger(client)

    assert response.status_code == 200
    assert "Warning" in response.text
    with pytest.raises(ValueError):
        decode_form(response.content)
    assert book["applied"] == 1


async def test_latency_and_jitter_slow_every_native_request() -> None:
    async with simkah(SimulatorSettings(knobs=KemenagKnobs(latency_ms=150, jitter_ms=100, seed=7))) as client:
        started = time.monotonic()
        await daftar(client)
        elapsed = time.monotonic() - started
        control_started = time.monotonic()
        await client.get("/_sim/knobs")
        control_elapsed = time.monotonic() - control_started
    assert 0.15 <= elapsed < 1.0
    assert control_elapsed < 0.1


async def test_daily_quota_counts_applications_per_wib_day() -> None:
    now = [HARI_INI]
    async with simkah(cepat(daily_quota=1), clock=lambda: now[0]) as client:
        first = await daftar(client, id_transaksi="a")
        second = await daftar(client, id_transaksi="b")
        replay = await daftar(client, id_transaksi="a")
        now[0] = datetime(2026, 1, 15, 8, 0, tzinfo=WIB)
        next_day = await daftar(client, id_transaksi="b")

    assert fields(first)["status"] == "BERHASIL"
    assert kode(second) == "KUOTA_HARIAN_PENUH"
    assert replay.content == first.content  # replays do not count against the quota
    assert fields(next_day)["status"] == "BERHASIL"


async def test_knobs_can_be_read_and_changed_at_runtime(client: httpx.AsyncClient) -> None:
    changed = await client.put("/_sim/knobs", json={"down": True, "jitter_ms": 0})
    assert changed.status_code == 200
    assert (await client.get("/_sim/knobs")).json()["down"] is True
    assert (await daftar(client)).status_code == 503
