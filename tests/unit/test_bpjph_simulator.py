"""Specification of the BPJPH SIHALAL simulator (adapters/bpjph/simulator.py).

SIHALAL is the polled REST/JSON agency behind a partner API key: a submission is
registered at once (201 + ``nomor_daftar``) and its progress is read with GET, each
poll moving the simulated time on. These tests pin down what the BPJPH adapter may
rely on: the wire format and its wrapper, the two certification routes stage by
stage, the fees and dates, the submission refusals (NIB, KSWP, self-declare), the
documents-returned and fatwa rules, apply-once per Idempotency-Key, and every knob.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from adapters.bpjph import plugin as bpjph_plugin
from adapters.bpjph.native import BalasanGalat, StatusPengajuanHalal, TandaTerimaPengajuan
from adapters.bpjph.simulator import DEV_API_KEY, WIB, BpjphKnobs, create_app
from adapters.sdk.contract import SimulatorOptions
from adapters.sdk.testing.client import Driver, assert_replayed, in_process, poll_until
from adapters.sdk.testing.clock import SimClock
from hub.config import Settings

PATH = "/api/sihalal/v1/pengajuan"
NOW = datetime(2026, 1, 14, 9, 30, tzinfo=WIB)  # a Wednesday
HARI_INI = date(2026, 1, 14)
#: The working-day calendar the simulator counts on (the hub's: weekends, national holidays, cuti bersama).
KALENDER = SimClock()
NIK = "1375015203900007"
KEY = {"X-Api-Key": DEV_API_KEY}

SELF_DECLARE = ["DIAJUKAN", "VERIFIKASI", "PENDAMPINGAN_PPH", "SIDANG_FATWA", "TERBIT"]
REGULER = ["DIAJUKAN", "VERIFIKASI", "MENUNGGU_PEMBAYARAN", "PEMERIKSAAN_LPH", "SIDANG_FATWA", "TERBIT"]


def pengajuan(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "nib": "9120001234567",
        "nama_usaha": "Rendang Uni Siti",
        "skala_usaha": "MIKRO",
        "jenis_pengajuan": "SELF_DECLARE",
        "penanggung_jawab": {"nik": NIK, "nama": "Siti Rahmah"},
        "produk": [{"nama_produk": "Rendang daging", "bahan": ["daging sapi", "santan", "cabai"]}],
    }
    return {**body, **changes}


def reguler(skala: str = "MENENGAH", **changes: Any) -> dict[str, Any]:
    return pengajuan(jenis_pengajuan="REGULER", skala_usaha=skala, **changes)


def galat(response: httpx.Response) -> tuple[int, str]:
    body = BalasanGalat.model_validate(response.json())
    return response.status_code, body.galat.kode.value


class Sihalal(Driver):
    async def ajukan(
        self, body: dict[str, Any] | bytes, key: str | None = "step-1", headers: dict[str, str] | None = None
    ) -> httpx.Response:
        sent = {**KEY, **({} if key is None else {"Idempotency-Key": key}), **(headers or {})}
        if isinstance(body, bytes):
            return await self.client.post(PATH, content=body, headers={**sent, "Content-Type": "application/json"})
        return await self.client.post(PATH, json=body, headers=sent)

    async def daftar(self, body: dict[str, Any], key: str = "step-1") -> str:
        response = await self.ajukan(body, key)
        assert response.status_code == 201, response.text
        return str(response.json()["data"]["nomor_daftar"])

    async def cek(self, nomor: str, headers: dict[str, str] | None = None) -> httpx.Response:
        return await self.client.get(f"{PATH}/{nomor}", headers=headers if headers is not None else KEY)

    async def status(self, nomor: str) -> StatusPengajuanHalal:
        response = await self.cek(nomor)
        assert response.status_code == 200, response.text
        assert response.json()["sukses"] is True
        return StatusPengajuanHalal.model_validate(response.json()["data"])

    async def sampai(self, nomor: str, status: str, limit: int = 30) -> StatusPengajuanHalal:
        return await poll_until(
            lambda: self.status(nomor), lambda a: a.status == status, limit=limit, what=f"{nomor} never reached {status}"
        )


@asynccontextmanager
async def sihalal(
    knobs: dict[str, Any] | None = None, *, ledger_path: str = ":memory:", api_key: str = DEV_API_KEY
) -> AsyncIterator[Sihalal]:
    app = create_app(BpjphKnobs(**(knobs or {})), ledger_path=ledger_path, api_key=api_key, clock=lambda: NOW)
    async with in_process(app, "http://sihalal.test") as client:
        yield Sihalal(client)


@pytest.fixture
async def sim() -> AsyncIterator[Sihalal]:
    async with sihalal() as s:
        yield s


# --- the native protocol ------------------------------------------------------------


async def test_a_submission_is_registered_with_a_registration_number_in_the_success_wrapper(sim: Sihalal) -> None:
    response = await sim.ajukan(pengajuan())

    assert response.status_code == 201
    assert response.json()["sukses"] is True
    receipt = TandaTerimaPengajuan.model_validate(response.json()["data"])
    assert receipt.nomor_daftar == "SH2026-1-000001", "1 = self-declare"
    assert (receipt.status, receipt.jenis_pengajuan, receipt.tanggal_pengajuan) == ("DIAJUKAN", "SELF_DECLARE", HARI_INI)
    assert (await sim.daftar(reguler(), key="step-2")) == "SH2026-2-000002", "2 = regular"


async def test_a_self_declare_application_goes_through_its_stages_for_free(sim: Sihalal) -> None:
    nomor = await sim.daftar(pengajuan())

    seen = [await sim.status(nomor) for _ in range(10)]

    assert [s.status for s in seen] == ["DIAJUKAN", "VERIFIKASI", "VERIFIKASI", "PENDAMPINGAN_PPH", "PENDAMPINGAN_PPH",
                                        "SIDANG_FATWA", "SIDANG_FATWA", "TERBIT", "TERBIT", "TERBIT"]  # fmt: skip
    assert all(s.biaya == 0 and s.tagihan is None for s in seen)
    issued = seen[-1].sertifikat
    assert issued is not None and re.fullmatch(r"ID13[0-9]{15}", issued.nomor_sertifikat)
    assert issued.tanggal_terbit == KALENDER.add_working_days(HARI_INI, 12) == date(2026, 2, 2)  # 16 Jan is a holiday
    assert seen[5].sertifikat is None, "no certificate before TERBIT"


async def test_a_regular_application_is_billed_paid_audited_and_certified(sim: Sihalal) -> None:
    nomor = await sim.daftar(reguler("MENENGAH"))

    seen = [await sim.status(nomor) for _ in range(12)]

    assert [s.status for s in seen][::2] == REGULER
    billed = seen[4]
    assert billed.status == "MENUNGGU_PEMBAYARAN"
    assert billed.tagihan is not None
    assert re.fullmatch(r"8[0-9]{14}", billed.tagihan.kode_billing)
    assert (billed.tagihan.jumlah, billed.tagihan.batas_bayar, billed.tagihan.tanggal_bayar) == (2_500_000, date(2026, 1, 21), None)
    audited = seen[6]
    assert audited.status == "PEMERIKSAAN_LPH"
    assert audited.tagihan is not None and audited.tagihan.tanggal_bayar == date(2026, 1, 15)
    assert audited.tagihan.kode_billing == billed.tagihan.kode_billing
    done = seen[-1]
    assert done.status == "TERBIT" and done.sertifikat is not None
    assert done.sertifikat.tanggal_terbit == KALENDER.add_working_days(HARI_INI, 21)
    assert done.biaya == 2_500_000 and done.tagihan is not None


@pytest.mark.parametrize(("skala", "biaya"), [("MIKRO", 300_000), ("KECIL", 300_000), ("MENENGAH", 2_500_000), ("BESAR", 5_000_000)])
async def test_the_regular_fee_depends_on_the_business_scale(sim: Sihalal, skala: str, biaya: int) -> None:
    nomor = await sim.daftar(reguler(skala))
    assert (await sim.sampai(nomor, "MENUNGGU_PEMBAYARAN")).tagihan.jumlah == biaya  # type: ignore[union-attr]


def test_working_days_skip_weekends_and_national_holidays() -> None:
    assert KALENDER.add_working_days(date(2026, 1, 15), 1) == date(2026, 1, 19)  # Thursday -> (Isra Mikraj, weekend) -> Monday
    assert KALENDER.add_working_days(date(2026, 1, 14), 21) == date(2026, 2, 13)


# --- submission rules -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "kode"),
    [
        (pengajuan(nib="9120001230000"), "NIB_TIDAK_DITEMUKAN"),
        (pengajuan(status_kswp="TIDAK_VALID", waktu_konfirmasi_kswp="2026-01-14T09:00:00+07:00"), "STATUS_WP_TIDAK_VALID"),
        (pengajuan(skala_usaha="MENENGAH"), "SELF_DECLARE_TIDAK_BERHAK"),
        (pengajuan(skala_usaha="BESAR"), "SELF_DECLARE_TIDAK_BERHAK"),
    ],
    ids=["nib-not-at-oss", "taxpayer-not-valid", "self-declare-medium", "self-declare-large"],
)
async def test_submissions_refused_on_the_merits_are_422_and_record_nothing(sim: Sihalal, body: dict[str, Any], kode: str) -> None:
    response = await sim.ajukan(body)
    assert galat(response) == (422, kode)
    assert (await sim.ledger())["applied"] == 0


async def test_a_refused_submission_can_be_corrected_under_the_same_key(sim: Sihalal) -> None:
    invalid = pengajuan(status_kswp="TIDAK_VALID", waktu_konfirmasi_kswp="2026-01-14T09:00:00+07:00")
    assert (await sim.ajukan(invalid, key="k")).status_code == 422
    assert (await sim.ajukan(invalid | {"status_kswp": "VALID"}, key="k")).status_code == 201


async def test_a_valid_kswp_or_none_at_all_is_accepted(sim: Sihalal) -> None:
    valid = pengajuan(npwp=NIK, status_kswp="VALID", waktu_konfirmasi_kswp="2026-01-14T09:00:00+07:00")
    assert (await sim.ajukan(valid, key="a")).status_code == 201
    assert (await sim.ajukan(pengajuan(), key="b")).status_code == 201


async def test_the_nib_is_checked_before_the_taxpayer_status(sim: Sihalal) -> None:
    body = pengajuan(nib="9120001230000", status_kswp="TIDAK_VALID", waktu_konfirmasi_kswp="2026-01-14T09:00:00+07:00")
    assert galat(await sim.ajukan(body)) == (422, "NIB_TIDAK_DITEMUKAN")


@pytest.mark.parametrize(
    "body",
    [
        pengajuan(nib="912000123456"),
        pengajuan(produk=[]),
        pengajuan(produk=[{"nama_produk": "Rendang", "bahan": []}]),
        pengajuan(status_kswp="VALID"),
        pengajuan(npwp="01.234.567.4-202.000"),
        pengajuan(jenis_pengajuan="SELF_DECLARED"),
        pengajuan(email="x@y.z"),
        {k: v for k, v in pengajuan().items() if k != "penanggung_jawab"},
    ],
    ids=[
        "nib-12-digits",
        "no-products",
        "no-ingredients",
        "kswp-without-time",
        "npwp-with-dots",
        "unknown-route",
        "unknown-field",
        "no-person",
    ],
)
async def test_malformed_submissions_are_refused_with_field_details(sim: Sihalal, body: dict[str, Any]) -> None:
    response = await sim.ajukan(body)
    assert galat(response) == (422, "DATA_TIDAK_VALID")
    assert response.json()["galat"]["rincian"]
    assert (await sim.ledger())["applied"] == 0


async def test_a_body_that_is_not_json_is_refused(sim: Sihalal) -> None:
    assert galat(await sim.ajukan(b"nib=9120001234567")) == (422, "DATA_TIDAK_VALID")


# --- what comes back: returned documents, fatwa refusal, expiry -------------------------


async def test_a_flavouring_without_its_halal_certificate_is_returned_and_waits(sim: Sihalal) -> None:
    body = pengajuan(
        produk=[{"nama_produk": "Rendang", "bahan": ["daging"]}, {"nama_produk": "Keripik", "bahan": ["singkong", "Perisa ayam"]}]
    )
    nomor = await sim.daftar(body)

    seen = [await sim.status(nomor) for _ in range(6)]

    assert [s.status for s in seen] == ["DIAJUKAN", "VERIFIKASI", "VERIFIKASI", "DIKEMBALIKAN", "DIKEMBALIKAN", "DIKEMBALIKAN"]
    [catatan] = seen[3].catatan_perbaikan or []
    assert catatan.bagian == "produk[1].bahan[1]"
    assert "Perisa ayam" in catatan.keterangan and "sertifikat halal" in catatan.keterangan
    assert seen[2].catatan_perbaikan is None, "only a returned application carries the notes"


async def test_a_flavouring_citing_its_certificate_goes_through(sim: Sihalal) -> None:
    nomor = await sim.daftar(pengajuan(produk=[{"nama_produk": "Keripik", "bahan": ["singkong", "perisa ayam (ID13110000123450124)"]}]))
    assert (await sim.sampai(nomor, "TERBIT")).sertifikat is not None


async def test_a_non_halal_ingredient_is_refused_by_the_fatwa_session(sim: Sihalal) -> None:
    nomor = await sim.daftar(pengajuan(produk=[{"nama_produk": "Sate", "bahan": ["daging Babi", "kecap"]}]))

    seen = [await sim.status(nomor) for _ in range(9)]

    assert [s.status for s in seen][:7] == [
        "DIAJUKAN",
        "VERIFIKASI",
        "VERIFIKASI",
        "PENDAMPINGAN_PPH",
        "PENDAMPINGAN_PPH",
        "SIDANG_FATWA",
        "SIDANG_FATWA",
    ]
    refused = seen[7]
    assert refused.status == "DITOLAK" and seen[8].status == "DITOLAK"
    assert refused.penolakan is not None and refused.penolakan.kode == "BAHAN_TIDAK_HALAL"
    assert "daging Babi" in refused.penolakan.alasan
    assert refused.sertifikat is None


async def test_unpaid_fees_expire_for_applications_submitted_while_the_knob_is_on(sim: Sihalal) -> None:
    await sim.knobs(unpaid=True)
    unpaid = await sim.daftar(reguler(), key="unpaid")
    await sim.knobs(unpaid=False)
    paid = await sim.daftar(reguler(), key="paid")

    expired = await sim.sampai(unpaid, "KEDALUWARSA")

    assert expired.penolakan is not None and expired.penolakan.kode == "BILLING_KEDALUWARSA"
    assert expired.tagihan is not None and expired.tagihan.tanggal_bayar is None
    assert (await sim.sampai(paid, "TERBIT")).status == "TERBIT"


async def test_unpaid_does_not_touch_the_free_route(sim: Sihalal) -> None:
    await sim.knobs(unpaid=True)
    nomor = await sim.daftar(pengajuan())
    assert (await sim.sampai(nomor, "TERBIT")).status == "TERBIT"


async def test_forced_status_reports_a_status_word_the_adapter_has_never_seen(sim: Sihalal) -> None:
    nomor = await sim.daftar(pengajuan())
    await sim.knobs(forced_status="DITANGGUHKAN")
    assert (await sim.cek(nomor)).json()["data"]["status"] == "DITANGGUHKAN"
    await sim.knobs(forced_status=None)
    assert (await sim.status(nomor)).status == "VERIFIKASI"


async def test_status_of_an_unknown_application_is_404(sim: Sihalal) -> None:
    assert galat(await sim.cek("SH2026-1-999999")) == (404, "PENGAJUAN_TIDAK_DITEMUKAN")


# --- the API key --------------------------------------------------------------------------


@pytest.mark.parametrize("headers", [{}, {"X-Api-Key": "tebakan"}], ids=["missing", "wrong"])
async def test_without_the_partner_api_key_nothing_is_answered_or_applied(headers: dict[str, str]) -> None:
    async with sihalal(api_key="rahasia-mitra") as sim:
        submitted = await sim.client.post(PATH, json=pengajuan(), headers={"Idempotency-Key": "k", **headers})
        polled = await sim.cek("SH2026-1-000001", headers=headers)
        assert (await sim.ledger())["applied"] == 0
        accepted = await sim.client.post(PATH, json=pengajuan(), headers={"Idempotency-Key": "k", "X-Api-Key": "rahasia-mitra"})
    assert galat(submitted) == (401, "API_KEY_TIDAK_VALID")
    assert galat(polled) == (401, "API_KEY_TIDAK_VALID")
    assert accepted.status_code == 201


async def test_the_control_plane_needs_no_api_key(sim: Sihalal) -> None:
    assert (await sim.client.get("/_sim/health")).json() == {"ok": True}


def test_the_factory_uses_the_configured_key_or_the_hub_dev_default() -> None:
    assert bpjph_plugin.simulator(SimulatorOptions(secrets={"api_key": "k2"})).state.simulator.dialect.api_key == "k2"
    assert bpjph_plugin.simulator(SimulatorOptions()).state.simulator.dialect.api_key == DEV_API_KEY
    assert Settings().simulator_ports["bpjph"] == 8106


# --- idempotency ----------------------------------------------------------------------------


async def test_the_same_key_and_body_is_applied_once_and_replayed(sim: Sihalal) -> None:
    first = await sim.ajukan(pengajuan(), key="step-7")
    reordered = json.dumps(dict(reversed(list(pengajuan().items())))).encode()
    again = await sim.ajukan(reordered, key="step-7")
    ledger = await sim.ledger()

    assert first.status_code == 201
    assert_replayed(first, again, ledger, header="Idempotent-Replayed", key="step-7")


async def test_the_same_key_with_another_body_is_a_conflict(sim: Sihalal) -> None:
    await sim.ajukan(pengajuan(), key="step-7")
    assert galat(await sim.ajukan(pengajuan(nama_usaha="Lain"), key="step-7")) == (409, "KUNCI_BENTROK")
    assert (await sim.ledger())["applied"] == 1


@pytest.mark.parametrize("key", [None, " ", "x" * 201], ids=["missing", "blank", "too-long"])
async def test_the_idempotency_key_is_required(sim: Sihalal, key: str | None) -> None:
    assert galat(await sim.ajukan(pengajuan(), key=key)) == (400, "IDEMPOTENCY_KEY_WAJIB")


async def test_the_ledger_holds_no_personal_or_business_data(sim: Sihalal) -> None:
    nomor = await sim.daftar(pengajuan())
    await sim.status(nomor)
    ledger = json.dumps(await sim.ledger())
    assert NIK not in ledger and "Siti" not in ledger and "Rendang" not in ledger
    assert (await sim.ledger())["entries"][0]["subject"] == "SELF_DECLARE/MIKRO"


async def test_applications_and_their_progress_survive_a_restart(tmp_path: Path) -> None:
    path = str(tmp_path / "bpjph.db")
    async with sihalal(ledger_path=path) as sim:
        nomor = await sim.daftar(pengajuan())
        await sim.status(nomor)
        await sim.status(nomor)
    async with sihalal(ledger_path=path) as sim:
        assert (await sim.status(nomor)).status == "VERIFIKASI", "the poll count survived"
        assert (await sim.ajukan(pengajuan())).headers["Idempotent-Replayed"] == "true"


# --- knobs ------------------------------------------------------------------------------------


async def test_down_is_503_and_applies_nothing(sim: Sihalal) -> None:
    await sim.knobs(down=True)
    assert galat(await sim.ajukan(pengajuan())) == (503, "LAYANAN_TIDAK_TERSEDIA")
    assert galat(await sim.cek("SH2026-1-000001")) == (503, "LAYANAN_TIDAK_TERSEDIA")
    assert (await sim.ledger())["applied"] == 0


async def test_error_rate_is_busy_with_retry_after_and_applies_nothing(sim: Sihalal) -> None:
    await sim.knobs(error_rate=1.0)
    response = await sim.ajukan(pengajuan())
    assert galat(response) == (503, "SISTEM_SIBUK")
    assert response.headers["Retry-After"] == "1"
    assert (await sim.ledger())["applied"] == 0


async def test_latency_delays_every_answer() -> None:
    async with sihalal({"latency_ms": 200}) as sim:
        started = time.monotonic()
        await sim.ajukan(pengajuan())
        assert time.monotonic() - started >= 0.19


async def test_a_dropped_reply_was_applied_and_the_retry_gets_the_stored_receipt(sim: Sihalal) -> None:
    await sim.knobs(drop_reply_after_apply=1.0)
    lost = await sim.ajukan(pengajuan())
    await sim.knobs(drop_reply_after_apply=0.0)
    retried = await sim.ajukan(pengajuan())

    assert galat(lost) == (504, "WAKTU_HABIS")
    assert retried.status_code == 201 and retried.headers["Idempotent-Replayed"] == "true"
    assert (await sim.ledger())["applied"] == 1


async def test_a_dropped_poll_reply_still_counted_the_poll() -> None:
    async with sihalal({"polls_per_stage": 1}) as sim:
        nomor = await sim.daftar(pengajuan())
        await sim.knobs(drop_reply_after_apply=1.0)
        assert (await sim.cek(nomor)).status_code == 504
        await sim.knobs(drop_reply_after_apply=0.0)
        assert (await sim.status(nomor)).status == "PENDAMPINGAN_PPH", "the lost poll moved it to VERIFIKASI"


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
async def test_garbled_answers_are_not_the_protocol_but_the_work_was_done(seed: int) -> None:
    async with sihalal({"garble_rate": 1.0, "seed": seed}) as sim:
        response = await sim.ajukan(pengajuan())
        assert response.status_code == 201
        with pytest.raises(ValueError):
            TandaTerimaPengajuan.model_validate(response.json()["data"])
        assert (await sim.ledger())["applied"] == 1


async def test_daily_quota_refuses_new_submissions_but_replays_old_ones(sim: Sihalal) -> None:
    await sim.knobs(daily_quota=1)
    assert (await sim.ajukan(pengajuan(), key="a")).status_code == 201
    refused = await sim.ajukan(pengajuan(), key="b")
    assert galat(refused) == (429, "KUOTA_HARIAN_HABIS")
    assert int(refused.headers["Retry-After"]) > 0
    assert (await sim.ajukan(pengajuan(), key="a")).status_code == 201


async def test_bpjph_knobs_are_listed_and_validated(sim: Sihalal) -> None:
    knobs = (await sim.client.get("/_sim/knobs")).json()
    assert {"polls_per_stage": 2, "unpaid": False, "forced_status": None}.items() <= knobs.items()
    assert (await sim.knobs(polls_per_stage=0)).status_code == 422
    assert (await sim.knobs(unpiad=True)).status_code == 422, "a typo fails loudly"


async def test_unknown_paths_and_methods_answer_in_sihalal_error_shape(sim: Sihalal) -> None:
    assert galat(await sim.client.get("/api/sihalal/v1/lain", headers=KEY)) == (404, "TIDAK_DITEMUKAN")
    assert galat(await sim.client.delete(PATH, headers=KEY)) == (405, "METODE_TIDAK_DIIZINKAN")
